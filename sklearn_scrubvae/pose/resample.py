"""Changing the frame rate of recordings."""

from numbers import Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval, validate_params

from ._validation import check_groups


@validate_params(
    {
        "poses": ["array-like"],
        "fps": [Interval(Real, 0, None, closed="neither")],
        "new_fps": [Interval(Real, 0, None, closed="neither")],
        "groups": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def resample_poses(
    poses: ArrayLike, fps: float, new_fps: float, groups: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Resample each recording to a new frame rate, keeping gaps as gaps.

    New frames fall at times ``0, 1 / new_fps, 2 / new_fps, ...`` from the
    first frame of each recording, up to its last frame. Values between two
    source frames are interpolated linearly. When lowering the frame rate,
    every value is first averaged over the ``2 * floor(fps / new_fps / 2) + 1``
    source frames centred on it (a box filter against aliasing). Missing
    values are never invented: a new frame is NaN when any source frame it
    draws on is NaN. Fill short gaps with
    :func:`~sklearn_scrubvae.pose.interpolate_gaps` at the source rate
    first if gaps should not grow by the filter's reach. The filter's window
    shrinks symmetrically near the ends of a recording.

    Parameters
    ----------
    poses : array-like of shape (n_frames, ...)
        Values over frames, e.g. keypoints (n_frames, n_keypoints, n_dims)
        or continuous per-frame features.
    fps : float
        Frame rate of ``poses``.
    new_fps : float
        Frame rate wanted.
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame (consecutive equal ids form a recording);
        None for a single recording. Recordings are resampled separately.

    Returns
    -------
    resampled : ndarray of shape (n_new_frames, ...)
        Float64 values at the new frame rate; a recording of ``n`` frames
        gives ``floor((n - 1) * new_fps / fps) + 1`` frames.
    new_groups : ndarray of shape (n_new_frames,) or None
        Recording id of each new frame; None when ``groups`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import resample_poses
    >>> track = np.arange(7.0)  # 7 frames at 30 fps: 0.2 s
    >>> resample_poses(track, fps=30, new_fps=60)[0]
    array([0. , 0.5, 1. , 1.5, 2. , 2.5, 3. , 3.5, 4. , 4.5, 5. , 5.5, 6. ])
    >>> resample_poses(track, fps=30, new_fps=10, groups=[0, 0, 0, 0, 1, 1, 1])
    (array([0., 3., 4.]), array([0, 0, 1]))
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim < 1:
        raise ValueError("poses must have a frame axis.")
    ratio = fps / new_fps
    _, run_stop, run_id = check_groups(groups, poses.shape[0])
    starts = np.flatnonzero(np.r_[True, np.diff(run_id) != 0]) if len(run_id) else []
    pieces, new_ids = [], []
    for start in starts:
        recording = poses[start : run_stop[start]]
        if ratio > 1:
            recording = _box_mean(recording, 2 * int(ratio // 2) + 1)
        pieces.append(_interpolate(recording, ratio))
        new_ids.append(np.full(len(pieces[-1]), start))
    if not pieces:
        return poses.copy(), None if groups is None else np.asarray(groups).copy()
    new_frames = np.concatenate(new_ids)
    new_groups = None if groups is None else np.asarray(groups)[new_frames]
    return np.concatenate(pieces), new_groups


def _box_mean(values, width):
    """Centred moving average over ``width`` (odd) frames; NaN if any is NaN.

    The window shrinks symmetrically near the ends of the recording, so the
    first and last frames keep their values.
    """
    if width == 1:
        return values
    flat = values.reshape(len(values), -1)
    half = width // 2
    frames = np.arange(len(values))
    reach = np.minimum(half, np.minimum(frames, len(values) - 1 - frames))
    low, high = frames - reach, frames + reach + 1
    zero_row = np.zeros((1, flat.shape[1]))
    totals = np.concatenate([zero_row, np.cumsum(np.nan_to_num(flat), axis=0)])
    gaps = np.concatenate([zero_row, np.cumsum(np.isnan(flat), axis=0)])
    mean = (totals[high] - totals[low]) / (high - low)[:, None]
    mean[gaps[high] - gaps[low] > 0] = np.nan
    return mean.reshape(values.shape)


def _interpolate(values, ratio):
    """Linear interpolation at source positions ``0, ratio, 2 * ratio, ...``."""
    n_new = int(np.floor((len(values) - 1) / ratio + 1e-9)) + 1
    position = np.round(np.arange(n_new) * ratio, 9)
    before = np.floor(position).astype(np.intp)
    after = np.minimum(before + 1, len(values) - 1)
    weight = (position - before).reshape(-1, *(1,) * (values.ndim - 1))
    blended = values[before] * (1 - weight) + values[after] * weight
    return np.where(weight == 0, values[before], blended)
