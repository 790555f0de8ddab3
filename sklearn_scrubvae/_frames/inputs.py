"""Per-frame model inputs: how X becomes frames and decoded windows become X again.

Frames are derived chunk by chunk, so that X may be a memory-mapped array
much larger than memory: only one chunk of X is read and converted at a
time, and the float32 frames are written into preallocated arrays.
"""

import numbers

import numpy as np

from ..pose import (
    compute_mean_pose,
    compute_pose_covariance,
    compute_tracking_errors,
    forward_kinematics,
    impute_keypoints,
    interpolate_gaps,
    inverse_kinematics,
)
from ..pose._plausibility import no_complete_frame_error


CHUNK_FRAMES = 1 << 12
"""Frames read from X at a time when deriving model inputs."""

MEDIAN_FRAMES = 1_000_000
"""Most frames whose bone lengths enter the reference medians (evenly spaced)."""


def iter_chunks(n_frames, pad=0, chunk_size=None):
    """Split ``range(n_frames)`` into chunks, each with ``pad`` frames of context.

    Parameters
    ----------
    n_frames : int
    pad : int, default=0
        Frames of context on each side of a chunk (clipped to the array).
    chunk_size : int, default=None
        Frames per chunk; None uses :data:`CHUNK_FRAMES`.

    Yields
    ------
    lo, begin, end, hi : int
        The chunk is ``[begin, end)``; its padded extent ``[lo, hi)``.
    """
    chunk_size = CHUNK_FRAMES if chunk_size is None else chunk_size
    for begin in range(0, n_frames, chunk_size):
        end = min(begin + chunk_size, n_frames)
        yield max(begin - pad, 0), begin, end, min(end + pad, n_frames)


def required_count(min_keypoints, n_parts, noun):
    """How many of ``n_parts`` keypoints (or features) a usable frame needs.

    Parameters
    ----------
    min_keypoints : int or float
        A count (int), or a fraction in (0, 1] of ``n_parts`` (float,
        rounded up), as scikit-learn's ``max_features``.
    n_parts : int
    noun : str
        What is counted, for the error message.

    Returns
    -------
    count : int in [1, n_parts]
    """
    if isinstance(min_keypoints, numbers.Integral):
        if min_keypoints > n_parts:
            raise ValueError(
                f"min_keypoints={min_keypoints} but the frames have only {n_parts} {noun}."
            )
        return int(min_keypoints)
    return max(int(np.ceil(min_keypoints * n_parts - 1e-9)), 1)


def side_by_side(n_frames, shapes):
    """Per-frame float32 arrays that are column blocks of one matrix.

    The datasets of the training loop keep every per-frame input side by
    side in one (n_frames, width) matrix; allocating them that way here
    lets it be used without a copy.

    Parameters
    ----------
    n_frames : int
    shapes : dict of str -> tuple of int
        Per-frame shape of each array.

    Returns
    -------
    arrays : dict of str -> ndarray of shape (n_frames, *shape), float32
        Views of one C-contiguous (n_frames, width) matrix, in order.
    """
    widths = [int(np.prod(shape)) for shape in shapes.values()]
    matrix = np.empty((n_frames, sum(widths)), np.float32)
    bounds = np.cumsum([0] + widths)
    return {
        name: matrix[:, lo:hi].reshape((n_frames,) + shape)
        for (name, shape), lo, hi in zip(shapes.items(), bounds[:-1], bounds[1:])
    }


class FeatureInput:
    """Generic continuous features, standardised per feature.

    NaN marks a missing feature. A frame with fewer than ``min_keypoints``
    features present is unusable: windows touching it are left out of
    training and get no embedding of their own. When the fit data miss
    features, a missing feature is given its mean and the frames carry a
    ``"present"`` mask (1 observed, 0 missing) for the network; when they
    miss none, every feature is required (as with ``min_keypoints=1.0``).

    Parameters
    ----------
    min_keypoints : int or float, default=1.0
        Features a usable frame needs: a count, or a fraction of all (see
        :func:`required_count`); 1.0 needs every feature.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation learnt in :meth:`fit`.
    n_required_ : int or None
        Features a usable frame needs: all when the fit data miss none;
        None (models saved before it existed) means all, without a mask.
    """

    n_required_ = None

    def __init__(self, min_keypoints=1.0):
        self.min_keypoints = min_keypoints

    def fit(self, X, groups=None, window=1):
        """Learn per-feature mean and scale of ``X`` (n_frames, n_features).

        Two passes over chunks of X, accumulated in float64; NaN values are
        left out.
        """
        chunks = list(iter_chunks(len(X)))
        counts = sum((~np.isnan(X[b:e])).sum(axis=0) for _, b, e, _ in chunks)
        if np.any(counts == 0):
            raise ValueError(
                f"Feature(s) {np.flatnonzero(counts == 0).tolist()} of X are NaN in every frame."
            )
        total = sum(np.nansum(X[b:e], axis=0, dtype=np.float64) for _, b, e, _ in chunks)
        self.mean_ = total / counts
        squares = sum(np.nansum((X[b:e] - self.mean_) ** 2, axis=0) for _, b, e, _ in chunks)
        scale = np.sqrt(squares / counts)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.n_required_ = required_count(self.min_keypoints, len(self.mean_), "features")
        if np.all(counts == len(X)):  # nothing missing in the fit data: every feature required
            self.n_required_ = len(self.mean_)
        return self

    @property
    def masked(self):
        """Whether frames may miss features, and carry a ``"present"`` mask."""
        return self.n_required_ is not None and self.n_required_ < len(self.mean_)

    def frames(self, X, groups=None, keep=None):
        """Model inputs per frame.

        Parameters
        ----------
        X : ndarray of shape (n_frames, n_features)
        groups : ignored
        keep : ndarray of int, default=None
            Increasing frame indices to derive; None derives every frame.

        Returns
        -------
        frames : dict
            ``"features"``: float32 array of shape (n_frames, n_features),
            zero (the mean) where missing and in unusable frames; when
            :attr:`masked`, ``"present"`` of the same shape, 1 where observed.
        valid : ndarray of bool, shape (n_frames,)
            Frames with enough features present.
        """
        X = X if keep is None else X[keep]
        names = ("features", "present") if self.masked else ("features",)
        frames = side_by_side(len(X), {name: X.shape[1:] for name in names})
        valid = np.empty(len(X), dtype=bool)
        required = X.shape[1] if self.n_required_ is None else self.n_required_
        for _, begin, end, _ in iter_chunks(len(X)):
            chunk = (X[begin:end] - self.mean_) / self.scale_
            present = ~np.isnan(chunk)
            valid[begin:end] = usable = present.sum(axis=1) >= required
            frames["features"][begin:end] = np.where(usable[:, None], np.nan_to_num(chunk), 0.0)
            if self.masked:
                frames["present"][begin:end] = present & usable[:, None]
        return frames, valid

    def usable(self, X, groups=None):
        """Frames with enough features present, shape (n_frames,), bool, read in chunks of X.

        The flags of :meth:`frames`, without deriving the inputs.
        """
        required = X.shape[1] if self.n_required_ is None else self.n_required_
        valid = np.empty(len(X), dtype=bool)
        for _, begin, end, _ in iter_chunks(len(X)):
            valid[begin:end] = (~np.isnan(X[begin:end])).sum(axis=1) >= required
        return valid

    @property
    def frame_shape(self):
        """Shape of one frame of X: (n_features,)."""
        return (len(self.mean_),)

    @property
    def shapes(self):
        """Per-frame shape of each model input, by name."""
        names = ("features", "present") if self.masked else ("features",)
        return {name: self.frame_shape for name in names}

    context = 0
    """Frames of context a chunk of X needs on each side (none: frames are independent)."""

    def representation_params(self):
        """The network representation of these inputs, as plain values."""
        return {"kind": "features", "n_features": len(self.mean_), "masked": self.masked}

    def log_det_jacobian(self, window):
        """Log-density correction from standardised to original units, per window."""
        return -window * np.log(self.scale_).sum()

    def to_windows(self, decoded):
        """Decoded windows in X's units.

        Parameters
        ----------
        decoded : ndarray of shape (n, window, n_features)

        Returns
        -------
        windows : ndarray of shape (n, window, n_features)
        """
        return decoded * self.scale_ + self.mean_


class SkeletonInput:
    """Keypoint poses turned into joint rotations, root and bone lengths.

    Short gaps (at most ``max_gap`` frames) are interpolated per recording.
    A frame with fewer than ``min_keypoints`` keypoints present (at least
    two), and optionally a frame flagged as a tracking error, is unusable,
    and windows touching it are left out. When usable frames of the fit
    data miss keypoints, the missing ones are imputed by fitting the mean
    body shape (turned and translated) to those present and moving them
    with the present keypoints' departures from it (Gaussian conditional
    mean), bones touching them take their median length, and the frames
    carry a ``"present"`` mask (1 observed, 0 missing) for the network.
    When no usable frame of the fit data misses one (after gap filling),
    every keypoint is required, as with ``min_keypoints=1.0``: the model
    never saw a missing keypoint.

    Parameters
    ----------
    skeleton : Skeleton
        Kinematic tree; X holds its keypoints in order.
    alignment : {"midfwd", "x360"}
        Egocentric alignment of each window.
    max_gap : int
        Longest run of missing frames that is interpolated.
    max_displacement : float or None
        Frames whose mean keypoint displacement since the previous frame
        exceeds it are treated as tracking errors; None keeps all.
    min_keypoints : int or float, default=1.0
        Keypoints a usable frame needs: a count, or a fraction of all (see
        :func:`required_count`); 1.0 needs every keypoint.

    Attributes
    ----------
    root_scale_ : float
        Root-mean-square root displacement over half a window (or the
        length scale when the animal never moves); divides aligned roots.
    length_scale_ : float
        Median bone length; divides bone lengths and keypoint positions.
    reference_bone_lengths_ : ndarray of shape (n_keypoints,)
        Median bone lengths of the usable frames (of at most
        :data:`MEDIAN_FRAMES` evenly spaced frames), used to pose decoded
        rotations and for bones touching a missing keypoint.
    n_required_ : int or None
        Keypoints a usable frame needs: all when no usable frame of the fit
        data misses one; None (models saved before it existed) means all,
        without a mask.
    mean_pose_ : ndarray of shape (n_keypoints, 3) or None
        Mean body shape that places missing keypoints (see
        :func:`~sklearn_scrubvae.pose.compute_mean_pose`); None when every
        keypoint is required.
    pose_covariance_ : ndarray of shape (3 * n_keypoints, 3 * n_keypoints) or None
        How keypoints move about the mean shape (see
        :func:`~sklearn_scrubvae.pose.compute_pose_covariance`), learnt from
        the frames with every keypoint present, so that a missing keypoint
        follows the others; None when every keypoint is required or when
        fewer frames than coordinates are complete (the mean shape alone
        places missing keypoints).
    """

    n_required_ = None
    mean_pose_ = None
    pose_covariance_ = None

    def __init__(self, skeleton, alignment, max_gap, max_displacement, min_keypoints=1.0):
        self.skeleton = skeleton
        self.alignment = alignment
        self.max_gap = max_gap
        self.max_displacement = max_displacement
        self.min_keypoints = min_keypoints

    def fit(self, X, groups=None, window=1):
        """Learn scales (and the mean body shape) from poses ``X`` (n_frames, n_keypoints, 3).

        One pass over chunks of X: the root displacements are summed as
        they come, and the bone lengths of evenly spaced frames (every
        frame up to :data:`MEDIAN_FRAMES`) are kept for the medians.
        """
        n_frames, half = len(X), window // 2
        n_keypoints = self.skeleton.n_keypoints
        required = required_count(self.min_keypoints, n_keypoints, "keypoints")
        self.n_required_ = min(max(required, 2), n_keypoints)  # two place the body shape
        if self.masked:
            step = max(n_frames // 100_000, 1)  # the mean shape needs no more frames
            sample = np.asarray(X[::step])
            self.mean_pose_ = compute_mean_pose(sample, self.skeleton)
            complete = np.isfinite(sample).all(axis=(1, 2)).sum()
            self.pose_covariance_ = (  # more complete frames than coordinates
                compute_pose_covariance(sample, self.mean_pose_)
                if complete > self.mean_pose_.size else None
            )
            # bones touching a missing keypoint come out NaN until their median is known
            self.reference_bone_lengths_ = np.full(n_keypoints, np.nan)
        step = -(-n_frames // MEDIAN_FRAMES)
        groups = None if groups is None else np.asarray(groups)
        bones, squares, n_moves, any_valid, any_missing = [], 0.0, 0, False, False
        for lo, begin, end, hi in iter_chunks(n_frames, pad=self.context + half):
            part = None if groups is None else groups[lo:hi]
            chunk, valid = self._chunk_frames(X[lo:hi], part)
            own = slice(begin - lo, end - lo)
            any_valid |= bool(valid[own].any())
            any_missing |= bool((chunk["present"][own][valid[own]] == 0).any())
            sampled = np.arange(begin + (-begin) % step, end, step) - lo
            bones.append(chunk["bone_lengths"][sampled[valid[sampled]]].astype(np.float32))
            # root displacement over half a window, from each frame of the chunk
            first = np.arange(begin, min(end, n_frames - half)) - lo
            both = valid[first] & valid[first + half]
            if part is not None:
                both &= part[first] == part[first + half]
            moves = chunk["root"][first[both] + half] - chunk["root"][first[both]]
            squares += float(np.sum(moves.astype(np.float64) ** 2))
            n_moves += moves.size
        if not any_valid:
            raise no_complete_frame_error(X, self.skeleton, self.max_gap, groups,
                                          n_required=self.n_required_)
        if not any_missing:  # a model that never saw a missing keypoint requires them all
            self.n_required_, self.mean_pose_, self.pose_covariance_ = n_keypoints, None, None
        self.reference_bone_lengths_ = np.nanmedian(np.concatenate(bones), axis=0)
        non_root = np.delete(self.reference_bone_lengths_, self.skeleton.root)
        self.length_scale_ = float(np.median(non_root)) or 1.0
        rms = float(np.sqrt(squares / n_moves)) if n_moves else 0.0
        self.root_scale_ = rms if rms > 1e-6 * self.length_scale_ else self.length_scale_
        return self

    @property
    def masked(self):
        """Whether frames may miss keypoints, and carry a ``"present"`` mask."""
        return self.n_required_ is not None and self.n_required_ < self.skeleton.n_keypoints

    @property
    def frame_shape(self):
        """Shape of one frame of X: (n_keypoints, 3)."""
        return (self.skeleton.n_keypoints, 3)

    @property
    def shapes(self):
        """Per-frame shape of each model input, by name."""
        n_keypoints = self.skeleton.n_keypoints
        shapes = {
            "rot6d": (n_keypoints, 6),
            "root": (3,),
            "bone_lengths": (n_keypoints,),
            "keypoints": (n_keypoints, 3),
        }
        if self.masked:
            shapes["present"] = (n_keypoints,)
        return shapes

    @property
    def context(self):
        """Frames of context a chunk of X needs on each side for exact frames.

        Gap filling looks up to ``max_gap + 1`` frames away, tracking-error
        flags one frame further back.
        """
        return self.max_gap + 2

    def frames(self, X, groups=None, names=None, keep=None):
        """Model inputs per frame, derived in chunks of X.

        Each chunk is read with :attr:`context` frames on both sides, so
        that gap filling and tracking-error flags match those computed on
        the whole array; the inputs are derived for the frames in ``keep``
        only (the others are context).

        Parameters
        ----------
        X : ndarray of shape (n_frames, n_keypoints, 3)
            Any float dtype; may be a memory map.
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame (gaps are filled within recordings).
        names : tuple of str, default=None
            Inputs to return; None returns all.
        keep : ndarray of int, default=None
            Increasing frame indices to derive; None derives every frame.
            The rows of the outputs follow ``keep``.

        Returns
        -------
        frames : dict
            ``"rot6d"`` (n_frames, n_keypoints, 6), ``"root"``
            (n_frames, 3), ``"bone_lengths"`` (n_frames, n_keypoints),
            ``"keypoints"`` (n_frames, n_keypoints, 3, relative to the root)
            and, when :attr:`masked`, ``"present"`` (n_frames, n_keypoints),
            1 where a keypoint is observed; float32, zero on unusable frames.
        valid : ndarray of bool, shape (n_frames,)
            Frames usable in a window.
        """
        keep = np.arange(len(X)) if keep is None else np.asarray(keep)
        shapes = self.shapes
        names = tuple(shapes) if names is None else names
        frames = side_by_side(len(keep), {name: shapes[name] for name in names})
        valid = np.empty(len(keep), bool)
        groups = None if groups is None else np.asarray(groups)
        for lo, begin, end, hi in iter_chunks(len(X), pad=self.context):
            first, last = np.searchsorted(keep, [begin, end])
            if first == last:
                continue
            chunk, valid[first:last] = self._chunk_frames(
                X[lo:hi], None if groups is None else groups[lo:hi], keep[first:last] - lo
            )
            for name in names:
                frames[name][first:last] = chunk[name]
        return frames, valid

    def usable(self, X, groups=None):
        """Frames usable in a window, shape (n_frames,), bool, read in chunks of X.

        The flags of :meth:`frames`, without deriving the inputs.
        """
        valid = np.empty(len(X), dtype=bool)
        groups = None if groups is None else np.asarray(groups)
        for lo, begin, end, hi in iter_chunks(len(X), pad=self.context):
            part = None if groups is None else groups[lo:hi]
            valid[begin:end] = self._chunk_poses(X[lo:hi], part)[2][begin - lo : end - lo]
        return valid

    def _chunk_poses(self, X, groups):
        """Gap-filled poses, present keypoints and usable-frame flags of a chunk of poses."""
        poses = interpolate_gaps(X, max_gap=self.max_gap, groups=groups)
        present = np.isfinite(poses).all(axis=2)
        required = self.skeleton.n_keypoints if self.n_required_ is None else self.n_required_
        valid = present.sum(axis=1) >= required
        if self.max_displacement is not None:
            valid &= ~compute_tracking_errors(poses, self.max_displacement, groups=groups)
        return poses, present, valid

    def _chunk_frames(self, X, groups, keep=slice(None)):
        """All model inputs and usable-frame flags of the ``keep`` frames of a chunk of poses."""
        poses, present, valid = (part[keep] for part in self._chunk_poses(X, groups))
        if self.masked and not present.all():
            poses = impute_keypoints(poses, self.mean_pose_, self.pose_covariance_)
        rot6d, root, bone_lengths = inverse_kinematics(poses, self.skeleton)
        if self.masked:
            known = self._known_bones(present)
            bone_lengths = np.where(known, bone_lengths, self.reference_bone_lengths_)
        frames = {
            "rot6d": rot6d,
            "root": root,
            "bone_lengths": bone_lengths,
            "keypoints": poses - root[:, None],
            "present": present,
        }
        return {
            name: np.where(_broadcast(valid, value), value, 0.0)
            for name, value in frames.items()
        }, valid

    def _known_bones(self, present):
        """Bones (n_frames, n_keypoints) whose two ends are observed (the root's: always)."""
        parents = np.asarray(self.skeleton.parents)
        known = present & present[:, np.maximum(parents, 0)]
        known[:, self.skeleton.root] = True
        return known

    def representation_params(self):
        """The network representation of these inputs, as plain values."""
        return {
            "kind": "skeleton",
            "skeleton": self.skeleton,
            "alignment": self.alignment,
            "root_scale": self.root_scale_,
            "length_scale": self.length_scale_,
            "masked": self.masked,
        }

    def log_det_jacobian(self, window):
        """The ELBO of skeleton inputs is reported in representation units: 0."""
        return 0.0

    def to_windows(self, decoded):
        """Keypoint windows from decoded channels.

        Decoded rotations are posed with the reference bone lengths; the
        root follows the decoded (egocentric) root trajectory.

        Parameters
        ----------
        decoded : ndarray of shape (n, window, 6 * n_keypoints + 3)

        Returns
        -------
        windows : ndarray of shape (n, window, n_keypoints, 3)
        """
        n_keypoints = self.skeleton.n_keypoints
        rot6d = decoded[..., : 6 * n_keypoints].reshape(*decoded.shape[:2], n_keypoints, 6)
        root = decoded[..., 6 * n_keypoints :] * self.root_scale_
        bones = np.broadcast_to(self.reference_bone_lengths_, rot6d.shape[:-1])
        return forward_kinematics(rot6d, root, bones, self.skeleton)


class WindowFrames:
    """Per-frame inputs of windows of X, derived when a batch asks for them.

    The stand-in for the per-frame input arrays of a training dataset when
    X is too large to derive whole: each batch reads its windows from X,
    with the context that makes their frames equal to those of
    ``inputs.frames(X, groups)``, and derives only those.

    Parameters
    ----------
    inputs : FeatureInput or SkeletonInput
        Fitted.
    X : ndarray of shape (n_frames, ...)
        Typically a memory map.
    start, stop : ndarray of shape (n_frames,)
        Recording boundaries of each frame.
    """

    def __init__(self, inputs, X, start, stop):
        self.inputs = inputs
        self.X = X
        self.start = start
        self.stop = stop

    @property
    def shapes(self):
        """Per-frame shape of each model input, by name."""
        return self.inputs.shapes

    def windows(self, index):
        """Inputs of the frames of a batch of windows.

        Parameters
        ----------
        index : ndarray of shape (B, window), int
            Frames of each window (clipped to its recording), the centre
            frame in the middle column.

        Returns
        -------
        frames : dict of str -> ndarray of shape (B, window, ...), float32
        """
        n_windows, window = index.shape
        centers = index[:, window // 2]
        pad = window // 2 + self.inputs.context
        frames = centers[:, None] + np.arange(-pad, pad + 1)
        # Each padded window is a recording of its own; its frames outside the
        # centre's recording are cut off from it by labels of their own.
        inside = (frames >= self.start[centers, None]).astype(np.int64)
        labels = 3 * np.arange(n_windows)[:, None] + inside + (frames >= self.stop[centers, None])
        rows = np.clip(frames, 0, len(self.X) - 1).ravel()
        positions = (index - frames[:, :1] + frames.shape[1] * np.arange(n_windows)[:, None])
        keep, rows_of_keep = np.unique(positions, return_inverse=True)
        derived, _ = self.inputs.frames(self.X[rows], labels.ravel(), keep=keep)
        return {
            name: value[rows_of_keep.ravel()].reshape(index.shape + value.shape[1:])
            for name, value in derived.items()
        }


def _broadcast(valid, value):
    return valid.reshape(valid.shape + (1,) * (value.ndim - 1))
