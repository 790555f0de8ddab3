import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import StratifiedKFold

from sklearn_scrubvae import LinearConceptEraser
from sklearn_scrubvae.metrics import DecodabilityResult, decodability_score


@pytest.fixture
def planted():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(400, 5))
    speed = Z @ [1.0, -2.0, 0.0, 0.5, 0.0] + 0.01 * rng.normal(size=400)
    noise = rng.normal(size=400)
    animal = np.where(Z[:, 0] > 0, "a", "b")
    return Z, speed, noise, animal


def test_linear_signal_is_decodable_and_noise_is_not(planted):
    Z, speed, noise, _ = planted
    signal = decodability_score(Z, speed, step=1)
    null = decodability_score(Z, noise, step=1)
    assert signal.metric == "r2" and signal.chance is None
    assert signal.mean > 0.99
    assert signal.scores.shape == (5,)
    assert null.mean < 0.05
    assert null.excess == max(null.mean, 0.0)


def test_multi_output_r2_is_averaged(planted):
    Z, speed, noise, _ = planted
    both = decodability_score(Z, pd.DataFrame({"s": speed, "n": noise}), step=1)
    one = decodability_score(Z, speed, step=1)
    other = decodability_score(Z, noise, step=1)
    np.testing.assert_allclose(both.scores, (one.scores + other.scores) / 2)


def test_classification_accuracy_and_majority_chance(planted):
    Z, _, _, animal = planted
    result = decodability_score(Z, animal, probe="logistic", step=1)
    assert result.metric == "accuracy"
    assert result.mean > 0.95
    # Chance is the held-out accuracy of the training folds' majority class,
    # over unshuffled stratified folds.
    expected = []
    for train, test in StratifiedKFold(5).split(Z, animal):
        majority = pd.Series(animal[train]).value_counts().idxmax()
        expected.append(np.mean(animal[test] == majority))
    assert result.chance == pytest.approx(np.mean(expected))
    assert result.excess == pytest.approx((result.mean - result.chance) / (1 - result.chance))

    rng = np.random.default_rng(1)
    shuffled = rng.permutation(animal)
    null = decodability_score(Z, shuffled, probe="qda", step=1)
    assert null.mean < null.chance + 0.1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("probe", ["mlp", "qda"])
def test_nonlinear_probes_find_a_circle(probe):
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(600, 2))
    inside = (np.linalg.norm(Z, axis=1) < 1.1).astype(int)  # not linearly separable
    linear = decodability_score(Z, inside, probe="logistic", step=1)
    nonlinear = decodability_score(Z, inside, probe=probe, step=1, random_state=0)
    assert linear.excess < 0.2
    assert nonlinear.excess > 0.6


def test_mlp_regression_on_float():
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(500, 2))
    target = Z[:, 0] ** 2
    assert decodability_score(Z, target, probe="linear", step=1).mean < 0.1
    assert decodability_score(Z, target, probe="mlp", step=1, random_state=0).mean > 0.7


def test_step_and_nan_rows_are_dropped_before_subsampling():
    Z = np.arange(40.0)[:, None] * [1.0, 2.0]
    Z[:3] = np.nan
    y = np.arange(40.0)
    y[10] = np.nan
    seen = {}

    class Recorder(Ridge):
        def fit(self, X, y):
            seen.setdefault("rows", set()).update(X[:, 0].tolist())
            return super().fit(X, y)

    decodability_score(Z, y, probe=Recorder(), step=4, cv=2)
    valid = [i for i in range(40) if i >= 3 and i != 10]
    assert seen["rows"] == set(float(i) for i in valid[::4])


def test_labels_sorted_by_recording_get_stratified_folds():
    # Frames of three animals concatenated one after the other: every
    # unshuffled training fold still holds every animal.
    rng = np.random.default_rng(5)
    animal = np.repeat([0, 1, 2], 100)
    Z = rng.normal(size=(300, 2)) + 3.0 * np.eye(3)[animal][:, :2]
    result = decodability_score(Z, animal, probe="logistic", step=1)
    assert result.chance == pytest.approx(1 / 3)
    assert result.mean > 0.85


def test_qda_with_classes_smaller_than_dimension():
    rng = np.random.default_rng(6)
    animal = np.repeat([0, 1], 40)
    Z = rng.normal(size=(80, 50)) * np.where(animal[:, None] == 0, 1.0, 3.0)
    result = decodability_score(Z, animal, probe="qda", step=1)
    assert result.mean > 0.9  # the classes differ only in scale


def test_groups_keep_folds_whole():
    rng = np.random.default_rng(4)
    animal = np.repeat([0, 1, 2, 3], 50)
    # Identity is decodable only through a per-animal offset; with group
    # folds the held-out animal's label was never seen, so accuracy is 0.
    Z = rng.normal(size=(200, 3)) + animal[:, None] * 5.0
    result = decodability_score(Z, animal, probe="logistic", cv=4, groups=animal, step=1)
    assert result.mean == 0.0
    assert result.chance == 0.0


def test_bad_inputs():
    Z = np.zeros((20, 2))
    with pytest.raises(ValueError, match="continuous"):
        decodability_score(Z, np.arange(20), probe="linear")
    with pytest.raises(ValueError, match="cast it"):
        decodability_score(Z, np.linspace(0, 1, 20), probe="qda")
    with pytest.raises(ValueError, match="'probe' parameter"):
        decodability_score(Z, np.linspace(0, 1, 20), probe="svm")
    with pytest.raises(ValueError, match="rows"):
        decodability_score(Z, np.linspace(0, 1, 19))
    with pytest.raises(ValueError, match="mixes"):
        decodability_score(Z, pd.DataFrame({"a": np.arange(20), "b": np.zeros(20)}))
    with pytest.raises(ValueError, match="step"):
        decodability_score(Z, np.linspace(0, 1, 20), step=0)


def test_result_is_a_dataclass():
    result = DecodabilityResult(scores=np.array([0.5, 0.7]), chance=0.5, metric="accuracy")
    assert result.mean == pytest.approx(0.6)
    assert result.excess == pytest.approx(0.2)
    assert DecodabilityResult(np.array([-0.3]), None, "r2").excess == 0.0


def test_numpy_functions_see_the_fold_scores():
    result = DecodabilityResult(scores=np.array([0.2, 0.4, 0.9]), chance=None, metric="r2")
    assert np.mean(result) == pytest.approx(0.5) == result.mean
    assert np.std(result) == pytest.approx(np.std([0.2, 0.4, 0.9]))
    np.testing.assert_array_equal(np.asarray(result), [0.2, 0.4, 0.9])
    np.testing.assert_array_equal(np.concatenate([result, result]), [0.2, 0.4, 0.9] * 2)


def test_transformer_is_fitted_inside_each_training_fold(planted):
    Z, speed, _, _ = planted
    fitted_on = []

    class RecordingEraser(LinearConceptEraser):
        def fit(self, X, y=None, **kwargs):
            fitted_on.append(frozenset(map(tuple, np.round(X, 12))))
            return super().fit(X, y, **kwargs)

    before = decodability_score(Z, speed, step=1, cv=4)
    after = decodability_score(Z, speed, step=1, cv=4, transformer=RecordingEraser())
    assert before.mean > 0.99  # positive control
    assert after.mean < 0.05
    assert len(fitted_on) == 4
    everything = frozenset(map(tuple, np.round(Z, 12)))
    for rows in fitted_on:  # each fit sees three quarters of the rows, never the held-out one
        assert len(rows) == 300 and rows < everything
