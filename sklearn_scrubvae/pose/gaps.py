"""Filling short gaps of missing keypoint coordinates."""

from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval, validate_params

from ._validation import check_groups


@validate_params(
    {
        "poses": ["array-like"],
        "max_gap": [Interval(Integral, 0, None, closed="left")],
        "groups": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def interpolate_gaps(
    poses: ArrayLike, max_gap: int = 10, groups: ArrayLike | None = None
) -> np.ndarray:
    """Linearly interpolate short runs of missing values within recordings.

    Each coordinate of each keypoint is treated as its own time series. A
    run of NaN of at most ``max_gap`` frames is filled by the straight line
    between the finite values just before and just after it, when both lie
    in the same recording. Longer runs, and runs touching the first or last
    frame of a recording, stay NaN.

    Parameters
    ----------
    poses : array-like of shape (n_frames, ...)
        Values over frames, e.g. (n_frames, n_keypoints, n_dims).
    max_gap : int, default=10
        Longest run of missing frames that is filled; 0 fills nothing.
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame (consecutive equal ids form a recording);
        None for a single recording.

    Returns
    -------
    filled : ndarray of shape (n_frames, ...)
        Float64 copy of ``poses`` with short gaps filled.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import interpolate_gaps
    >>> track = np.array([0.0, np.nan, np.nan, 3.0, np.nan])
    >>> interpolate_gaps(track, max_gap=2)
    array([ 0.,  1.,  2.,  3., nan])
    """
    poses = np.array(poses, dtype=np.float64, order="C")
    if poses.ndim < 1:
        raise ValueError("poses must have a frame axis.")
    n_frames = poses.shape[0]
    run_start, run_stop, _ = check_groups(groups, n_frames)
    values = poses.reshape(n_frames, -1)
    finite = np.isfinite(values)
    frames = np.arange(n_frames)[:, None]
    before = np.maximum.accumulate(np.where(finite, frames, -1), axis=0)
    after = np.minimum.accumulate(np.where(finite, frames, n_frames)[::-1], axis=0)[
        ::-1
    ]
    fill = (
        ~finite
        & (before >= run_start[:, None])
        & (after < run_stop[:, None])
        & (after - before - 1 <= max_gap)
    )
    rows, columns = np.nonzero(fill)
    start, stop = before[rows, columns], after[rows, columns]
    fraction = (rows - start) / (stop - start)
    values[rows, columns] = values[start, columns] + fraction * (
        values[stop, columns] - values[start, columns]
    )
    return poses
