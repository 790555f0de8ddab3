"""Windows of consecutive frames, built by index, never by copying frames."""

import numpy as np

from ..pose._validation import check_groups
from .inputs import WindowFrames, iter_chunks


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


class WindowPlan:
    """Which windows of a frame array are used, and which frames have their own.

    The one rule for every task: a training or scored window lies fully
    inside its recording, its centre is one of every ``stride`` frames of
    that recording, and it touches no unusable frame. A frame has an
    embedding of its own when its window, clipped to its recording, touches
    no unusable frame.

    Parameters
    ----------
    n_frames : int
    groups : array-like of shape (n_frames,), default=None
        Recording id per frame. None means one recording.
    window : int
        Frames per window (odd).
    stride : int, default=1
        Step between the centres of used windows.
    valid : ndarray of bool, shape (n_frames,), default=None
        Frames usable in a window. None means all frames are usable.

    Attributes
    ----------
    start, stop : ndarray of shape (n_frames,), int64
        Recording boundaries of each frame (see :func:`compute_segments`).
    centers : ndarray of shape (n_windows,), int64
        Centre frames of the used windows, increasing.
    candidates : ndarray of shape (n_candidates,), int64
        Centres of the full windows before unusable frames are left out.
    """

    def __init__(self, n_frames, groups=None, *, window, stride=1, valid=None):
        self.start, self.stop = compute_segments(n_frames, groups)
        self.window = window
        self.valid = valid
        half = window // 2
        frames = np.arange(n_frames)
        full = (frames - half >= self.start) & (frames + half < self.stop)
        full &= (frames - half - self.start) % stride == 0
        self.candidates = frames[full]
        self.centers = self.candidates[self.own(self.candidates)]

    @property
    def n_dropped(self):
        """Full windows left out because they touch unusable frames."""
        return len(self.candidates) - len(self.centers)

    def check_windows(self):
        """Raise a ValueError when no window is used (too few frames per recording)."""
        check_windows(len(self.centers), len(self.start), self.window)

    def own(self, frames=None):
        """Whether each frame's window, clipped to its recording, is all usable.

        Parameters
        ----------
        frames : ndarray of shape (n,), default=None
            Centre frames; None means every frame.

        Returns
        -------
        own : ndarray of bool, shape (n,)
        """
        frames = np.arange(len(self.start)) if frames is None else frames
        if self.valid is None:
            return np.ones(len(frames), dtype=bool)
        half = self.window // 2
        bad_before = np.concatenate([[0], np.cumsum(~self.valid)])
        lo = np.maximum(frames - half, self.start[frames])
        hi = np.minimum(frames + half + 1, self.stop[frames])
        return bad_before[hi] - bad_before[lo] == 0

    def dropped_frames(self):
        """Frames covered by the windows left out, shape (n_frames,), bool."""
        dropped = np.setdiff1d(self.candidates, self.centers)
        covered = np.zeros(len(self.start) + 1, dtype=np.int64)
        half = self.window // 2
        np.add.at(covered, dropped - half, 1)
        np.add.at(covered, dropped + half + 1, -1)
        return np.cumsum(covered[:-1]) > 0


def plan_windows(inputs, X, groups, window, stride, missing):
    """Per-frame inputs and the window plan of a fit.

    The inputs of a memory-mapped X are derived batch by batch in training
    (a :class:`~sklearn_scrubvae._frames.inputs.WindowFrames`), never for
    all frames at once.

    Parameters
    ----------
    inputs : FeatureInput or SkeletonInput
        Fitted.
    X : ndarray of shape (n_frames, ...)
    groups : array-like of shape (n_frames,) or None
    window, stride : int
    missing : ndarray of bool, shape (n_frames,)
        Frames without a nuisance row the model needs (unusable).

    Returns
    -------
    frames : dict of str -> ndarray of shape (n_frames, ...), or WindowFrames
    plan : WindowPlan
    """
    streamed = isinstance(X, np.memmap)
    if streamed:
        frames, valid = None, inputs.usable(X, groups)
    else:
        frames, valid = inputs.frames(X, groups)
    plan = WindowPlan(len(X), groups, window=window, stride=stride, valid=valid & ~missing)
    if streamed:
        frames = WindowFrames(inputs, X, plan.start, plan.stop)
    return frames, plan


def check_windows(n_windows, n_frames, window):
    """Raise a ValueError when ``n_windows`` is 0 (too few frames per recording)."""
    if n_windows == 0:
        raise ValueError(
            f"X has n_samples={n_frames} frames but no recording holds a full "
            f"window of window={window} frames; pass more frames or a smaller window."
        )


def chunk_plans(inputs, X, groups, window, usable=None):
    """Per-frame inputs and window plans of X, chunk by chunk.

    Each chunk is read with the context its windows and inputs need, so X
    may be far larger than memory.

    Parameters
    ----------
    inputs : FeatureInput or SkeletonInput
        Fitted.
    X : ndarray of shape (n_frames, ...)
    groups : array-like of shape (n_frames,) or None
    window : int
    usable : ndarray of bool, shape (n_frames,), default=None
        Further usable-frame flags (e.g. frames with a nuisance row), combined
        with those of the inputs; None adds none.

    Yields
    ------
    begin, end : int
        Frames ``begin:end`` of X.
    frames : dict of str -> ndarray
        Inputs of the padded chunk.
    plan : WindowPlan
        Of the padded chunk.
    centers : ndarray of shape (end - begin,)
        Positions of frames ``begin:end`` in the padded chunk.
    """
    n_frames = len(X)
    if groups is not None:
        compute_segments(n_frames, groups)  # checks groups
        groups = np.asarray(groups)
    for lo, begin, end, hi in iter_chunks(n_frames, pad=window // 2 + inputs.context):
        part = None if groups is None else groups[lo:hi]
        frames, valid = inputs.frames(X[lo:hi], part)
        if usable is not None:
            valid &= usable[lo:hi]
        plan = WindowPlan(hi - lo, part, window=window, valid=valid)
        yield begin, end, frames, plan, np.arange(begin - lo, end - lo)
