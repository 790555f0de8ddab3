"""Finding where recordings were joined without saying so."""

from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval, validate_params

from ._validation import check_groups, check_poses


@validate_params(
    {
        "poses": ["array-like"],
        "groups": ["array-like", None],
        "factor": [Interval(Real, 0, None, closed="neither")],
        "context": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def find_recording_breaks(
    poses: ArrayLike,
    groups: ArrayLike | None = None,
    factor: float = 10.0,
    context: int = 5,
) -> np.ndarray:
    """Frames where the animal jumps as if a new recording started.

    The step of a frame is the median, over keypoints present in it and in
    the previous frame of the same recording, of the distance each keypoint
    moved. A frame is a break when

    - its step exceeds ``factor`` times the typical step around it (the
      median of the ``context`` steps before and after it, and at least
      the median step of its recording), and
    - the animal stays where it jumped to: the median position of the
      ``context`` frames from the break on is, per keypoint (median over
      keypoints), more than half that step away from the median position of
      the ``context`` frames before it. A tracking glitch that jumps away and
      back is therefore not a break.

    Joined recordings are only detectable where the animal's position
    changes at the join: a join inside a stretch of missing frames, or
    between two recordings that end and start at the same place, is not
    found.

    Parameters
    ----------
    poses : array-like of shape (n_frames, n_keypoints, n_dims)
        Keypoint positions, NaN where missing.
    groups : array-like of shape (n_frames,), default=None
        Recording id of each frame; breaks are searched within recordings.
    factor : float, default=10.0
        How many times the typical step a break must exceed.
    context : int, default=5
        Frames on each side used for the typical step and the positions.

    Returns
    -------
    breaks : ndarray of shape (n_breaks,) of int
        Index of the first frame after each suspected join.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import find_recording_breaks
    >>> rng = np.random.default_rng(0)
    >>> walk = np.cumsum(rng.normal(size=(200, 1, 2)), axis=0) + rng.normal(size=(4, 2))
    >>> joined = np.concatenate([walk, walk[::-1] + 500.0])
    >>> find_recording_breaks(joined)
    array([200])
    """
    if np.ndim(poses) != 3:
        raise ValueError(
            "poses must have shape (n_frames, n_keypoints, n_dims), got "
            f"{np.shape(poses)}."
        )
    poses = check_poses(poses)
    n_frames = poses.shape[0]
    run_start, run_stop, run_id = check_groups(groups, n_frames)
    step = np.full(n_frames, np.nan)
    if n_frames > 1:
        moved = np.linalg.norm(np.diff(poses, axis=0), axis=-1)
        seen = np.isfinite(moved).any(axis=1)
        step[1:][seen] = np.nanmedian(moved[seen], axis=1)
    step[run_start == np.arange(n_frames)] = np.nan
    typical_run = _median_per_run(step, run_id)
    breaks = []
    for frame in np.flatnonzero(step > factor * typical_run):
        low = max(frame - context, run_start[frame])
        high = min(frame + context + 1, run_stop[frame])
        around = np.r_[step[low:frame], step[frame + 1 : high]]
        typical = max(_nanmedian(around), typical_run[frame])
        if not step[frame] > factor * typical:
            continue
        before = _nanmedian(poses[low:frame], axis=0)
        after = _nanmedian(poses[frame:high], axis=0)
        shift = _nanmedian(np.linalg.norm(after - before, axis=-1))
        if shift > step[frame] / 2:
            breaks.append(frame)
    return np.asarray(breaks, dtype=np.intp)


def _nanmedian(values, axis=None):
    """Median of the finite values; NaN (no warning) when there are none."""
    values = np.asarray(values, dtype=np.float64)
    if axis is None:
        finite = values[np.isfinite(values)]
        return float(np.median(finite)) if finite.size else np.nan
    seen = np.isfinite(values).any(axis=axis)
    result = np.full(seen.shape, np.nan)
    result[seen] = np.nanmedian(values[:, seen], axis=axis)
    return result


def _median_per_run(values, run_id):
    """Median of the finite values of each recording, per frame."""
    medians = np.full(run_id.max() + 1 if len(run_id) else 0, np.nan)
    for run in np.unique(run_id):
        medians[run] = _nanmedian(values[run_id == run])
    return medians[run_id]
