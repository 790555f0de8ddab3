"""Checks that poses are what the skeleton says, on real recordings."""

import warnings

import h5py
import numpy as np
import pytest

from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.pose import resample_poses
from sklearn_scrubvae.pose._plausibility import (
    check_layout,
    find_tracking_glitches,
    warn_keypoint_order,
    warn_up_axis,
)

from conftest import oist_skeleton, require

OIST_SESSIONS = ["MOS1aD_S2_M5_MC2_T2_TRM_5MMIN_E.mat", "MOS1aD_S15_M5_MC2_T2_TRM_15MMIN_B.mat"]


@pytest.fixture(scope="module", params=OIST_SESSIONS)
def oist(request):
    poses, names, fps, _ = load_poses(require("oist_mouse_mocap3d", request.param))
    poses, _ = resample_poses(poses, fps=fps, new_fps=90)
    return poses, oist_skeleton(names)


def test_real_mocap_passes_every_check(oist):
    poses, skeleton = oist
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_layout(poses, skeleton)
        warn_up_axis(poses, skeleton)
    assert len(find_tracking_glitches(poses)) == 0


def test_real_mocap_flattened_from_channel_first_is_refused(oist):
    poses, skeleton = oist
    n_frames, n_keypoints, _ = poses.shape
    scrambled = np.swapaxes(poses, 1, 2).reshape(n_frames, n_keypoints, 3)
    with pytest.raises(ValueError, match="flattened"):
        check_layout(scrambled, skeleton)


@pytest.mark.parametrize(
    "order, axis", [([0, 2, 1], "y"), ([2, 1, 0], "x")], ids=["y-up", "x-up"]
)
def test_real_mocap_in_another_up_axis_warns(oist, order, axis):
    poses, skeleton = oist
    with pytest.warns(UserWarning, match=f"The {axis} axis looks vertical"):
        warn_up_axis(poses[..., order], skeleton)


def test_real_mocap_with_two_markers_swapped_warns(oist):
    poses, skeleton = oist
    lengths = np.linalg.norm(poses - poses[:, skeleton.parents], axis=-1)
    reference = np.nanmedian(lengths, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_keypoint_order(poses[::-1], skeleton, reference)
    swapped = poses[:, [0, 1, 2, 3, 4, 5, 9, 7, 8, 6, 10]]
    with pytest.warns(UserWarning, match="same order"):
        warn_keypoint_order(swapped, skeleton, reference)


def test_a_real_marker_glitch_is_found_and_real_movement_is_not():
    with h5py.File(require("stac_mjx_rodent3d", "test_mouse_mocap_3600_frames.h5")) as file:
        mouse = file["tracks"][:, 0]
    # keypoint 31 jumps 14 times its median step to frame 3211 and straight back
    np.testing.assert_array_equal(find_tracking_glitches(mouse), [3211])
    rat, _, _, _ = load_poses(require("stac_mjx_rodent3d", "test_rodent_mocap_1000_frames.mat"))
    assert len(find_tracking_glitches(rat)) == 0


def test_glitches_found_chunk_by_chunk_match_the_whole_recording(monkeypatch):
    from sklearn_scrubvae.pose import _plausibility

    rng = np.random.default_rng(0)
    poses = rng.normal(scale=0.01, size=(600, 4, 3))
    poses[:, :, 0] += np.where(np.arange(600) < 450, 0.1, 5.0)[:, None] * (-1) ** np.arange(600)[
        :, None
    ]  # jitter that grows 50-fold late in the recording: not a glitch there
    poses[[100, 257, 301], 2] += 500.0  # one-frame jumps, one next to a chunk edge below
    poses[400:420, 1] = np.nan
    whole = find_tracking_glitches(poses)
    np.testing.assert_array_equal(whole, [100, 257, 301])
    monkeypatch.setattr(_plausibility, "GLITCH_CHUNK", 64)  # 256 is a chunk edge
    np.testing.assert_array_equal(find_tracking_glitches(poses), whole)
