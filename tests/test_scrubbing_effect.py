"""Scrubbing works: positive controls on data with planted nuisance signal.

A plain VAE's latent code lets held-out probes recover the nuisance (the
positive control); the scrubbed models bring the same probes to chance.
"""

from functools import cache

import numpy as np
import pandas as pd
import pytest
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.linear_model import LinearRegression

from sklearn_scrubvae import ScrubbedCVAE

N_PER_ANIMAL = 500
SETTINGS = dict(
    n_components=4, window=9, hidden_channels=(16, 32), kernel_size=3, batch_size=128,
    learning_rate=3e-3, max_iter=20, random_state=0,
)


def make_planted(seed):
    """Frames mixing a behaviour signal, an animal offset and a speed direction."""
    rng = np.random.default_rng(seed)
    n = 3 * N_PER_ANIMAL
    phase = np.cumsum(rng.uniform(0.05, 0.3, n))
    behaviour = np.column_stack([np.sin(phase), np.cos(phase)])
    animal = np.repeat([0, 1, 2], N_PER_ANIMAL)
    speed = np.convolve(rng.normal(size=n), np.ones(25) / 5, mode="same")
    X = (
        behaviour @ rng.normal(size=(2, 6))
        + 1.5 * rng.normal(size=(3, 6))[animal]
        + speed[:, None] * rng.normal(size=6)
        + 0.1 * rng.normal(size=(n, 6))
    )
    table = pd.DataFrame({"animal": pd.Categorical(animal), "speed": speed})
    train = np.arange(n) % N_PER_ANIMAL < 0.7 * N_PER_ANIMAL
    return X, table, animal, train


@pytest.fixture(scope="module")
def planted():
    return make_planted(0)


def _embed(planted, settings=None, **params):
    X, table, animal, train = planted
    est = ScrubbedCVAE(**params, **{**SETTINGS, **(settings or {})})
    est.fit(X[train], table[train], groups=animal[train])
    return est.transform(X, groups=animal)


def _held_out_probes(Z, planted, step=5):
    """QDA accuracy of animal and linear R^2 of speed, fitted on the first 70%
    of each animal's frames and scored on the rest (every ``step``-th frame)."""
    _, table, animal, train = planted
    fit_rows, test_rows = np.flatnonzero(train)[::step], np.flatnonzero(~train)[::step]
    qda = QuadraticDiscriminantAnalysis(reg_param=1e-3).fit(Z[fit_rows], animal[fit_rows])
    linear = LinearRegression().fit(Z[fit_rows], table["speed"].to_numpy()[fit_rows])
    return (
        qda.score(Z[test_rows], animal[test_rows]),
        linear.score(Z[test_rows], table["speed"].to_numpy()[test_rows]),
    )


@pytest.fixture(scope="module")
def plain_vae_probes(planted):
    return _held_out_probes(_embed(planted, scrubber=None, conditional=False), planted)


def test_plain_vae_latents_carry_the_nuisance(plain_vae_probes):
    accuracy, r2 = plain_vae_probes
    assert accuracy > 0.9  # chance is 1/3
    assert r2 > 0.3


def test_qd_brings_identity_probe_towards_chance(planted, plain_vae_probes):
    # A gentler learning rate: with 3e-3 the held-out accuracy varied from
    # 0.36 to 0.74 over seeds 0-2; with 1e-3 and 40 epochs, 0.41-0.51 over
    # seeds 0-3 (chance 0.33, plain VAE 1.0).
    Z = _embed(
        planted, scrubber="qd", nuisance=["animal"], lam=10.0,
        settings={"learning_rate": 1e-3, "max_iter": 40},
    )
    accuracy, _ = _held_out_probes(Z, planted)
    assert accuracy < 0.55
    assert plain_vae_probes[0] - accuracy > 0.4


def test_mals_brings_linear_speed_probe_to_zero(planted, plain_vae_probes):
    _, r2 = _held_out_probes(_embed(planted, scrubber="mals", nuisance=["speed"]), planted)
    assert r2 < 0.1
    assert plain_vae_probes[1] - r2 > 0.25


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_mals_linear_speed_invariance_holds_over_seeds(seed):
    # Other data and initialisations than the seed-0 test above, with the
    # default lam; the plain VAE on the same data is the positive control.
    data = make_planted(seed)
    settings = {"random_state": seed}
    _, plain_r2 = _held_out_probes(
        _embed(data, settings, scrubber=None, conditional=False), data
    )
    _, r2 = _held_out_probes(_embed(data, settings, scrubber="mals", nuisance=["speed"]), data)
    assert r2 < 0.1
    assert plain_r2 - r2 > 0.25


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qd_identity_towards_chance_holds_over_seeds(seed):
    # 100 epochs (about 900 steps) at 3e-3: held-out QDA accuracy 0.46, 0.34
    # and 0.32 for seeds 0, 1 and 2 with two torch threads (0.34, 0.40, 0.24
    # with one), chance 0.33 with about 90 test rows; plain VAE 0.92-1.0.
    # The bound allows for that spread; pose-mode convergence to chance is
    # measured over seeds in benchmarks/bench_convergence.py.
    data = make_planted(seed)
    settings = {"random_state": seed}
    plain_accuracy, _ = _held_out_probes(
        _embed(data, settings, scrubber=None, conditional=False), data
    )
    Z = _embed(data, {**settings, "learning_rate": 3e-3, "max_iter": 100}, scrubber="qd",
               nuisance=["animal"], lam=10.0)
    accuracy, _ = _held_out_probes(Z, data)
    assert accuracy < 0.5
    assert plain_accuracy - accuracy > 0.4


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qd_on_batch_statistics_scrubs_faster_than_on_earlier_batches(seed):
    # 20 epochs (about 180 steps) at 1e-3: held-out QDA accuracy with class
    # models of the current batch (include_batch, no memory, lam 50) was
    # 0.47, 0.38 and 0.32 for seeds 0, 1 and 2, against 0.60, 0.40 and 0.43
    # with the paper's statistics of earlier batches at lam 10 (chance 0.33,
    # plain VAE 0.92-1.0). The convergence study measures the same in pose
    # mode (doc/benchmarks.md (e)).
    data = make_planted(seed)
    settings = {"random_state": seed, "learning_rate": 1e-3}
    options = dict(scrubber="qd", nuisance=["animal"])
    current = _embed(data, settings, lam=50.0, **options,
                     scrubber_params={"qd": {"include_batch": True, "forgetting_factor": 0.0}})
    earlier = _embed(data, settings, lam=10.0, **options)
    accuracy, _ = _held_out_probes(current, data)
    assert accuracy < 0.5
    assert accuracy < _held_out_probes(earlier, data)[0]


def _scrubbed_probes(seed, scrubber, nuisance, scrubber_params=None):
    """Held-out probes of an unconditional model at lam 10 scrubbing
    ``nuisance`` with ``scrubber`` and its ``scrubber_params``."""
    data = make_planted(seed)
    Z = _embed(data, {"random_state": seed}, conditional=False, nuisance=list(nuisance),
               lam=10.0, scrubber=scrubber, scrubber_params=scrubber_params)
    return _held_out_probes(Z, data)


# Several controls compare against the same model with the scrubber's defaults.
_default_probes = cache(_scrubbed_probes)


def _current_and_earlier(seed, scrubber, earlier, *, nuisance):
    """:func:`_scrubbed_probes` with the scrubber's defaults, then with the
    ``earlier`` options."""
    return (
        _default_probes(seed, scrubber, tuple(nuisance)),
        _scrubbed_probes(seed, scrubber, nuisance, {scrubber: earlier}),
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gr_keeping_its_adversary_a_good_probe_scrubs(seed):
    # Unconditional models, 20 epochs, lam 10: held-out linear R^2 of speed
    # was 0.05, -0.07 and 0.12 for seeds 0, 1 and 2 with the current "gr"
    # (20 own steps per batch on the last 8 batches, re-drawn with catch-up
    # every epoch, capped penalty) at one torch thread, -0.07, 0.34 and 0.24
    # at two; 0.84, 0.53 and 0.70 with the earlier settings (one step
    # through the reversal, re-drawn without catch-up, uncapped), and 0.85,
    # 0.69 and 0.93 without a scrubber. The previous
    # default (each batch alone, never re-drawn) gave -0.02, 0.02 and 0.27:
    # on these small data (8 batches per epoch) the recent-batch fit and
    # the catch-up are tested by their unit tests, not by this control.
    data = make_planted(seed)
    _, plain_r2 = _held_out_probes(
        _embed(data, {"random_state": seed}, scrubber=None, conditional=False), data
    )
    (_, r2), (_, earlier_r2) = _current_and_earlier(
        seed, "gr", {"n_iter": 0, "catch_up_iter": 0, "cap": False}, nuisance=["speed"]
    )
    assert r2 < earlier_r2 - 0.15
    assert plain_r2 - r2 > 0.3


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nd_critic_kept_ahead_scrubs_more(seed):
    # Unconditional models, 20 epochs, lam 10: held-out QDA accuracy of the
    # animal was 0.71, 0.36 and 0.63 for seeds 0, 1 and 2 with the current
    # "nd" (critics of two hidden layers of 128, 20 steps at 1e-2 on the
    # last 8 batches), 1.00, 0.63 and 0.94 with the earlier default (one
    # layer of 64, one step at 1e-3 on the current batch), 0.92, 0.70 and
    # 0.66 with one layer of 64 and 20 steps at 1e-2 on the current batch
    # alone (chance 0.33).
    (accuracy, _), (earlier_accuracy, _) = _current_and_earlier(
        seed, "nd",
        {"hidden": (64,), "n_iter": 1, "learning_rate": 1e-3, "replay_batches": 1},
        nuisance=["animal"],
    )
    assert accuracy < earlier_accuracy - 0.1


@pytest.mark.slow
def test_nd_deeper_critic_scrubs_more():
    # As above, seeds 0, 1 and 2: QDA accuracy 0.71, 0.36 and 0.63 with the
    # current critics (two hidden layers of 128) against 0.81, 0.47 and 0.77
    # with one layer of 64 at one torch thread; 0.78, 0.47 and 0.54 against
    # 0.81, 0.52 and 0.72 at two. Lower on every seed, by 0.09-0.12 on
    # average; one seed's gap alone is within the run-to-run spread.
    gaps = []
    for seed in (0, 1, 2):
        (accuracy, _), (one_layer_accuracy, _) = _current_and_earlier(
            seed, "nd", {"hidden": (64,)}, nuisance=["animal"]
        )
        gaps.append(one_layer_accuracy - accuracy)
    assert min(gaps) > 0
    assert np.mean(gaps) > 0.05


def _scrub_one_of_two(data, settings, weighted):
    """Held-out probes of an unconditional model scrubbing animal ("qd") and
    speed ("mals") with weight 10 on ``weighted`` and 0 on the other."""
    lam = {"animal": 0.0, "speed": 0.0, weighted: 10.0}
    Z = _embed(data, settings, scrubber={"animal": "qd", "speed": "mals"}, conditional=False,
               nuisance=["animal", "speed"], lam=lam)
    return _held_out_probes(Z, data)


@pytest.mark.parametrize(
    "seed", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)]
)
def test_lam_per_column_scrubs_only_the_weighted_column(seed):
    # Seeds 0, 1, 2: speed weighted, QDA accuracy 1.0 / 0.9 / 0.9 and speed
    # R^2 0.01 / -0.07 / 0.04; animal weighted, 0.51 / 0.29 / 0.50 and 0.56
    # / 0.60 / 0.88 (chance 0.33). One weight for both would scrub both or
    # neither.
    data = make_planted(seed)
    settings = {"random_state": seed}
    accuracy, r2 = _scrub_one_of_two(data, settings, "speed")
    assert r2 < 0.1
    assert accuracy > 0.85
    accuracy, r2 = _scrub_one_of_two(data, settings, "animal")
    assert accuracy < 0.6
    assert r2 > 0.4
