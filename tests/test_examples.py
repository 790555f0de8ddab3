"""The runnable examples of doc/examples, at smoke size (full size in the slow suite)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA_DIR, require

EXAMPLES = Path(__file__).resolve().parents[1] / "doc" / "examples"


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_real_recording(oist, mice, n_clusters):
    # OIST, all 11 markers: the report names the ankles first, training runs
    # on the windows left, every frame gets a cluster, and unreliable frames
    # stay identifiable.
    assert list(oist["report"].sort_values("frames_lost", ascending=False).index[:2]) == [
        "left_ankle", "right_ankle"]  # fmt: skip
    assert oist["windows_kept"] > 0 and oist["windows_dropped"] > oist["windows_kept"]
    assert len(oist["labels"]) == oist["n_frames"]
    assert set(np.unique(oist["labels"])) == set(range(n_clusters))
    assert 0 < oist["valid_frames"] < oist["n_frames"]
    assert oist["summary"]["frames"].sum() == oist["n_frames"]
    # motionmapperpy mice through DeepLabCut files: low-confidence points
    # became gaps, and identity scrubbing ran in a Pipeline.
    assert mice["missing_points"] > 0
    assert len(mice["labels"]) == mice["n_frames"]
    assert mice["summary"]["frames"].sum() == mice["n_frames"]
    shares = mice["summary"].filter(like="share").to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_real_recording_example_smoke():
    require("oist_mouse_mocap3d")
    require("motionmapperpy_mice")
    pytest.importorskip("movement")
    example = load_example("real_recording")
    oist, mice = example.main(["--smoke", "--data", str(DATA_DIR)])
    check_real_recording(oist, mice, n_clusters=3)


@pytest.mark.slow
def test_real_recording_example_full():
    require("oist_mouse_mocap3d")
    require("motionmapperpy_mice")
    pytest.importorskip("movement")
    example = load_example("real_recording")
    oist, mice = example.main(["--data", str(DATA_DIR)])
    check_real_recording(oist, mice, n_clusters=8)
