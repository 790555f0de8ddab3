"""Animated stick figures: windows side by side, and grids of cluster examples."""

from numbers import Integral, Real

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.ticker import NullFormatter
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..pose import Skeleton, align_egocentric
from ._axes import new_figure
from ._labels import bouts, check_valid, encode_labels, recordings
from ._pose import StickFigure, check_pose_input, frame_limits, view_size

PANEL_INCHES = 2.4


def _animate(figure, panels, skeleton, *, fps, playback_fps, first_frame=0, axes_visible=True):
    """Animation that moves every panel's stick figure through its window.

    Parameters
    ----------
    figure : matplotlib Figure
    panels : list of (Axes, ndarray of shape (n_frames, n_keypoints, n_dims))
        All windows have the same number of frames.
    skeleton : Skeleton
    fps : float
        Frames per second of the data: sets the time label.
    playback_fps : float or None
        Frames shown per second; None plays at ``fps`` (real time).
    first_frame : int, default=0
        Frame shown at time 0 in the label (e.g. the window centre).
    axes_visible : bool, default=True
        Keep the axes (without tick labels) or hide them.

    Returns
    -------
    animation : FuncAnimation
    """
    n_frames = len(panels[0][1])
    size = view_size(window for _, window in panels)
    figures = []
    for ax, window in panels:
        figures.append(StickFigure(ax, skeleton))
        if axes_visible:
            hide_tick_labels(ax)
            frame_limits(ax, window, size)
        else:
            ax.set_axis_off()
            frame_limits(ax, window, size, zoom=2.0)
    label = figure.suptitle("")

    def update(frame):
        for stick, (_, window) in zip(figures, panels):
            stick.draw(window[frame])
        label.set_text(f"t = {(frame - first_frame) / fps:+.2f} s")
        return [line for stick in figures for line in stick.lines] + [label]

    shown = fps if playback_fps is None else playback_fps
    return FuncAnimation(figure, update, frames=n_frames, interval=1000.0 / shown)


def hide_tick_labels(ax):
    """Keep the axes (and 3D panes) of a small panel but drop its numbers."""
    for axis in (ax.xaxis, ax.yaxis, getattr(ax, "zaxis", None)):
        if axis is not None:
            axis.set_major_formatter(NullFormatter())


FPS_CONSTRAINTS = [Interval(Real, 0, None, closed="neither")]


@validate_params(
    {
        "windows": ["array-like"],
        "skeleton": [Skeleton, str],
        "titles": [list, None],
        "fps": FPS_CONSTRAINTS,
        "playback_fps": FPS_CONSTRAINTS + [None],
    },
    prefer_skip_nested_validation=True,
)
def animate_windows(
    windows: ArrayLike,
    skeleton: Skeleton | str,
    *,
    titles: list[str] | None = None,
    fps: float = 30,
    playback_fps: float | None = None,
) -> FuncAnimation:
    """Animate one or several windows of poses side by side.

    Use it to compare an original window with its reconstruction and with
    the same latent code decoded at another speed or heading (motion
    synthesis, see :meth:`~sklearn_scrubvae.ScrubbedCVAE.decode_windows`).
    Every panel is centred on its own window and all panels share one
    scale, so sizes and distances travelled compare directly.

    Parameters
    ----------
    windows : array-like of shape (n_frames, n_keypoints, n_dims) or \
            (n_windows, n_frames, n_keypoints, n_dims), or list of such windows
        Keypoint positions; ``n_dims`` 3 (drawn in 3D) or 2. All windows
        have the same number of frames.
    skeleton : Skeleton or str
        Skeleton of the keypoints, e.g. "mouse18".
    titles : list of str, default=None
        One title per window.
    fps : float, default=30
        Frames per second of the poses: the time label reads seconds of the
        recording.
    playback_fps : float, default=None
        Frames shown per second; None plays in real time (``fps``). E.g.
        half of ``fps`` for slow motion; GIF viewers show at most 50.

    Returns
    -------
    animation : matplotlib.animation.FuncAnimation
        ``n_frames`` frames on a figure with one panel per window (five per
        row at most). Save it with ``animation.save("out.gif",
        writer="pillow")`` (the frame rate follows ``fps``), or
        ``writer="ffmpeg"`` for MP4 where ffmpeg is installed; in a
        notebook show ``animation.to_jshtml()``.

    Raises
    ------
    ValueError
        If shapes do not match the skeleton or each other, or ``titles``
        has the wrong length.

    Examples
    --------
    >>> from sklearn_scrubvae.datasets import make_mouse_behavior
    >>> from sklearn_scrubvae.plotting import animate_windows
    >>> poses, _ = make_mouse_behavior(1, 60, fps=30, random_state=0)
    >>> animation = animate_windows([poses[:15], poses[30:45]], "mouse18",
    ...                             titles=["early", "late"])
    >>> animation.save("windows.gif", writer="pillow")  # doctest: +SKIP
    """
    windows, skeleton = check_pose_input(np.asarray(windows), skeleton, min_ndim=3)
    if windows.ndim == 3:
        windows = windows[None]
    if windows.ndim != 4:
        raise ValueError(
            "windows must have shape (n_frames, n_keypoints, n_dims) or "
            f"(n_windows, n_frames, n_keypoints, n_dims), got {windows.shape}."
        )
    n_windows = len(windows)
    if titles is not None and len(titles) != n_windows:
        raise ValueError(f"titles has {len(titles)} entries for {n_windows} windows.")
    n_cols = min(n_windows, 5)
    n_rows = -(-n_windows // n_cols)
    figure, axes = new_figure(
        n_rows, n_cols, three_d=windows.shape[-1] == 3, panel_size=PANEL_INCHES
    )
    axes = axes.ravel()
    for ax in axes[n_windows:]:
        ax.set_axis_off()
    for i, ax in enumerate(axes[:n_windows]):
        if titles is not None:
            ax.set_title(titles[i])
    return _animate(figure, list(zip(axes, windows)), skeleton, fps=fps, playback_fps=playback_fps)


def choose_examples(codes, frames, cluster, n_examples, window, rng, drawable=None):
    """Centre frames of example bouts of one cluster.

    Parameters
    ----------
    codes : ndarray of shape (n_frames,), dtype int
        Cluster code per frame, -1 where unassigned.
    frames : list of ndarray
        Frame indices of each recording.
    cluster : int
        Code of the cluster.
    n_examples : int
        Most examples to return.
    window : int
        Frames per example (odd); an example's window stays inside its
        recording.
    rng : numpy Generator
    drawable : ndarray of shape (n_frames,) of bool, default=None
        Frames that can be the middle of an example (e.g. root and front
        keypoints present, so the example can be aligned); None allows all.

    Returns
    -------
    centres : ndarray of shape (n_found,)
        Frame index of the middle of each chosen bout, ``n_found <=
        n_examples``, sorted; distinct bouts drawn at random.
    """
    half = window // 2
    candidates = []
    for indices in frames:
        starts, stops, values = bouts(codes[indices])
        middle = (starts + stops - 1)[values == cluster] // 2
        middle = middle[(middle >= half) & (middle + half < len(indices))]
        candidates.append(indices[middle])
    candidates = np.concatenate(candidates)
    if drawable is not None:
        candidates = candidates[drawable[candidates]]
    chosen = rng.choice(len(candidates), min(n_examples, len(candidates)), replace=False)
    return np.sort(candidates[chosen])


@validate_params(
    {
        "poses": ["array-like"],
        "labels": ["array-like"],
        "skeleton": [Skeleton, str],
        "valid": ["array-like", None],
        "n_examples": [Interval(Integral, 1, None, closed="left")],
        "window": [Interval(Integral, 1, None, closed="left")],
        "clusters": [list, None],
        "groups": ["array-like", None],
        "fps": FPS_CONSTRAINTS,
        "playback_fps": FPS_CONSTRAINTS + [None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def animate_clusters(
    poses: ArrayLike,
    labels: ArrayLike,
    skeleton: Skeleton | str,
    *,
    valid: ArrayLike | None = None,
    n_examples: int = 6,
    window: int = 31,
    clusters: list | None = None,
    groups: ArrayLike | None = None,
    fps: float = 30,
    playback_fps: float | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> FuncAnimation:
    """Animated grid of example bouts of each cluster ("grid movie" from poses).

    Each row shows one cluster: ``n_examples`` bouts drawn at random, each
    the ``window`` frames around the middle of a bout, turned so that the
    bout's middle frame faces +x with its root at the origin
    (:func:`~sklearn_scrubvae.pose.align_egocentric`). All examples play
    together with one shared scale, so the rows show what each cluster's
    movement looks like and how consistent it is. Frames without an
    embedding of their own (``valid`` False) belong to no bout, and a bout
    is shown only if its middle frame has the root and front keypoints, so
    gappy recordings animate what was tracked (missing keypoints break
    their chain).

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 3 or 2.
    labels : array-like of shape (n_frames,)
        Cluster (or behaviour) per frame, e.g. from
        :func:`~sklearn_scrubvae.metrics.cluster_embeddings`; -1 and missing
        values are unassigned.
    skeleton : Skeleton or str
        Skeleton of the keypoints; its root and front keypoints define the
        alignment.
    valid : array-like of shape (n_frames,) of bool, default=None
        Frames with an embedding of their own, from
        :meth:`~sklearn_scrubvae.ScrubbedCVAE.valid_frames`; the others
        are unassigned (their label repeats a neighbour's). None treats
        every frame as valid.
    n_examples : int, default=6
        Examples (columns) per cluster; fewer when a cluster has fewer
        bouts whose window fits in the recording.
    window : int, default=31
        Frames per example (odd).
    clusters : list, default=None
        Clusters to show, one row each, in this order; None shows every
        cluster, most used first.
    groups : array-like of shape (n_frames,), default=None
        Recording id per frame; examples never cross recordings.
    fps : float, default=30
        Frames per second of the poses: the time label reads seconds of the
        recording, 0 at the middle of each bout.
    playback_fps : float, default=None
        Frames shown per second; None plays in real time (``fps``).
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of examples.

    Returns
    -------
    animation : matplotlib.animation.FuncAnimation
        ``window`` frames on a grid of ``len(clusters)`` rows and
        ``n_examples`` columns; each row's first panel is titled with the
        cluster, its share of assigned (valid) frames and its number of
        bouts.

    Raises
    ------
    ValueError
        For bad shapes, an even or too long ``window``, or clusters that do
        not occur in ``labels``.

    Examples
    --------
    >>> from sklearn_scrubvae.datasets import make_mouse_behavior
    >>> from sklearn_scrubvae.plotting import animate_clusters
    >>> poses, table = make_mouse_behavior(1, 300, fps=30, random_state=0)
    >>> animation = animate_clusters(poses, table["behavior"], "mouse18",
    ...                              n_examples=2, window=9,
    ...                              clusters=["walk", "rear"], random_state=0)
    >>> animation.save("clusters.gif", writer="pillow")  # doctest: +SKIP
    """
    poses, skeleton = check_pose_input(poses, skeleton, min_ndim=3)
    if poses.ndim != 3:
        raise ValueError(f"poses must have shape (n_frames, n_keypoints, n_dims), got {poses.shape}.")
    categories, codes = encode_labels(labels, "labels", len(poses))
    codes = np.where(check_valid(valid, len(poses)), codes, -1)
    if window % 2 == 0:
        raise ValueError(f"window must be a positive odd integer, got {window!r}.")
    drawable = np.isfinite(poses[:, [skeleton.root, skeleton.front]]).all(axis=(1, 2))
    usage = np.bincount(codes[codes >= 0], minlength=len(categories)) / max((codes >= 0).sum(), 1)
    if clusters is None:
        rows = list(np.argsort(-usage, kind="stable"))
    else:
        missing = [c for c in clusters if c not in categories]
        if missing:
            raise ValueError(f"clusters {missing} do not occur in labels {categories}.")
        rows = [categories.index(c) for c in clusters]
    _, frames = recordings(groups, len(poses))
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    half = window // 2
    figure, axes = new_figure(
        len(rows), n_examples, three_d=poses.shape[-1] == 3, panel_size=PANEL_INCHES * 0.6
    )
    panels = []
    for row_axes, code in zip(axes, rows):
        centres = choose_examples(codes, frames, code, n_examples, window, rng, drawable)
        n_bouts = sum(int((bouts(codes[indices])[2] == code).sum()) for indices in frames)
        row_axes[0].set_title(
            f"{categories[code]}: {usage[code]:.0%}, {n_bouts} bouts", loc="left",
            fontsize="small",
        )
        for ax in row_axes[len(centres):]:
            ax.set_axis_off()
        for ax, centre in zip(row_axes, centres):
            example = align_egocentric(poses[centre - half:centre + half + 1], skeleton)
            panels.append((ax, example))
    if not panels:
        raise ValueError(f"No bout of the chosen clusters fits a window of {window} frames.")
    return _animate(
        figure, panels, skeleton, fps=fps, playback_fps=playback_fps, first_frame=half,
        axes_visible=False,
    )
