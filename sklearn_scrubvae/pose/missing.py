"""Where keypoints are missing, and which frames that costs."""

from collections.abc import Sequence
from numbers import Integral

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval, validate_params

from ._validation import check_groups, check_poses
from .alignment import heading_angle
from .gaps import interpolate_gaps
from .skeleton import Skeleton, get_skeleton


@validate_params(
    {
        "poses": ["array-like"],
        "skeleton": [Skeleton, str, "array-like"],
        "max_gap": [Interval(Integral, 0, None, closed="left")],
        "groups": ["array-like", None],
        "frames": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def count_unusable_frames(
    poses: ArrayLike,
    skeleton: Skeleton | str | Sequence[str],
    max_gap: int = 10,
    groups: ArrayLike | None = None,
    frames: ArrayLike | None = None,
) -> pd.Series:
    """Frames that each keypoint leaves unusable after short gaps are filled.

    A frame is unusable, when every keypoint is required (``ScrubbedCVAE``
    with ``min_keypoints=1.0``), if a keypoint is still missing after runs
    of at most ``max_gap`` missing frames are interpolated within each
    recording. A frame missing two keypoints counts for both.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, NaN where missing.
    skeleton : Skeleton, str or sequence of str
        A skeleton, a registered skeleton name, or the keypoint names.
    max_gap : int, default=10
        Longest run of missing frames that is interpolated.
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame; None for a single recording.
    frames : array-like of shape (n_frames,) of bool, default=None
        Count only these frames (e.g. those covered by dropped windows);
        None counts all.

    Returns
    -------
    counts : pandas.Series of shape (n_keypoints,)
        Number of counted frames in which each keypoint is missing after
        gap filling, indexed by keypoint name, largest first (ties keep
        the keypoint order).

    See Also
    --------
    missing_report : The same count with gap statistics per keypoint.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import count_unusable_frames
    >>> poses = np.zeros((30, 2, 3))
    >>> poses[5:8, 0] = np.nan    # 3 frames: filled at max_gap=10
    >>> poses[10:25, 1] = np.nan  # 15 frames: too long to fill
    >>> count_unusable_frames(poses, ["nose", "tail"]).to_dict()
    {'tail': 15, 'nose': 0}
    """
    names, poses = _named_poses(poses, skeleton)
    missing = _missing_after_filling(poses, max_gap, groups)
    if frames is not None:
        frames = np.asarray(frames)
        if frames.dtype != bool or frames.shape != (poses.shape[0],):
            raise ValueError(
                f"frames must be a boolean mask of shape ({poses.shape[0]},), got "
                f"dtype {frames.dtype} and shape {frames.shape}."
            )
        missing = missing[frames]
    counts = pd.Series(missing.sum(axis=0), index=names, name="unusable_frames")
    return counts.sort_values(ascending=False, kind="stable")


@validate_params(
    {
        "poses": ["array-like"],
        "skeleton": [Skeleton, str, "array-like"],
        "groups": ["array-like", None],
        "max_gap": [Interval(Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def missing_report(
    poses: ArrayLike,
    skeleton: Skeleton | str | Sequence[str],
    groups: ArrayLike | None = None,
    max_gap: int = 10,
) -> pd.DataFrame:
    """Missing data per keypoint, and the frames it costs at ``max_gap``.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, NaN where missing (a keypoint with any NaN
        coordinate counts as missing).
    skeleton : Skeleton, str or sequence of str
        A skeleton, a registered skeleton name, or the keypoint names.
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame; None for a single recording. Gaps end
        at recording borders.
    max_gap : int, default=10
        Longest run of missing frames that interpolation fills, as the
        estimator's ``max_gap``.

    Returns
    -------
    report : pandas.DataFrame of shape (n_keypoints, 5)
        One row per keypoint (index ``keypoint``, in the keypoints' order):

        - ``fraction_missing``: fraction of frames where it is missing;
        - ``longest_gap``: longest run of consecutive missing frames;
        - ``n_long_gaps``: runs longer than ``max_gap`` (never filled);
        - ``frames_lost``: frames where it is still missing after filling
          gaps of at most ``max_gap`` frames;
        - ``frames_lost_alone``: frames where it is the only keypoint still
          missing: frames that dropping or repairing it would recover.

        ``report.attrs`` holds ``n_frames``, ``max_gap`` and
        ``frames_unusable``, the frames missing any keypoint after filling.

    See Also
    --------
    count_unusable_frames : Per-keypoint counts over chosen frames.
    interpolate_gaps : The gap filling assumed here.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import missing_report
    >>> poses = np.zeros((30, 2, 3))
    >>> poses[5:8, 0] = np.nan
    >>> poses[10:25, 1] = np.nan
    >>> report = missing_report(poses, ["nose", "tail"], max_gap=10)
    >>> report[["longest_gap", "frames_lost"]].to_dict("index")
    {'nose': {'longest_gap': 3, 'frames_lost': 0}, 'tail': {'longest_gap': 15, \
'frames_lost': 15}}
    >>> report.attrs["frames_unusable"]
    15
    """
    names, poses = _named_poses(poses, skeleton)
    n_frames = poses.shape[0]
    missing = np.isnan(poses).any(axis=-1)
    still_missing = _missing_after_filling(poses, max_gap, groups)
    _, _, run_id = check_groups(groups, n_frames)
    lengths = _gap_lengths(missing, run_id)
    alone = still_missing & (still_missing.sum(axis=1, keepdims=True) == 1)
    report = pd.DataFrame(
        {
            "fraction_missing": missing.mean(axis=0) if n_frames else 0.0,
            "longest_gap": lengths.max(axis=0, initial=0),
            "n_long_gaps": (lengths > max_gap).sum(axis=0),
            "frames_lost": still_missing.sum(axis=0),
            "frames_lost_alone": alone.sum(axis=0),
        },
        index=pd.Index(names, name="keypoint"),
    )
    report.attrs.update(
        n_frames=n_frames,
        max_gap=max_gap,
        frames_unusable=int(still_missing.any(axis=1).sum()),
    )
    return report


@validate_params(
    {"poses": ["array-like"], "skeleton": [Skeleton, str]},
    prefer_skip_nested_validation=True,
)
def compute_mean_pose(poses: ArrayLike, skeleton: Skeleton | str) -> np.ndarray:
    """Mean position of each keypoint in the body frame.

    Each frame whose root and front keypoints are present is translated so
    that its root is at the origin and turned about the vertical axis so
    that its heading (root -> front, see
    :func:`~sklearn_scrubvae.pose.heading_angle`) points along +x; each
    keypoint's position is then averaged over the frames where it is
    present. This is the body shape that :func:`impute_keypoints` fits to
    the keypoints of a frame to place those that are missing.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3, NaN where missing.
    skeleton : Skeleton or str
        Skeleton giving the root and front keypoints.

    Returns
    -------
    mean_pose : ndarray of shape (n_keypoints, n_dims)

    Raises
    ------
    ValueError
        If a keypoint is never present in a frame that has the root and
        front keypoints (naming it).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import Skeleton, compute_mean_pose
    >>> skeleton = Skeleton.from_edges(["a", "b", "c"], [("a", "b"), ("a", "c")],
    ...                                root="a", front="b")
    >>> poses = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]],    # facing +x
    ...                   [[5.0, 5.0], [5.0, 6.0], [4.0, 5.0]]])   # facing +y
    >>> compute_mean_pose(poses, skeleton).round(6) + 0.0
    array([[0., 0.],
           [1., 0.],
           [0., 1.]])
    """
    skeleton = get_skeleton(skeleton)
    poses = _frame_poses(poses, skeleton.n_keypoints)
    yaw = heading_angle(poses, skeleton)
    body = _turn(poses - poses[:, skeleton.root, None], -yaw[:, None])
    present = np.isfinite(body).all(axis=-1)
    counts = present.sum(axis=0)
    never = np.flatnonzero(counts == 0)
    if len(never):
        names = skeleton.keypoint_names
        raise ValueError(
            f"Keypoints {[names[k] for k in never]} are never present in a frame that has "
            f"the root {names[skeleton.root]!r} and front {names[skeleton.front]!r} "
            "keypoints; leave them out of the skeleton."
        )
    return np.where(present[..., None], body, 0.0).sum(axis=0) / counts[:, None]


@validate_params(
    {"poses": ["array-like"], "mean_pose": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def compute_pose_covariance(poses: ArrayLike, mean_pose: ArrayLike) -> np.ndarray:
    """Covariance of the keypoints about the mean body shape, in the body frame.

    Each frame with every keypoint present is turned about the vertical
    axis and translated onto the mean pose (least squares, as in
    :func:`impute_keypoints`); the covariance of its keypoint coordinates
    about the mean pose (both centred on their centroid) says how the
    keypoints move together, which :func:`impute_keypoints` uses to place
    a missing keypoint from where the others are.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3, NaN where missing (frames
        missing a keypoint are left out).
    mean_pose : array-like of shape (n_keypoints, n_dims)
        From :func:`compute_mean_pose`.

    Returns
    -------
    covariance : ndarray of shape (n_keypoints * n_dims, n_keypoints * n_dims)
        Coordinates in keypoint-major order (keypoint 0's x, y[, z], then
        keypoint 1's...).

    Raises
    ------
    ValueError
        If fewer than two frames have every keypoint present.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import compute_pose_covariance
    >>> mean_pose = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> poses = np.stack([mean_pose, mean_pose + [[0, 0], [0, 0], [0, 0.3]]])
    >>> compute_pose_covariance(poses, mean_pose).shape
    (6, 6)
    """
    poses = _frame_poses(poses)
    mean_pose = _checked_mean_pose(mean_pose, poses)
    complete = poses[np.isfinite(poses).all(axis=(1, 2))]
    if len(complete) < 2:
        raise ValueError(
            f"{len(complete)} frame(s) have every keypoint present; the covariance of the "
            "body shape needs at least two."
        )
    present = np.ones(complete.shape[:2], dtype=bool)
    center, shape, angle = _fit_mean_pose(complete, present, mean_pose)
    residual = _turn(complete - center, -angle[:, None]) - shape
    residual = residual.reshape(len(complete), -1)
    return residual.T @ residual / len(complete)


@validate_params(
    {"poses": ["array-like"], "mean_pose": ["array-like"], "covariance": ["array-like", None]},
    prefer_skip_nested_validation=True,
)
def impute_keypoints(
    poses: ArrayLike, mean_pose: ArrayLike, covariance: ArrayLike | None = None
) -> np.ndarray:
    """Place missing keypoints where the mean body shape, fitted to the others, puts them.

    In every frame with at least two keypoints present, the mean pose is
    turned about the vertical axis and translated (least squares over the
    present keypoints) onto the present keypoints; its keypoints then stand
    in for the missing ones. With ``covariance``, a missing keypoint also
    follows the others' departures from the mean shape: it takes its
    Gaussian conditional mean given the present keypoints (in the fitted
    body frame), e.g. an ankle is placed from where the knee and the paw
    are. Present keypoints are left as they are. The fit needs neither the
    root nor the front keypoint, so it also places those when they are
    missing.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3, NaN where missing.
    mean_pose : array-like of shape (n_keypoints, n_dims)
        From :func:`compute_mean_pose`.
    covariance : array-like of shape (n_keypoints * n_dims, n_keypoints * n_dims), \
default=None
        From :func:`compute_pose_covariance`; None places the mean shape alone.

    Returns
    -------
    imputed : ndarray of shape (n_frames, n_keypoints, n_dims)
        A copy of ``poses``; frames with fewer than two keypoints present
        keep their NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import impute_keypoints
    >>> mean_pose = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> frame = np.array([[[5.0, 5.0], [5.0, 6.0], [np.nan, np.nan]]])  # facing +y
    >>> impute_keypoints(frame, mean_pose)[0, 2].round(6)
    array([4., 5.])
    """
    poses = _frame_poses(poses)
    mean_pose = _checked_mean_pose(mean_pose, poses)
    present = np.isfinite(poses).all(axis=-1)
    fitted = present.sum(axis=1) >= 2
    center, shape, angle = _fit_mean_pose(poses, present, mean_pose)
    if covariance is not None:
        observed = _turn(np.where(present[..., None], poses, 0.0) - center, -angle[:, None])
        shape = shape + _conditional_residuals(observed - shape, present & fitted[:, None],
                                               np.asarray(covariance, dtype=np.float64))
    placed = _turn(shape, angle[:, None]) + center
    fill = ~present & fitted[:, None]
    return np.where(fill[..., None], placed, poses)


def _checked_mean_pose(mean_pose, poses):
    """``mean_pose`` as float64, checked against the poses' (n_keypoints, n_dims)."""
    mean_pose = np.asarray(mean_pose, dtype=np.float64)
    if mean_pose.shape != poses.shape[1:]:
        raise ValueError(
            f"mean_pose must have shape {poses.shape[1:]} for these poses, got {mean_pose.shape}."
        )
    return mean_pose


def _fit_mean_pose(poses, present, mean_pose):
    """Least-squares turn and shift of the mean pose onto each frame's present keypoints.

    Returns
    -------
    center : ndarray of shape (n_frames, 1, n_dims)
        Centroid of the present keypoints.
    shape : ndarray of shape (n_frames, n_keypoints, n_dims)
        The mean pose minus its centroid over the same keypoints.
    angle : ndarray of shape (n_frames,)
        Turn about the vertical axis taking ``shape`` onto the frame.
    """
    weight = present[..., None].astype(np.float64)
    count = np.maximum(present.sum(axis=1), 1)[:, None, None]
    observed = np.where(present[..., None], poses, 0.0)
    center = (weight * observed).sum(axis=1, keepdims=True) / count
    shape = mean_pose - (weight * mean_pose).sum(axis=1, keepdims=True) / count
    p, q = (observed - center)[..., :2], shape[..., :2]
    cos = (weight[..., 0] * (q * p).sum(axis=-1)).sum(axis=1)
    sin = (weight[..., 0] * (q[..., 0] * p[..., 1] - q[..., 1] * p[..., 0])).sum(axis=1)
    return center, shape, np.arctan2(sin, cos)


def _conditional_residuals(residuals, present, covariance):
    """Gaussian conditional mean of the missing keypoints' residuals given the present ones'.

    Parameters
    ----------
    residuals : ndarray of shape (n_frames, n_keypoints, n_dims)
        Body-frame departures from the mean shape (read where present).
    present : ndarray of shape (n_frames, n_keypoints) of bool
        Keypoints present; frames with none missing (or too few present)
        are left at zero.
    covariance : ndarray of shape (n_keypoints * n_dims, n_keypoints * n_dims)

    Returns
    -------
    conditional : ndarray of shape (n_frames, n_keypoints, n_dims)
        Zero at the present keypoints.
    """
    n_frames, n_keypoints, n_dims = residuals.shape
    conditional = np.zeros_like(residuals)
    gappy = np.flatnonzero(~present.all(axis=1) & (present.sum(axis=1) >= 2))
    patterns, which = np.unique(present[gappy], axis=0, return_inverse=True)
    for index, pattern in enumerate(patterns):
        rows = gappy[which.ravel() == index]
        # the residuals are centred on the present keypoints' centroid
        centring = np.eye(n_keypoints * n_dims) - np.kron(
            np.outer(np.ones(n_keypoints), pattern / pattern.sum()), np.eye(n_dims))
        moved = centring @ covariance @ centring.T
        seen, unseen = np.repeat(pattern, n_dims), np.repeat(~pattern, n_dims)
        gain = np.linalg.pinv(moved[np.ix_(seen, seen)], hermitian=True) @ moved[
            np.ix_(seen, unseen)]
        flat = residuals[rows].reshape(len(rows), -1)
        filled = np.zeros((len(rows), n_keypoints * n_dims))
        filled[:, unseen] = flat[:, seen] @ gain
        conditional[rows] = filled.reshape(len(rows), n_keypoints, n_dims)
    return conditional


def _turn(points, angle):
    """Rotate points (..., n_dims) counter-clockwise about the vertical axis by ``angle`` (...)."""
    cos, sin = np.cos(angle), np.sin(angle)
    turned = points.copy()
    turned[..., 0] = cos * points[..., 0] - sin * points[..., 1]
    turned[..., 1] = sin * points[..., 0] + cos * points[..., 1]
    return turned


def _frame_poses(poses, n_keypoints=None):
    """Poses of shape (n_frames, n_keypoints, n_dims) as float64, NaN allowed."""
    if np.ndim(poses) != 3:
        raise ValueError(
            "poses must have shape (n_frames, n_keypoints, n_dims), got "
            f"{np.shape(poses)}."
        )
    return check_poses(poses, n_keypoints=n_keypoints)


def _named_poses(poses, skeleton):
    """Keypoint names and validated poses of shape (n_frames, n_keypoints, n_dims)."""
    if isinstance(skeleton, (str, Skeleton)):
        names = list(get_skeleton(skeleton).keypoint_names)
    else:
        names = [str(name) for name in skeleton]
    return names, _frame_poses(poses, len(names))


def _missing_after_filling(poses, max_gap, groups):
    """Bool (n_frames, n_keypoints): missing after interpolating short gaps."""
    filled = interpolate_gaps(poses, max_gap=max_gap, groups=groups)
    return np.isnan(filled).any(axis=-1)


def _gap_lengths(missing, run_id):
    """Length of the gap each missing value starts, 0 elsewhere.

    Parameters
    ----------
    missing : ndarray of shape (n_frames, n_keypoints) of bool
    run_id : ndarray of shape (n_frames,)
        Recording number per frame; gaps end at recording borders.

    Returns
    -------
    lengths : ndarray of shape (n_frames, n_keypoints) of int
        At the first frame of each gap, its length in frames; 0 elsewhere.
    """
    n_frames = missing.shape[0]
    border = np.flatnonzero(np.diff(run_id) != 0) + 1
    starts = missing.copy()
    starts[1:] &= ~missing[:-1]
    starts[border] = missing[border]
    lengths = np.zeros(missing.shape, dtype=np.intp)
    for keypoint in range(missing.shape[1]):
        first = np.flatnonzero(starts[:, keypoint])
        stops = np.concatenate(
            [np.flatnonzero(~missing[:, keypoint]), border, [n_frames]]
        )
        stops.sort()
        end = stops[np.searchsorted(stops, first, side="right")]
        lengths[first, keypoint] = end - first
    return lengths
