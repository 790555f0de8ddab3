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

from bench_convergence import TRACKS, check_targets, generic_features, summarise  # noqa: E402


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


def per_seed_rows(model, scores_by_steps, chance=None):
    """Per-seed rows of one model: {steps: [score of seed 0, seed 1, ...]}, the
    same score for both identity probes."""
    rows = [
        {"seed": seed, "model": model, "steps": steps, "train_penalty": 0.0,
         "logistic acc": score, "QDA acc": score,
         **({} if chance is None else {"chance": chance})}
        for steps, scores in scores_by_steps.items()
        for seed, score in enumerate(scores)
    ]
    return pd.DataFrame(rows)


def test_summary_gives_mean_and_range_over_seeds():
    table = per_seed_rows("VAE", {10: [0.5, 0.7, 0.9], 40: [0.8, 0.8, 1.0]}, chance=0.25)
    summary = summarise(table).set_index("steps")
    assert summary["seeds"].tolist() == [3, 3]
    np.testing.assert_allclose(summary["QDA acc"], [0.7, 13 / 15])
    np.testing.assert_allclose(summary["QDA acc min"], [0.5, 0.8])
    np.testing.assert_allclose(summary["QDA acc max"], [0.9, 1.0])


def test_a_target_is_met_only_when_every_seed_meets_it():
    # QD's bound is chance + 0.05 = 0.3; one seed above it keeps the budget out.
    scrubbed = per_seed_rows("SC-VAE-QD", {10: [0.29, 0.35], 40: [0.26, 0.28]}, chance=0.25)
    plain = per_seed_rows("VAE", {10: [0.85, 0.79], 40: [0.9, 0.95]}, chance=0.25)
    targets = check_targets({"pose identity": pd.concat([plain, scrubbed])}, "pose")
    qd = targets.set_index(["model", "score"]).loc[("SC-VAE-QD", "QDA acc")]
    assert qd["target"] == "<= 0.300"
    assert qd["steps met by every seed"] == "40"
    assert qd["worst seed at last"] == 0.28
    vae = targets.set_index(["model", "score"]).loc[("VAE", "QDA acc")]
    assert vae["steps met by every seed"] == "40"  # seed 1 misses 0.8 at 10 steps
    assert vae["worst seed at last"] == 0.9
    never = per_seed_rows("SC-VAE-QD", {10: [0.5, 0.2]}, chance=0.25)
    targets = check_targets({"pose identity": never}, "pose")
    assert targets.loc[targets["score"] == "QDA acc", "steps met by every seed"].item() == "none"
    kept = per_seed_rows("VAE", {10: [0.9, 0.85], 40: [0.9, 0.7], 160: [0.95, 0.9]})
    targets = check_targets({"pose identity": kept}, "pose")
    assert targets["steps met by every seed"].tolist() == ["10, 160", "10, 160"]


@pytest.mark.slow
def test_smoke_run_writes_one_row_per_model_budget_and_seed(tmp_path):
    command = [sys.executable, "-W", "error::FutureWarning", "-W", "error::DeprecationWarning",
               str(BENCHMARKS / "bench_convergence.py"), "--smoke", "--threads", "1",
               "--seeds", "2", "--jobs", "2", "--out", str(tmp_path),
               "--models", "C-VAE", "SC-VAE-QD"]
    subprocess.run(command, check=True, cwd=BENCHMARKS.parent, capture_output=True)
    for front_end in ("pose", "generic"):
        per_seed = pd.read_csv(tmp_path / f"{front_end}_identity_per_seed.csv")
        assert per_seed.groupby("model", sort=False).size().to_dict() == {
            "C-VAE": 4, "SC-VAE-QD": 4  # two budgets x two seeds
        }
        assert ((per_seed["QDA acc"] >= 0) & (per_seed["QDA acc"] <= 1)).all()
        assert per_seed.groupby("model")["steps"].apply(lambda s: s.nunique()).eq(2).all()
        identity = pd.read_csv(tmp_path / f"{front_end}_identity.csv")
        assert (identity["seeds"] == 2).all()
        speed = pd.read_csv(tmp_path / f"{front_end}_speed.csv")
        assert speed["model"].unique().tolist() == ["C-VAE"]
        assert set(speed.columns) >= {"steps", "train_penalty", "linear R2", "linear R2 min"}
    targets = pd.read_csv(tmp_path / "targets.csv")
    assert set(targets["model"]) == {"C-VAE", "SC-VAE-QD"}
    assert (tmp_path / "convergence.png").exists()
    assert set(TRACKS) == {"speed", "heading", "identity"}


def test_adversary_curve_lists_every_checked_epoch_with_its_steps():
    from bench_convergence import adversary_curve

    history = [
        {"epoch": 1, "batches": [{}] * 3, "speed_adversary_loss": 2.0, "speed_probe_loss": 1.0,
         "heading_adversary_loss": 4.0, "heading_probe_loss": 3.0},
        {"epoch": 2, "batches": [{}] * 3},
        {"epoch": 3, "batches": [{}] * 2, "speed_adversary_loss": 1.0, "speed_probe_loss": 1.0},
    ]
    rows = adversary_curve(history, 7, "SC-VAE-GR")
    assert [(r["epoch"], r["steps"]) for r in rows] == [(1, 3), (3, 8)]
    assert (rows[0]["adversary loss"], rows[0]["probe loss"]) == (3.0, 2.0)
    assert {r["seed"] for r in rows} == {7}
    assert adversary_curve([{"epoch": 1, "batches": [{}]}], 0, "C-VAE") == []
