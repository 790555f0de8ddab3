"""Every public metric and constructor validates its parameters."""

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError
from conftest import assert_parameters_validated

from sklearn_scrubvae import metrics
from sklearn_scrubvae.metrics import ScrubbingScorer

Z = np.random.default_rng(0).normal(size=(8, 2))
LABELS = np.repeat([0, 1], 4)
WINDOWS = np.random.default_rng(1).normal(size=(2, 5, 18, 3))


class Decoder:
    """The methods synthesis_consistency_score needs, never called here."""

    def transform(self, X):
        raise AssertionError("parameters must be refused before any work")

    def decode_windows(self, Z, nuisance):
        raise AssertionError("parameters must be refused before any work")


SCORER = {
    "nuisance_columns": None, "probe": "auto", "weight": 1.0, "max_decodability": None,
    "cv": 5, "step": 1, "random_state": None,
}  # fmt: skip

CASES = {
    "cluster_embeddings": (metrics.cluster_embeddings, {"Z": Z, "n_clusters": 2}),
    "cluster_nuisance_spread": (
        metrics.cluster_nuisance_spread, {"labels": LABELS, "nuisance": Z[:, 0]}
    ),
    "cluster_agreement": (metrics.cluster_agreement, {"labels": LABELS, "behavior": LABELS}),
    "cluster_variance_explained": (
        metrics.cluster_variance_explained, {"labels": LABELS, "values": Z[:, 0]}
    ),
    "decodability_score": (metrics.decodability_score, {"Z": Z, "nuisance": Z[:, 0]}),
    "effect_size_d": (
        metrics.effect_size_d, {"Z": Z, "animal": LABELS, "condition": LABELS}
    ),
    "make_scrubbing_scorer": (metrics.make_scrubbing_scorer, {}),
    "measure_heading": (metrics.measure_heading, {"windows": WINDOWS, "skeleton": "mouse18"}),
    "measure_speed": (
        metrics.measure_speed, {"windows": WINDOWS, "skeleton": "mouse18", "fps": 90}
    ),
    "median_bandwidth": (metrics.median_bandwidth, {}),
    "mmd": (metrics.mmd, {"A": Z, "B": Z}),
    "session_knn_accuracy": (
        metrics.session_knn_accuracy,
        {"Z": Z, "session": LABELS, "condition": LABELS, "animal": LABELS},
    ),
    "severity_correlation": (
        metrics.severity_correlation, {"effect": [1.0, 2.0, 3.0], "severity": [1.0, 2.0, 3.0]}
    ),
    "synthesis_consistency_score": (
        metrics.synthesis_consistency_score,
        {
            "estimator": Decoder(), "X": Z,
            "nuisance": pd.DataFrame({"speed": Z[:, 0]}), "variable": "speed",
        },
    ),
}  # fmt: skip

RESULTS = {"ClusterAgreement", "ClusterSpread", "DecodabilityResult", "SessionClassification"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_functions_refuse_bad_parameters(name):
    func, required = CASES[name]
    assert_parameters_validated(func, name, required)


def test_scorer_refuses_bad_parameters():
    assert_parameters_validated(
        ScrubbingScorer.__init__, "ScrubbingScorer.__init__", SCORER, ScrubbingScorer
    )


def test_every_public_callable_is_covered():
    """Result containers are built by the metrics, not by users: not validated."""
    assert {*CASES, "ScrubbingScorer"} == set(metrics.__all__) - RESULTS


@pytest.mark.parametrize(
    "name, params, parameter",
    [
        ("cluster_embeddings", {"n_clusters": 0}, "n_clusters"),
        ("cluster_embeddings", {"method": "dbscan"}, "method"),
        ("cluster_nuisance_spread", {"kind": "range"}, "kind"),
        ("decodability_score", {"step": 0}, "step"),
        ("decodability_score", {"probe": "svm"}, "probe"),
        ("effect_size_d", {"max_samples": 1}, "max_samples"),
        ("make_scrubbing_scorer", {"weight": -1}, "weight"),
        ("make_scrubbing_scorer", {"max_decodability": 2.0}, "max_decodability"),
        ("make_scrubbing_scorer", {"nuisance_columns": "speed"}, "nuisance_columns"),
        ("measure_speed", {"fps": 0}, "fps"),
        ("mmd", {"bandwidth": -1.0}, "bandwidth"),
        ("mmd", {"block_size": 0}, "block_size"),
        ("session_knn_accuracy", {"aggregate": "median"}, "aggregate"),
        ("session_knn_accuracy", {"n_neighbors": 0}, "n_neighbors"),
        ("synthesis_consistency_score", {"step": 0}, "step"),
    ],
)
def test_values_outside_the_documented_range_are_refused(name, params, parameter):
    """The ranges the docstrings give, independent of the declared constraints."""
    func, required = CASES[name]
    with pytest.raises(InvalidParameterError, match=f"'{parameter}' parameter of {name}"):
        func(**{**required, **params})
