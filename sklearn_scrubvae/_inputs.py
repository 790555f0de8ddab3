"""Per-frame model inputs: how X becomes frames and decoded windows become X again."""

import numpy as np

from .nn.representations import FeatureRepresentation, SkeletonRepresentation
from .pose import (
    compute_tracking_errors,
    forward_kinematics,
    interpolate_gaps,
    inverse_kinematics,
)


class FeatureInput:
    """Generic continuous features, standardised per feature.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation learnt in :meth:`fit`.
    """

    def fit(self, X, groups=None, window=1):
        """Learn per-feature mean and scale of ``X`` (n_frames, n_features)."""
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def frames(self, X, groups=None):
        """Model inputs per frame.

        Parameters
        ----------
        X : ndarray of shape (n_frames, n_features)
        groups : ignored

        Returns
        -------
        frames : dict
            ``"features"``: float32 array of shape (n_frames, n_features).
        valid : None
            Every frame is usable (generic inputs are checked to be finite).
        """
        return {"features": ((X - self.mean_) / self.scale_).astype(np.float32)}, None

    def representation(self):
        """The torch representation matching these inputs."""
        return FeatureRepresentation(len(self.mean_))

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

    Short gaps (at most ``max_gap`` frames) are interpolated per recording;
    frames still missing a keypoint, and optionally frames flagged as
    tracking errors, are unusable, and windows touching them are left out.

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

    Attributes
    ----------
    root_scale_ : float
        Root-mean-square root displacement over half a window (or the
        length scale when the animal never moves); divides aligned roots.
    length_scale_ : float
        Median bone length; divides bone lengths and keypoint positions.
    reference_bone_lengths_ : ndarray of shape (n_keypoints,)
        Median bone lengths, used to pose decoded rotations.
    """

    def __init__(self, skeleton, alignment, max_gap, max_displacement):
        self.skeleton = skeleton
        self.alignment = alignment
        self.max_gap = max_gap
        self.max_displacement = max_displacement

    def fit(self, X, groups=None, window=1):
        """Learn scales from poses ``X`` (n_frames, n_keypoints, 3)."""
        frames, valid = self.frames(X, groups)
        if not valid.any():
            raise ValueError(
                "No frame has every keypoint present after gap interpolation; check the "
                "skeleton's keypoint order or raise max_gap."
            )
        bones = frames["bone_lengths"][valid]
        self.reference_bone_lengths_ = np.median(bones, axis=0)
        non_root = np.delete(self.reference_bone_lengths_, self.skeleton.root)
        self.length_scale_ = float(np.median(non_root)) or 1.0
        half = window // 2
        root = frames["root"]
        both = valid[half:] & valid[: len(valid) - half]
        if groups is not None:
            groups = np.asarray(groups)
            both &= groups[half:] == groups[: len(groups) - half]
        moves = root[half:][both] - root[: len(root) - half][both]
        rms = float(np.sqrt(np.mean(moves**2))) if len(moves) else 0.0
        self.root_scale_ = rms if rms > 1e-6 * self.length_scale_ else self.length_scale_
        return self

    def frames(self, X, groups=None):
        """Model inputs per frame.

        Parameters
        ----------
        X : ndarray of shape (n_frames, n_keypoints, 3)
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame (gaps are filled within recordings).

        Returns
        -------
        frames : dict
            ``"rot6d"`` (n_frames, n_keypoints, 6), ``"root"``
            (n_frames, 3), ``"bone_lengths"`` (n_frames, n_keypoints) and
            ``"keypoints"`` (n_frames, n_keypoints, 3, relative to the root),
            float32, zero on unusable frames.
        valid : ndarray of bool, shape (n_frames,)
            Frames usable in a window.
        """
        poses = interpolate_gaps(X, max_gap=self.max_gap, groups=groups)
        valid = np.isfinite(poses).all(axis=(1, 2))
        if self.max_displacement is not None:
            valid &= ~compute_tracking_errors(poses, self.max_displacement, groups=groups)
        rot6d, root, bone_lengths = inverse_kinematics(poses, self.skeleton)
        frames = {
            "rot6d": rot6d,
            "root": root,
            "bone_lengths": bone_lengths,
            "keypoints": poses - root[:, None],
        }
        return {
            name: np.where(_broadcast(valid, value), value, 0.0).astype(np.float32)
            for name, value in frames.items()
        }, valid

    def representation(self):
        """The torch representation matching these inputs."""
        return SkeletonRepresentation(
            self.skeleton, self.alignment, self.root_scale_, self.length_scale_
        )

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


def _broadcast(valid, value):
    return valid.reshape(valid.shape + (1,) * (value.ndim - 1))
