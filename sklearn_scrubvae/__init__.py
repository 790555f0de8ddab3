"""Scrubbed conditional VAEs for 3D animal pose dynamics.

Public estimators: :class:`ScrubbedCVAE` (the scrubbed conditional VAE) and
:class:`LinearConceptEraser` (a post-hoc linear erasure baseline). Pose
tools live in :mod:`sklearn_scrubvae.pose`, loaders in
:mod:`sklearn_scrubvae.io`, synthetic data in :mod:`sklearn_scrubvae.datasets`
and evaluation in :mod:`sklearn_scrubvae.metrics`.

The estimators are imported on first use, so that importing the numpy
subpackages (``pose``, ``io``, ``metrics``, ``datasets``) does not import
torch.
"""

import importlib

from ._version import __version__

# Public name -> private module defining it.
_LAZY = {"LinearConceptEraser": "._eraser", "ScrubbedCVAE": "._estimator"}

__all__ = ["LinearConceptEraser", "ScrubbedCVAE", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
