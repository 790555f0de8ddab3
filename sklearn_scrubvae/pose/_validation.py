"""Input checks shared by the pose functions."""

import numpy as np


def check_poses(poses, *, n_keypoints=None, spatial_dims=(2, 3), min_ndim=3):
    """Validate an array of keypoint positions and return it as float64.

    Parameters
    ----------
    poses : array-like of shape (..., n_keypoints, n_dims)
        Keypoint positions; NaN marks a missing coordinate.
    n_keypoints : int, default=None
        Required number of keypoints (second to last axis), if any.
    spatial_dims : tuple of int, default=(2, 3)
        Accepted sizes of the last axis.
    min_ndim : int, default=3
        Smallest accepted number of axes.

    Returns
    -------
    poses : ndarray of shape (..., n_keypoints, n_dims)
        A float64 array (a copy only when a conversion was needed).

    Raises
    ------
    TypeError
        If ``poses`` is not numeric.
    ValueError
        If the shape is wrong (naming the fix when the last two axes look
        swapped) or a coordinate is infinite.
    """
    array = np.asarray(poses)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer)
        or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"poses must be a numeric array, got an array of dtype {array.dtype}."
        )
    array = array.astype(np.float64, copy=False)
    if array.ndim < min_ndim:
        raise ValueError(
            f"poses must have at least {min_ndim} axes (..., n_keypoints, "
            f"n_dims), got shape {array.shape}."
        )
    n_rows, n_last = array.shape[-2:]
    wrong_count = n_keypoints is not None and n_last == n_keypoints != n_rows
    if n_rows in spatial_dims and (n_last not in spatial_dims or wrong_count):
        raise ValueError(
            f"poses of shape {array.shape} look like (..., n_dims, n_keypoints); "
            "keypoint positions must be (..., n_keypoints, n_dims). Use "
            "np.swapaxes(poses, -1, -2)."
        )
    if n_last not in spatial_dims:
        hint = (
            " Kinematics need 3D keypoints; for 2D tracking use the generic mode "
            "with sklearn_scrubvae.pose.EgocentricAligner."
            if n_last == 2
            else ""
        )
        raise ValueError(
            f"The last axis of poses holds the coordinates and must have size "
            f"{' or '.join(map(str, spatial_dims))}, got shape {array.shape}.{hint}"
        )
    if n_keypoints is not None and n_rows != n_keypoints:
        raise ValueError(
            f"poses has {n_rows} keypoints (axis -2) but the skeleton "
            f"has {n_keypoints}."
        )
    if np.isinf(array).any():
        raise ValueError("poses contains infinite values; use NaN for missing.")
    return array


def check_groups(groups, n_frames):
    """Split frames into recordings: consecutive runs of equal group ids.

    Parameters
    ----------
    groups : array-like of shape (n_frames,) or None
        One recording id per frame. A run of equal consecutive ids is one
        recording; an id that comes back after another starts a new one.
        None means that all frames form a single recording.
    n_frames : int
        Number of frames.

    Returns
    -------
    run_start : ndarray of shape (n_frames,)
        Index of the first frame of each frame's recording.
    run_stop : ndarray of shape (n_frames,)
        One past the index of the last frame of each frame's recording.
    run_id : ndarray of shape (n_frames,)
        Recording number of each frame, counting from 0.
    """
    if groups is None:
        return (
            np.zeros(n_frames, dtype=np.intp),
            np.full(n_frames, n_frames, dtype=np.intp),
            np.zeros(n_frames, dtype=np.intp),
        )
    groups = np.asarray(groups)
    if groups.shape != (n_frames,):
        raise ValueError(
            f"groups must hold one id per frame, shape ({n_frames},), "
            f"got shape {groups.shape}."
        )
    is_start = np.ones(n_frames, dtype=bool)
    is_start[1:] = groups[1:] != groups[:-1]
    run_id = np.cumsum(is_start) - 1
    starts = np.flatnonzero(is_start)
    stops = np.append(starts[1:], n_frames)
    return starts[run_id], stops[run_id], run_id
