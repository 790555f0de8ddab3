import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sklearn_scrubvae.pose import matrix_to_rotation_6d, rotation_6d_to_matrix
from sklearn_scrubvae.pose.rotations import _rotation_between


def random_rotations(n, seed=0):
    return Rotation.random(n, random_state=seed).as_matrix()


def assert_rotations(matrix, atol=1e-12):
    identity = np.broadcast_to(np.eye(3), matrix.shape)
    np.testing.assert_allclose(
        matrix @ np.swapaxes(matrix, -1, -2), identity, atol=atol
    )
    np.testing.assert_allclose(np.linalg.det(matrix), 1.0, atol=atol)


def test_matrix_6d_round_trip():
    matrix = random_rotations(50).reshape(5, 10, 3, 3)
    rot6d = matrix_to_rotation_6d(matrix)
    assert rot6d.shape == (5, 10, 6)
    np.testing.assert_array_equal(rot6d[..., :3], matrix[..., :, 0])
    np.testing.assert_array_equal(rot6d[..., 3:], matrix[..., :, 1])
    np.testing.assert_allclose(rotation_6d_to_matrix(rot6d), matrix, atol=1e-14)


def test_unnormalised_6d_gives_rotations():
    rot6d = np.random.default_rng(1).normal(size=(200, 6)) * 5
    matrix = rotation_6d_to_matrix(rot6d)
    assert_rotations(matrix)
    # Gram-Schmidt: the first column is the normalised first half and the
    # second column lies in the plane of both halves.
    first = rot6d[:, :3] / np.linalg.norm(rot6d[:, :3], axis=1, keepdims=True)
    np.testing.assert_allclose(matrix[:, :, 0], first, atol=1e-14)
    normal = np.cross(rot6d[:, :3], rot6d[:, 3:])
    np.testing.assert_allclose(np.sum(matrix[:, :, 1] * normal, axis=1), 0, atol=1e-12)
    assert (np.sum(matrix[:, :, 1] * rot6d[:, 3:], axis=1) > 0).all()


def test_6d_is_invariant_to_scaling_and_shearing():
    rot6d = np.random.default_rng(2).normal(size=(20, 6))
    changed = rot6d.copy()
    changed[:, :3] *= 3.0
    changed[:, 3:] = 0.5 * changed[:, 3:] + 2.0 * rot6d[:, :3]
    np.testing.assert_allclose(
        rotation_6d_to_matrix(changed), rotation_6d_to_matrix(rot6d), atol=1e-12
    )


def test_degenerate_6d_gives_nan_without_warning():
    with np.testing.assert_no_warnings():
        matrix = rotation_6d_to_matrix(np.zeros(6))
    assert np.isnan(matrix).all()


def test_shape_errors():
    with pytest.raises(ValueError, match="size 6"):
        rotation_6d_to_matrix(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="size 3"):
        matrix_to_rotation_6d(np.zeros((4, 3, 2)))


def unit(vectors):
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_rotation_between_is_the_shortest_arc():
    rng = np.random.default_rng(3)
    source, target = unit(rng.normal(size=(500, 3))), unit(rng.normal(size=(500, 3)))
    matrix = _rotation_between(source, target)
    assert_rotations(matrix)
    np.testing.assert_allclose(
        np.einsum("nij,nj->ni", matrix, source), target, atol=1e-14
    )
    # its angle is the angle between the vectors, its axis is their normal
    angle = np.arccos(np.clip((np.trace(matrix, axis1=1, axis2=2) - 1) / 2, -1, 1))
    np.testing.assert_allclose(
        angle, np.arccos(np.sum(source * target, axis=1)), atol=1e-7
    )
    axis = np.cross(source, target)
    np.testing.assert_allclose(np.einsum("nij,nj->ni", matrix, axis), axis, atol=1e-14)


@pytest.mark.parametrize("gap", [0.0, 1e-13, 1e-9, 1e-6, 1e-3])
def test_rotation_between_opposite_directions(gap):
    source = unit(np.array([[0.3, -0.5, 0.8], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]))
    target = unit(-source + gap * np.array([0.2, 0.7, -0.4]))
    matrix = _rotation_between(source, target)
    assert_rotations(matrix)
    np.testing.assert_allclose(
        np.einsum("nij,nj->ni", matrix, source), target, atol=1e-12
    )
