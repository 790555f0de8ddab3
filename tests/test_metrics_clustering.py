import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from sklearn_scrubvae.metrics import (
    cluster_agreement,
    cluster_embeddings,
    cluster_nuisance_spread,
    cluster_variance_explained,
)


@pytest.mark.parametrize("method", ["gmm", "kmeans"])
def test_cluster_embeddings_recovers_blobs_and_skips_nan(method):
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 60)
    Z = rng.normal(scale=0.3, size=(180, 2)) + np.array([[0, 0], [5, 0], [0, 5]])[truth]
    Z[[3, 70]] = np.nan
    labels = cluster_embeddings(Z, 3, method=method, random_state=0)
    assert labels[3] == -1 and labels[70] == -1
    valid = labels != -1
    assert adjusted_rand_score(truth[valid], labels[valid]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="method"):
        cluster_embeddings(Z, 3, method="dbscan")


def test_circular_variance_hand_computed():
    labels = np.array([0, 0, 1, 1, 1, 1])
    angles = np.array([0.0, np.pi / 2, 0.0, np.pi / 2, np.pi, -np.pi / 2])
    spread = cluster_nuisance_spread(labels, angles, kind="circular")
    # Cluster 0: mean resultant of (1,0) and (0,1) has length sqrt(2)/2.
    assert spread.per_cluster[0] == pytest.approx(1 - np.sqrt(2) / 2)
    # Cluster 1: four opposite directions cancel.
    assert spread.per_cluster[1] == pytest.approx(1.0)
    assert list(spread.sizes) == [2, 4]
    assert spread.weighted_mean == pytest.approx((2 * (1 - np.sqrt(2) / 2) + 4) / 6)
    # All six: resultant (1, 1) / 6.
    assert spread.overall == pytest.approx(1 - np.sqrt(2) / 6)


def test_circular_variance_concentrated_vs_uniform_and_sin_cos_input():
    rng = np.random.default_rng(1)
    n = 4000
    labels = np.repeat([0, 1], n // 2)
    angles = np.concatenate(
        [rng.vonmises(1.0, 200.0, size=n // 2), rng.uniform(-np.pi, np.pi, size=n // 2)]
    )
    spread = cluster_nuisance_spread(labels, angles)
    assert spread.per_cluster[0] < 0.01
    assert spread.per_cluster[1] > 0.95
    # Named (sin, cos) columns in any order, unnormalised, give the same.
    table = pd.DataFrame({"heading_cos": 2 * np.cos(angles), "heading_sin": 2 * np.sin(angles)})
    same = cluster_nuisance_spread(labels, table)
    pd.testing.assert_series_equal(same.per_cluster, spread.per_cluster)
    assert same.overall == pytest.approx(spread.overall)


def test_variance_spread_hand_computed_and_unassigned_frames():
    labels = np.array([0, 0, 1, 1, -1])
    speed = np.array([1.0, 3.0, 5.0, 9.0, 100.0])
    spread = cluster_nuisance_spread(labels, speed, kind="variance")
    assert list(spread.per_cluster) == [1.0, 4.0]
    assert spread.weighted_mean == 2.5
    assert spread.overall == 8.75
    assert spread.ratio == pytest.approx(2.5 / 8.75)


def test_spread_errors():
    with pytest.raises(ValueError, match="kind"):
        cluster_nuisance_spread([0, 1], [0.0, 1.0], kind="range")
    with pytest.raises(ValueError, match="sin, cos"):
        cluster_nuisance_spread([0, 1], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="rows"):
        cluster_nuisance_spread([0, 1, 1], [0.0, 1.0])


def test_cluster_agreement():
    behavior = np.array(["walk", "walk", "rear", "rear", "groom", "groom"])
    labels = np.array([2, 2, 0, 0, 1, 1])
    agreement = cluster_agreement(labels, behavior)
    assert agreement.adjusted_rand == pytest.approx(1.0)
    assert agreement.normalized_mutual_info == pytest.approx(1.0)
    # An unassigned frame is ignored rather than counted as a cluster.
    labels[0] = -1
    assert cluster_agreement(labels, behavior).adjusted_rand == pytest.approx(1.0)
    merged = cluster_agreement(np.zeros(6, dtype=int), behavior)
    assert merged.adjusted_rand == pytest.approx(0.0)
    assert merged.normalized_mutual_info == pytest.approx(0.0)


def test_variance_explained_hand_computed_within_behaviour():
    labels = np.array([0, 0, 1, 1, 0, 1])
    speed = np.array([1.0, 3.0, 5.0, 9.0, 0.0, 50.0])
    behavior = np.array(["walk"] * 4 + ["rear"] * 2)
    # Walking frames: SS_total = 35, SS_within = 2 + 8.
    eta2 = cluster_variance_explained(labels, speed, behavior=behavior, target="walk")
    assert eta2 == pytest.approx(25 / 35)
    # Two columns are averaged; a column constant within clusters gives 1.
    two = np.column_stack([speed, labels.astype(float)])
    assert cluster_variance_explained(
        labels, two, behavior=behavior, target="walk"
    ) == pytest.approx((25 / 35 + 1) / 2)
    with pytest.raises(ValueError, match="target"):
        cluster_variance_explained(labels, speed, behavior=behavior)


def test_variance_explained_speed_split_vs_not():
    rng = np.random.default_rng(2)
    speed = rng.uniform(0, 10, size=1000)
    split = (speed > 5).astype(int)
    mixed = rng.integers(0, 2, size=1000)
    assert cluster_variance_explained(split, speed) > 0.7
    assert cluster_variance_explained(mixed, speed) < 0.01
