"""Per-frame labels: categories, their colours, and bouts in time."""

from numbers import Integral

import matplotlib
import numpy as np
import pandas as pd

from .._frames.tables import check_labels


def encode_labels(labels, name, n_rows=None):
    """Categories and per-frame codes of a label sequence.

    Missing values (NaN, None) and ``-1`` (the unassigned cluster of
    :func:`~sklearn_scrubvae.metrics.cluster_embeddings`) get code -1.

    Parameters
    ----------
    labels : array-like of shape (n_rows,) or Series
        One label per frame (numbers, strings or categories).
    name : str
        Name used in error messages.
    n_rows : int, default=None
        Expected length; None skips the check.

    Returns
    -------
    categories : list
        Labels that occur, sorted (categories keep their declared order).
    codes : ndarray of shape (n_rows,), dtype int
        Index into ``categories``, -1 where unlabelled.
    """
    array = check_labels(labels, name, n_rows)
    if not isinstance(labels, pd.Series):  # a Series keeps its categories' order
        labels = pd.Series(array)
    codes, uniques = pd.factorize(labels, sort=True)
    categories = list(uniques)
    unassigned = [
        i for i, value in enumerate(categories)
        if isinstance(value, Integral) and not isinstance(value, bool) and value == -1
    ]
    if unassigned:
        (index,) = unassigned
        del categories[index]
        codes = np.where(codes == index, -1, codes - (codes > index))
    return categories, np.asarray(codes, dtype=int)


def check_valid(valid, n_rows):
    """A mask of the frames that have an embedding of their own.

    Parameters
    ----------
    valid : array-like of shape (n_rows,) of bool, or None
        E.g. from :meth:`~sklearn_scrubvae.ScrubbedCVAE.valid_frames`;
        None marks every frame valid.
    n_rows : int

    Returns
    -------
    valid : ndarray of shape (n_rows,) of bool
    """
    if valid is None:
        return np.ones(n_rows, dtype=bool)
    mask = np.asarray(valid)
    if mask.dtype != bool or mask.shape != (n_rows,):
        raise ValueError(
            f"valid must be a boolean mask of shape ({n_rows},) (e.g. from "
            f"ScrubbedCVAE.valid_frames), got dtype {mask.dtype} and shape {mask.shape}."
        )
    return mask


def without_own_embedding(n_left_out, n_rows):
    """Title line counting the frames left out for lack of an embedding of their own."""
    if n_left_out == 0:
        return ""
    return (
        f"{n_left_out} of {n_rows} frames ({n_left_out / n_rows:.0%}) without an "
        "embedding of their own"
    )


MISSING_STYLE = dict(color="0.85", hatch="////", edgecolor="0.55", linewidth=0)
"""How frames without an embedding of their own are drawn: grey, hatched."""


def category_colors(n_categories):
    """Distinct colours for categories.

    Parameters
    ----------
    n_categories : int

    Returns
    -------
    colors : ndarray of shape (n_categories, 4)
        RGBA: matplotlib's "tab10" up to 10 categories, "tab20" up to 20,
        evenly spaced "turbo" colours beyond.
    """
    if n_categories <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return cmap(np.arange(n_categories))
    if n_categories <= 20:
        cmap = matplotlib.colormaps["tab20"]
        return cmap(np.arange(n_categories))
    return matplotlib.colormaps["turbo"](np.linspace(0.0, 1.0, n_categories))


def recordings(groups, n_rows):
    """Frame indices of each recording, in order of first appearance.

    Parameters
    ----------
    groups : array-like of shape (n_rows,) or None
        Recording id per frame; None makes all frames one recording.
    n_rows : int

    Returns
    -------
    names : list
        Recording ids (``[None]`` without ``groups``).
    frames : list of ndarray
        Frame indices of each recording, increasing.
    """
    if groups is None:
        return [None], [np.arange(n_rows)]
    groups = np.asarray(groups)
    if groups.shape != (n_rows,):
        raise ValueError(f"groups must have shape ({n_rows},), got {groups.shape}.")
    codes, names = pd.factorize(groups)
    return list(names), [np.flatnonzero(codes == i) for i in range(len(names))]


def bouts(codes):
    """Runs of equal, assigned codes.

    Parameters
    ----------
    codes : ndarray of shape (n_frames,), dtype int
        Label codes of one recording, -1 where unlabelled.

    Returns
    -------
    starts, stops, values : ndarray of shape (n_bouts,)
        Bout ``i`` covers frames ``starts[i]:stops[i]`` with code
        ``values[i]``; unlabelled runs are left out.
    """
    if len(codes) == 0:
        empty = np.zeros(0, dtype=int)
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    stops = np.r_[starts[1:], len(codes)]
    values = codes[starts]
    assigned = values >= 0
    return starts[assigned], stops[assigned], values[assigned]
