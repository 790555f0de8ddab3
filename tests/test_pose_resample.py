import numpy as np
import pytest

from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.pose import interpolate_gaps, missing_report, resample_poses
from conftest import oist_skeleton, require


def linear_motion(n_frames, fps, velocity=(3.0, -2.0, 0.5)):
    time = np.arange(n_frames) / fps
    return np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) + time[:, None, None] * velocity


@pytest.mark.parametrize("fps, new_fps", [(30, 90), (300, 90), (90, 30), (50, 50), (25, 60)])
def test_linear_motion_is_resampled_exactly(fps, new_fps):
    poses = linear_motion(101, fps)
    resampled, groups = resample_poses(poses, fps, new_fps)
    n_new = int(np.floor(100 * new_fps / fps + 1e-9)) + 1
    assert groups is None and resampled.shape == (n_new, 2, 3)
    np.testing.assert_allclose(resampled, linear_motion(n_new, new_fps), atol=1e-9)


def test_lowering_the_rate_removes_what_would_alias():
    """100 Hz wobble at 300 Hz: above the 45 Hz Nyquist limit of 90 fps."""
    time = np.arange(3000) / 300
    wobble = np.sin(2 * np.pi * 100 * time + 0.3)
    resampled, _ = resample_poses(wobble, fps=300, new_fps=90)
    assert np.abs(resampled[1:-1]).max() < 1e-9
    # plain sampling at 90 fps would fold it to a 10 Hz wave of full amplitude
    naive = wobble[np.round(np.arange(len(resampled)) * 300 / 90).astype(int)]
    assert np.abs(naive).max() > 0.5


def test_gaps_stay_gaps_and_are_not_invented():
    poses = linear_motion(300, 300)
    poses[100:130, 1] = np.nan
    resampled, _ = resample_poses(poses, fps=300, new_fps=90)
    source_time = np.arange(len(resampled)) * 300 / 90
    inside = (source_time >= 100) & (source_time <= 129)
    far = (source_time < 100 - 3) | (source_time > 129 + 3)
    assert np.isnan(resampled[inside, 1]).all()
    assert np.isfinite(resampled[far]).all() and np.isfinite(resampled[:, 0]).all()
    expected = linear_motion(len(resampled), 90)
    np.testing.assert_allclose(resampled[far], expected[far], atol=1e-9)


def test_recordings_are_resampled_separately():
    poses = np.concatenate([np.zeros((10, 1)), np.ones((7, 1)), np.zeros((4, 1))])
    groups = np.array([5] * 10 + [8] * 7 + [5] * 4)  # id 5 comes back: 3 recordings
    resampled, new_groups = resample_poses(poses, fps=30, new_fps=15, groups=groups)
    assert new_groups.tolist() == [5] * 5 + [8] * 4 + [5] * 2
    np.testing.assert_array_equal(resampled[:, 0], new_groups == 8)


def test_parameter_errors():
    with pytest.raises(ValueError, match="'new_fps' parameter"):
        resample_poses(np.zeros(5), fps=30, new_fps=0)
    with pytest.raises(ValueError, match="'fps' parameter"):
        resample_poses(np.zeros(5), fps="30", new_fps=10)
    with pytest.raises(ValueError, match="one id per frame"):
        resample_poses(np.zeros(5), fps=30, new_fps=10, groups=[0, 1])


def test_oist_300_to_90_hz():
    path = require("oist_mouse_mocap3d", "MOS1aD_S2_M5_MC2_T2_TRM_5MMIN_E.mat")
    poses, names, fps, _ = load_poses(path)
    filled = interpolate_gaps(poses, max_gap=30)  # 0.1 s at 300 Hz
    resampled, _ = resample_poses(filled, fps, 90)
    assert resampled.shape == (3150, 11, 3)
    before = missing_report(filled, names, max_gap=0)["fraction_missing"]
    after = missing_report(resampled, names, max_gap=0)["fraction_missing"]
    np.testing.assert_allclose(after, before, atol=0.01)
    complete = np.isfinite(resampled).all(axis=(1, 2)).mean()
    assert complete == pytest.approx(np.isfinite(filled).all(axis=(1, 2)).mean(), abs=0.02)
    moved = np.diff(resampled[:, oist_skeleton(names).root], axis=0)
    assert np.nanmax(np.linalg.norm(moved, axis=-1)) < 10  # mm per 1/90 s
