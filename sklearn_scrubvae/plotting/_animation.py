"""Animated stick figures: windows side by side, and grids of cluster examples."""

from numbers import Integral

import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.ticker import NullFormatter
from sklearn.utils import check_random_state

from ..pose import align_egocentric
from ._axes import new_figure
from ._labels import bouts, encode_labels, recordings
from ._pose import StickFigure, check_pose_input, frame_limits, view_size
from ._validation import check_fps

PANEL_INCHES = 2.4


def _animate(figure, panels, skeleton, *, fps, first_frame=0, axes_visible=True):
    """Animation that moves every panel's stick figure through its window.

    Parameters
    ----------
    figure : matplotlib Figure
    panels : list of (Axes, ndarray of shape (n_frames, n_keypoints, n_dims))
        All windows have the same number of frames.
    skeleton : Skeleton
    fps : float
        Frames per second of playback and of the time label.
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

    return FuncAnimation(figure, update, frames=n_frames, interval=1000.0 / fps)


def hide_tick_labels(ax):
    """Keep the axes (and 3D panes) of a small panel but drop its numbers."""
    for axis in (ax.xaxis, ax.yaxis, getattr(ax, "zaxis", None)):
        if axis is not None:
            axis.set_major_formatter(NullFormatter())


def animate_windows(windows, skeleton, *, titles=None, fps=30):
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
        Playback frames per second; also sets the time label.

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
    fps = check_fps(fps)
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
    return _animate(figure, list(zip(axes, windows)), skeleton, fps=fps)


def choose_examples(codes, frames, cluster, n_examples, window, rng):
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
    chosen = rng.choice(len(candidates), min(n_examples, len(candidates)), replace=False)
    return np.sort(candidates[chosen])


def animate_clusters(
    poses, labels, skeleton, *, n_examples=6, window=31, clusters=None, groups=None,
    fps=30, random_state=None,
):
    """Animated grid of example bouts of each cluster ("grid movie" from poses).

    Each row shows one cluster: ``n_examples`` bouts drawn at random, each
    the ``window`` frames around the middle of a bout, turned so that the
    bout's middle frame faces +x with its root at the origin
    (:func:`~sklearn_scrubvae.pose.align_egocentric`). All examples play
    together with one shared scale, so the rows show what each cluster's
    movement looks like and how consistent it is.

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
        Playback frames per second; time 0 is the middle of each bout.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of examples.

    Returns
    -------
    animation : matplotlib.animation.FuncAnimation
        ``window`` frames on a grid of ``len(clusters)`` rows and
        ``n_examples`` columns; each row's first panel is titled with the
        cluster, its share of assigned frames and its number of bouts.

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
    if not (isinstance(window, Integral) and window >= 1 and window % 2 == 1):
        raise ValueError(f"window must be a positive odd integer, got {window!r}.")
    if not (isinstance(n_examples, Integral) and n_examples >= 1):
        raise ValueError(f"n_examples must be a positive integer, got {n_examples!r}.")
    fps = check_fps(fps)
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
        centres = choose_examples(codes, frames, code, n_examples, window, rng)
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
    return _animate(figure, panels, skeleton, fps=fps, first_frame=half, axes_visible=False)
