"""Training curves from a fitted estimator's history."""

from numbers import Real

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import validate_params

from ._axes import get_axes
from ._labels import category_colors

LOSS_PREFIXES = ("train_", "valid_")
FORGETTING = "forgetting_factor"
# Bookkeeping entries of a skorch history that share the loss prefixes.
NOT_TERMS = ("_best", "_batch_count")


def history_series(history):
    """Per-epoch numbers of a training history, grouped by kind.

    Loss terms are the entries named ``train_*`` or ``valid_*`` (total loss,
    reconstruction, KL, penalties, including any per-scrubber penalty such
    as ``train_penalty_<column>``); forgetting factors are the entries whose
    name contains ``forgetting_factor``. Terms that are zero at every epoch
    (the penalty of a model without scrubber) are left out.

    Parameters
    ----------
    history : sequence of dict
        One dict per epoch, e.g. a skorch ``History``.

    Returns
    -------
    epochs : ndarray of shape (n_epochs,)
    losses : dict of str to ndarray of shape (n_epochs,)
        NaN where an epoch lacks the entry.
    factors : dict of str to ndarray of shape (n_epochs,)
    """
    rows = [{key: value for key, value in row.items() if key != "batches"} for row in history]
    if not rows:
        raise ValueError("The history is empty: fit the estimator first.")
    epochs = np.array([row.get("epoch", i + 1) for i, row in enumerate(rows)], dtype=float)
    names = dict.fromkeys(
        key for row in rows for key, value in row.items()
        if isinstance(value, Real) and not isinstance(value, (bool, np.bool_))
    )
    losses, factors = {}, {}
    for name in names:
        values = np.array([row.get(name, np.nan) for row in rows], dtype=float)
        if FORGETTING in name:
            factors[name] = values
        elif name.startswith(LOSS_PREFIXES) and not name.endswith(NOT_TERMS):
            if np.nan_to_num(values).any():
                losses[name] = values
    return epochs, losses, factors


def _loss_scale(ax, losses):
    """Log scale when every loss value is positive, else symmetric log."""
    values = np.concatenate(list(losses.values()))
    values = values[np.isfinite(values)]
    if (values > 0).all():
        ax.set_yscale("log")
        return
    smallest = np.abs(values[values != 0]).min()
    ax.set_yscale("symlog", linthresh=10.0 ** np.floor(np.log10(smallest)))


@validate_params(
    {"estimator": [BaseEstimator, Sequence], "ax": [Axes, None]},
    prefer_skip_nested_validation=True,
)
def plot_history(estimator: BaseEstimator | Sequence[dict], ax: Axes | None = None) -> Axes:
    """Per-epoch training terms and forgetting factors.

    Draws every loss term of the history on the left axis (total loss,
    reconstruction, KL, each scrubber's penalty; training solid, validation
    dashed in the same colour), on a log scale when all values are positive
    and a symmetric log scale otherwise (MALS penalties are negative). The
    self-tuning forgetting factors, in [0, 1], go on a second y axis on the
    right (dotted).

    Parameters
    ----------
    estimator : fitted ScrubbedCVAE or sequence of dict
        An estimator with ``history_`` (a skorch ``History``), or the
        history itself: one dict per epoch. Loss terms are the numeric
        entries named ``train_*`` / ``valid_*`` (bookkeeping entries
        ``*_best`` and ``*_batch_count`` excepted); forgetting factors are
        the entries containing ``forgetting_factor``. Terms that are zero at
        every epoch are left out.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes of the loss terms. When forgetting factors are drawn, their
        twin Axes is ``ax.right_ax``.

    Raises
    ------
    ValueError
        If the history is empty or holds no loss term.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae import ScrubbedCVAE
    >>> from sklearn_scrubvae.plotting import plot_history
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> animal = np.repeat([0, 1], 100)
    >>> est = ScrubbedCVAE(scrubber="qd", n_components=2, window=5,
    ...                    hidden_channels=(8,), max_iter=3, batch_size=64,
    ...                    random_state=0).fit(X, animal, groups=animal)
    >>> ax = plot_history(est)
    >>> labels = [line.get_label() for line in ax.get_lines()]
    >>> {"train_loss", "train_reconstruction", "train_kl", "train_penalty"} <= set(labels)
    True
    """
    history = getattr(estimator, "history_", estimator)
    epochs, losses, factors = history_series(history)
    if not losses:
        raise ValueError("The history holds no train_* or valid_* loss term.")
    ax = get_axes(ax)
    terms = list(dict.fromkeys(name.split("_", 1)[1] for name in losses))
    colors = category_colors(len(terms) + len(factors))
    for name, values in losses.items():
        prefix, term = name.split("_", 1)
        ax.plot(
            epochs, values, label=name, color=colors[terms.index(term)],
            linestyle="-" if prefix == "train" else "--", marker=".",
        )
    _loss_scale(ax, losses)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss term")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = ax.get_lines()
    if factors:
        right = ax.twinx()
        for color, (name, values) in zip(colors[len(terms):], factors.items()):
            right.plot(epochs, values, label=name, color=color, linestyle=":", marker=".")
        right.set_ylim(-0.02, 1.02)
        right.set_ylabel("forgetting factor")
        ax.right_ax = right
        handles = handles + right.get_lines()
    ax.legend(
        handles=handles, fontsize="small", ncols=2, loc="upper center",
        bbox_to_anchor=(0.5, -0.15),
    )
    return ax
