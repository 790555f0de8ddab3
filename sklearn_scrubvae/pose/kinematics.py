"""Inverse and forward kinematics on a skeleton (numpy).

A pose is described by the root keypoint's position, one rotation per
keypoint relative to its parent (the root's is its global orientation) and
one length per bone. Rotations are stored in the 6D representation.
"""

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import validate_params

from ._validation import check_poses
from .rotations import _rotation_between, matrix_to_rotation_6d, rotation_6d_to_matrix
from .skeleton import Skeleton, get_skeleton

_UP = np.array([0.0, 0.0, 1.0])
_LEFT = np.array([0.0, 1.0, 0.0])
_FORWARD = np.array([1.0, 0.0, 0.0])


def _body_frame(root, front):
    """Yaw-equivariant orientation of the body from two keypoints.

    The x axis points from ``root`` to ``front``, the y axis is horizontal
    (``z_world x x``, pointing left) and the z axis completes a right-handed
    frame. Rotating both keypoints about the world z axis by an angle
    left-multiplies the frame by that rotation.

    Parameters
    ----------
    root, front : ndarray of shape (..., 3)
        Positions of the root and front keypoints.

    Returns
    -------
    frame : ndarray of shape (..., 3, 3)
        Rotation matrices whose columns are the body's x, y and z axes.
        When ``front`` lies straight above or below ``root`` the y axis is the
        world y axis; when the two coincide the frame is the identity.
    """
    forward = front - root
    length = np.linalg.norm(forward, axis=-1, keepdims=True)
    forward = np.divide(
        forward,
        length,
        out=np.broadcast_to(_FORWARD, forward.shape).copy(),
        where=length > 0,
    )
    left = np.cross(_UP, forward)
    length = np.linalg.norm(left, axis=-1, keepdims=True)
    left = np.divide(
        left,
        length,
        out=np.broadcast_to(_LEFT, left.shape).copy(),
        where=length > 1e-12,
    )
    return np.stack([forward, left, np.cross(forward, left)], axis=-1)


@validate_params(
    {"poses": ["array-like"], "skeleton": [Skeleton, str]},
    prefer_skip_nested_validation=True,
)
def inverse_kinematics(
    poses: ArrayLike, skeleton: Skeleton | str = "mouse18"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint rotations, root position and bone lengths of poses.

    The root's rotation is a body frame whose x axis points from the root
    to the skeleton's front keypoint, whose y axis is horizontal (world z
    cross x, pointing left) and whose z axis completes it (when the front
    keypoint lies straight above or below the root, y is the world y axis).
    Every other keypoint's local rotation is the shortest-arc rotation
    taking its rest offset direction to the bone direction expressed in the
    parent's global frame; global rotations compose down the tree. Rotating
    whole poses about the world z axis changes only the root's rotation
    (left-multiplied by the same rotation) and the root position.

    Parameters
    ----------
    poses : array-like of shape (..., n_keypoints, 3)
        Keypoint positions. A frame with any NaN coordinate gives NaN
        everywhere in that frame's outputs.
    skeleton : Skeleton or str, default="mouse18"
        Kinematic tree; keypoints in the skeleton's order.

    Returns
    -------
    rot6d : ndarray of shape (..., n_keypoints, 6)
        Local rotation of each keypoint in the 6D representation (the root's
        is its global orientation).
    root : ndarray of shape (..., 3)
        Root keypoint position.
    bone_lengths : ndarray of shape (..., n_keypoints)
        Distance of each keypoint from its parent, 0 for the root.

    See Also
    --------
    forward_kinematics : The inverse mapping.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import MOUSE18, forward_kinematics
    >>> from sklearn_scrubvae.pose import inverse_kinematics
    >>> poses = np.random.default_rng(0).normal(size=(4, 18, 3))
    >>> rot6d, root, lengths = inverse_kinematics(poses, MOUSE18)
    >>> rot6d.shape, root.shape, lengths.shape
    ((4, 18, 6), (4, 3), (4, 18))
    >>> np.allclose(forward_kinematics(rot6d, root, lengths, MOUSE18), poses)
    True
    """
    skeleton = get_skeleton(skeleton)
    poses = check_poses(
        poses, n_keypoints=skeleton.n_keypoints, spatial_dims=(3,), min_ndim=2
    )
    batch_shape, n_keypoints = poses.shape[:-2], skeleton.n_keypoints
    flat = poses.reshape(-1, n_keypoints, 3)
    complete = np.isfinite(flat).all(axis=(1, 2))
    rot6d = np.full((flat.shape[0], n_keypoints, 6), np.nan)
    bone_lengths = np.full((flat.shape[0], n_keypoints), np.nan)
    rot6d[complete], bone_lengths[complete] = _inverse_kinematics(
        flat[complete], skeleton
    )
    root = poses[..., skeleton.root, :].copy()
    root[~complete.reshape(batch_shape)] = np.nan
    return (
        rot6d.reshape(*batch_shape, n_keypoints, 6),
        root,
        bone_lengths.reshape(*batch_shape, n_keypoints),
    )


def _inverse_kinematics(poses, skeleton):
    """Inverse kinematics of complete poses of shape (n, n_keypoints, 3)."""
    n_frames = poses.shape[0]
    parents = np.asarray(skeleton.parents)
    frame = _body_frame(poses[:, skeleton.root], poses[:, skeleton.front])
    global_rot = np.empty((n_frames, skeleton.n_keypoints, 3, 3))
    local_rot = np.empty_like(global_rot)
    global_rot[:, skeleton.root] = local_rot[:, skeleton.root] = frame
    bone_lengths = np.zeros((n_frames, skeleton.n_keypoints))
    for level in skeleton.levels[1:]:
        parent_rot = global_rot[:, parents[level]]
        bones = poses[:, level] - poses[:, parents[level]]
        lengths = np.linalg.norm(bones, axis=-1, keepdims=True)
        in_parent = np.einsum("nkji,nkj->nki", parent_rot, bones)
        rest = skeleton.offsets[level]
        direction = np.divide(
            in_parent,
            lengths,
            out=np.broadcast_to(rest, in_parent.shape).copy(),
            where=lengths > 0,
        )
        local_rot[:, level] = _rotation_between(rest, direction)
        global_rot[:, level] = parent_rot @ local_rot[:, level]
        bone_lengths[:, level] = lengths[..., 0]
    return matrix_to_rotation_6d(local_rot), bone_lengths


@validate_params(
    {
        "rot6d": ["array-like"],
        "root": ["array-like"],
        "bone_lengths": ["array-like"],
        "skeleton": [Skeleton, str],
    },
    prefer_skip_nested_validation=True,
)
def forward_kinematics(
    rot6d: ArrayLike,
    root: ArrayLike,
    bone_lengths: ArrayLike,
    skeleton: Skeleton | str = "mouse18",
) -> np.ndarray:
    """Keypoint positions from joint rotations, root position and bone lengths.

    Global rotations compose down the tree, ``R_j = R_parent @ local_j``,
    and each keypoint sits at ``x_parent + R_j @ offset_j * length_j``.

    Parameters
    ----------
    rot6d : array-like of shape (..., n_keypoints, 6)
        Local rotations in the 6D representation (need not be normalised;
        see :func:`rotation_6d_to_matrix`).
    root : array-like of shape (..., 3)
        Root keypoint position.
    bone_lengths : array-like of shape (..., n_keypoints)
        Distance of each keypoint from its parent (the root's is ignored).
    skeleton : Skeleton or str, default="mouse18"
        Kinematic tree.

    Returns
    -------
    poses : ndarray of shape (..., n_keypoints, 3)
        Keypoint positions; the leading axes are those of the three inputs
        broadcast together.

    See Also
    --------
    inverse_kinematics : The inverse mapping.
    sklearn_scrubvae.nn.kinematics.forward_kinematics : Differentiable twin.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.datasets import make_mouse_behavior
    >>> from sklearn_scrubvae.pose import forward_kinematics, inverse_kinematics
    >>> poses, _ = make_mouse_behavior(n_animals=1, n_frames=30, lesion=False,
    ...                                random_state=0)
    >>> rot6d, root, bone_lengths = inverse_kinematics(poses)
    >>> rebuilt = forward_kinematics(rot6d, root, bone_lengths)
    >>> rebuilt.shape, bool(np.allclose(rebuilt, poses, atol=1e-6))
    ((30, 18, 3), True)
    """
    skeleton = get_skeleton(skeleton)
    n_keypoints = skeleton.n_keypoints
    local_rot = rotation_6d_to_matrix(rot6d)
    root = np.asarray(root, dtype=np.float64)
    bone_lengths = np.asarray(bone_lengths, dtype=np.float64)
    if local_rot.shape[-3:-2] != (n_keypoints,):
        raise ValueError(
            f"rot6d must have shape (..., {n_keypoints}, 6), got {np.shape(rot6d)}."
        )
    if root.shape[-1:] != (3,):
        raise ValueError(f"root must have shape (..., 3), got {root.shape}.")
    if bone_lengths.shape[-1:] != (n_keypoints,):
        raise ValueError(
            f"bone_lengths must have shape (..., {n_keypoints}), got "
            f"{bone_lengths.shape}."
        )
    batch_shape = np.broadcast_shapes(
        local_rot.shape[:-3], root.shape[:-1], bone_lengths.shape[:-1]
    )
    parents = np.asarray(skeleton.parents)
    global_rot = np.array(np.broadcast_to(local_rot, (*batch_shape, n_keypoints, 3, 3)))
    poses = np.empty((*batch_shape, n_keypoints, 3))
    poses[..., skeleton.root, :] = root
    for level in skeleton.levels[1:]:
        global_rot[..., level, :, :] = (
            global_rot[..., parents[level], :, :] @ local_rot[..., level, :, :]
        )
        bones = np.einsum(
            "...kij,kj->...ki", global_rot[..., level, :, :], skeleton.offsets[level]
        )
        poses[..., level, :] = (
            poses[..., parents[level], :] + bones * bone_lengths[..., level, None]
        )
    return poses
