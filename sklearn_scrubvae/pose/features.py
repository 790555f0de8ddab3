"""Per-frame nuisance features: speed, heading, body size, tracking errors.

Every function takes poses of shape (n_frames, n_keypoints, n_dims) and an
optional ``groups`` array (one recording id per frame): consecutive frames
with equal ids form a recording, and nothing is computed across the border
of two recordings.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd

from ._validation import check_groups, check_poses
from .alignment import heading_angle
from .skeleton import get_skeleton


def compute_speed(poses, skeleton="mouse18", window=51, fps=90, groups=None):
    """Root, axial and limb speeds averaged over a window around each frame.

    Speeds come from frame differences times ``fps`` (central differences,
    one-sided at the first and last frame of a recording), so they are in
    position units per second. Three speeds are computed per frame:

    - ``speed_root``: speed of the root keypoint;
    - ``speed_spine_head``: mean speed of the axial (spine and head)
      keypoints relative to the root;
    - ``speed_limbs``: mean speed of the limb keypoints, each relative to its
      girdle keypoint (for MOUSE18 forelimbs from SpineF, hindlimbs from
      Tail_base).

    Each is then averaged over ``window`` frames centred on the frame, the
    window shrinking at the edges of a recording. Missing values are
    skipped; a frame whose window holds no finite value gets NaN.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3, NaN where missing.
    skeleton : Skeleton or str, default="mouse18"
        Skeleton defining the root, axial and limb keypoints.
    window : int, default=51
        Number of frames averaged (for an even window, the extra frame is
        after the centre). 1 gives the per-frame speed.
    fps : float, default=90
        Frames per second.
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame; None for a single recording.

    Returns
    -------
    speed : pandas.DataFrame of shape (n_frames, 3)
        Columns ``speed_root``, ``speed_spine_head``, ``speed_limbs``.

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
    if not isinstance(window, Integral) or isinstance(window, bool) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}.")
    if not isinstance(fps, Real) or isinstance(fps, bool) or not fps > 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}.")
    run_start, run_stop, _ = check_groups(groups, poses.shape[0])
    root = poses[:, skeleton.root]
    axial = poses[:, list(skeleton.axial)] - root[:, None]
    limbs = poses[:, list(skeleton.limbs)] - poses[:, list(skeleton.girdles)]
    points = np.concatenate([root[:, None], axial, limbs], axis=1)
    speeds = np.linalg.norm(_velocity(points, run_start, run_stop), axis=-1) * fps
    n_axial = len(skeleton.axial)
    per_frame = np.stack(
        [
            speeds[:, 0],
            _nanmean(speeds[:, 1 : 1 + n_axial], axis=1),
            _nanmean(speeds[:, 1 + n_axial :], axis=1),
        ],
        axis=1,
    )
    return pd.DataFrame(
        _window_nanmean(per_frame, window, run_start, run_stop),
        columns=["speed_root", "speed_spine_head", "speed_limbs"],
    )


def compute_heading(poses, skeleton="mouse18"):
    """Heading of each frame as the sine and cosine of its yaw.

    The yaw is the angle of the root -> front vector projected on the xy
    plane, counter-clockwise from +x.

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
    return pd.DataFrame({"heading_sin": np.sin(yaw), "heading_cos": np.cos(yaw)})


def compute_body_size(poses, skeleton="mouse18", groups=None):
    """Bone length sums per frame, replaced by their median per recording.

    Bones are the segments from each non-root keypoint to its parent. The
    per-frame sums (NaN for a frame missing any keypoint they use) are
    replaced by their median over each recording's complete frames, so every
    frame of a recording carries the same, outlier-robust value: a stable
    cue to the animal's identity.

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
        ``bone_length_limbs`` (bones ending at limb keypoints). NaN for a
        recording without a complete frame.

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
    bones = np.flatnonzero(np.asarray(skeleton.parents) >= 0)
    lengths = np.zeros((poses.shape[0], skeleton.n_keypoints))
    lengths[:, bones] = np.linalg.norm(
        poses[:, bones] - poses[:, np.asarray(skeleton.parents)[bones]], axis=-1
    )
    axial = lengths[:, list(skeleton.axial)].sum(axis=1)
    limbs = lengths[:, list(skeleton.limbs)].sum(axis=1)
    per_frame = pd.DataFrame(
        {
            "bone_length_total": lengths.sum(axis=1),
            "bone_length_axial": axial,
            "bone_length_limbs": limbs,
        }
    )
    return per_frame.groupby(run_id).transform("median")


def compute_tracking_errors(poses, threshold, groups=None):
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
    if not isinstance(threshold, Real) or isinstance(threshold, bool):
        raise TypeError(f"threshold must be a number, got {threshold!r}.")
    run_start, _, _ = check_groups(groups, poses.shape[0])
    steps = np.full(poses.shape[:2], np.nan)
    steps[1:] = np.linalg.norm(np.diff(poses, axis=0), axis=-1)
    steps[run_start == np.arange(poses.shape[0])] = np.nan
    displacement = _nanmean(steps, axis=1)
    return np.nan_to_num(displacement, nan=-np.inf) > threshold


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
