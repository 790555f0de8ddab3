"""ScrubbedCVAE in generic-feature mode: API, determinism, persistence, errors."""

import pickle
import re

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from sklearn_scrubvae import ScrubbedCVAE

from conftest import make_frames

TINY = dict(
    n_components=3, window=5, hidden_channels=(8, 8), kernel_size=3, max_iter=2,
    batch_size=64, random_state=0,
)


@pytest.mark.parametrize("scrubber", ["gr", "nd", "mals", "qd", "mi", None])
def test_fit_transform_shapes(scrubber):
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber=scrubber, nuisance=["animal"], **TINY)
    Z = est.fit(X, table, groups=groups).transform(X, groups=groups)
    assert Z.shape == (len(X), 3)
    assert np.isfinite(Z).all()
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    assert np.isfinite(est.loss_curve_).all()
    Xr = est.inverse_transform(Z, nuisance=table)
    assert Xr.shape == X.shape
    W = est.decode_windows(Z[:7], nuisance=table.iloc[:7])
    assert W.shape == (7, 5, 4)
    assert np.allclose(W[:, 2], Xr[:7])
    assert np.isfinite(est.score(X, table, groups=groups))


def test_dict_scrubber_and_forgetting_factor_history():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber={"animal": "qd", "speed": "mals"}, **TINY)
    est.fit(X, table, groups=groups)
    assert est.scrubbers_ == {"animal": "qd", "speed": "mals"}
    last = est.history_[-1]
    for column in ("animal", "speed"):
        keys = [k for k in last if k.startswith(f"{column}_forgetting")]
        assert len(keys) == 2, last.keys()
        assert all(0.0 <= last[k] <= 1.0 for k in keys)


def test_keyword_nuisance_wins_over_y():
    X, table, groups = make_frames()
    labels = np.arange(len(X)) % 2  # class labels for a later pipeline step
    est = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], **TINY)
    est.fit(X, labels, nuisance=table, groups=groups)
    assert est.nuisance_encoder_.categories_["animal"].tolist() == ["a", "b", "c"]


def test_same_random_state_same_transform():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="gr", nuisance=["animal"], **TINY)
    Z1 = est.fit(X, table, groups=groups).transform(X)
    Z2 = clone(est).fit(X, table, groups=groups).transform(X)
    np.testing.assert_array_equal(Z1, Z2)
    Z3 = clone(est).set_params(random_state=1).fit(X, table, groups=groups).transform(X)
    assert not np.allclose(Z1, Z3)


@pytest.mark.parametrize("scrubber", ["gr", "nd", "mals", "qd", "mi"])
def test_pickle_and_joblib_round_trip(tmp_path, scrubber):
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber=scrubber, nuisance=["animal"], early_stopping=True, **TINY)
    est.fit(X, table, groups=groups)
    Z = est.transform(X, groups=groups)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.transform(X, groups=groups), Z)
    joblib.dump(est, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.transform(X, groups=groups), Z)
    np.testing.assert_array_equal(
        restored.inverse_transform(Z, nuisance=table), est.inverse_transform(Z, nuisance=table)
    )


def test_windows_never_cross_groups():
    """A frame's embedding depends only on frames of its own recording."""
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber=None, conditional=False, **TINY).fit(X, groups=groups)
    Z = est.transform(X, groups=groups)
    X_changed = X.copy()
    X_changed[groups == 1] += 5.0  # only the middle recording changes
    Z_changed = est.transform(X_changed, groups=groups)
    np.testing.assert_array_equal(Z[groups != 1], Z_changed[groups != 1])
    assert not np.allclose(Z[groups == 1], Z_changed[groups == 1])
    # without groups the windows at the boundaries see the changed frames
    Z_nogroups = est.transform(X_changed)
    boundary = np.flatnonzero(np.diff(groups))[0]
    assert not np.allclose(Z_nogroups[boundary], Z[boundary])


def _behaviour_and_animal(n_frames=360, seed=0):
    """Three behaviours (blocks of 40 frames) seen by three animals, one recording each.

    A behaviour moves the features far, an animal a little, so the embedding
    of a working model groups frames by behaviour more than by animal.
    """
    rng = np.random.default_rng(seed)
    behaviour = np.arange(n_frames) // 40 % 3
    animal = np.repeat([0, 1, 2], n_frames // 3)
    X = 2.0 * rng.normal(size=(3, 4))[behaviour] + 0.5 * rng.normal(size=(3, 4))[animal]
    X += 0.1 * rng.normal(size=X.shape)
    return X, pd.DataFrame({"animal": pd.Categorical(animal)}), behaviour, animal


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pipeline_with_kmeans(seed):
    X, table, behaviour, animal = _behaviour_and_animal(seed=seed)
    pipe = Pipeline([("vae", ScrubbedCVAE(scrubber="qd", nuisance=["animal"], **TINY)),
                     ("kmeans", KMeans(n_clusters=3, n_init=2, random_state=0))])
    labels = pipe.fit_predict(X, table, vae__groups=animal)
    assert labels.shape == (len(X),)
    with_behaviour = adjusted_rand_score(behaviour, labels)
    assert with_behaviour > 0.4
    assert with_behaviour > adjusted_rand_score(animal, labels) + 0.3


def test_pipeline_knn_with_metadata_routing():
    X, table, groups = make_frames()
    behaviour = (np.sin(np.arange(len(X)) / 7) > 0).astype(int)
    with sklearn.config_context(enable_metadata_routing=True):
        vae = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], **TINY)
        vae.set_fit_request(nuisance=True, groups=True).set_transform_request(groups=True)
        pipe = Pipeline([("vae", vae), ("knn", KNeighborsClassifier(n_neighbors=3))])
        pipe.fit(X, behaviour, nuisance=table, groups=groups)
        predicted = pipe.predict(X, groups=groups)
    assert predicted.shape == behaviour.shape
    fitted = pipe.named_steps["vae"]
    # the nuisance reached the estimator: it was trained with the QD scrubber on "animal"
    assert fitted.scrubbers_ == {"animal": "qd"}
    assert (predicted == behaviour).mean() > 0.5


def test_grid_search_over_lam_alpha_beta():
    X, table, groups = make_frames()
    grid = GridSearchCV(
        ScrubbedCVAE(scrubber="gr", nuisance=["speed"], **TINY),
        {"lam": [0.0, 1.0], "alpha": [0.5, 1.0], "beta": [0.5, 1.0]},
        cv=GroupKFold(n_splits=3),
        error_score="raise",
    )
    grid.fit(X, table, groups=groups)
    results = pd.DataFrame(grid.cv_results_["params"]).assign(
        score=grid.cv_results_["mean_test_score"]
    )
    assert len(results) == 8 and np.isfinite(results["score"]).all()
    # The best model was trained with the best parameters ...
    best, module = grid.best_params_, grid.best_estimator_.module_
    assert grid.best_estimator_.net_.criterion_.lam == best["lam"]
    assert grid.best_estimator_.net_.criterion_.beta == best["beta"]
    assert module.scrubbers["speed"].alpha == best["alpha"]
    # ... and each parameter changes the model: grid points that differ in
    # one parameter only score differently (alpha scales the adversary's
    # gradient, which reaches the encoder only when lam > 0).
    for name in ["lam", "alpha", "beta"]:
        others = [other for other in ["lam", "alpha", "beta"] if other != name]
        for _, pair in results[(results["lam"] > 0) | (name != "alpha")].groupby(others):
            assert pair["score"].nunique() == 2, (name, pair)


def test_early_stopping_stops_after_n_iter_no_change_epochs():
    # With a tolerance no improvement can beat, only the first epoch counts as
    # an improvement: training stops n_iter_no_change epochs later.
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], early_stopping=True,
                       n_iter_no_change=2, tol=1e9, **{**TINY, "max_iter": 30})
    est.fit(X, table)
    assert "valid_loss" in est.history_[-1]
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    # Without early stopping the same model trains for all max_iter epochs.
    assert clone(est).set_params(early_stopping=False, max_iter=5).fit(X, table).n_iter_ == 5


def test_early_stopping_restores_the_model_of_the_best_epoch():
    X, table, groups = make_frames()
    params = dict(TINY, scrubber="mals", nuisance=["speed"], early_stopping=True,
                  n_iter_no_change=20, tol=0.0, max_iter=8, learning_rate=0.05)
    est = ScrubbedCVAE(**params).fit(X, table, groups=groups)
    valid_loss = [row["valid_loss"] for row in est.history_]
    best_epoch = int(np.argmin(valid_loss)) + 1
    assert best_epoch < est.n_iter_  # the last epoch is not the best one
    # The same run stopped after the best epoch is the model that was kept.
    reference = ScrubbedCVAE(**{**params, "max_iter": best_epoch}).fit(X, table, groups=groups)
    assert reference.history_[-1, "valid_loss"] == min(valid_loss)
    np.testing.assert_allclose(
        est.transform(X, groups=groups), reference.transform(X, groups=groups), rtol=1e-6
    )


def test_plain_vae_needs_no_nuisance_and_ignores_it_when_decoding():
    X, _, _ = make_frames()
    est = ScrubbedCVAE(scrubber=None, conditional=False, **TINY).fit(X)
    Z = est.transform(X)
    assert est.inverse_transform(Z).shape == X.shape
    assert np.isfinite(est.score(X))


def test_nan_latent_rows_stay_nan_when_decoding():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], **TINY).fit(X, table)
    Z = est.transform(X)
    Z[3] = np.nan
    Xr = est.inverse_transform(Z, nuisance=table)
    assert np.isnan(Xr[3]).all() and np.isfinite(np.delete(Xr, 3, axis=0)).all()


# ----------------------------------------------------------------- bad input


def _fitted():
    X, table, groups = make_frames()
    return ScrubbedCVAE(scrubber="qd", nuisance=["animal"], **TINY).fit(X, table), X, table


def test_infinite_X_is_rejected():
    X, table, _ = make_frames()
    X[5, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        ScrubbedCVAE(**TINY).fit(X, table)


@pytest.mark.parametrize("min_keypoints, lost", [(1.0, [1]), (0.5, [0, 1, 2])])
def test_frames_missing_too_many_features_are_unusable(min_keypoints, lost):
    X, table, _ = make_frames()
    clean = ScrubbedCVAE(**TINY).fit(X, table)
    X[100, lost] = np.nan  # 1 of 4 features: too few for 1.0; 3 of 4: too few for 0.5
    est = ScrubbedCVAE(unusable_frames="nan", min_keypoints=min_keypoints, **TINY).fit(X, table)
    assert est.n_windows_dropped_ == clean.n_windows_dropped_ + TINY["window"]
    valid = est.valid_frames(X)
    half = TINY["window"] // 2
    np.testing.assert_array_equal(np.flatnonzero(~valid), np.arange(100 - half, 101 + half))
    np.testing.assert_array_equal(np.isnan(est.transform(X)).any(axis=1), ~valid)


def test_infinite_nuisance_is_rejected():
    X, table, _ = make_frames()
    table.loc[4, "speed"] = np.inf
    with pytest.raises(ValueError, match="'speed' contains NaN or infinity"):
        ScrubbedCVAE(scrubber="mals", **TINY).fit(X, table)


def test_wrong_number_of_nuisance_rows():
    X, table, _ = make_frames()
    with pytest.raises(ValueError, match="has 239 rows but X has 240 frames"):
        ScrubbedCVAE(**TINY).fit(X, table.iloc[:-1])


def test_unknown_nuisance_column():
    X, table, _ = make_frames()
    with pytest.raises(ValueError, match=r"Unknown nuisance column\(s\) \['heading'\]"):
        ScrubbedCVAE(nuisance=["heading"], **TINY).fit(X, table)


def test_fewer_frames_than_window():
    X, table, _ = make_frames()
    with pytest.raises(ValueError, match="n_samples=4 frames.*window=5"):
        ScrubbedCVAE(**TINY).fit(X[:4], table.iloc[:4])


def test_groups_too_short_for_any_window():
    X, table, _ = make_frames()
    groups = np.arange(len(X)) // 4
    with pytest.raises(ValueError, match="no recording holds a full window"):
        ScrubbedCVAE(**TINY).fit(X, table, groups=groups)


@pytest.mark.parametrize("scrubber", ["qd", "nd"])
def test_categorical_only_scrubber_on_float_column(scrubber):
    X, table, _ = make_frames()
    with pytest.raises(ValueError, match="needs a categorical nuisance column.*'speed'"):
        ScrubbedCVAE(scrubber=scrubber, nuisance=["speed"], **TINY).fit(X, table)


def test_conditional_decode_without_nuisance():
    est, X, table = _fitted()
    Z = est.transform(X)
    with pytest.raises(ValueError, match="conditional: decoding needs the nuisance table"):
        est.inverse_transform(Z)
    with pytest.raises(ValueError, match="conditional: decoding needs the nuisance table"):
        est.decode_windows(Z)


def test_unseen_category_at_decode_time():
    est, X, table = _fitted()
    Z = est.transform(X)
    other = table.copy()
    other["animal"] = other["animal"].cat.add_categories(["zebra"])
    other.loc[0, "animal"] = "zebra"
    with pytest.raises(ValueError, match="'animal' has categories never seen in fit: \\['zebra'\\]"):
        est.inverse_transform(Z, nuisance=other)


def test_missing_nuisance_for_conditional_fit():
    X, _, _ = make_frames()
    with pytest.raises(ValueError, match="requires y to be passed"):
        ScrubbedCVAE(**TINY).fit(X)


def test_wrong_latent_width():
    est, X, table = _fitted()
    with pytest.raises(ValueError, match=r"latent codes of shape \(n, 3\)"):
        est.inverse_transform(np.zeros((5, 2)), nuisance=table.iloc[:5])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"window": 4}, "window must be odd"),
        ({"kernel_size": 2}, "kernel_size must be odd"),
        ({"scrubber": "lasso"}, "'scrubber' parameter"),
        ({"scrubber": {"animal": "lasso"}}, "Unknown scrubber name"),
        ({"scrubber": {"heading": "qd"}}, "not nuisance columns"),
        ({"hidden_channels": ()}, "hidden_channels must be a non-empty tuple"),
        ({"device": "tpu"}, "Unknown device"),
    ],
)
def test_bad_parameters(params, match):
    X, table, _ = make_frames()
    with pytest.raises(ValueError, match=match):
        ScrubbedCVAE(**{**TINY, **params}).fit(X, table)


def test_model_saved_from_a_gpu_device_loads_on_the_cpu():
    """A model whose net was on CUDA unpickles onto the CPU where CUDA is missing."""
    import torch
    from skorch.exceptions import DeviceWarning

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    est, X, table = _fitted()
    Z = est.transform(X)
    est.net_.device = "cuda"  # what a GPU-trained model carries
    est.device_ = torch.device("cuda")
    with pytest.warns(DeviceWarning, match="cuda"):
        restored = pickle.loads(pickle.dumps(est))
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_allclose(restored.transform(X), Z)


def test_verbose_prints_one_plain_line_per_epoch(capsys):
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], verbose=1, **TINY).fit(X, table)
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    n = TINY["max_iter"]
    assert [line.split()[1] for line in lines] == [f"{i}/{n}" for i in range(1, n + 1)]
    assert all(re.search(r"train_loss \S+ .*elapsed, ETA \d+:\d\d:\d\d\]$", line)
               for line in lines)
    assert "train_penalty" in lines[0] and "train_kl" in lines[0]
    assert "\x1b[" not in out and "Re-initializing" not in out
    est.set_params(verbose=0).fit(X, table)
    assert capsys.readouterr().out == ""


def test_progress_bar_shows_the_batch_loss_as_a_number():
    from sklearn_scrubvae._solver.callbacks import BatchProgressBar

    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], verbose=2, **TINY).fit(X, table)
    # during an epoch, batch losses are still device tensors
    est.history_[-1]["batches"][-1]["train_loss"] = torch.tensor(3.5)
    postfix = BatchProgressBar()._get_postfix_dict(est.net_)
    assert postfix == {"train_loss": 3.5} and type(postfix["train_loss"]) is float
