import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.io import loadmat, savemat

from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.pose import MOUSE18
from conftest import require
from fixtures.make_movement_fixtures import expected_tracks




def random_tracks(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# --- small files written here -------------------------------------------


def test_npy_single_and_multi_animal(tmp_path):
    tracks = random_tracks(6, 2, 4, 3)
    np.save(tmp_path / "multi.npy", tracks)
    poses, names, fps, metadata = load_poses(tmp_path / "multi.npy", individual=1)
    np.testing.assert_array_equal(poses, tracks[:, 1])
    assert names == ["keypoint_0", "keypoint_1", "keypoint_2", "keypoint_3"]
    assert fps is None and metadata["format"] == "npy" and metadata["individual"] == 1
    with pytest.raises(ValueError, match="2 individuals"):
        load_poses(tmp_path / "multi.npy")
    np.save(tmp_path / "int.npy", np.arange(24).reshape(4, 2, 3))
    poses, _, fps, _ = load_poses(tmp_path / "int.npy", fps=30)
    assert poses.dtype == np.float64 and poses.shape == (4, 2, 3) and fps == 30.0


def test_npz_names_fps_confidence_and_selection(tmp_path):
    tracks = random_tracks(5, 3, 2)
    confidence = np.linspace(0, 1, 15).reshape(5, 3)
    path = tmp_path / "poses.npz"
    np.savez(path, poses=tracks, keypoint_names=["nose", "neck", "tail"], fps=25,
             confidence=confidence)
    poses, names, fps, metadata = load_poses(
        path, keypoints=["tail", "nose"], fps=50, min_confidence=0.5
    )
    expected = tracks[:, [2, 0]].copy()
    expected[confidence[:, [2, 0]] < 0.5] = np.nan
    np.testing.assert_array_equal(poses, expected)
    np.testing.assert_array_equal(metadata["confidence"], confidence[:, [2, 0]])
    assert names == ["tail", "nose"] and fps == 50.0
    np.savez(tmp_path / "two.npz", a=tracks, b=tracks)
    with pytest.raises(ValueError, match="dataset="):
        load_poses(tmp_path / "two.npz")
    poses, names, fps, _ = load_poses(tmp_path / "two.npz", dataset="b")
    assert poses.shape == (5, 3, 2) and fps is None
    with pytest.raises(ValueError, match="No array 'c'"):
        load_poses(tmp_path / "two.npz", dataset="c")


def test_hdf5_dataset_by_name_or_shape(tmp_path):
    tracks = random_tracks(7, 3, 5, 3)
    path = tmp_path / "tracks.h5"
    with h5py.File(path, "w") as file:
        file["group/points"] = tracks
        file["group/confidence"] = np.ones((7, 3, 5))
    poses, _, _, metadata = load_poses(path, individual=2)
    np.testing.assert_array_equal(poses, tracks[:, 2])
    assert metadata["dataset"] == "group/points"
    with h5py.File(path, "a") as file:
        file["other"] = tracks
    with pytest.raises(ValueError, match="dataset="):
        load_poses(path, individual=0)
    poses, _, _, _ = load_poses(path, dataset="other", individual=0)
    np.testing.assert_array_equal(poses, tracks[:, 0])
    with pytest.raises(ValueError, match="No dataset"):
        load_poses(path, dataset="missing")


def write_dlc_style_table(path, values, levels):
    """A pandas "fixed" table as pandas writes it (levels + integer codes)."""
    with h5py.File(path, "w") as file:
        group = file.create_group("df_with_missing")
        group.attrs.update(
            pandas_type=b"frame",
            nblocks=1,
            block0_items_variety=b"multi",
            block0_items_nlevels=len(levels),
        )
        for i, (name, labels) in enumerate(levels.items()):
            unique = sorted(set(labels))
            level = group.create_dataset(
                f"block0_items_level{i}", data=np.array(unique, dtype="S")
            )
            level.attrs["name"] = name.encode()
            group[f"block0_items_label{i}"] = np.array(
                [unique.index(label) for label in labels], dtype=np.int8
            )
        group["block0_values"] = values


def test_dlc_style_table_with_likelihood_and_individuals(tmp_path):
    rng = np.random.default_rng(1)
    individuals, bodyparts = ["mouse1", "mouse2"], ["snout", "tail"]
    columns = [
        (who, part, coord)
        for who in individuals
        for part in bodyparts
        for coord in ("x", "y", "likelihood")
    ]
    values = rng.normal(size=(9, len(columns)))
    levels = {
        "scorer": ["dlc"] * len(columns),
        "individuals": [c[0] for c in columns],
        "bodyparts": [c[1] for c in columns],
        "coords": [c[2] for c in columns],
    }
    write_dlc_style_table(tmp_path / "dlc.h5", values, levels)
    poses, names, _, metadata = load_poses(tmp_path / "dlc.h5", individual="mouse2")
    assert names == ["snout", "tail"] and poses.shape == (9, 2, 2)
    assert metadata["individuals"] == individuals and metadata["individual"] == 1
    expected = values.reshape(9, 2, 2, 3)[:, 1, :, :2]
    np.testing.assert_array_equal(poses, expected)
    likelihood = values.reshape(9, 2, 2, 3)[:, 1, :, 2]
    np.testing.assert_array_equal(metadata["confidence"], likelihood)
    with pytest.raises(ValueError, match="Unknown individual 'mouse3'"):
        load_poses(tmp_path / "dlc.h5", individual="mouse3")


def test_mat_dannce_labels_predictions_qualisys_and_variables(tmp_path):
    tracks = random_tracks(4, 5, 3)
    cameras = np.empty((1, 2), dtype=object)
    for camera in range(2):
        cameras[0, camera] = {
            "data_3d": tracks.reshape(4, 15),
            "data_sampleID": np.arange(4.0) * 10,
        }
    savemat(tmp_path / "label3d_dannce.mat", {"labelData": cameras})
    with pytest.warns(UserWarning, match="every 10th frame"):
        poses, _, _, metadata = load_poses(tmp_path / "label3d_dannce.mat")
    np.testing.assert_array_equal(poses, tracks)
    np.testing.assert_array_equal(metadata["sample_ids"], [0, 10, 20, 30])
    assert metadata["format"] == "dannce-labels"

    savemat(tmp_path / "pred.mat", {"pred": np.swapaxes(tracks, 1, 2)})
    np.testing.assert_array_equal(load_poses(tmp_path / "pred.mat")[0], tracks)
    pred = np.swapaxes(tracks, 1, 2)
    savemat(tmp_path / "pred_ids.mat", {"pred": pred, "sampleID": [5, 6, 7, 8]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # consecutive frames: no warning
        load_poses(tmp_path / "pred_ids.mat")
    savemat(tmp_path / "pred_gap.mat", {"pred": pred, "sampleID": [1, 2, 5, 6]})
    with pytest.warns(UserWarning, match="skip or repeat at 1 places"):
        load_poses(tmp_path / "pred_gap.mat")

    data = np.concatenate([np.swapaxes(tracks, 0, 2), np.ones((1, 5, 4))])
    session = {
        "FrameRate": 300,
        "StartFrame": 1,
        "Trajectories": {
            "Labeled": {
                "Labels": np.array([f"m{i}" for i in range(5)], dtype=object),
                "Data": np.transpose(data, (1, 0, 2)),  # (markers, 4, frames)
            }
        },
    }
    savemat(tmp_path / "qualisys.mat", {"session_1": session})
    poses, names, fps, metadata = load_poses(tmp_path / "qualisys.mat")
    np.testing.assert_array_equal(poses, tracks)
    assert names == ["m0", "m1", "m2", "m3", "m4"] and fps == 300.0
    assert metadata["format"] == "qualisys"

    savemat(tmp_path / "plain.mat", {"xyz": tracks, "other": 1.0})
    with pytest.raises(ValueError, match="dataset="):
        load_poses(tmp_path / "plain.mat")
    poses, _, _, _ = load_poses(tmp_path / "plain.mat", dataset="xyz")
    np.testing.assert_array_equal(poses, tracks)


def test_keypoint_names_and_selection_errors(tmp_path):
    np.save(tmp_path / "a.npy", random_tracks(3, 2, 3))
    with pytest.raises(ValueError, match="2 keypoints"):
        load_poses(tmp_path / "a.npy", keypoint_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="SpineM"):
        load_poses(tmp_path / "a.npy", keypoints=MOUSE18)
    np.save(tmp_path / "flat.npy", random_tracks(3, 6))
    with pytest.raises(ValueError, match="shape"):
        load_poses(tmp_path / "flat.npy")
    with pytest.raises(ValueError, match="out of range"):
        load_poses(tmp_path / "a.npy", individual=1)


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "poses.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="source_software"):
        load_poses(tmp_path / "poses.csv")
    with pytest.raises(FileNotFoundError):
        load_poses(tmp_path / "absent.npy")
    with pytest.raises(ValueError, match="'source_software' parameter"):
        load_poses(tmp_path / "poses.csv", source_software="Excel")


def test_trackers_need_movement(tmp_path, monkeypatch):
    (tmp_path / "poses.csv").write_text("x,y\n1,2\n")
    for name in [m for m in sys.modules if m.split(".")[0] == "movement"] + ["movement"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if movement were not installed
    with pytest.raises(ImportError, match="pip install movement"):
        load_poses(tmp_path / "poses.csv", source_software="DeepLabCut")


# --- files written by the real movement package (tests/fixtures) ----------

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOW_FRAME, GAP_FRAMES = 40, slice(100, 105)

# file, source_software, individual, index in expected_tracks()
TRACKER_FILES = [
    ("dlc_single.h5", "DeepLabCut", None, 0),
    ("lp_single.csv", "LightningPose", None, 0),
    ("dlc_multi.csv", "DeepLabCut", "mouse_b", 1),
    ("dlc_multi.csv", "DeepLabCut", "mouse_a", 0),
    ("sleap.analysis.h5", "SLEAP", "mouse_a", 0),
    ("sleap.analysis.h5", "SLEAP", 1, 1),
]


def check_fixture_tracks(poses, names, metadata, column):
    position, confidence = expected_tracks()
    assert names == ["snout", "centre", "tail_base"]
    np.testing.assert_array_equal(poses, position[:, column])
    np.testing.assert_allclose(metadata["confidence"], confidence[:, column], rtol=1e-6)


@pytest.mark.parametrize("name, software, individual, column", TRACKER_FILES)
def test_tracker_files_written_by_movement(name, software, individual, column):
    pytest.importorskip("movement")
    path = FIXTURES / name
    poses, names, fps, metadata = load_poses(
        path, source_software=software, individual=individual, fps=30
    )
    check_fixture_tracks(poses, names, metadata, column)
    assert fps == 30.0 and metadata["source_software"] == software
    assert metadata["individual"] == column
    masked, _, _, _ = load_poses(
        path, source_software=software, individual=individual, min_confidence=0.5
    )
    lowered = np.isnan(masked) & ~np.isnan(poses)
    expected = np.zeros(poses.shape, dtype=bool)
    if column == 0:
        expected[LOW_FRAME, 1] = True  # the 0.05 point of the first animal
    np.testing.assert_array_equal(lowered, expected)


def test_deeplabcut_h5_fixture_without_movement(monkeypatch):
    """The pandas table of a real DeepLabCut file is read with h5py alone."""
    monkeypatch.setitem(sys.modules, "movement", None)
    path = FIXTURES / "dlc_single.h5"
    poses, names, fps, metadata = load_poses(path)
    check_fixture_tracks(poses, names, metadata, 0)
    assert fps is None and metadata["format"] == "pandas-hdf5"
    masked, _, _, _ = load_poses(path, min_confidence=0.5, keypoints=["centre"])
    assert np.isnan(masked[LOW_FRAME]).all() and np.isnan(masked).sum() == 2
    assert np.isnan(poses[GAP_FRAMES, 2]).all()


def test_min_confidence_needs_confidence(tmp_path):
    np.save(tmp_path / "a.npy", random_tracks(3, 2, 3))
    with pytest.raises(ValueError, match="stores no confidence"):
        load_poses(tmp_path / "a.npy", min_confidence=0.5)
    with pytest.raises(TypeError, match="min_confidence"):
        load_poses(tmp_path / "a.npy", min_confidence="0.5")


# --- the shared real files ----------------------------------------------


def test_real_npy_motionmapper():
    path = require("motionmapperpy_mice", "OFT_F_5_0_9000.npy")
    poses, names, fps, _ = load_poses(path, fps=30)
    assert poses.shape == (9000, 17, 2) and len(names) == 17 and fps == 30.0
    np.testing.assert_array_equal(poses, np.load(path))


def test_real_pandas_hdf_3d():
    path = require("amadeusgpt_examples", "keypoints_3d_short.h5")
    poses, names, _, metadata = load_poses(path)
    assert poses.shape == (1000, 30, 3) and metadata["format"] == "pandas-hdf5"
    assert names[:2] == ["mousecenter", "nose"] and len(set(names)) == 30
    with h5py.File(path) as file:
        expected = file["df"]["block0_values"][:].reshape(-1, 30, 3)
    np.testing.assert_array_equal(poses, expected)


def test_real_pandas_hdf_multi_animal():
    path = require("amadeusgpt_examples", "EGS8X2MN4SSUGFWAV976.h5")
    with pytest.raises(ValueError, match="mouse1"):
        load_poses(path)
    poses, names, _, metadata = load_poses(path, individual="mouse3")
    assert poses.shape == (1800, 12, 2) and names[0] == "nose"
    assert metadata["individuals"] == ["mouse1", "mouse2", "mouse3"]
    with h5py.File(path) as file:
        values = file["df_with_missing"]["block0_values"][:]
    np.testing.assert_array_equal(poses, values.reshape(1800, 3, 12, 2)[:, 2])


def test_real_hdf5_arrays():
    path = require("stac_mjx_rodent3d", "test_mouse_mocap_3600_frames.h5")
    poses, _, _, _ = load_poses(path)
    with h5py.File(path) as file:
        np.testing.assert_array_equal(poses, file["tracks"][:, 0])


def test_real_jabs_identities_padding_and_pixel_order():
    path = require("jabs_samples", "sample_pose_est_v5.h5")
    with pytest.raises(ValueError, match="3 individuals"):
        load_poses(path)
    poses, names, fps, metadata = load_poses(path, individual="identity_2")
    with h5py.File(path) as file:
        group = file["poseest"]
        points, scores = group["points"][:], group["confidence"][:]
        owner = (group["instance_embed_id"][:] == 2) & ~group["id_mask"][:]
    frames, slots = np.nonzero(owner)
    expected = points[frames, slots][..., ::-1].astype(float)  # (y, x) -> (x, y)
    expected[scores[frames, slots] == 0] = np.nan  # padding
    assert poses.shape == (1800, 12, 2) and names[0] == "nose" and fps is None
    np.testing.assert_array_equal(poses[frames], expected)
    assert np.isnan(np.delete(poses, frames, axis=0)).all()
    assert 0 < np.isnan(expected).mean() < 0.05
    np.testing.assert_array_equal(metadata["confidence"][frames], scores[frames, slots])
    assert metadata["individuals"] == ["identity_1", "identity_2", "identity_3"]
    assert metadata["cm_per_pixel"] == pytest.approx(0.0733, abs=1e-4)
    masked, _, _, _ = load_poses(path, individual=1, min_confidence=2.0)
    low = metadata["confidence"] < 2.0
    assert np.isnan(masked[low]).all() and not np.isnan(masked[~low]).any()


def test_real_jabs_version_3_tracks():
    path = require("jabs_samples", "sample_pose_est_v3.h5")
    with pytest.raises(ValueError, match="232 individuals.*and 222 more"):
        load_poses(path)
    poses, _, _, metadata = load_poses(path, individual="track_39")
    with h5py.File(path) as file:
        present = (file["poseest/confidence"][:] > 0).any(axis=-1)
        owner = (file["poseest/instance_track_id"][:] == 39) & present
    assert metadata["individuals"][4] == "track_39" and metadata["individual"] == 4
    np.testing.assert_array_equal(~np.isnan(poses).all(axis=(1, 2)), owner.any(axis=1))


def test_real_dannce_files():
    config = require("dannce_demo", "configs_mouse22_skeleton.mat")
    names = list(loadmat(config, simplify_cells=True)["joint_names"])
    labels = require("dannce_demo", "demo_markerless_mouse_1_label3d_dannce.mat")
    with pytest.warns(UserWarning, match="not consecutive"):
        poses, got_names, _, metadata = load_poses(labels, keypoint_names=names)
    raw = loadmat(labels, simplify_cells=True)["labelData"][0]
    np.testing.assert_array_equal(poses, raw["data_3d"].reshape(-1, 22, 3))
    assert got_names == names and metadata["sample_ids"].shape == (81,)
    with pytest.warns(UserWarning, match="skip or repeat"):
        mouse18, names18, _, _ = load_poses(
            labels, keypoint_names=names, keypoints="mouse18"
        )
    assert names18 == list(MOUSE18.keypoint_names)
    np.testing.assert_array_equal(mouse18[:, 5], poses[:, names.index("Tail(base)")])
    np.testing.assert_array_equal(mouse18[:, 0], poses[:, names.index("SpineM")])

    predictions = require("dannce_demo", "tests_touchstones_save_data_MAX_torch.mat")
    with pytest.warns(UserWarning, match="every 10th frame"):
        poses, _, _, metadata = load_poses(predictions)
    raw = loadmat(predictions, simplify_cells=True)
    assert poses.shape == (1000, 22, 3)
    np.testing.assert_array_equal(poses, np.transpose(raw["pred"], (0, 2, 1)))
    np.testing.assert_array_equal(np.diff(metadata["sample_ids"])[:5], 10)


def test_real_stac_rat():
    config = loadmat(require("stac_mjx_rodent3d", "rat23.mat"), simplify_cells=True)
    path = require("stac_mjx_rodent3d", "test_rodent_mocap_1000_frames.mat")
    poses, names, _, _ = load_poses(path, keypoint_names=list(config["joint_names"]))
    assert poses.shape == (1000, 23, 3) and names[0] == "Snout"


def test_real_oist_mocap():
    path = require("oist_mouse_mocap3d", "MOS1aD_S2_M5_MC2_T2_TRM_5MMIN_E.mat")
    poses, names, fps, metadata = load_poses(path)
    assert poses.shape == (10500, 11, 3) and fps == 300.0
    assert names[0] == "left_hip" and names[-1] == "miniscope"
    assert 0.1 < np.isnan(poses).mean() < 0.4
    contents = loadmat(path, simplify_cells=True)
    session = contents[[k for k in contents if not k.startswith("__")][0]]
    data = session["Trajectories"]["Labeled"]["Data"]
    np.testing.assert_array_equal(poses, np.transpose(data[:, :3, :], (2, 0, 1)))


def test_min_confidence_outside_a_probability_or_removing_everything_is_refused(tmp_path):
    path = FIXTURES / "dlc_single.h5"
    with pytest.raises(ValueError, match=r"min_confidence=60 is outside \[0, 1\].*DeepLabCut"):
        load_poses(path, min_confidence=60)
    np.savez(tmp_path / "p.npz", poses=random_tracks(4, 2, 3), confidence=np.full((4, 2), 0.9))
    with pytest.raises(ValueError, match="removes every point.*range from 0.9 to 0.9"):
        load_poses(tmp_path / "p.npz", min_confidence=60)
    poses, _, _, _ = load_poses(tmp_path / "p.npz", min_confidence=0.5)
    assert np.isfinite(poses).all()


def test_min_confidence_outside_a_probability_through_movement():
    pytest.importorskip("movement")
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*LightningPose"):
        load_poses(FIXTURES / "lp_single.csv", source_software="LightningPose", min_confidence=60)


def test_reading_through_movement_leaves_the_warning_display_alone():
    script = (
        "import warnings\n"
        "from sklearn_scrubvae.io import load_poses\n"
        "before = warnings.showwarning\n"
        f"load_poses({str(FIXTURES / 'dlc_single.h5')!r}, source_software='DeepLabCut')\n"
        "assert warnings.showwarning is before\n"
        "warnings.warn('a package warning', UserWarning)\n"
    )
    pytest.importorskip("movement")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("a package warning") == 1
    assert "| WARNING  |" not in result.stderr  # not re-emitted through movement's logger
