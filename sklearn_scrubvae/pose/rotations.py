"""Rotation matrices and the continuous 6D rotation representation.

The 6D representation of a rotation matrix is its first two columns,
flattened as ``(column 0, column 1)``. It is continuous, unlike Euler angles
or quaternions, which makes it a good regression target for a network; any
6 numbers whose two halves are linearly independent map back to a rotation
by Gram-Schmidt orthogonalisation.
"""

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import validate_params

# Below this value of 1 + cos(angle), two directions count as opposite and
# the rotation between them goes through an explicit half turn.
_OPPOSITE_TOLERANCE = 1e-8


@validate_params({"rot6d": ["array-like"]}, prefer_skip_nested_validation=True)
def rotation_6d_to_matrix(rot6d: ArrayLike) -> np.ndarray:
    """Convert 6D rotations to rotation matrices by Gram-Schmidt.

    Parameters
    ----------
    rot6d : array-like of shape (..., 6)
        First column of each rotation matrix followed by its second column.
        The two halves need not be unit length nor orthogonal (as a decoder
        emits them): the first is normalised, the second is made orthogonal
        to it and normalised, and the third column is their cross product.

    Returns
    -------
    matrix : ndarray of shape (..., 3, 3)
        Rotation matrices (orthonormal, determinant +1). Inputs whose halves
        are zero or parallel give NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import rotation_6d_to_matrix
    >>> rotation_6d_to_matrix([2.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    rot6d = np.asarray(rot6d, dtype=np.float64)
    if rot6d.shape[-1:] != (6,):
        raise ValueError(
            f"rot6d must have a last axis of size 6, got shape {rot6d.shape}."
        )
    first = _normalize(rot6d[..., :3])
    second = rot6d[..., 3:]
    second = _normalize(second - np.sum(first * second, axis=-1, keepdims=True) * first)
    return np.stack([first, second, np.cross(first, second)], axis=-1)


@validate_params({"matrix": ["array-like"]}, prefer_skip_nested_validation=True)
def matrix_to_rotation_6d(matrix: ArrayLike) -> np.ndarray:
    """Convert rotation matrices to their 6D representation.

    Parameters
    ----------
    matrix : array-like of shape (..., 3, 3)
        Rotation matrices.

    Returns
    -------
    rot6d : ndarray of shape (..., 6)
        First column followed by second column of each matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import matrix_to_rotation_6d
    >>> matrix_to_rotation_6d(np.eye(3))
    array([1., 0., 0., 0., 1., 0.])
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape[-2:] != (3, 3):
        raise ValueError(
            f"matrix must have two last axes of size 3, got shape {matrix.shape}."
        )
    return np.concatenate([matrix[..., :, 0], matrix[..., :, 1]], axis=-1)


def _rotation_between(source, target):
    """Shortest-arc rotations taking unit vectors ``source`` to ``target``.

    Parameters
    ----------
    source, target : ndarray of shape (..., 3)
        Unit vectors (broadcast against each other).

    Returns
    -------
    matrix : ndarray of shape (..., 3, 3)
        Rotations ``R`` with ``R @ source == target``: the rotation about
        ``source x target`` by the angle between them. For (nearly)
        opposite vectors, where that axis is undefined, a half turn about an
        axis perpendicular to ``source`` followed by the (tiny) shortest
        rotation to ``target``.
    """
    source, target = np.broadcast_arrays(source, target)
    opposite = 1.0 + np.sum(source * target, axis=-1) < _OPPOSITE_TOLERANCE
    start = np.where(opposite[..., None], -source, source)
    matrix = _shortest_arc(start, target)
    if opposite.any():
        half_turn = _half_turn(_perpendicular(source[opposite]))
        matrix[opposite] = matrix[opposite] @ half_turn
    return matrix


def _shortest_arc(source, target):
    """Rotation about ``source x target`` through a unit quaternion.

    Well conditioned unless ``source`` and ``target`` are nearly opposite:
    the quaternion ``q = (1 + cos, source x target)`` has squared norm of
    the order of ``1 + cos``. The matrix of ``q / |q|`` is written out
    entry by entry (one pass over the batch per entry).
    """
    sx, sy, sz = np.moveaxis(source, -1, 0)
    tx, ty, tz = np.moveaxis(target, -1, 0)
    w = 1.0 + sx * tx + sy * ty + sz * tz
    x, y, z = sy * tz - sz * ty, sz * tx - sx * tz, sx * ty - sy * tx
    scale = 2.0 / (w * w + x * x + y * y + z * z)
    wx, wy, wz = scale * w * x, scale * w * y, scale * w * z
    xx, yy, zz = scale * x * x, scale * y * y, scale * z * z
    xy, xz, yz = scale * x * y, scale * x * z, scale * y * z
    matrix = np.empty(w.shape + (3, 3))
    matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2] = 1.0 - yy - zz, xy - wz, xz + wy
    matrix[..., 1, 0], matrix[..., 1, 1], matrix[..., 1, 2] = xy + wz, 1.0 - xx - zz, yz - wx
    matrix[..., 2, 0], matrix[..., 2, 1], matrix[..., 2, 2] = xz - wy, yz + wx, 1.0 - xx - yy
    return matrix


def _perpendicular(vectors):
    """Unit vectors perpendicular to unit ``vectors`` of shape (n, 3)."""
    least_aligned = np.eye(3)[np.argmin(np.abs(vectors), axis=-1)]
    return _normalize(np.cross(vectors, least_aligned))


def _half_turn(axes):
    """Rotations by pi about unit ``axes`` of shape (n, 3): 2 a a^T - I."""
    return 2.0 * axes[..., :, None] * axes[..., None, :] - np.eye(3)


def _normalize(vectors):
    """Divide vectors by their norm along the last axis (NaN for zero)."""
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return vectors / norm
