import numpy as np
import pytest

from sklearn_scrubvae.pose import (
    MOUSE18,
    align_egocentric,
    heading_angle,
    inverse_kinematics,
    rotation_6d_to_matrix,
)


def random_windows(shape, seed=0):
    rng = np.random.default_rng(seed)
    poses = rng.normal(size=(*shape, 18, 3))
    poses[..., 1, :] += [3.0, 0.0, 0.0]  # a clear heading
    return poses + rng.uniform(-50, 50, size=(*shape[:-1], 1, 1, 3))


def pairwise_distances(poses):
    flat = poses.reshape(*poses.shape[:-3], -1, poses.shape[-1])
    return np.linalg.norm(flat[..., :, None, :] - flat[..., None, :, :], axis=-1)


@pytest.mark.parametrize("center", [25, 0, -1])
def test_midfwd_centres_root_and_faces_forward(center):
    windows = random_windows((4, 51))
    aligned = align_egocentric(windows, MOUSE18, center=center, mode="midfwd")
    middle = aligned[:, center]
    np.testing.assert_allclose(middle[:, 0, :2], 0.0, atol=1e-12)
    np.testing.assert_allclose(heading_angle(middle, MOUSE18), 0.0, atol=1e-12)
    assert (middle[:, 1, 0] > 0).all()  # SpineF ahead of SpineM
    np.testing.assert_array_equal(aligned[..., 2], windows[..., 2])
    np.testing.assert_allclose(
        pairwise_distances(aligned), pairwise_distances(windows), atol=1e-9
    )


def test_x360_only_translates():
    windows = random_windows((3, 11))
    aligned = align_egocentric(windows, MOUSE18, mode="x360")
    np.testing.assert_allclose(aligned[:, 5, 0, :2], 0.0, atol=1e-12)
    shift = windows[:, 5, 0, :2][:, None, None, :]
    np.testing.assert_allclose(aligned[..., :2], windows[..., :2] - shift, atol=1e-12)


def test_single_window_and_default_center():
    window = random_windows((1, 9))[0]
    aligned = align_egocentric(window, MOUSE18)
    np.testing.assert_allclose(aligned[4, 0, :2], 0.0, atol=1e-12)
    assert aligned.shape == window.shape


def test_aligned_root_rotation_has_zero_yaw():
    windows = random_windows((2, 5))
    aligned = align_egocentric(windows, MOUSE18, center=2)
    frame = rotation_6d_to_matrix(inverse_kinematics(aligned[:, 2], MOUSE18)[0][:, 0])
    np.testing.assert_allclose(frame[:, 1, 0], 0.0, atol=1e-12)  # x axis in xz plane
    assert (frame[:, 0, 0] > 0).all()


def test_alignment_errors():
    windows = random_windows((2, 5))
    with pytest.raises(ValueError, match="mode"):
        align_egocentric(windows, MOUSE18, mode="forward")
    with pytest.raises(ValueError, match="out of range"):
        align_egocentric(windows, MOUSE18, center=5)
    with pytest.raises(TypeError, match="'center' parameter"):
        align_egocentric(windows, MOUSE18, center=2.0)
    with pytest.raises(ValueError, match="keypoints"):
        align_egocentric(windows[..., :3, :], MOUSE18)
