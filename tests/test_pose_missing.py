import numpy as np
import pandas as pd
import pytest

from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.pose import (
    MOUSE18,
    count_unusable_frames,
    interpolate_gaps,
    missing_report,
)
from conftest import oist_skeleton, require

NAMES = ["nose", "neck", "tail"]


def planted_gaps():
    """60 frames, two recordings of 30; gaps of known length per keypoint."""
    poses = np.random.default_rng(0).normal(size=(60, 3, 2))
    poses[5:8, 0] = np.nan  # nose: 3 frames, filled at max_gap 4
    poses[40:52, 0, 1] = np.nan  # nose: 12 frames (one coordinate), never filled
    poses[10:16, 1] = np.nan  # neck: 6 frames, filled at max_gap 6 only
    poses[27:33, 2] = np.nan  # tail: 3 + 3 frames at the end/start of recordings
    groups = np.repeat(["a", "b"], 30)
    return poses, groups


def test_report_of_planted_gaps():
    poses, groups = planted_gaps()
    report = missing_report(poses, NAMES, groups=groups, max_gap=4)
    assert report.index.tolist() == NAMES and report.index.name == "keypoint"
    np.testing.assert_allclose(report["fraction_missing"], [15 / 60, 6 / 60, 6 / 60])
    assert report["longest_gap"].tolist() == [12, 6, 3]  # tail's gap ends at a border
    assert report["n_long_gaps"].tolist() == [1, 1, 0]
    # tail's halves touch a recording's edge: never filled
    assert report["frames_lost"].tolist() == [12, 6, 6]
    assert report["frames_lost_alone"].tolist() == [12, 6, 6]
    assert report.attrs == {"n_frames": 60, "max_gap": 4, "frames_unusable": 24}
    wide = missing_report(poses, NAMES, groups=groups, max_gap=6)
    assert wide["frames_lost"].tolist() == [12, 0, 6]
    assert wide.attrs["frames_unusable"] == 18
    # one recording: tail's gap is 6 frames in the middle, filled at max_gap 6
    single = missing_report(poses, NAMES, max_gap=6)
    assert single["longest_gap"]["tail"] == 6 and single["frames_lost"]["tail"] == 0


def test_frames_lost_matches_the_gap_filling():
    rng = np.random.default_rng(1)
    poses = rng.normal(size=(500, 4, 3))
    for keypoint, rate in enumerate([0.01, 0.03, 0.1, 0.3]):
        poses[rng.random(500) < rate, keypoint] = np.nan
    poses[200:260, 1] = np.nan
    poses[300, :] = np.nan
    report = missing_report(poses, ["a", "b", "c", "d"], max_gap=3)
    still = np.isnan(interpolate_gaps(poses, max_gap=3)).any(axis=-1)
    np.testing.assert_array_equal(report["frames_lost"], still.sum(axis=0))
    alone = still & (still.sum(axis=1, keepdims=True) == 1)
    np.testing.assert_array_equal(report["frames_lost_alone"], alone.sum(axis=0))
    assert report.attrs["frames_unusable"] == still.any(axis=1).sum()
    assert report["longest_gap"]["b"] == 60
    np.testing.assert_allclose(report["fraction_missing"], np.isnan(poses[..., 0]).mean(0))


def test_count_unusable_frames_ranks_keypoints_over_chosen_frames():
    poses, groups = planted_gaps()
    counts = count_unusable_frames(poses, NAMES, max_gap=4, groups=groups)
    assert isinstance(counts, pd.Series)
    assert counts.to_dict() == {"nose": 12, "neck": 6, "tail": 6}
    assert counts.index.tolist() == ["nose", "neck", "tail"]
    frames = np.zeros(60, dtype=bool)
    frames[:20] = True
    chosen = count_unusable_frames(poses, NAMES, max_gap=4, groups=groups, frames=frames)
    assert chosen.index.tolist() == ["neck", "nose", "tail"]
    assert chosen.tolist() == [6, 0, 0]
    with pytest.raises(ValueError, match="boolean mask of shape"):
        count_unusable_frames(poses, NAMES, frames=np.arange(60))


def test_names_from_skeletons_and_input_errors():
    poses = np.zeros((10, 18, 3))
    poses[:, 4] = np.nan
    report = missing_report(poses, "mouse18")
    assert report.index[4] == "Snout" and report["frames_lost"]["Snout"] == 10
    assert count_unusable_frames(poses, MOUSE18).index[0] == "Snout"
    with pytest.raises(ValueError, match="18 keypoints .* has 3"):
        missing_report(poses, NAMES)
    with pytest.raises(ValueError, match="n_frames, n_keypoints, n_dims"):
        missing_report(poses.reshape(10, -1), "mouse18")
    with pytest.raises(ValueError, match="max_gap"):
        missing_report(poses, "mouse18", max_gap=-1)


def test_report_of_the_oist_recording():
    path = require("oist_mouse_mocap3d", "MOS1aD_S15_M5_MC2_T2_TRM_15MMIN_B.mat")
    poses, names, fps, _ = load_poses(path)
    report = missing_report(poses, oist_skeleton(names), max_gap=10)
    top = report.sort_values("frames_lost", ascending=False).index[:2]
    assert set(top) == {"left_ankle", "right_ankle"}
    assert report["fraction_missing"].between(0.05, 0.95).all()
    still = np.isnan(interpolate_gaps(poses, max_gap=10)).any(axis=-1)
    assert report.attrs["frames_unusable"] == still.any(axis=1).sum() > 0.5 * len(poses)
