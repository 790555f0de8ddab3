import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_scrubvae.metrics import make_scrubbing_scorer


class FakeModel:
    """Embedding = noise, plus ``leak`` times the speed stored in X[:, 0]."""

    window = 5
    n_features_in_ = 4

    def __init__(self, elbo, leak):
        self.elbo = elbo
        self.leak = leak
        self.scored_with = None

    def transform(self, X):
        return np.column_stack([self.leak * X[:, 0] + X[:, 1], X[:, 2:]])

    def score(self, X, *, nuisance):
        self.scored_with = nuisance
        return self.elbo


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    speed = rng.normal(size=500)
    X = np.column_stack([speed, 0.1 * rng.normal(size=500), rng.normal(size=(500, 2))])
    animal = np.where(rng.random(500) < 0.5, "a", "b")
    return X, pd.DataFrame({"speed": speed, "animal": animal})


def test_equal_elbo_less_decodable_wins(data):
    X, table = data
    scorer = make_scrubbing_scorer(["speed"], step=1)
    leaky = scorer(FakeModel(elbo=-100.0, leak=1.0), X, table)
    scrubbed = scorer(FakeModel(elbo=-100.0, leak=0.0), X, table)
    assert scrubbed > leaky
    assert scrubbed - leaky == pytest.approx(1.0, abs=0.05)  # R^2 ~ 1 vs ~ 0


def test_equal_decodability_higher_elbo_wins(data):
    X, table = data
    scorer = make_scrubbing_scorer(["speed"], step=1)
    low = scorer(FakeModel(elbo=-200.0, leak=0.0), X, table)
    high = scorer(FakeModel(elbo=-100.0, leak=0.0), X, table)
    assert high - low == pytest.approx(100.0 / (5 * 4))


def test_score_formula_and_weight(data):
    X, table = data
    model = FakeModel(elbo=-40.0, leak=0.5)
    scorer = make_scrubbing_scorer(step=1, weight=3.0)
    excess = scorer.excess_decodability(model, X, table)
    assert excess.shape == (2,)  # speed (linear R^2) and animal (logistic accuracy)
    assert 0.5 < excess[0] < 1.0 and excess[1] < 0.1
    assert scorer(model, X, table) == pytest.approx(-40.0 / 20 - 3.0 * excess.mean())


def test_nuisance_keyword_wins_over_y(data):
    X, table = data
    model = FakeModel(elbo=-1.0, leak=0.0)
    scorer = make_scrubbing_scorer(["speed"], step=1)
    scorer(model, X, y=np.zeros(len(X)), nuisance=table)
    assert model.scored_with is table
    with pytest.raises(ValueError, match="needs the nuisance table"):
        scorer(model, X)


def test_constraint_rejects_decodable_models(data):
    X, table = data
    scorer = make_scrubbing_scorer(["speed"], max_decodability=0.2, weight=0.0, step=1)
    assert scorer(FakeModel(elbo=10.0, leak=1.0), X, table) == -np.inf
    assert scorer(FakeModel(elbo=-10.0, leak=0.0), X, table) == pytest.approx(-0.5)


def test_joint_targets_and_unknown_columns(data):
    X, table = data
    table = table.assign(speed2=table["speed"] * 2)
    scorer = make_scrubbing_scorer([["speed", "speed2"]], step=1)
    assert scorer.excess_decodability(FakeModel(0.0, 1.0), X, table).shape == (1,)
    with pytest.raises(ValueError, match="not in the nuisance table"):
        make_scrubbing_scorer(["size"], step=1)(FakeModel(0.0, 0.0), X, table)


def test_parameter_validation():
    with pytest.raises(TypeError, match="list"):
        make_scrubbing_scorer("speed")
    with pytest.raises(ValueError, match="probe"):
        make_scrubbing_scorer(probe="tree")
    with pytest.raises(ValueError, match="weight"):
        make_scrubbing_scorer(weight=-1)
    with pytest.raises(ValueError, match="max_decodability"):
        make_scrubbing_scorer(max_decodability=2.0)


class ScrubbingStrength(BaseEstimator):
    """Stand-in for a sweep over ``lam``: lam=0 leaks speed, more lam costs ELBO."""

    window = 5

    def __init__(self, lam=0.0):
        self.lam = lam

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        leak = 1.0 if self.lam == 0 else 0.0
        return np.column_stack([leak * X[:, 0] + X[:, 1], X[:, 2:]])

    def score(self, X, *, nuisance):
        assert isinstance(nuisance, pd.DataFrame) and len(nuisance) == len(X)
        return -10.0 * self.lam


def test_grid_search_picks_weakest_sufficient_scrubbing(data):
    X, table = data
    search = GridSearchCV(
        ScrubbingStrength(),
        {"lam": [0.0, 1.0, 10.0]},
        scoring=make_scrubbing_scorer(["speed"], step=1),
        cv=KFold(2),
    )
    search.fit(X, table)
    assert search.best_params_ == {"lam": 1.0}


class GroupAwareStrength(ScrubbingStrength):
    """The stand-in, recording the ``groups`` that reach transform and score."""

    def transform(self, X, groups=None):
        self.transform_groups_ = groups
        return super().transform(X)

    def score(self, X, *, nuisance, groups=None):
        self.score_groups_ = groups
        return super().score(X, nuisance=nuisance)


def test_groups_reach_the_scorer_through_metadata_routing(data):
    import sklearn

    X, table = data
    groups = np.repeat(np.arange(10), 50)
    seen = []

    class Recording(GroupAwareStrength):
        def score(self, X, *, nuisance, groups=None):
            seen.append(groups)
            return super().score(X, nuisance=nuisance, groups=groups)

    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scrubbing_scorer(["speed"], step=1, cv=3).set_score_request(groups=True)
        search = GridSearchCV(Recording(), {"lam": [0.0, 1.0]}, scoring=scorer, cv=KFold(2))
        search.fit(X, table, groups=groups)
    assert len(seen) == 4  # 2 candidates x 2 folds
    assert all(g is not None and len(np.unique(g)) == 5 for g in seen)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_score_request_needs_routing_to_be_asked_for(data):
    import sklearn

    X, table = data
    groups = np.repeat(np.arange(10), 50)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scrubbing_scorer(["speed"], step=1)
        search = GridSearchCV(ScrubbingStrength(), {"lam": [0.0]}, scoring=scorer, cv=KFold(2))
        with pytest.raises(Exception, match="groups"):
            search.fit(X, table, groups=groups)


def test_one_class_fold_names_column_and_fold(data):
    X, table = data
    one_animal = table.assign(animal="a")
    scorer = make_scrubbing_scorer(["animal"], step=1)
    with pytest.raises(ValueError, match=r"'animal'.*held-out fold of 500 frames.*one class"):
        scorer(FakeModel(elbo=0.0, leak=0.0), X, one_animal)


def test_probe_folds_shrink_to_the_recordings_of_the_fold(data):
    X, table = data
    scorer = make_scrubbing_scorer(["speed"], step=1, cv=5)
    model = GroupAwareStrength().fit(X)
    three_recordings = np.repeat([0, 1, 2], [200, 150, 150])
    excess = scorer.excess_decodability(model, X, table, groups=three_recordings)
    assert excess[0] > 0.5  # lam=0 leaks speed: scored with 3 folds, not an error
    with pytest.raises(ValueError, match="holds one recording"):
        scorer.excess_decodability(model, X, table, groups=np.zeros(500))


def test_probe_fold_with_one_class_names_column_and_fold(data):
    X, table = data
    # two recordings, each of one animal: the probe's folds keep recordings
    # apart, so each trains on one class
    groups = np.repeat([0, 1], 250)
    table = table.assign(animal=np.repeat(["a", "b"], 250))
    scorer = make_scrubbing_scorer(["animal"], step=1, cv=2)
    with pytest.raises(ValueError, match=r"\['animal'\].*fold of 500 frames.*one class"):
        scorer.excess_decodability(GroupAwareStrength().fit(X), X, table, groups=groups)
