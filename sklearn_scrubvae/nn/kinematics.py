"""Differentiable 6D rotations and forward kinematics (torch).

Twins of :func:`sklearn_scrubvae.pose.rotation_6d_to_matrix` and
:func:`sklearn_scrubvae.pose.forward_kinematics` that keep the dtype and
device of their inputs, accept any leading batch axes and let gradients
flow, so a decoder's rotations can be scored by keypoint position errors.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ..pose.skeleton import get_skeleton

# Norms are clamped from below so that degenerate 6D vectors give finite
# values and gradients instead of NaN.
_EPS = 1e-8


def rotation_6d_to_matrix(rot6d):
    """Convert 6D rotations to rotation matrices by Gram-Schmidt.

    Parameters
    ----------
    rot6d : torch.Tensor of shape (..., 6)
        First column of each rotation matrix followed by its second column;
        need not be normalised nor orthogonal.

    Returns
    -------
    matrix : torch.Tensor of shape (..., 3, 3)
        Rotation matrices (orthonormal, determinant +1), same dtype and
        device as ``rot6d``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_scrubvae.nn.kinematics import rotation_6d_to_matrix
    >>> rotation_6d_to_matrix(torch.tensor([2.0, 0.0, 0.0, 1.0, 1.0, 0.0]))
    tensor([[1., 0., 0.],
            [0., 1., 0.],
            [0., 0., 1.]])
    """
    if rot6d.shape[-1:] != (6,):
        raise ValueError(
            f"rot6d must have a last axis of size 6, got shape {tuple(rot6d.shape)}."
        )
    first = F.normalize(rot6d[..., :3], dim=-1, eps=_EPS)
    second = rot6d[..., 3:]
    second = F.normalize(
        second - (first * second).sum(dim=-1, keepdim=True) * first, dim=-1, eps=_EPS
    )
    third = torch.linalg.cross(first, second, dim=-1)
    return torch.stack([first, second, third], dim=-1)


def forward_kinematics(rot6d, root, bone_lengths, skeleton="mouse18"):
    """Keypoint positions from joint rotations, root position and bone lengths.

    Global rotations compose down the tree, ``R_j = R_parent @ local_j``,
    and each keypoint sits at ``x_parent + R_j @ offset_j * length_j``. The
    loop runs over tree depth only: each level of the tree is one batched
    step.

    Parameters
    ----------
    rot6d : torch.Tensor of shape (..., n_keypoints, 6)
        Local rotations in the 6D representation (the root's is its global
        orientation).
    root : torch.Tensor of shape (..., 3)
        Root keypoint position.
    bone_lengths : torch.Tensor of shape (..., n_keypoints)
        Distance of each keypoint from its parent (the root's is ignored).
    skeleton : Skeleton or str, default="mouse18"
        Kinematic tree.

    Returns
    -------
    poses : torch.Tensor of shape (..., n_keypoints, 3)
        Keypoint positions; leading axes are those of the inputs broadcast
        together; dtype and device of ``rot6d``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_scrubvae.nn.kinematics import forward_kinematics
    >>> identity = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]).expand(2, 18, 6)
    >>> poses = forward_kinematics(identity, torch.zeros(2, 3), torch.ones(2, 18))
    >>> poses[0, :5, 0]  # SpineM, SpineF, ears and snout one unit apart along x
    tensor([0., 1., 2., 3., 4.])
    """
    skeleton = get_skeleton(skeleton)
    n_keypoints = skeleton.n_keypoints
    if rot6d.shape[-2:] != (n_keypoints, 6):
        raise ValueError(
            f"rot6d must have shape (..., {n_keypoints}, 6), got {tuple(rot6d.shape)}."
        )
    if root.shape[-1:] != (3,):
        raise ValueError(f"root must have shape (..., 3), got {tuple(root.shape)}.")
    if bone_lengths.shape[-1:] != (n_keypoints,):
        raise ValueError(
            f"bone_lengths must have shape (..., {n_keypoints}), got "
            f"{tuple(bone_lengths.shape)}."
        )
    dtype = rot6d.dtype
    offsets = torch.tensor(skeleton.offsets.tolist(), dtype=dtype, device=rot6d.device)
    # Work in tree order (level by level): every level is a contiguous slice
    # whose parents all lie in the level before it.
    order = np.concatenate(skeleton.levels)
    position = np.empty(n_keypoints, dtype=np.int64)
    position[order] = np.arange(n_keypoints)
    batch_shape = torch.broadcast_shapes(
        rot6d.shape[:-2], root.shape[:-1], bone_lengths.shape[:-1]
    )
    local_rot = rotation_6d_to_matrix(rot6d[..., order, :])
    lengths = bone_lengths.to(dtype)[..., order, None]
    bones = offsets[order, :, None]
    parents = position[np.asarray(skeleton.parents)[order]]
    start, stop = 0, len(skeleton.levels[0])
    rotations = [local_rot[..., :stop, :, :]]
    points = [root.to(dtype)[..., None, :].expand(*batch_shape, stop, 3)]
    for level in skeleton.levels[1:]:
        up = parents[stop : stop + len(level)] - start
        start, stop = stop, stop + len(level)
        rotations.append(rotations[-1][..., up, :, :] @ local_rot[..., start:stop, :, :])
        step = (rotations[-1] @ bones[start:stop]).squeeze(-1) * lengths[..., start:stop, :]
        points.append(points[-1][..., up, :] + step)
    return torch.cat(points, dim=-2)[..., position, :]
