"""Scrubbed conditional VAEs for 3D animal pose dynamics.

Public estimators: :class:`ScrubbedCVAE` (the scrubbed conditional VAE) and
:class:`LinearConceptEraser` (a post-hoc linear erasure baseline). Pose
tools live in :mod:`sklearn_scrubvae.pose`, loaders in
:mod:`sklearn_scrubvae.io`, synthetic data in :mod:`sklearn_scrubvae.datasets`
and evaluation in :mod:`sklearn_scrubvae.metrics`.
"""

from ._eraser import LinearConceptEraser
from ._estimator import ScrubbedCVAE
from ._version import __version__

__all__ = ["LinearConceptEraser", "ScrubbedCVAE", "__version__"]
