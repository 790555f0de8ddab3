import numpy as np
import pytest

from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.pose import find_recording_breaks
from conftest import require


def random_walk(n_frames, seed, n_keypoints=5, n_dims=2):
    rng = np.random.default_rng(seed)
    path = np.cumsum(rng.normal(size=(n_frames, 1, n_dims)), axis=0)
    return path + rng.normal(scale=10, size=(n_keypoints, n_dims))


@pytest.mark.parametrize("seed", range(3))
def test_joined_recordings_are_found_and_groups_silence_them(seed):
    joined = np.concatenate(
        [random_walk(300, seed), random_walk(200, seed + 10) + 80,
         random_walk(250, seed + 20) - 60]
    )
    np.testing.assert_array_equal(find_recording_breaks(joined), [300, 500])
    groups = np.repeat([0, 1, 2], [300, 200, 250])
    assert find_recording_breaks(joined, groups=groups).size == 0


def test_glitches_and_fast_starts_are_not_breaks():
    rng = np.random.default_rng(3)
    poses = rng.normal(scale=0.1, size=(400, 5, 2)) + rng.normal(scale=10, size=(5, 2))
    poses[100] += 50.0  # one glitched frame that comes back
    poses[150:152, :2] += 50.0  # two keypoints swap away for two frames
    speed = np.clip((np.arange(400) - 250) / 4, 0, 5)  # rest, then a sprint
    poses += np.cumsum(speed)[:, None, None] * [1.0, 0.0]
    assert find_recording_breaks(poses).size == 0
    shifted = poses.copy()
    shifted[300:] += 40.0  # the animal is teleported mid-sprint
    np.testing.assert_array_equal(find_recording_breaks(shifted), [300])


def test_joins_hidden_in_gaps_are_not_found():
    joined = np.concatenate([random_walk(100, 0), random_walk(100, 1) + 80])
    joined[95:105] = np.nan
    assert find_recording_breaks(joined).size == 0


def test_parameters_and_shapes():
    joined = np.concatenate([random_walk(100, 0), random_walk(100, 1) + 30])
    steps = np.linalg.norm(np.diff(joined, axis=0), axis=-1)
    jump = np.median(steps[99]) / np.median(steps)
    assert find_recording_breaks(joined, factor=jump / 2).tolist() == [100]
    assert find_recording_breaks(joined, factor=jump * 2).size == 0
    with pytest.raises(ValueError, match="factor"):
        find_recording_breaks(joined, factor=0)
    with pytest.raises(ValueError, match="context"):
        find_recording_breaks(joined, context=0)
    with pytest.raises(ValueError, match="n_frames, n_keypoints, n_dims"):
        find_recording_breaks(joined.reshape(200, -1))
    assert find_recording_breaks(joined[:1]).size == 0


def test_real_recordings_have_no_false_breaks_and_reordered_ones_do():
    mouse = np.load(require("motionmapperpy_mice", "OFT_F_5_0_9000.npy"))
    assert find_recording_breaks(mouse).size == 0
    reordered = np.concatenate([mouse[:3000], mouse[6000:], mouse[3000:6000]])
    np.testing.assert_array_equal(find_recording_breaks(reordered), [3000, 6000])
    oist, _, _, _ = load_poses(
        require("oist_mouse_mocap3d", "MOS1aD_S15_M5_MC2_T2_TRM_15MMIN_B.mat")
    )
    assert find_recording_breaks(oist).size == 0
