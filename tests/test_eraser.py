import numpy as np
import pandas as pd
import pytest
from conftest import require
from scipy.spatial.distance import pdist
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_scrubvae._eraser import LinearConceptEraser
from sklearn_scrubvae.metrics import decodability_score


@parametrize_with_checks([LinearConceptEraser()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _embedding_with_concepts(n=600, seed=0):
    """Embedding carrying a continuous and a 3-class concept linearly."""
    rng = np.random.default_rng(seed)
    speed = rng.normal(size=n)
    animal = rng.choice(["a", "b", "c"], size=n)
    class_means = {"a": [2.0, 0, 0, 0, 0, 0], "b": [0, 2.0, 0, 0, 0, 0], "c": [0, 0, 0, 0, 0, 0]}
    Z = rng.normal(size=(n, 6))
    Z += np.outer(speed, [0.0, 0.0, 1.5, -1.0, 0.0, 0.0])
    Z += np.array([class_means[a] for a in animal])
    return Z, speed, animal


def test_continuous_concept_is_linearly_guarded():
    Z, speed, _ = _embedding_with_concepts()
    before = LinearRegression().fit(Z, speed).score(Z, speed)
    eraser = LinearConceptEraser().fit(Z, speed)
    Z_erased = eraser.transform(Z)
    after = LinearRegression().fit(Z_erased, speed).score(Z_erased, speed)
    assert before > 0.6  # positive control
    assert after < 1e-10
    assert eraser.n_erased_ == 1
    np.testing.assert_allclose(np.cov(Z_erased.T, speed)[:-1, -1], 0.0, atol=1e-10)


def test_categorical_concept_class_means_coincide():
    Z, _, animal = _embedding_with_concepts()
    probe = LogisticRegression(max_iter=1000)
    chance = pd.Series(animal).value_counts(normalize=True).max()
    before = probe.fit(Z, animal).score(Z, animal)
    Z_erased = LinearConceptEraser().fit_transform(Z, animal)
    after = probe.fit(Z_erased, animal).score(Z_erased, animal)
    class_means = pd.DataFrame(Z_erased).groupby(animal).mean().to_numpy()
    assert before > chance + 0.3  # positive control
    assert after < chance + 0.05
    np.testing.assert_allclose(class_means - class_means.mean(axis=0), 0.0, atol=1e-10)


def test_erasure_is_minimal_on_directions_without_concept():
    # Whitened coordinates independent of the concept are left unchanged.
    rng = np.random.default_rng(1)
    speed = rng.normal(size=400)
    Z = np.column_stack([speed + 0.1 * rng.normal(size=400), rng.normal(size=400)])
    Z_erased = LinearConceptEraser().fit_transform(Z, speed)
    residual = Z_erased[:, 1] - Z[:, 1]
    assert np.abs(residual).max() < 0.2 * np.abs(Z[:, 0] - Z_erased[:, 0]).max()


@pytest.mark.parametrize(
    "nuisance",
    [
        np.arange(300) % 3,
        (np.arange(300) % 2).astype(bool),
        pd.Series(np.where(np.arange(300) % 3 == 0, "x", "y"), dtype="category"),
        pd.Series(np.where(np.arange(300) % 3 == 0, "x", "y")),
    ],
    ids=["int", "bool", "category", "str"],
)
def test_label_types_are_one_hot(nuisance):
    rng = np.random.default_rng(2)
    codes = pd.factorize(pd.Series(nuisance))[0]
    Z = rng.normal(size=(300, 4)) + 3.0 * np.eye(4)[codes]
    Z_erased = LinearConceptEraser().fit_transform(Z, nuisance)
    means = pd.DataFrame(Z_erased).groupby(codes).mean().to_numpy()
    np.testing.assert_allclose(means - means[0], 0.0, atol=1e-10)


def test_mixed_dataframe_and_2d_continuous():
    Z, speed, animal = _embedding_with_concepts()
    table = pd.DataFrame({"speed": speed, "animal": animal})
    eraser = LinearConceptEraser().fit(Z, table)
    assert eraser.n_erased_ == 3  # one speed direction + two class contrasts
    Z_erased = eraser.transform(Z)
    assert LinearRegression().fit(Z_erased, speed).score(Z_erased, speed) < 1e-10

    two_d = np.column_stack([speed, speed**2])
    Z2 = Z + np.outer(speed**2, [0, 0, 0, 0, 1.0, 0])
    erased = LinearConceptEraser().fit_transform(Z2, two_d)
    assert LinearRegression().fit(erased, two_d).score(erased, two_d) < 1e-10


def test_nuisance_keyword_wins_and_nan_rows():
    Z, speed, _ = _embedding_with_concepts()
    wrong = np.zeros(len(Z))
    by_keyword = LinearConceptEraser().fit(Z, wrong, nuisance=speed)
    by_y = LinearConceptEraser().fit(Z, speed)
    np.testing.assert_allclose(by_keyword.projection_, by_y.projection_)

    Z_nan = Z.copy()
    Z_nan[:5] = np.nan
    eraser = LinearConceptEraser().fit(Z_nan, speed)
    out = eraser.transform(Z_nan)
    assert np.isnan(out[:5]).all()
    assert LinearRegression().fit(out[5:], speed[5:]).score(out[5:], speed[5:]) < 1e-10


def test_rank_deficient_embedding():
    rng = np.random.default_rng(3)
    speed = rng.normal(size=200)
    base = np.column_stack([speed + rng.normal(size=200), rng.normal(size=200)])
    Z = np.column_stack([base, base.sum(axis=1)])  # rank 2 in 3 dimensions
    Z_erased = LinearConceptEraser().fit_transform(Z, speed)
    assert np.isfinite(Z_erased).all()
    assert LinearRegression().fit(Z_erased, speed).score(Z_erased, speed) < 1e-10


def test_feature_names_out_and_errors():
    Z = pd.DataFrame(np.random.default_rng(4).normal(size=(50, 2)), columns=["z0", "z1"])
    eraser = LinearConceptEraser().fit(Z, np.arange(50) % 2)
    assert list(eraser.get_feature_names_out()) == ["z0", "z1"]
    with pytest.raises(ValueError, match="requires y"):
        LinearConceptEraser().fit(Z)
    with pytest.raises(ValueError, match="rows"):
        LinearConceptEraser().fit(Z, np.arange(49))


def test_real_mice_identity_is_linearly_erased():
    # Three real mice of different body size: log distances between the
    # first six keypoints reveal identity to a linear probe (positive control).
    features, identity = [], []
    for k, name in enumerate(["OFT_F_5_0_9000", "OFT_F_8_0_9000", "OFT_F_19_0_9000"]):
        poses = np.load(require("motionmapperpy_mice", f"{name}.npy"))[::5, :6]
        features.append(np.log([pdist(frame) for frame in poses]))
        identity += [k] * len(poses)
    X, identity = np.vstack(features), np.array(identity)

    before = decodability_score(X, identity, probe="logistic", step=11)
    X_erased = LinearConceptEraser().fit_transform(X, identity)
    after = decodability_score(X_erased, identity, probe="logistic", step=11)
    assert before.excess > 0.2
    assert after.excess < 0.05
