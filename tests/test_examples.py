"""The gallery's real-recordings example, run as written on the shared data.

Every gallery script runs at each documentation build, which fails when one
raises; this test also checks what the real-recordings example finds.
"""

import runpy
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA_DIR, require

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_real_recordings_example(monkeypatch):
    require("oist_mouse_mocap3d")
    require("motionmapperpy_mice")
    pytest.importorskip("movement")
    pytest.importorskip("matplotlib").use("Agg")
    monkeypatch.setenv("SCRUBVAE_DATA", str(DATA_DIR))
    result = runpy.run_path(str(EXAMPLES / "plot_real_recordings.py"))
    # OIST: frames without the ankles, every frame clustered, bridged frames
    # identifiable.
    labels, valid = result["oist_labels"], result["oist_valid"]
    assert len(labels) == len(valid) == len(result["oist_recording"])
    assert 0 < valid.sum() < len(valid)
    assert result["oist_summary"]["frames"].sum() == len(labels)
    # DeepLabCut mice: identity scrubbing ran in a Pipeline; every cluster's
    # recording shares sum to one.
    summary = result["mice_summary"]
    assert summary["frames"].sum() == len(result["mice_labels"])
    np.testing.assert_allclose(summary.filter(like="share").to_numpy().sum(axis=1), 1.0)
