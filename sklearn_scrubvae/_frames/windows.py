"""Windows of consecutive frames, built by index, never by copying frames."""

import numpy as np

from ..pose._validation import check_groups


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
    ok &= clean_windows(frames, start, stop, window, valid)
    return frames[ok]


def clean_windows(centers, start, stop, window, valid=None):
    """Whether each window, clipped to its recording, holds only valid frames.

    Parameters
    ----------
    centers : ndarray of shape (n,)
        Centre frame of each window.
    start, stop : ndarray of shape (n_frames,)
        Recording boundaries from :func:`compute_segments`.
    window : int
        Frames per window (odd).
    valid : ndarray of bool, shape (n_frames,), default=None
        Frames usable in a window. None means all frames are valid.

    Returns
    -------
    clean : ndarray of bool, shape (n,)
    """
    if valid is None:
        return np.ones(len(centers), dtype=bool)
    half = window // 2
    bad_before = np.concatenate([[0], np.cumsum(~valid)])
    lo = np.maximum(centers - half, start[centers])
    hi = np.minimum(centers + half + 1, stop[centers])
    return bad_before[hi] - bad_before[lo] == 0


def recording_chunks(centers, start, fraction):
    """Hold out the last ``fraction`` of every recording's windows.

    Parameters
    ----------
    centers : ndarray of shape (n_windows,)
        Centre frame of each window, increasing (as from
        :func:`full_window_centers`).
    start : ndarray of shape (n_frames,)
        First frame of each frame's recording (:func:`compute_segments`).
    fraction : float in (0, 1)
        Share of each recording's windows to hold out.

    Returns
    -------
    held_out : ndarray of bool, shape (n_windows,)
        True for the ``round(fraction * n)`` last windows of each recording
        that has ``n`` windows; at least one when ``n >= 2`` and never all,
        so that every recording is seen on both sides of the split.
    """
    _, first, inverse, counts = np.unique(
        start[centers], return_index=True, return_inverse=True, return_counts=True
    )
    n_held = np.where(counts >= 2, np.clip(np.rint(fraction * counts), 1, counts - 1), 0)
    position = np.arange(len(centers)) - first[inverse]
    return position >= (counts - n_held)[inverse]
