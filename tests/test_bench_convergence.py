"""The convergence benchmark: its generic-feature control and a smoke run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="the benchmark figure needs matplotlib")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_convergence import TRACKS, generic_features  # noqa: E402


def test_generic_features_remove_only_the_horizontal_root_position():
    rng = np.random.default_rng(0)
    poses = rng.normal(size=(5, 18, 3))
    shifted = poses + [10.0, -4.0, 0.0]
    X = generic_features(poses)
    assert X.shape == (5, 54)
    np.testing.assert_allclose(generic_features(shifted), X)  # translation removed
    lifted = poses + [0.0, 0.0, 3.0]
    assert not np.allclose(generic_features(lifted), X)  # height kept
    turned = poses[..., [1, 0, 2]] * [-1.0, 1.0, 1.0]  # 90 degrees about z
    assert not np.allclose(generic_features(turned), X)  # heading kept


@pytest.mark.slow
def test_smoke_run_writes_one_row_per_model_and_budget(tmp_path):
    command = [sys.executable, "-W", "error::FutureWarning", "-W", "error::DeprecationWarning",
               str(BENCHMARKS / "bench_convergence.py"), "--smoke", "--threads", "1",
               "--out", str(tmp_path), "--models", "C-VAE", "SC-VAE-QD"]
    subprocess.run(command, check=True, cwd=BENCHMARKS.parent, capture_output=True)
    for front_end in ("pose", "generic"):
        identity = pd.read_csv(tmp_path / f"{front_end}_identity.csv")
        assert identity["model"].tolist() == ["C-VAE", "SC-VAE-QD"]
        assert ((identity["QDA acc"] >= 0) & (identity["QDA acc"] <= 1)).all()
        speed = pd.read_csv(tmp_path / f"{front_end}_speed.csv")
        assert speed["model"].tolist() == ["C-VAE"]
        assert set(speed.columns) >= {"epochs", "steps", "train_penalty", "linear R2", "MLP R2"}
    assert (tmp_path / "convergence.png").exists()
    assert set(TRACKS) == {"speed", "heading", "identity"}
