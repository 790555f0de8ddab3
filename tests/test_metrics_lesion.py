import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

from sklearn_scrubvae.metrics import session_knn_accuracy, severity_correlation


def _sessions(lesion_shift, n_animals=6, n_frames=80, seed=0):
    rng = np.random.default_rng(seed)
    Z, session, condition, animal = [], [], [], []
    for a in range(n_animals):
        offset = 0.3 * rng.normal(size=3)
        for state, shift in [("healthy", 0.0), ("lesioned", lesion_shift)]:
            Z.append(rng.normal(size=(n_frames, 3)) + offset + [shift, 0.0, 0.0])
            session += [f"m{a}-{state}"] * n_frames
            condition += [state] * n_frames
            animal += [f"m{a}"] * n_frames
    return np.vstack(Z), np.array(session), np.array(condition), np.array(animal)


@pytest.mark.parametrize("aggregate", ["proba", "vote"])
def test_planted_lesion_is_detected(aggregate):
    Z, session, condition, animal = _sessions(lesion_shift=2.0)
    result = session_knn_accuracy(Z, session, condition, animal, aggregate=aggregate)
    assert result.accuracy == 1.0
    table = result.sessions
    assert len(table) == 12
    assert set(table.columns) >= {"animal", "condition", "predicted", "n_frames", "healthy"}
    assert (table["n_frames"] == 80).all()
    np.testing.assert_allclose(table["healthy"] + table["lesioned"], 1.0)


def test_no_lesion_is_near_chance():
    accuracies = [
        session_knn_accuracy(*_sessions(lesion_shift=0.0, seed=seed)).accuracy
        for seed in range(4)
    ]
    assert np.mean(accuracies) < 0.75


def test_group_folds_by_animal():
    Z, session, condition, animal = _sessions(lesion_shift=2.0)
    result = session_knn_accuracy(Z, session, condition, animal, cv=3)
    assert result.accuracy == 1.0


def test_max_samples_and_nan_rows():
    Z, session, condition, animal = _sessions(lesion_shift=2.0)
    Z[:10] = np.nan
    result = session_knn_accuracy(
        Z, session, condition, animal, max_samples=30, random_state=0
    )
    assert (result.sessions["n_frames"] == 30).all()
    assert result.accuracy == 1.0


def test_session_must_have_one_condition():
    Z, session, condition, animal = _sessions(lesion_shift=1.0)
    session = np.where(animal == "m0", "shared", session)
    with pytest.raises(ValueError, match="single condition"):
        session_knn_accuracy(Z, session, condition, animal)
    with pytest.raises(ValueError, match="aggregate"):
        session_knn_accuracy(*_sessions(1.0), aggregate="median")


def test_severity_correlation_aligns_series():
    effect = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan], index=["a", "b", "c", "d", "e"])
    severity = pd.Series([40.0, 10.0, 20.0, 30.0, 5.0], index=["d", "a", "b", "c", "f"])
    result = severity_correlation(effect, severity)
    assert result.statistic == pytest.approx(1.0)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=20), rng.normal(size=20)
    expected = pearsonr(x, y)
    got = severity_correlation(x, y)
    assert got.statistic == pytest.approx(expected.statistic)
    assert got.pvalue == pytest.approx(expected.pvalue)
    with pytest.raises(ValueError, match="equal length"):
        severity_correlation(x, y[:5])
