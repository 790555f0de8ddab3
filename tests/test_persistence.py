"""Saving and loading fitted models without pickle."""

import json
import pathlib
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae._persistence import InconsistentVersionWarning
from sklearn_scrubvae.datasets import make_mouse_behavior

TINY = dict(
    n_components=3, window=5, hidden_channels=(8, 8), kernel_size=3, max_iter=2,
    batch_size=64, random_state=0, scrubber_params={"nd": {"n_ensemble": 1, "hidden": (8,)}},
)


def _features(n_frames=240, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)
    X = np.column_stack([np.sin(t / (3 + k)) for k in range(4)]) + 0.1 * rng.normal(
        size=(n_frames, 4)
    )
    table = pd.DataFrame(
        {
            "animal": pd.Categorical(np.repeat(["a", "b", "c"], n_frames // 3)),
            "speed": rng.normal(size=n_frames),
            3: rng.integers(0, 2, n_frames),  # a non-string column name
        }
    )
    return X, table, np.repeat([0, 1, 2], n_frames // 3)


def _rewrite_metadata(path, change):
    with safe_open(path, framework="pt") as handle:
        document = json.loads(handle.metadata()["sklearn_scrubvae"])
    change(document)
    save_file(load_file(path), path, metadata={"sklearn_scrubvae": json.dumps(document)})


@pytest.mark.parametrize(
    "scrubber", ["nd", "mals", "qd", "mi", {"animal": "qd", "speed": "mals"}]
)
def test_save_load_gives_identical_output(tmp_path, scrubber):
    X, table, groups = _features()
    nuisance = ["animal", "speed"] if isinstance(scrubber, dict) else ["animal", "speed", 3]
    if scrubber in ("qd", "nd"):
        nuisance = ["animal", 3]
    est = ScrubbedCVAE(scrubber=scrubber, nuisance=nuisance, **TINY)
    est.fit(X, table, groups=groups)
    path = tmp_path / "model.safetensors"
    est.save(path)
    assert not list(tmp_path.glob(".*partial"))
    restored = ScrubbedCVAE.load(path)
    assert restored.get_params() == est.get_params()
    Z = est.transform(X, groups=groups)
    np.testing.assert_array_equal(restored.transform(X, groups=groups), Z)
    np.testing.assert_array_equal(
        restored.inverse_transform(Z, nuisance=table), est.inverse_transform(Z, nuisance=table)
    )
    assert restored.score(X, table, groups=groups) == est.score(X, table, groups=groups)
    # Scrubber state (running statistics, forgetting factors) comes back too.
    for name, value in est.module_.state_dict().items():
        torch.testing.assert_close(restored.module_.state_dict()[name], value, rtol=0, atol=0)
    assert restored.scrubbers_ == est.scrubbers_
    assert restored.n_iter_ == est.n_iter_ and restored.loss_curve_ == est.loss_curve_
    assert list(restored.history_[:, "train_loss"]) == list(est.history_[:, "train_loss"])
    assert restored.nuisance_encoder_.categories_["animal"].tolist() == ["a", "b", "c"]


def test_pose_model_with_skeleton_object_round_trips(tmp_path):
    poses, table, *_ = make_mouse_behavior(n_animals=2, n_frames=60, random_state=0)
    poses = poses.copy()
    poses[40:43, 4] = np.nan  # a short gap
    from sklearn_scrubvae.pose import MOUSE18

    est = ScrubbedCVAE(
        scrubber="mals", nuisance=["heading_cos"], skeleton=MOUSE18, **{**TINY, "max_iter": 1}
    )
    est.fit(poses, table, groups=table["session"])
    est.save(tmp_path / "pose.safetensors")
    restored = ScrubbedCVAE.load(tmp_path / "pose.safetensors")
    assert restored.skeleton_ == MOUSE18 and restored.skeleton == MOUSE18
    Z = est.transform(poses, groups=table["session"])
    np.testing.assert_array_equal(restored.transform(poses, groups=table["session"]), Z)
    ok = ~np.isnan(Z).any(axis=1)
    np.testing.assert_array_equal(
        restored.inverse_transform(Z[ok][:5], nuisance=table[ok][:5]),
        est.inverse_transform(Z[ok][:5], nuisance=table[ok][:5]),
    )


def test_file_holds_no_pickle_and_records_versions(tmp_path):
    X, table, groups = _features()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], **TINY).fit(X, table)
    path = tmp_path / "model.safetensors"
    est.save(path)
    assert b"\x80\x04" not in path.read_bytes()[:64]  # no pickle protocol header
    with safe_open(path, framework="pt") as handle:
        document = json.loads(handle.metadata()["sklearn_scrubvae"])
    assert document["versions"]["torch"] == torch.__version__
    assert "sklearn_scrubvae" in document["versions"]
    assert document["params"]["lam"] == est.lam


def test_loading_a_file_from_another_version_warns(tmp_path):
    X, table, _ = _features()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], **TINY).fit(X, table)
    path = tmp_path / "model.safetensors"
    est.save(path)
    _rewrite_metadata(path, lambda doc: doc["versions"].update(sklearn_scrubvae="0.0.1"))
    with pytest.warns(InconsistentVersionWarning, match="0.0.1"):
        restored = ScrubbedCVAE.load(path)
    np.testing.assert_array_equal(restored.transform(X), est.transform(X))


def test_model_saved_on_a_gpu_loads_on_the_cpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    X, table, _ = _features()
    est = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], **TINY).fit(X, table)
    path = tmp_path / "model.safetensors"
    est.save(path)
    _rewrite_metadata(path, lambda doc: doc.update(device="cuda:0"))
    with pytest.warns(UserWarning, match="cuda:0"):
        restored = ScrubbedCVAE.load(path)
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_array_equal(restored.transform(X), est.transform(X))
    # An explicit device needs no warning.
    assert ScrubbedCVAE.load(path, device="cpu").device_ == torch.device("cpu")


def test_loaded_model_pickles_and_keeps_training(tmp_path):
    X, table, _ = _features()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], **TINY).fit(X, table)
    est.save(tmp_path / "model.safetensors")
    restored = ScrubbedCVAE.load(tmp_path / "model.safetensors")
    again = pickle.loads(pickle.dumps(restored))
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    refit = restored.fit(X, table)
    assert refit.n_iter_ == TINY["max_iter"] and np.isfinite(refit.transform(X)).all()


def test_path_valued_parameters_round_trip(tmp_path):
    X, table, _ = _features()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], checkpoint_dir=tmp_path / "runs",
                       **TINY).fit(X, table)
    est.save(tmp_path / "model.safetensors")
    restored = ScrubbedCVAE.load(tmp_path / "model.safetensors")
    assert restored.checkpoint_dir == tmp_path / "runs"
    assert isinstance(restored.checkpoint_dir, pathlib.Path)


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No saved model"):
        ScrubbedCVAE.load(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a saved sklearn_scrubvae model"):
        ScrubbedCVAE.load(tmp_path / "junk.safetensors")
    save_file({"w": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="not a saved ScrubbedCVAE"):
        ScrubbedCVAE.load(tmp_path / "other.safetensors")
    with pytest.raises(Exception, match="not fitted"):
        ScrubbedCVAE().save(tmp_path / "unfitted.safetensors")


@pytest.mark.parametrize("name", ["features", "pose"])
def test_files_saved_by_an_earlier_layout_load_and_transform_identically(name):
    from fixtures.make_saved_models import HERE, fixture_data

    X, _, groups = fixture_data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        est = ScrubbedCVAE.load(HERE / f"saved_{name}.safetensors", device="cpu")
    expected = np.load(HERE / f"saved_{name}_transform.npy")
    np.testing.assert_array_equal(est.transform(X, groups=groups), expected)
