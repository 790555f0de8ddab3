"""Scrubbed conditional VAEs for 3D animal pose dynamics."""

from ._estimator import ScrubbedCVAE
from ._version import __version__

__all__ = ["ScrubbedCVAE", "__version__"]
