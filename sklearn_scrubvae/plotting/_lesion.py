"""Per-animal lesion effect against lesion severity."""

import numpy as np
from matplotlib.axes import Axes
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import validate_params

from ..metrics import severity_correlation
from ..metrics.lesion import finite_pairs
from ._axes import get_axes


@validate_params(
    {"effect": ["array-like"], "severity": ["array-like"], "ax": [Axes, None]},
    prefer_skip_nested_validation=True,
)
def plot_lesion_effect(effect: ArrayLike, severity: ArrayLike, ax: Axes | None = None) -> Axes:
    """Scatter of each animal's effect size against its lesion severity.

    With at least three animals, adds the least-squares line and, in the
    title, Pearson's r and its p-value
    (:func:`~sklearn_scrubvae.metrics.severity_correlation`).

    Parameters
    ----------
    effect : array-like of shape (n_animals,) or Series
        Effect size per animal, e.g. from
        :func:`~sklearn_scrubvae.metrics.effect_size_d`.
    severity : array-like of shape (n_animals,) or Series
        Lesion severity per animal. Two Series are aligned on their index.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        One point per animal with both values finite, and the fitted line.

    Raises
    ------
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> from sklearn_scrubvae.plotting import plot_lesion_effect
    >>> ax = plot_lesion_effect([1.0, 2.0, 1.5, 2.9], [0.1, 0.3, 0.6, 0.9])
    >>> ax.get_title()
    'r = 0.82, p = 0.18'
    """
    y, x = finite_pairs(effect, severity)
    ax = get_axes(ax)
    ax.scatter(x, y, color="black", s=20, zorder=3)
    ax.set_xlabel("lesion severity")
    ax.set_ylabel("effect size d")
    if len(x) < 3:
        ax.set_title(f"{len(x)} animals: too few for a correlation")
        return ax
    correlation = severity_correlation(y, x)
    slope, intercept = np.polyfit(x, y, 1)
    ends = np.array([x.min(), x.max()])
    ax.plot(ends, intercept + slope * ends, color="0.5", linewidth=1)
    ax.set_title(f"r = {correlation.statistic:.2f}, p = {correlation.pvalue:.2g}")
    return ax
