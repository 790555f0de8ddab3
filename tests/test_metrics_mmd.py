import tracemalloc

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist, pdist
from scipy.stats import spearmanr

from sklearn_scrubvae.metrics import effect_size_d, median_bandwidth, mmd


def dense_unbiased_mmd2(A, B, h):
    """Reference: full kernel matrices."""
    kaa = np.exp(-cdist(A, A, "sqeuclidean") / (2 * h**2))
    kbb = np.exp(-cdist(B, B, "sqeuclidean") / (2 * h**2))
    kab = np.exp(-cdist(A, B, "sqeuclidean") / (2 * h**2))
    n, m = len(A), len(B)
    return (
        (kaa.sum() - np.trace(kaa)) / (n * (n - 1))
        + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
        - 2 * kab.mean()
    )


def gaussian_mmd2(delta, s, h, d):
    """Closed form MMD^2 of N(mu1, s^2 I) vs N(mu2, s^2 I), |mu1 - mu2| = delta."""
    scale = (h**2 / (h**2 + 2 * s**2)) ** (d / 2)
    return 2 * scale * (1 - np.exp(-(delta**2) / (2 * (h**2 + 2 * s**2))))


@pytest.mark.parametrize("block_size", [1, 7, 16, 1024])
def test_blocked_equals_dense(block_size):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 3))
    B = rng.normal(size=(37, 3)) + 0.5
    expected = dense_unbiased_mmd2(A, B, 1.3)
    assert mmd(A, B, bandwidth=1.3, block_size=block_size) == pytest.approx(expected, rel=1e-10)


def test_identical_samples_give_zero():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(400, 4))
    B = rng.normal(size=(400, 4))
    assert abs(mmd(A, B, random_state=0)) < 0.01
    # Same sample twice: only the diagonal terms differ, |MMD^2| <= 2 / n.
    assert abs(mmd(A, A, random_state=0)) <= 2 / len(A)


def test_shifted_gaussians_match_closed_form():
    rng = np.random.default_rng(2)
    d, s, h = 3, 1.0, 2.0
    shift = np.array([1.5, 0.0, 0.0])
    A = rng.normal(scale=s, size=(3000, d))
    B = rng.normal(scale=s, size=(3000, d)) + shift
    expected = gaussian_mmd2(1.5, s, h, d)
    assert expected == pytest.approx(0.186, abs=1e-3)
    assert mmd(A, B, bandwidth=h) == pytest.approx(expected, abs=0.015)


def test_linear_time_estimate_is_unbiased_but_noisier():
    rng = np.random.default_rng(3)
    d, h = 2, 1.5
    A = rng.normal(size=(100_000, d))
    B = rng.normal(size=(80_000, d)) + [1.0, 0.0]
    expected = gaussian_mmd2(1.0, 1.0, h, d)
    assert mmd(A, B, bandwidth=h, method="linear", random_state=0) == pytest.approx(
        expected, abs=0.02
    )


def test_exact_memory_does_not_grow_with_n_squared():
    rng = np.random.default_rng(4)
    n = 5000
    A = rng.normal(size=(n, 4))
    B = rng.normal(size=(n, 4))
    tracemalloc.start()
    mmd(A, B, bandwidth=1.0, block_size=1024)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    dense_kernel_bytes = 8 * n * n  # 200 MB
    assert peak < dense_kernel_bytes / 6


def test_median_bandwidth():
    rng = np.random.default_rng(5)
    A, B = rng.normal(size=(30, 2)), rng.normal(size=(20, 2))
    assert median_bandwidth(A, B) == pytest.approx(np.median(pdist(np.vstack([A, B]))))
    big = rng.normal(size=(5000, 2))
    estimate = median_bandwidth(big, max_samples=1000, random_state=0)
    assert estimate == median_bandwidth(big, max_samples=1000, random_state=0)
    # Two standard normal points in 2-D: |x - y| / sqrt(2) is Rayleigh(1),
    # whose median is sqrt(2 ln 2), so the median distance is 2 sqrt(ln 2).
    assert estimate == pytest.approx(2 * np.sqrt(np.log(2)), rel=0.05)
    with pytest.raises(ValueError, match="positive number"):
        median_bandwidth(np.zeros((5, 2)))


def test_mmd_bad_inputs():
    A = np.zeros((5, 2))
    with pytest.raises(ValueError, match="same number of features"):
        mmd(A, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="bandwidth"):
        mmd(A, A, bandwidth=-1.0)
    with pytest.raises(ValueError, match="method"):
        mmd(A, A, bandwidth=1.0, method="fast")
    with pytest.raises(ValueError, match="block_size"):
        mmd(A, A, bandwidth=1.0, block_size=0)


def _lesion_data(shifts, n=120, seed=6):
    rng = np.random.default_rng(seed)
    Z, animal, condition = [], [], []
    for k, (name, shift) in enumerate(shifts.items()):
        offset = 0.15 * rng.normal(size=3)  # animals differ a little when healthy
        for state, lesion in [("healthy", 0.0), ("lesioned", shift)]:
            Z.append(rng.normal(size=(n, 3)) + offset + [lesion, 0.0, 0.0])
            animal += [name] * n
            condition += [state] * n
    return np.vstack(Z), np.array(animal), np.array(condition)


def test_effect_size_ranks_planted_shifts():
    shifts = {"m1": 1.0, "m2": 0.0, "m3": 2.0, "m4": 0.5}
    Z, animal, condition = _lesion_data(shifts)
    d = effect_size_d(Z, animal, condition, random_state=0)
    assert list(d.index) == list(shifts)
    assert d.name == "d"
    assert spearmanr(d, list(shifts.values())).statistic == pytest.approx(1.0)


def test_effect_size_matches_independent_computation():
    shifts = {"a": 1.0, "b": 0.2, "c": 0.0}
    Z, animal, condition = _lesion_data(shifts, n=80)
    d = effect_size_d(Z, animal, condition, max_samples=1000)
    h = np.median(pdist(Z))
    healthy = {a: Z[(animal == a) & (condition == "healthy")] for a in shifts}
    lesioned = {a: Z[(animal == a) & (condition == "lesioned")] for a in shifts}
    for a in shifts:
        between = [mmd(healthy[a], healthy[b], bandwidth=h) for b in shifts if b != a]
        expected = mmd(healthy[a], lesioned[a], bandwidth=h) / np.mean(between)
        assert d[a] == pytest.approx(expected, rel=1e-8)


def test_effect_size_missing_sessions_and_nan_rows():
    Z, animal, condition = _lesion_data({"a": 1.0, "b": 0.0, "c": 0.5}, n=40)
    keep = ~((animal == "c") & (condition == "lesioned"))
    Z, animal, condition = Z[keep], animal[keep], condition[keep]
    Z[0] = np.nan
    d = effect_size_d(Z, pd.Series(animal), condition, random_state=0)
    assert np.isnan(d["c"]) and np.isfinite(d[["a", "b"]]).all()

    only_one = animal == "a"
    with pytest.raises(ValueError, match="at least two animals"):
        effect_size_d(Z[only_one], animal[only_one], condition[only_one])
    with pytest.raises(ValueError, match="healthy frames"):
        effect_size_d(Z, animal, condition, healthy="pre")
