"""Windows of consecutive frames, built by index, never by copying frames."""

import numpy as np

from .pose._validation import check_groups


def compute_segments(n_frames, groups=None):
    """Recording boundaries for each frame.

    A recording is a run of consecutive frames with the same ``groups`` id;
    windows never cross a recording boundary.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    groups : array-like of shape (n_frames,), default=None
        Recording id per frame. None means one recording.

    Returns
    -------
    start, stop : ndarray of shape (n_frames,), dtype int64
        For each frame, the first frame of its recording and one past the
        last.
    """
    start, stop, _ = check_groups(groups, n_frames)
    return start.astype(np.int64), stop.astype(np.int64)


def full_window_centers(start, stop, window, stride=1, valid=None):
    """Centre frames whose whole window lies inside one recording.

    Parameters
    ----------
    start, stop : ndarray of shape (n_frames,)
        Recording boundaries from :func:`compute_segments`.
    window : int
        Frames per window (odd).
    stride : int, default=1
        Keep every ``stride``-th centre of each recording.
    valid : ndarray of bool, shape (n_frames,), default=None
        Frames usable in a window; a window touching an invalid frame is
        dropped. None means all frames are valid.

    Returns
    -------
    centers : ndarray of shape (n_windows,), dtype int64
    """
    half = window // 2
    frames = np.arange(len(start))
    ok = (frames - half >= start) & (frames + half < stop)
    ok &= (frames - half - start) % stride == 0
    if valid is not None:
        bad_before = np.concatenate([[0], np.cumsum(~valid)])
        lo = np.clip(frames - half, 0, len(start))
        hi = np.clip(frames + half + 1, 0, len(start))
        ok &= bad_before[hi] - bad_before[lo] == 0
    return frames[ok]
