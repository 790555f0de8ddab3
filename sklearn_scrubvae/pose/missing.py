"""Where keypoints are missing, and which frames that costs."""

from collections.abc import Sequence
from numbers import Integral

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval, validate_params

from ._validation import check_groups, check_poses
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

    A frame is unusable when a keypoint is still missing after runs of at
    most ``max_gap`` missing frames are interpolated within each recording
    (the rule of the skeleton mode of ``ScrubbedCVAE``). A frame missing two
    keypoints counts for both.

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


def _named_poses(poses, skeleton):
    """Keypoint names and validated poses of shape (n_frames, n_keypoints, n_dims)."""
    if isinstance(skeleton, (str, Skeleton)):
        names = list(get_skeleton(skeleton).keypoint_names)
    else:
        names = [str(name) for name in skeleton]
    if np.ndim(poses) != 3:
        raise ValueError(
            "poses must have shape (n_frames, n_keypoints, n_dims), got "
            f"{np.shape(poses)}."
        )
    return names, check_poses(poses, n_keypoints=len(names))


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
