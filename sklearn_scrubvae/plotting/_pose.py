"""Stick figures of skeleton poses."""

import numpy as np
from matplotlib.axes import Axes
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import validate_params

from ..pose import Skeleton, get_skeleton
from ..pose._validation import check_poses
from ._axes import get_axes, is_3d
from ._labels import category_colors


class StickFigure:
    """The bones of one skeleton on an Axes, redrawn frame by frame.

    One line per chain of the skeleton (spine and head, tail, each limb),
    each in its own colour, with a dot on every keypoint. Missing keypoints
    (NaN) break their chain.

    Parameters
    ----------
    ax : matplotlib Axes
        2D or 3D Axes, matching the poses' dimension.
    skeleton : Skeleton
    alpha : float, default=1.0
        Opacity of the lines.
    labelled : bool, default=False
        Label each line with its chain's first and last keypoint (for a
        legend).
    """

    def __init__(self, ax, skeleton, alpha=1.0, labelled=False):
        self.chains = [np.asarray(chain) for chain in skeleton.chains]
        colors = category_colors(len(self.chains))
        self.three_d = is_3d(ax)
        empty = ([], [], []) if self.three_d else ([], [])
        names = skeleton.keypoint_names
        self.lines = [
            ax.plot(*empty, color=color, marker="o", markersize=2.5, linewidth=1.8,
                    alpha=alpha,
                    label=f"{names[chain[0]]} - {names[chain[-1]]}" if labelled else None)[0]
            for chain, color in zip(self.chains, colors)
        ]

    def draw(self, pose):
        """Move the figure to one pose.

        Parameters
        ----------
        pose : ndarray of shape (n_keypoints, n_dims)
        """
        for chain, line in zip(self.chains, self.lines):
            points = pose[chain]
            if self.three_d:
                line.set_data_3d(*points.T)
            else:
                line.set_data(*points.T)


def check_pose_input(poses, skeleton, min_ndim):
    """Validated poses (float64) and the resolved skeleton.

    Parameters
    ----------
    poses : array-like of shape (..., n_keypoints, n_dims)
    skeleton : Skeleton or str
    min_ndim : int
        Smallest accepted number of axes.

    Returns
    -------
    poses : ndarray of shape (..., n_keypoints, n_dims)
    skeleton : Skeleton
    """
    skeleton = get_skeleton(skeleton)
    poses = check_poses(poses, n_keypoints=skeleton.n_keypoints, min_ndim=min_ndim)
    return poses, skeleton


def view_size(windows):
    """Extent that fits every window: half the side over x and y, and the height.

    Parameters
    ----------
    windows : iterable of ndarray of shape (..., n_keypoints, n_dims)

    Returns
    -------
    half_width : float
        Half the largest x or y extent, with a 5% margin.
    height : float
        Largest z extent with a 5% margin (0 for 2D poses).
    """
    half_width, height = 1e-9, 0.0
    for window in windows:
        points = window.reshape(-1, window.shape[-1])
        extent = np.nanmax(points, axis=0) - np.nanmin(points, axis=0)
        half_width = max(half_width, 0.55 * float(np.max(extent[:2])))
        if len(extent) == 3:
            height = max(height, 1.05 * float(extent[2]))
    return half_width, height


def frame_limits(ax, poses, size, zoom=1.2):
    """Centre the view on ``poses`` with the same scale on every axis.

    Parameters
    ----------
    ax : matplotlib Axes
    poses : ndarray of shape (..., n_keypoints, n_dims)
        What must be visible.
    size : tuple of float
        ``(half_width, height)`` from :func:`view_size`.
    zoom : float, default=1.2
        Magnification of a 3D view inside its Axes (larger when the axes
        are hidden and their margins are not needed).
    """
    half_width, height = size
    points = poses.reshape(-1, poses.shape[-1])
    low, high = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    centre = (low + high) / 2
    ax.set_xlim(centre[0] - half_width, centre[0] + half_width)
    ax.set_ylim(centre[1] - half_width, centre[1] + half_width)
    if is_3d(ax):
        height = max(height, 1e-3 * half_width)
        ax.set_zlim(low[2], low[2] + height)
        ax.set_box_aspect((2 * half_width, 2 * half_width, height), zoom=zoom)
    else:
        ax.set_aspect("equal")


@validate_params(
    {"pose": ["array-like"], "skeleton": [Skeleton, str], "ax": [Axes, None],
     "units": [str, None]},
    prefer_skip_nested_validation=True,
)
def plot_pose(
    pose: ArrayLike, skeleton: Skeleton | str, ax: Axes | None = None, *, units: str | None = None
) -> Axes:
    """Stick figure of one pose, or of a window of poses overlaid.

    A window is drawn as a chronophotograph: every frame's figure in the
    same place, earlier frames fainter.

    Parameters
    ----------
    pose : array-like of shape (n_keypoints, n_dims) or \
            (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 3 (drawn in 3D, z up) or 2 (e.g.
        image coordinates); NaN marks a missing keypoint.
    skeleton : Skeleton or str
        Skeleton of the keypoints, e.g. "mouse18" or one built with
        :meth:`~sklearn_scrubvae.pose.Skeleton.from_edges`; one line is
        drawn per chain (``skeleton.chains``).
    ax : matplotlib Axes, default=None
        Axes to draw on (3D for 3D poses); None creates a figure.
    units : str, default=None
        Unit of the coordinates (e.g. "mm", "px"), shown in the axis
        labels.

    Returns
    -------
    ax : matplotlib Axes
        With one line per chain and frame, axis labels ("x (mm)", ...) and
        a legend naming each chain by its first and last keypoint.

    Raises
    ------
    ValueError
        If the shape does not match the skeleton, or a 3D pose is given a
        2D Axes (pass ``pose[..., :2]`` for a top view).

    Examples
    --------
    >>> from sklearn_scrubvae.datasets import make_mouse_behavior
    >>> from sklearn_scrubvae.plotting import plot_pose
    >>> poses, _ = make_mouse_behavior(1, 30, fps=30, random_state=0)
    >>> ax = plot_pose(poses[0], "mouse18")
    >>> len(ax.get_lines())
    6
    """
    pose, skeleton = check_pose_input(pose, skeleton, min_ndim=2)
    if pose.ndim > 3:
        raise ValueError(f"pose must have 2 or 3 axes, got shape {pose.shape}.")
    window = pose if pose.ndim == 3 else pose[None]
    ax = get_axes(ax, three_d=window.shape[-1] == 3)
    alphas = np.linspace(0.15, 1.0, len(window)) if len(window) > 1 else [1.0]
    for i, (frame, alpha) in enumerate(zip(window, alphas)):
        StickFigure(ax, skeleton, alpha=alpha, labelled=i == len(window) - 1).draw(frame)
    frame_limits(ax, window, view_size([window]))
    suffix = "" if units is None else f" ({units})"
    for axis, name in zip("xyz", ("x", "y", "z, up") if is_3d(ax) else ("x", "y")):
        getattr(ax, f"set_{axis}label")(name + suffix)
    ax.legend(fontsize="x-small", loc="upper left")
    return ax
