"""Behaviour over time and how often each behaviour occurs."""

from numbers import Real

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval, validate_params

from ._axes import get_axes
from ._labels import (
    MISSING_STYLE,
    bouts,
    category_colors,
    check_valid,
    encode_labels,
    recordings,
    without_own_embedding,
)


@validate_params(
    {
        "labels": ["array-like"],
        "valid": ["array-like", None],
        "fps": [Interval(Real, 0, None, closed="neither"), None],
        "groups": ["array-like", None],
        "ax": [Axes, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_ethogram(
    labels: ArrayLike,
    *,
    valid: ArrayLike | None = None,
    fps: float | None = None,
    groups: ArrayLike | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Ethogram: the sequence of behaviours or clusters over time.

    One row per recording; every bout (run of frames with the same label)
    is a bar coloured by its label. Frames without an embedding of their
    own (``valid`` False) are drawn grey and hatched, whatever their label:
    a bridged embedding is a copy of a neighbour's, not behaviour.

    Parameters
    ----------
    labels : array-like of shape (n_frames,)
        Behaviour or cluster per frame; -1 (an unassigned cluster) and
        missing values are left blank.
    valid : array-like of shape (n_frames,) of bool, default=None
        Frames with an embedding of their own, from
        :meth:`~sklearn_scrubvae.ScrubbedCVAE.valid_frames`; None treats
        every frame as valid.
    fps : float, default=None
        Frames per second: the time axis is in seconds; None counts frames.
    groups : array-like of shape (n_frames,), default=None
        Recording id per frame (rows in order of first appearance); None
        draws one row.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        One bar container per label in ``ax.containers``, one bar per bout,
        then (with invalid frames) one of the runs without an embedding of
        their own, labelled with their count.

    Examples
    --------
    >>> from sklearn_scrubvae.plotting import plot_ethogram
    >>> ax = plot_ethogram(["walk", "walk", "rear", "walk"], fps=2)
    >>> [len(bars) for bars in ax.containers]
    [1, 2]
    >>> ax = plot_ethogram(["walk", "walk", "rear", "walk"], valid=[True, True, False, True])
    >>> [len(bars) for bars in ax.containers]  # rear, walk, no own embedding
    [0, 2, 1]
    """
    categories, codes = encode_labels(labels, "labels")
    valid = check_valid(valid, len(codes))
    codes = np.where(valid, codes, -1)
    scale = 1.0 if fps is None else 1.0 / fps
    names, frames = recordings(groups, len(codes))
    runs = []
    for row, indices in enumerate(frames):
        starts, stops, values = bouts(codes[indices])
        runs.append(pd.DataFrame({"row": row, "start": starts, "stop": stops, "code": values}))
        starts, stops, _ = bouts(np.where(valid[indices], -1, 0))  # runs of invalid frames
        runs.append(pd.DataFrame({"row": row, "start": starts, "stop": stops, "code": -1}))
    runs = pd.concat(runs, ignore_index=True)
    ax = get_axes(ax)
    colors = category_colors(len(categories))
    styles = {
        code: dict(color=colors[code], linewidth=0, label=str(category))
        for code, category in enumerate(categories)
    }
    if not valid.all():
        styles[-1] = dict(MISSING_STYLE, label=f"no own embedding ({(~valid).sum()} frames)")
    for code, style in styles.items():
        part = runs[runs["code"] == code]
        ax.barh(
            part["row"], (part["stop"] - part["start"]) * scale, left=part["start"] * scale,
            height=0.8, **style,
        )
    ax.set_yticks(range(len(frames)), [] if groups is None else [str(n) for n in names])
    ax.set_ylim(len(frames) - 0.5, -0.5)
    ax.set_xlim(0, max(len(indices) for indices in frames) * scale)
    ax.set_xlabel("frame" if fps is None else "time (s)")
    ax.set_title(without_own_embedding((~valid).sum(), len(valid)), fontsize="small")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def usage_table(labels, by, valid=None):
    """Fraction of each unit's assigned frames in each cluster.

    Parameters
    ----------
    labels : array-like of shape (n_frames,)
    by : array-like of shape (n_frames,) or (n_frames, 2), or DataFrame
        Unit per frame, or (condition, unit) per frame.
    valid : ndarray of shape (n_frames,) of bool, default=None
        Frames to count; None counts all.

    Returns
    -------
    usage : DataFrame of shape (n_units, n_clusters)
        Rows are units, columns clusters (most used on average first);
        rows sum to 1.
    condition : Series of shape (n_units,)
        Condition of each unit ("all" without a condition column).
    """
    categories, codes = encode_labels(labels, "labels")
    frame = by if isinstance(by, pd.DataFrame) else pd.DataFrame(
        np.asarray(by, dtype=object).reshape(len(by), -1)
    )
    if len(frame) != len(codes):
        raise ValueError(f"by has {len(frame)} rows but labels has {len(codes)}.")
    if frame.shape[1] not in (1, 2):
        raise ValueError(f"by must have 1 column (unit) or 2 (condition, unit), got {frame.shape[1]}.")
    unit = frame.iloc[:, -1].to_numpy()
    condition = frame.iloc[:, 0].to_numpy() if frame.shape[1] == 2 else np.full(len(codes), "all")
    assigned = (codes >= 0) & check_valid(valid, len(codes))
    counts = pd.crosstab(unit[assigned], codes[assigned])
    usage = counts.div(counts.sum(axis=1), axis=0)
    usage.columns = [categories[code] for code in usage.columns]
    usage = usage[usage.mean().sort_values(ascending=False, kind="stable").index]
    per_unit = pd.Series(condition[assigned], index=unit[assigned]).groupby(level=0)
    if (per_unit.nunique(dropna=False) > 1).any():
        raise ValueError("Each unit (last column of by) must belong to one condition.")
    return usage, per_unit.first().reindex(usage.index)


@validate_params(
    {"labels": ["array-like"], "by": ["array-like"], "valid": ["array-like", None], "ax": [Axes, None]},
    prefer_skip_nested_validation=True,
)
def plot_cluster_usage(
    labels: ArrayLike, by: ArrayLike, *, valid: ArrayLike | None = None, ax: Axes | None = None
) -> Axes:
    """Usage of each cluster: mean bars and one point per animal or session.

    Parameters
    ----------
    labels : array-like of shape (n_frames,)
        Cluster (or behaviour) per frame; -1 and missing values are
        unassigned and not counted.
    by : array-like of shape (n_frames,) or DataFrame with 2 columns
        Unit per frame (an animal or session: one point each), or a
        (condition, unit) pair per frame, e.g.
        ``table[["condition", "session"]]``: one bar colour per condition,
        each the mean over that condition's units.
    valid : array-like of shape (n_frames,) of bool, default=None
        Frames with an embedding of their own, from
        :meth:`~sklearn_scrubvae.ScrubbedCVAE.valid_frames`: only they are
        counted (a bridged frame repeats a neighbour's cluster), and the
        title says how many were left out. None counts every frame.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        One bar container per condition in ``ax.containers`` (one bar per
        cluster, most used first, height the mean usage over units) and one
        scatter per condition (one point per unit and cluster), named in
        the legend.

    Raises
    ------
    ValueError
        If lengths differ or a unit belongs to several conditions.

    Examples
    --------
    >>> from sklearn_scrubvae.plotting import plot_cluster_usage
    >>> ax = plot_cluster_usage([0, 0, 1, 0, 1, 1], by=["a", "a", "a", "b", "b", "b"])
    >>> [round(float(bar.get_height()), 2) for bar in ax.containers[0]]
    [0.5, 0.5]
    >>> ax = plot_cluster_usage([0, 0, 1, 0, 1, 1], by=["a", "a", "a", "b", "b", "b"],
    ...                         valid=[True, True, True, True, True, False])
    >>> ax.get_title()
    'usage of 5 frames\\n1 of 6 frames (17%) without an embedding of their own left out'
    """
    n_frames = len(by)
    valid = check_valid(valid, n_frames)
    usage, condition = usage_table(labels, by, valid)
    unit = getattr(by, "columns", [getattr(by, "name", None)])[-1]
    groups = list(dict.fromkeys(condition))
    ax = get_axes(ax)
    width = 0.8 / len(groups)
    colors = ["0.6"] if len(groups) == 1 else category_colors(len(groups))
    positions = np.arange(usage.shape[1])
    rng = np.random.default_rng(0)
    for j, group in enumerate(groups):
        rows = usage[(condition == group).to_numpy()]
        x = positions - 0.4 + width * (j + 0.5)
        ax.bar(x, rows.mean().to_numpy(), width, color=colors[j],
               label=("mean over units" if unit is None else f"mean per {unit}")
               if len(groups) == 1 else str(group))
        jitter = rng.uniform(-0.25, 0.25, size=rows.shape) * width
        ax.scatter((x + jitter).ravel(), rows.to_numpy().ravel(), s=10, color="black",
                   linewidths=0, zorder=3,
                   label=f"one {'unit' if unit is None else unit}" if j == 0 else None)
    ax.set_xticks(positions, [str(c) for c in usage.columns])
    ax.set_xlabel("cluster")
    ax.set_ylabel("usage (fraction of frames)")
    counted = f"usage of {valid.sum()} frames"
    left_out = without_own_embedding((~valid).sum(), n_frames)
    ax.set_title(f"{counted}\n{left_out} left out" if left_out else counted, fontsize="small")
    ax.legend(fontsize="small")
    return ax
