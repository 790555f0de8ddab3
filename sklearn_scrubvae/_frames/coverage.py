"""Which frames have a trustworthy embedding, why others do not, and bridging."""

import warnings

import numpy as np
import pandas as pd

from ..pose import count_unusable_frames, find_recording_breaks
from ..pose._plausibility import warn_tracking_glitches
from .windows import compute_segments

# Warn when fit leaves out more than this fraction of the training windows.
DROPPED_WINDOWS_WARNING = 0.2


def nearest_usable(usable, start, stop):
    """For each frame, the nearest usable frame of its recording.

    Parameters
    ----------
    usable : ndarray of bool, shape (n_frames,)
    start, stop : ndarray of shape (n_frames,)
        Recording boundaries of each frame (see ``compute_segments``).

    Returns
    -------
    source : ndarray of shape (n_frames,), int64
        Index of the nearest usable frame in the same recording (the
        earlier one on a tie), the frame itself when it is usable, and -1
        when its recording has no usable frame.
    """
    frames = np.arange(len(usable))
    kept = np.flatnonzero(usable)
    if len(kept) == 0:
        return np.full(len(usable), -1)
    after = np.searchsorted(kept, frames)
    before = kept[np.maximum(after - 1, 0)]
    after = kept[np.minimum(after, len(kept) - 1)]
    before_ok = (before <= frames) & (before >= start)
    after_ok = (after >= frames) & (after < stop)
    take_after = after_ok & (~before_ok | (after - frames < frames - before))
    source = np.where(take_after, after, np.where(before_ok, before, -1))
    return np.where(usable, frames, source)


def bridge_embeddings(Z, usable, start, stop):
    """Give each frame without an embedding that of the nearest usable frame.

    Parameters
    ----------
    Z : ndarray of shape (n_frames, n_components)
    usable : ndarray of bool, shape (n_frames,)
    start, stop : ndarray of shape (n_frames,)

    Returns
    -------
    Z_bridged : ndarray of shape (n_frames, n_components)
        NaN rows remain only in recordings without any usable frame.
    """
    source = nearest_usable(usable, start, stop)
    bridged = np.full_like(Z, np.nan)
    found = source >= 0
    bridged[found] = Z[source[found]]
    return bridged


def bridge_unusable(Z, usable, groups):
    """Bridge the frames without an embedding of their own, with a warning.

    Parameters
    ----------
    Z : ndarray of shape (n_frames, n_components)
    usable : ndarray of bool, shape (n_frames,)
        Frames with an embedding of their own.
    groups : array-like of shape (n_frames,) or None

    Returns
    -------
    Z_bridged : ndarray of shape (n_frames, n_components)
        See :func:`bridge_embeddings`.
    """
    if usable.all():
        return Z
    Z = bridge_embeddings(Z, usable, *compute_segments(len(Z), groups))
    n_left = int(np.isnan(Z[:, 0]).sum())
    warn_bridged(int((~usable).sum()) - n_left, len(Z), n_left)
    return Z


def warn_bridged(n_bridged, n_frames, n_left):
    """Say how many embeddings were copied from neighbours, and how to find them."""
    if n_bridged == 0 and n_left == 0:
        return
    message = (
        f"{n_bridged} of {n_frames} frames ({n_bridged / n_frames:.1%}) have a window that "
        "touches unusable frames (too few keypoints, tracking errors or NaN nuisance); they "
        "were given the embedding of the nearest usable frame of their recording. "
        "ScrubbedCVAE.valid_frames(X, groups=...) marks them; unusable_frames='nan' returns "
        "NaN rows instead."
    )
    if n_left:
        message += f" {n_left} frames of recordings without any usable frame stay NaN."
    warnings.warn(message, UserWarning, stacklevel=4)


def warn_fit_coverage(X, groups, plan, missing, *, skeleton, max_gap, max_displacement):
    """The warnings of a fit about the recordings it was given.

    Joined recordings and tracking glitches in poses held in memory (a
    memory map is not read whole for them), and training windows dropped
    for unusable frames.

    Parameters
    ----------
    X : ndarray of shape (n_frames, ...)
    groups : array-like of shape (n_frames,) or None
    plan : WindowPlan
    missing : ndarray of bool, shape (n_frames,)
        Frames without a nuisance row.
    skeleton : Skeleton or None
        Pose mode when given.
    max_gap : int
    max_displacement : float or None
    """
    poses = None if skeleton is None or isinstance(X, np.memmap) else X
    if poses is not None:
        warn_joined_recordings(poses, groups)
        if max_displacement is None:
            warn_tracking_glitches(poses, groups)
    warn_dropped_windows(plan, poses=poses, skeleton=skeleton, max_gap=max_gap,
                         groups=groups, n_nuisance_missing=int(missing.sum()))


def warn_dropped_windows(plan, *, poses=None, skeleton=None, max_gap=None, groups=None,
                         n_nuisance_missing=0):
    """Warn, naming the causes, when fit leaves out many training windows.

    Parameters
    ----------
    plan : WindowPlan
        The training windows of fit.
    poses : ndarray of shape (n_frames, n_keypoints, 3), default=None
        The poses of fit (pose mode), to name the keypoints responsible.
    skeleton, max_gap, groups
        As given to the estimator.
    n_nuisance_missing : int, default=0
        Frames whose nuisance row has NaN.
    """
    n_dropped, n_windows = plan.n_dropped, len(plan.candidates)
    if n_windows == 0 or n_dropped / n_windows <= DROPPED_WINDOWS_WARNING:
        return
    causes = []
    if poses is not None:
        counts = count_unusable_frames(
            poses, skeleton, max_gap=max_gap, groups=groups, frames=plan.dropped_frames()
        )
        counts = counts[counts > 0].head(5)
        if len(counts):
            causes.append(
                "keypoints still missing after filling gaps of up to max_gap="
                f"{max_gap} frames: "
                + ", ".join(f"{name!r} ({count} frames)" for name, count in counts.items())
            )
    if n_nuisance_missing:
        causes.append(f"{n_nuisance_missing} frames with NaN in the nuisance table")
    reason = "; ".join(causes) if causes else "tracking errors (max_displacement)"
    warnings.warn(
        f"{n_dropped} of {n_windows} training windows ({n_dropped / n_windows:.0%}) touch "
        f"unusable frames and were left out. Main causes: {reason}. "
        "sklearn_scrubvae.pose.missing_report shows the gaps per keypoint; consider a "
        "lower min_keypoints, dropping the worst keypoints from the skeleton, a larger "
        "max_gap or a smaller window.",
        UserWarning,
        stacklevel=3,
    )


def warn_joined_recordings(poses, groups):
    """Warn when the poses jump as if several recordings were joined without ``groups``.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, n_dims)
    groups : array-like of shape (n_frames,) or None
    """
    breaks = find_recording_breaks(poses, groups)
    if len(breaks) == 0:
        return
    shown = ", ".join(str(b) for b in breaks[:5]) + (", ..." if len(breaks) > 5 else "")
    warnings.warn(
        f"The animal jumps far beyond its typical step at {len(breaks)} frame(s) ({shown}), "
        "as if recordings were joined end to end. Windows that span a join mix two "
        "recordings: pass groups= (one recording id per frame) if these are separate "
        "recordings.",
        UserWarning,
        stacklevel=3,
    )


def warn_unordered_index(table):
    """Warn when a nuisance DataFrame's index is out of order.

    Rows are matched to frames by position. An index in increasing order
    (e.g. a slice, rows 1000-1999) is fine; a shuffled or reversed one
    suggests rows that do not line up with the frames.

    Parameters
    ----------
    table : DataFrame, Series or array-like
    """
    index = getattr(table, "index", None)
    if isinstance(index, pd.Index) and not index.is_monotonic_increasing:
        warnings.warn(
            "The nuisance table's index is not in increasing order (shuffled or reversed "
            "rows?). Rows are matched to frames by position, not by index: sort the table "
            "(table.sort_index()) if its rows should follow the frames.",
            UserWarning,
            stacklevel=3,
        )


def warn_all_columns(columns, scrubbers):
    """Warn that ``nuisance=None`` conditions on, and scrubs, every column.

    Parameters
    ----------
    columns : list
        Columns of the nuisance table.
    scrubbers : dict
        Scrubber name per scrubbed column.
    """
    if len(columns) > 1:
        scrubbed = [c for c in columns if c in scrubbers]
        warnings.warn(
            f"nuisance=None uses every column of the nuisance table {columns}"
            + (f" and scrubs {scrubbed}" if scrubbed else "")
            + ". If some columns are labels for a later step (behaviour, condition), "
            "name the nuisance columns: ScrubbedCVAE(nuisance=[...]).",
            UserWarning,
            stacklevel=3,
        )
