"""Scrubbers: penalties that remove nuisance information from the latent code.

Every scrubber follows :class:`BaseScrubber`; :func:`make_scrubber` builds
one by name.
"""

import torch

from ._forgetting import ForgettingFactors
from ._reversal import reverse_gradient
from .base import BaseScrubber
from .gr import GradientReversalScrubber
from .mals import MovingAverageLeastSquaresScrubber
from .mi import KernelMutualInformationScrubber
from .nd import NeuralDiscriminatorScrubber
from .qd import QuadraticDiscriminantScrubber

SCRUBBERS = {
    "gr": GradientReversalScrubber,
    "nd": NeuralDiscriminatorScrubber,
    "mals": MovingAverageLeastSquaresScrubber,
    "qd": QuadraticDiscriminantScrubber,
    "mi": KernelMutualInformationScrubber,
}

CATEGORICAL_ONLY = frozenset(
    name for name, scrubber in SCRUBBERS.items() if scrubber.categorical_only
)


def make_scrubber(
    name: str,
    n_components: int,
    n_outputs: int,
    *,
    categorical: bool,
    generator: torch.Generator | None = None,
    **options,
) -> BaseScrubber:
    """Build a scrubber from its short name.

    Parameters
    ----------
    name : {"gr", "nd", "mals", "qd", "mi"}
        Key of :data:`SCRUBBERS`. "nd" and "qd" (:data:`CATEGORICAL_ONLY`)
        need a categorical ``v`` and raise a ValueError otherwise.
    n_components : int
        Dimension ``D`` of the latent code.
    n_outputs : int
        Number of classes (categorical) or of columns (continuous) of ``v``.
    categorical : bool
        Whether ``v`` holds class indices of shape ``(B,)``.
    generator : torch.Generator, default=None
        Source of the scrubber's randomness.
    **options
        Keyword options of the scrubber's class (e.g. ``alpha``,
        ``poly_order``, ``forgetting_factor``, ``bandwidth``).

    Returns
    -------
    scrubber : BaseScrubber

    Examples
    --------
    >>> from sklearn_scrubvae.scrubbers import make_scrubber
    >>> make_scrubber("mals", 8, 3, categorical=False, poly_order=2).features.n_features
    45
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    if name not in SCRUBBERS:
        raise ValueError(
            f"Unknown scrubber {name!r}; choose one of {sorted(SCRUBBERS)}."
        )
    return SCRUBBERS[name](
        n_components, n_outputs, categorical=categorical, generator=generator, **options
    )


__all__ = [
    "BaseScrubber",
    "CATEGORICAL_ONLY",
    "ForgettingFactors",
    "GradientReversalScrubber",
    "KernelMutualInformationScrubber",
    "MovingAverageLeastSquaresScrubber",
    "NeuralDiscriminatorScrubber",
    "QuadraticDiscriminantScrubber",
    "SCRUBBERS",
    "make_scrubber",
    "reverse_gradient",
]
