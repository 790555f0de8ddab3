"""The peers benchmark: its scores, its identity + speed model and smoke runs.

Peers that are not installed (``cebra``, ``keypoint_moseq``) are skipped.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="the benchmark figure needs matplotlib")

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_peers  # noqa: E402
from _common import MODES, SPEED_COLUMNS, chunk_folds, parse_args  # noqa: E402

SCORES = ["behaviour ARI", "behaviour NMI", "logistic acc", "QDA acc", "chance",
          "speed linear R2", "transfer ARI train", "transfer ARI unseen", "fit s", "fit CPU s",
          "embed s", "embed CPU s"]
PACKAGE_METHODS = ["VAE", "SC-VAE-QD", "SC-VAE-QD+MALS", "pose PCA"]
CEBRA_METHODS = ["CEBRA-Time", "CEBRA-Behavior"]


def installed(module):
    return importlib.util.find_spec(module) is not None


def run_smoke(out, *methods, timeout=600):
    command = [
        sys.executable, "-W", "error::FutureWarning", "-W", "error::DeprecationWarning",
        str(BENCHMARKS / "bench_peers.py"), "--smoke", "--out", str(out), "--threads", "1",
        "--models", *methods,
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return pd.read_csv(out / "peers.csv"), pd.read_csv(out / "training.csv")


def check_results(table, training, methods, n_animals):
    assert list(table.columns) == ["model", *SCORES]
    assert table["model"].tolist() == methods
    assert np.isfinite(table[SCORES].to_numpy()).all()
    for column in ["behaviour ARI", "transfer ARI train", "transfer ARI unseen"]:
        assert table[column].between(-1, 1).all(), column
    for column in ["behaviour NMI", "logistic acc", "QDA acc", "chance"]:
        assert table[column].between(0, 1).all(), column
    assert (table[["fit s", "fit CPU s", "embed s", "embed CPU s"]] > 0).all().all()
    # Transfer refits every method without the last animal.
    frames = training.pivot(index="model", columns="experiment", values="frames")
    np.testing.assert_array_equal(
        frames["all but the last animal"] * n_animals,
        frames["all animals"] * (n_animals - 1),
    )


def test_smoke_run_scores_every_method(tmp_path):
    methods = PACKAGE_METHODS + (CEBRA_METHODS if installed("cebra") else [])
    table, training = run_smoke(tmp_path, *methods)
    check_results(table, training, methods, MODES["smoke"].n_animals)
    markdown = (tmp_path / "results.md").read_text()
    assert "## peers\n" in markdown
    assert (tmp_path / "peers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_smoke_run_of_keypoint_moseq(tmp_path):
    pytest.importorskip("keypoint_moseq")
    # JAX compiles the AR-HMM first: minutes even on smoke-sized data.
    table, training = run_smoke(tmp_path, "keypoint-MoSeq", timeout=1800)
    check_results(table, training, ["keypoint-MoSeq"], MODES["smoke"].n_animals)


def test_a_missing_peer_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setitem(bench_peers.MISSING, "CEBRA-Time", None)
    out = bench_peers.main(["--smoke", "--threads", "1", "--out", str(tmp_path),
                            "--models", "pose PCA", "CEBRA-Time"])
    assert pd.read_csv(out / "peers.csv")["model"].tolist() == ["pose PCA"]
    notes = (out / "results.md").read_text()
    assert "- CEBRA-Time skipped: not installed (`pip install cebra`)." in notes


def test_identity_and_speed_model_scrubs_each_column_with_its_scrubber():
    args = parse_args("", bench_peers.METHODS, ["--smoke"], bench_peers.add_arguments)
    model = bench_peers.make_method("SC-VAE-QD+MALS", MODES["smoke"], args)
    assert model.scrubber == {"animal": "qd", **dict.fromkeys(SPEED_COLUMNS, "mals")}
    assert model.nuisance == ["animal", *SPEED_COLUMNS]
    assert model.conditional


def test_scrubbed_models_use_the_estimator_default_weight_unless_overridden():
    from sklearn_scrubvae import ScrubbedCVAE

    for lam_args, lam in [([], ScrubbedCVAE().lam), (["--lam", "7"], 7.0)]:
        args = parse_args("", bench_peers.METHODS, ["--smoke", *lam_args],
                          bench_peers.add_arguments)
        for name in ("SC-VAE-QD", "SC-VAE-QD+MALS"):
            assert bench_peers.make_method(name, MODES["smoke"], args).lam == lam


def test_speed_scrubbers_take_their_own_weight():
    args = parse_args("", bench_peers.METHODS, ["--smoke", "--lam", "2", "--speed-lam", "40"],
                      bench_peers.add_arguments)
    model = bench_peers.make_method("SC-VAE-QD+MALS", MODES["smoke"], args)
    assert model.lam == {"animal": 2.0, **dict.fromkeys(SPEED_COLUMNS, 40.0)}
    assert bench_peers.make_method("SC-VAE-QD", MODES["smoke"], args).lam == 2.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_read_behaviour_identity_and_speed_from_an_embedding(seed):
    """Positive and negative controls of every score on hand-made embeddings."""
    rng = np.random.default_rng(seed)
    n_frames, n_animals = 2400, 4
    behaviour = np.repeat(rng.integers(0, 5, n_frames // 40), 40)
    animal = np.repeat(np.arange(n_animals), n_frames // n_animals)
    speeds = rng.normal(size=(n_frames, 3))
    table = pd.DataFrame({"behavior": pd.Categorical(behaviour),
                          "animal": pd.Categorical(animal)})
    table[SPEED_COLUMNS] = speeds
    folds = chunk_folds(animal)
    settings = MODES["smoke"]

    def scores_of(*parts):
        Z = np.column_stack(parts)
        Z += rng.normal(scale=0.1, size=Z.shape)
        return bench_peers.score(None, Z, table, folds, settings, seed)

    assert scores_of(np.eye(5)[behaviour])["behaviour ARI"] > 0.9
    identity = scores_of(np.eye(n_animals)[animal])
    assert min(identity["logistic acc"], identity["QDA acc"]) > 0.95
    assert scores_of(speeds)["speed linear R2"] > 0.95
    noise = scores_of(rng.normal(size=(n_frames, 4)))
    assert abs(noise["behaviour ARI"]) < 0.05
    assert max(noise["logistic acc"], noise["QDA acc"]) < noise["chance"] + 0.1
    assert noise["speed linear R2"] < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_true_behaviour_predicts_speed(seed):
    # The data of doc/benchmarks.md (g): one-hot behaviour R^2 0.56-0.62,
    # window fractions 0.59-0.65 on seeds 0-2. A shuffled behaviour column
    # is the negative control.
    import dataclasses

    from _common import make_synthetic

    settings = dataclasses.replace(MODES["quick"], n_frames=3000, fps=90, window=31)
    _, table, groups = make_synthetic(settings, lesion=False, seed=seed)
    folds = chunk_folds(groups)
    bound = bench_peers.speed_from_behaviour(table, groups, folds, settings, seed)
    assert bound["labels"] > 0.5
    assert bound["window fractions"] > bound["labels"]
    shuffled = table.assign(behavior=np.random.default_rng(seed).permutation(table["behavior"]))
    assert bench_peers.speed_from_behaviour(shuffled, groups, folds, settings, seed)["labels"] < 0.05
