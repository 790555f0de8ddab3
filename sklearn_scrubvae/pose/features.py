"""Per-frame nuisance features: speed, heading, body size, tracking errors.

Every function takes poses of shape (n_frames, n_keypoints, n_dims), with
``n_dims`` 2 (image coordinates) or 3 (a world frame whose z axis points
up), and an optional ``groups`` array (one recording id per frame):
consecutive frames with equal ids form a recording, and nothing is computed
across the border of two recordings.

Missing keypoints (NaN) are skipped wherever a feature can do without them;
a feature is NaN only at frames where every keypoint it needs is missing
(for the heading: the root or the front keypoint), and such a NaN nuisance
makes the frame unusable for ``ScrubbedCVAE``.
Fill short gaps first with :func:`~sklearn_scrubvae.pose.interpolate_gaps`
(with the estimator's ``max_gap``) so features and model see the same
frames. A feature that would be NaN in every frame raises a ValueError
naming the keypoints that are never present.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval, validate_params

from ._validation import check_groups, check_poses
from .alignment import heading_angle
from .skeleton import Skeleton, get_skeleton

SPEED_WINDOW_SECONDS = 51 / 90
"""Default smoothing of :func:`compute_speed`: the paper's 51 frames at 90 fps."""


@validate_params(
    {
        "poses": ["array-like"],
        "skeleton": [Skeleton, str],
        "window": [Interval(Integral, 1, None, closed="left"), None],
        "fps": [Interval(Real, 0, None, closed="neither"), None],
        "groups": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def compute_speed(
    poses: ArrayLike,
    skeleton: Skeleton | str = "mouse18",
    window: int | None = None,
    fps: float | None = None,
    groups: ArrayLike | None = None,
) -> pd.DataFrame:
    """Root, axial and limb speeds averaged over a window around each frame.

    Speeds come from frame differences times ``fps`` (central differences,
    one-sided at the first and last frame of a recording and next to a
    missing frame), so they are in position units per second. Up to three
    speeds are computed per frame:

    - ``speed_root``: speed of the root keypoint;
    - ``speed_spine_head``: mean speed of the axial (spine and head)
      keypoints relative to the root;
    - ``speed_limbs``: mean speed of the limb keypoints, each relative to its
      girdle keypoint (for MOUSE18 forelimbs from SpineF, hindlimbs from
      Tail_base). Only for skeletons with ``limb_girdles``: without limbs
      every non-root keypoint is axial, and the column is left out.

    Each is then averaged over ``window`` frames centred on the frame, the
    window shrinking at the edges of a recording. Missing values are
    skipped (a mean over the keypoints and frames that are present); a frame
    whose window holds no finite value gets NaN, which happens only inside
    gaps longer than the window.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3, NaN where missing.
    skeleton : Skeleton or str, default="mouse18"
        Skeleton defining the root, axial and limb keypoints.
    window : int, default=None
        Number of frames averaged (for an even window, the extra frame is
        after the centre); 1 gives the per-frame speed. None takes the
        odd number of frames closest to 0.567 s (51 frames at 90 fps, 17 at
        30 fps).
    fps : float
        Frames per second of ``poses``; required (``load_poses`` returns the
        frame rate a file stores).
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame; None for a single recording.

    Returns
    -------
    speed : pandas.DataFrame of shape (n_frames, 2 or 3)
        Columns ``speed_root``, ``speed_spine_head`` and, when the skeleton
        has limbs, ``speed_limbs``.

    Raises
    ------
    ValueError
        If ``fps`` is missing, or a column would be NaN in every frame
        (naming the keypoints that are never present).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import MOUSE18, compute_speed
    >>> rest = np.random.default_rng(0).normal(size=(18, 3))
    >>> time = np.arange(100) / 90
    >>> poses = rest + time[:, None, None] * np.array([30.0, 40.0, 0.0])
    >>> speed = compute_speed(poses, MOUSE18, window=51, fps=90)
    >>> speed.round(6).iloc[50].tolist()
    [50.0, 0.0, 0.0]
    """
    skeleton = get_skeleton(skeleton)
    poses = _check_frame_poses(poses, skeleton.n_keypoints)
    if fps is None:
        raise ValueError(
            "fps is required: pass the frame rate of the poses (load_poses "
            "returns it when the file stores one)."
        )
    if window is None:
        window = int(round(SPEED_WINDOW_SECONDS * fps)) // 2 * 2 + 1
    run_start, run_stop, _ = check_groups(groups, poses.shape[0])
    root = poses[:, skeleton.root]
    axial, limbs = list(skeleton.axial), list(skeleton.limbs)
    parts = {
        "speed_root": (root[:, None], [skeleton.root]),
        "speed_spine_head": (poses[:, axial] - root[:, None], [skeleton.root, *axial]),
        "speed_limbs": (
            poses[:, limbs] - poses[:, list(skeleton.girdles)],
            sorted(set(skeleton.girdles)) + limbs,
        ),
    }
    per_frame = {
        name: _nanmean(
            np.linalg.norm(_velocity(points, run_start, run_stop), axis=-1) * fps,
            axis=1,
        )
        for name, (points, _) in parts.items()
        if points.shape[1]
    }
    speed = pd.DataFrame(
        _window_nanmean(
            np.column_stack(list(per_frame.values())), window, run_start, run_stop
        ),
        columns=list(per_frame),
    )
    for name in speed.columns[speed.isna().all() & (len(speed) > 0)]:
        _raise_never_present(
            name, poses, skeleton, parts[name][1], "in two consecutive frames"
        )
    return speed


@validate_params(
    {"poses": ["array-like"], "skeleton": [Skeleton, str]},
    prefer_skip_nested_validation=True,
)
def compute_heading(poses: ArrayLike, skeleton: Skeleton | str = "mouse18") -> pd.DataFrame:
    """Heading of each frame as the sine and cosine of its yaw.

    The yaw is the angle of the root -> front vector projected on the xy
    plane, counter-clockwise from +x. For 2D poses in image coordinates,
    whose y axis points down, the angle turns clockwise on screen.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3.
    skeleton : Skeleton or str, default="mouse18"
        Skeleton giving the root and front keypoints.

    Returns
    -------
    heading : pandas.DataFrame of shape (n_frames, 2)
        Columns ``heading_sin`` and ``heading_cos``; NaN where the root or
        front keypoint is missing. A front keypoint straight above the root
        reads as yaw 0.

    Raises
    ------
    ValueError
        If the root and front keypoints are never present together.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import MOUSE18, compute_heading
    >>> poses = np.zeros((1, 18, 3))
    >>> poses[0, 1] = [0.0, 2.0, 0.5]  # SpineF to the left (+y) of SpineM
    >>> compute_heading(poses, MOUSE18).round(6).iloc[0].tolist()
    [1.0, 0.0]
    """
    skeleton = get_skeleton(skeleton)
    poses = _check_frame_poses(poses, skeleton.n_keypoints)
    yaw = heading_angle(poses, skeleton)
    if len(yaw) and np.isnan(yaw).all():
        _raise_never_present(
            "heading", poses, skeleton, [skeleton.root, skeleton.front], "in a frame"
        )
    return pd.DataFrame({"heading_sin": np.sin(yaw), "heading_cos": np.cos(yaw)})


@validate_params(
    {
        "poses": ["array-like"],
        "skeleton": [Skeleton, str],
        "groups": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def compute_body_size(
    poses: ArrayLike,
    skeleton: Skeleton | str = "mouse18",
    groups: ArrayLike | None = None,
) -> pd.DataFrame:
    """Bone length sums per recording, from median bone lengths.

    Bones are the segments from each non-root keypoint to its parent. Each
    bone's length is taken as its median over the frames of a recording
    where both its keypoints are present, and the medians are summed, so
    every frame of a recording carries the same, outlier-robust value: a
    stable cue to the animal's identity. Gaps only matter when a bone is
    never seen in a recording.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3.
    skeleton : Skeleton or str, default="mouse18"
        Skeleton giving bones and axial/limb keypoints.
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame; None for a single recording.

    Returns
    -------
    size : pandas.DataFrame of shape (n_frames, 3)
        Columns ``bone_length_total`` (all bones), ``bone_length_axial``
        (bones ending at axial keypoints: spine and head) and
        ``bone_length_limbs`` (bones ending at limb keypoints; 0 for a
        skeleton without limbs). NaN for a recording in which one of the
        bones summed is never seen.

    Raises
    ------
    ValueError
        If a bone is never seen in any recording (naming its keypoints).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import MOUSE18, compute_body_size
    >>> poses = np.random.default_rng(0).normal(size=(10, 18, 3))
    >>> compute_body_size(poses, MOUSE18, groups=[0] * 5 + [1] * 5).shape
    (10, 3)
    """
    skeleton = get_skeleton(skeleton)
    poses = _check_frame_poses(poses, skeleton.n_keypoints)
    _, _, run_id = check_groups(groups, poses.shape[0])
    parents = np.asarray(skeleton.parents)
    bones = np.flatnonzero(parents >= 0)
    lengths = np.linalg.norm(poses[:, bones] - poses[:, parents[bones]], axis=-1)
    median = pd.DataFrame(lengths, columns=bones).groupby(run_id).median()
    unseen = median.columns[median.isna().all()]
    if len(unseen):
        names = skeleton.keypoint_names
        raise ValueError(
            "Bones never seen (one of their keypoints is missing in every frame): "
            f"{[(names[parents[b]], names[b]) for b in unseen]}."
        )
    per_recording = pd.DataFrame(
        {
            "bone_length_total": median.sum(axis=1, skipna=False),
            "bone_length_axial": median[list(skeleton.axial)].sum(axis=1, skipna=False),
            "bone_length_limbs": median[list(skeleton.limbs)].sum(axis=1, skipna=False),
        }
    )
    return per_recording.iloc[run_id].reset_index(drop=True)


@validate_params(
    {"poses": ["array-like"], "threshold": [Real], "groups": ["array-like", None]},
    prefer_skip_nested_validation=True,
)
def compute_tracking_errors(
    poses: ArrayLike, threshold: float, groups: ArrayLike | None = None
) -> np.ndarray:
    """Flag frames whose keypoints jump too far since the previous frame.

    The displacement of a frame is the mean over keypoints (skipping missing
    ones) of the distance each keypoint moved since the previous frame of
    the same recording. Frames whose displacement exceeds ``threshold`` are
    flagged as tracking errors; the first frame of a recording, and frames
    without any keypoint seen in both frames, are not flagged.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3.
    threshold : float
        Largest accepted mean displacement per frame, in position units.
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame; None for a single recording.

    Returns
    -------
    errors : ndarray of shape (n_frames,) of bool
        True for frames flagged as tracking errors.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import compute_tracking_errors
    >>> poses = np.zeros((5, 2, 3))
    >>> poses[3] += 10.0  # a glitch: frames 3 (jump) and 4 (jump back)
    >>> compute_tracking_errors(poses, threshold=1.0)
    array([False, False, False,  True,  True])
    """
    poses = _check_frame_poses(poses)
    run_start, _, _ = check_groups(groups, poses.shape[0])
    steps = np.full(poses.shape[:2], np.nan)
    steps[1:] = np.linalg.norm(np.diff(poses, axis=0), axis=-1)
    steps[run_start == np.arange(poses.shape[0])] = np.nan
    displacement = _nanmean(steps, axis=1)
    return np.nan_to_num(displacement, nan=-np.inf) > threshold


def _raise_never_present(feature, poses, skeleton, keypoints, together):
    """ValueError for a feature that is NaN in every frame, naming keypoints."""
    names = skeleton.keypoint_names
    absent = [names[k] for k in keypoints if np.isnan(poses[:, k]).all()]
    if absent:
        reason = f"keypoints {absent} are missing in every frame"
    else:
        reason = (
            f"keypoints {[names[k] for k in keypoints]} are never present "
            f"together {together}"
        )
    raise ValueError(
        f"{feature} cannot be computed in any frame: {reason}. Check the "
        "keypoint order, fill gaps with interpolate_gaps, or use a skeleton "
        "without these keypoints."
    )


def _check_frame_poses(poses, n_keypoints=None):
    """Validate poses of shape (n_frames, n_keypoints, n_dims)."""
    if np.ndim(poses) != 3:
        raise ValueError(
            "poses must have shape (n_frames, n_keypoints, n_dims), got "
            f"{np.shape(poses)}."
        )
    return check_poses(poses, n_keypoints=n_keypoints)


def _velocity(points, run_start, run_stop):
    """Per-frame displacement (central, one-sided at recording edges).

    Parameters
    ----------
    points : ndarray of shape (n_frames, n_points, n_dims)
    run_start, run_stop : ndarray of shape (n_frames,)
        Recording bounds of each frame, see ``check_groups``.

    Returns
    -------
    velocity : ndarray of shape (n_frames, n_points, n_dims)
        Displacement per frame; NaN where neither neighbour is usable.
    """
    frames = np.arange(points.shape[0])
    backward = np.full_like(points, np.nan)
    forward = np.full_like(points, np.nan)
    backward[1:] = forward[:-1] = np.diff(points, axis=0)
    backward[frames == run_start] = np.nan
    forward[frames == run_stop - 1] = np.nan
    return _nanmean(np.stack([backward, forward]), axis=0)


def _nanmean(values, axis):
    """Mean of the finite values along ``axis``; NaN (no warning) if none."""
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def _window_nanmean(values, window, run_start, run_stop):
    """Mean of finite values over a centred window within each recording.

    Parameters
    ----------
    values : ndarray of shape (n_frames, n_columns)
    window : int
        Window length; ``(window - 1) // 2`` frames before the centre and
        ``window // 2`` after, clipped to the recording.
    run_start, run_stop : ndarray of shape (n_frames,)
        Recording bounds of each frame.

    Returns
    -------
    mean : ndarray of shape (n_frames, n_columns)
    """
    frames = np.arange(values.shape[0])
    low = np.maximum(frames - (window - 1) // 2, run_start)
    high = np.minimum(frames + window // 2 + 1, run_stop)
    finite = np.isfinite(values)
    zero_row = np.zeros((1, values.shape[1]))
    totals = np.concatenate([zero_row, np.cumsum(np.where(finite, values, 0.0), 0)])
    counts = np.concatenate([zero_row, np.cumsum(finite, axis=0)])
    total = totals[high] - totals[low]
    count = counts[high] - counts[low]
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)
