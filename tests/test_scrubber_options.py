"""Estimator parameters reach the scrubbers they configure; class-label columns."""

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_scrubvae import ScrubbedCVAE

TINY = dict(
    n_components=3, window=5, hidden_channels=(8,), kernel_size=3, max_iter=1,
    batch_size=64, random_state=0,
)


def _frames(n_frames=180, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_frames, 4))
    table = pd.DataFrame(
        {
            "animal": pd.Categorical(np.repeat(["a", "b", "c"], n_frames // 3)),
            "speed": rng.normal(size=n_frames),
        }
    )
    return X, table, np.repeat([0, 1, 2], n_frames // 3)


def _scrubbers(**params):
    X, table, groups = _frames()
    est = ScrubbedCVAE(**{**TINY, **params}).fit(X, table, groups=groups)
    return est, est.module_.scrubbers


@pytest.mark.parametrize("factor", [0.35, 0.8])
def test_forgetting_factor_reaches_mals_and_qd(factor):
    est, scrubbers = _scrubbers(
        scrubber={"animal": "qd", "speed": "mals"}, forgetting_factor=factor
    )
    for column in ("animal", "speed"):
        assert scrubbers[column].forgetting.values.tolist() == pytest.approx([factor])
        assert est.history_[-1][f"{column}_forgetting_factor"] == pytest.approx(factor)


@pytest.mark.parametrize("name", ["gr", "nd"])
def test_alpha_reaches_adversaries(name):
    _, scrubbers = _scrubbers(scrubber={"animal": name}, alpha=0.37)
    assert scrubbers["animal"].alpha == pytest.approx(0.37)


@pytest.mark.parametrize("order, n_features", [(1, 4), (2, 10)])
def test_poly_order_reaches_mals(order, n_features):
    _, scrubbers = _scrubbers(scrubber={"speed": "mals"}, poly_order=order)
    assert scrubbers["speed"].features.n_features == n_features  # 3 latents + intercept


def test_scrubber_params_reach_every_scrubber_and_win():
    params = {
        "qd": {"reg": 0.05},
        "mals": {"ridge": 0.2, "forgetting_factor": 0.5},
        "mi": {"bandwidth": 0.3},
        "gr": {"alpha": 2.0},
    }
    _, scrubbers = _scrubbers(
        scrubber={"animal": "qd", "speed": "mals"}, forgetting_factor=0.9,
        scrubber_params=params,
    )
    assert scrubbers["animal"].reg == pytest.approx(0.05)
    assert scrubbers["animal"].forgetting.values.tolist() == pytest.approx([0.9])
    assert scrubbers["speed"].ridge == pytest.approx(0.2)
    assert scrubbers["speed"].forgetting.values.tolist() == pytest.approx([0.5])
    _, scrubbers = _scrubbers(
        scrubber={"animal": "gr", "speed": "mi"}, alpha=0.5, scrubber_params=params
    )
    assert scrubbers["animal"].alpha == pytest.approx(2.0)
    assert scrubbers["speed"].bandwidth == pytest.approx(0.3)


@pytest.mark.parametrize("name", ["qd", "nd"])
def test_float_class_labels_are_classes(name):
    X, table, groups = _frames()
    labels = table["animal"].cat.codes.to_numpy().astype(float)  # 0.0, 1.0, 2.0
    est = ScrubbedCVAE(scrubber=name, **TINY).fit(X, labels, groups=groups)
    assert est.nuisance_encoder_.is_categorical(0)
    assert est.nuisance_encoder_.n_outputs(0) == 3
    assert est.module_.scrubbers["0"].n_outputs == 3


@pytest.mark.parametrize("name", ["qd", "nd"])
def test_non_integer_floats_rejected_for_class_scrubbers(name):
    X, table, groups = _frames()
    with pytest.raises(ValueError, match="needs a categorical nuisance column.*'speed'"):
        ScrubbedCVAE(scrubber={"speed": name}, **TINY).fit(X, table, groups=groups)


@pytest.mark.parametrize("name", ["qd", "nd"])
@pytest.mark.parametrize("labels", [np.zeros(180), np.full(180, "a", dtype=object)])
def test_single_class_rejected_for_class_scrubbers(name, labels):
    X, _, groups = _frames()
    with pytest.raises(ValueError, match="at least two classes"):
        ScrubbedCVAE(scrubber=name, **TINY).fit(X, labels, groups=groups)


def test_lam_per_column_weighs_each_penalty():
    est, _ = _scrubbers(scrubber={"animal": "qd", "speed": "mals"},
                        lam={"animal": 0.5, "speed": 7.0})
    criterion = est.net_.criterion_
    assert criterion.lam == {"animal": 0.5, "speed": 7.0}
    one = torch.ones(())
    terms = {"reconstruction": 2 * one, "kl": 3 * one, "penalty": 5 * one,
             "animal_penalty": 1 * one, "speed_penalty": 4 * one}
    expected = 2 + criterion.beta * 3 + 0.5 * 1 + 7.0 * 4
    assert float(criterion(terms)) == pytest.approx(expected)
    criterion.lam = {"animal": 0.5}
    with pytest.raises(ValueError, match="module has"):
        criterion(terms)


@pytest.mark.parametrize(
    "lam, message",
    [
        ({"animal": 1.0}, r"missing \['speed'\]"),
        ({"animal": 1.0, "speed": 1.0, "heading": 1.0}, r"\['heading'\] are not scrubbed"),
        ({"animal": -1.0, "speed": 1.0}, "non-negative"),
        ({"animal": "high", "speed": 1.0}, "non-negative"),
    ],
)
def test_lam_dict_must_weigh_exactly_the_scrubbed_columns(lam, message):
    with pytest.raises(ValueError, match=message):
        _scrubbers(scrubber={"animal": "qd", "speed": "mals"}, lam=lam)
