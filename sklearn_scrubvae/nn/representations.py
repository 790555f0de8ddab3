"""How frames become encoder inputs and how reconstructions are scored."""

import torch
from torch import nn

from .kinematics import forward_kinematics
from .losses import gaussian_nll


class FeatureRepresentation(nn.Module):
    """Generic continuous features, already standardised per feature.

    The encoder sees the window as it is; the reconstruction error is the
    Gaussian negative log-likelihood with unit variance in standardised units.

    With ``masked``, frames also carry ``"present"`` (1 where a feature was
    observed): the encoder sees it besides the features (missing ones set
    to their mean, 0) and the likelihood covers observed features only.

    Parameters
    ----------
    n_features : int
        Features per frame.
    masked : bool, default=False
        Whether frames carry a presence mask.

    Attributes
    ----------
    n_channels : int
        Channels per decoded frame (``n_features``).
    n_inputs : int
        Channels per encoded frame (``n_features``).
    n_mask : int
        Presence-mask channels per frame (``n_features`` with the mask, else 0).
    """

    n_bounded = 0

    def __init__(self, n_features, masked=False):
        super().__init__()
        self.masked = masked
        self.n_channels = self.n_inputs = n_features
        self.n_mask = n_features if masked else 0

    def inputs(self, frames):
        """Encoder input of a batch of windows.

        Parameters
        ----------
        frames : dict
            ``frames["features"]`` of shape (B, window, n_features).

        Returns
        -------
        x : Tensor of shape (B, window, n_inputs)
        """
        return frames["features"]

    def reconstruction_error(self, decoded, frames):
        """Negative log-likelihood of the observed features of the windows, shape (B,)."""
        return gaussian_nll(decoded, frames["features"], frames.get("present"))


class SkeletonRepresentation(nn.Module):
    """Joint rotations and root trajectory of a skeleton, egocentrically aligned.

    Each window is aligned on its centre frame: translated so the centre
    frame's root is at the origin in x and y, and (``"midfwd"``) rotated
    about z so the centre frame faces +x. Because local joint rotations are
    invariant to rotations about the vertical axis, only the root's rotation
    and the root trajectory change. The encoder sees, per frame, the 6D local
    rotation of every keypoint followed by the aligned root position divided
    by ``root_scale``. The reconstruction error is the Gaussian negative
    log-likelihood (unit variance) of the keypoint positions obtained by
    forward kinematics of the decoded rotations with the window's own bone
    lengths and the root at the origin, plus that of the root trajectory,
    plus, weighted by ``root_velocity_weight``, that of the root's
    frame-to-frame steps in units of ``root_scale / (T // 2)`` (the mean step
    of a root that moves ``root_scale`` in half a window). Positions alone
    let the decoded root jitter by a few percent of ``root_scale`` at
    almost no cost, which adds to the speed of the decoded motion; the
    step term makes the decoded root move as fast as the recorded one.

    With ``masked``, frames also carry ``"present"`` (B, T, K), 1 where a
    keypoint was observed: the encoder reads it as well (see
    :class:`~sklearn_scrubvae.nn.encoder.ConvEncoder`), and the
    likelihood covers observed keypoints only (the root trajectory where
    the root was observed). Missing keypoints arrive imputed, bones
    touching them with a typical length.

    Parameters
    ----------
    skeleton : Skeleton
        Kinematic tree.
    alignment : {"midfwd", "x360"}
        Egocentric alignment of each window.
    root_scale : float
        Divides aligned root positions.
    length_scale : float
        Divides bone lengths (positions are scored in these units).
    masked : bool, default=False
        Whether frames carry a presence mask.
    root_velocity_weight : float, default=0.0
        Weight of the root-step term; 0 scores root positions only.

    Attributes
    ----------
    n_channels : int
        Channels per decoded frame (6 K + 3).
    n_inputs : int
        Channels per encoded frame (6 K + 3).
    n_mask : int
        Presence-mask channels per frame (K with the mask, else 0).
    """

    def __init__(
        self, skeleton, alignment, root_scale, length_scale, masked=False, root_velocity_weight=0.0
    ):
        super().__init__()
        self.skeleton = skeleton
        self.alignment = alignment
        self.masked = masked
        self.root_velocity_weight = root_velocity_weight
        self.n_bounded = 6 * skeleton.n_keypoints
        self.n_channels = self.n_bounded + 3
        self.n_inputs = self.n_channels
        self.n_mask = skeleton.n_keypoints if masked else 0
        self.register_buffer("root_scale", torch.tensor(float(root_scale)))
        self.register_buffer("length_scale", torch.tensor(float(length_scale)))

    def aligned(self, frames, keypoints=True):
        """Windows after egocentric alignment.

        Parameters
        ----------
        frames : dict
            ``"rot6d"`` (B, T, K, 6), ``"root"`` (B, T, 3) and
            ``"keypoints"`` (B, T, K, 3, positions relative to the root),
            in world units.
        keypoints : bool, default=True
            Whether to align the keypoints too (the encoder needs only the
            rotations and the root).

        Returns
        -------
        rot6d : Tensor of shape (B, T, K, 6)
        root : Tensor of shape (B, T, 3), divided by ``root_scale``
        keypoints : Tensor of shape (B, T, K, 3), divided by ``length_scale``,
            or None when ``keypoints`` is False
        """
        rot6d, root = frames["rot6d"], frames["root"]
        keypoints = frames["keypoints"] if keypoints else None
        center = root.shape[1] // 2
        shift = root[:, center].clone()
        shift[:, 2] = 0.0
        root = root - shift[:, None]
        if self.alignment == "midfwd":
            r = self.skeleton.root
            facing = rot6d[:, center, r, :2]
            turn = _rotation_about_z(-torch.atan2(facing[:, 1], facing[:, 0]))
            turn = turn[:, None, None]  # (B, 1, 1, 3, 3)
            root_rotation = rot6d[:, :, r].unflatten(-1, (2, 3))  # its two columns
            root_rotation = (turn @ root_rotation[..., None]).flatten(2)
            rot6d = torch.cat(
                [rot6d[:, :, :r], root_rotation[:, :, None], rot6d[:, :, r + 1 :]], dim=2
            )
            root = (turn[:, :, 0] @ root[..., None]).squeeze(-1)
            if keypoints is not None:
                keypoints = (turn @ keypoints[..., None]).squeeze(-1)
        if keypoints is not None:
            keypoints = keypoints / self.length_scale
        return rot6d, root / self.root_scale, keypoints

    def inputs(self, frames):
        """Encoder input (B, T, n_inputs) of gathered windows."""
        rot6d, root, _ = self.aligned(frames, keypoints=False)
        return torch.cat([rot6d.flatten(2), root], dim=2)

    def split(self, decoded):
        """Decoded channels (B, T, 6 K + 3) -> rotations (B, T, K, 6), root (B, T, 3)."""
        rot6d = decoded[..., : self.n_bounded].unflatten(-1, (self.skeleton.n_keypoints, 6))
        return rot6d, decoded[..., self.n_bounded :]

    def reconstruction_error(self, decoded, frames):
        """Negative log-likelihood of observed keypoints and root trajectory, shape (B,).

        With ``root_velocity_weight``, plus that weight times the negative
        log-likelihood of the root's steps (see the class description).
        """
        _, root, keypoints = self.aligned(frames)
        rot6d_hat, root_hat = self.split(decoded)
        bones = frames["bone_lengths"] / self.length_scale
        origin = root.new_zeros(root.shape)
        keypoints_hat = forward_kinematics(rot6d_hat, origin, bones, self.skeleton)
        present = frames["present"][..., None] if self.masked else None
        root_seen = None if present is None else present[:, :, self.skeleton.root]
        error = gaussian_nll(keypoints_hat, keypoints, present) + gaussian_nll(
            root_hat, root, root_seen
        )
        if self.root_velocity_weight == 0:
            return error
        return error + self.root_velocity_weight * root_step_error(root_hat, root, root_seen)


def root_step_error(root_hat, root, root_seen=None):
    """Negative log-likelihood of a root trajectory's frame-to-frame steps.

    Steps are measured in units of the mean step of a root that moves one
    unit in half a window, i.e. multiplied by ``T // 2``.

    Parameters
    ----------
    root_hat, root : Tensor of shape (B, T, 3)
        Decoded and recorded root trajectories, in root units.
    root_seen : Tensor of shape (B, T, 1), default=None
        1 where the root was observed; a step counts when both its frames
        were. None means everywhere.

    Returns
    -------
    nll : Tensor of shape (B,)
    """
    half = root.shape[1] // 2
    seen = None if root_seen is None else root_seen[:, 1:] * root_seen[:, :-1]
    return gaussian_nll(half * root_hat.diff(dim=1), half * root.diff(dim=1), seen)


def _rotation_about_z(angle):
    """Rotation matrices (B, 3, 3) about the z axis by ``angle`` (B,)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack(
        [cos, -sin, zero, sin, cos, zero, zero, zero, one], dim=-1
    ).reshape(-1, 3, 3)
