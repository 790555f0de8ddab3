import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.linear_model import LinearRegression

from sklearn_scrubvae.scrubbers import (
    CATEGORICAL_ONLY,
    SCRUBBERS,
    BaseScrubber,
    ForgettingFactors,
    GradientReversalScrubber,
    KernelMutualInformationScrubber,
    MovingAverageLeastSquaresScrubber,
    NeuralDiscriminatorScrubber,
    QuadraticDiscriminantScrubber,
    make_scrubber,
    reverse_gradient,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# (name, categorical) pairs every scrubber supports.
CONFIGS = [
    (name, categorical)
    for name in SCRUBBERS
    for categorical in (True, False)
    if categorical or name not in CATEGORICAL_ONLY
]


@pytest.fixture(autouse=True)
def _single_thread():
    """Tiny tensors run fastest, and share the CPU best, on one thread."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


def _generator(seed=0):
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def _batch(batch_size, n_components, n_outputs, categorical, seed=0, device="cpu"):
    generator = _generator(seed)
    mu = torch.randn(batch_size, n_components, generator=generator)
    if categorical:
        v = torch.randint(n_outputs, (batch_size,), generator=generator)
    else:
        v = torch.randn(batch_size, n_outputs, generator=generator)
    return mu.to(device), v.to(device)


def _with_intercept(mu):
    """Linear design matrix with an intercept column, numpy."""
    return np.hstack([mu, np.ones((len(mu), 1))])


def _tensor(array):
    return torch.tensor(array, dtype=torch.float32)


# ---------------------------------------------------------------- registry


def test_registry_names():
    assert set(SCRUBBERS) == {"gr", "nd", "mals", "qd", "mi"}
    assert CATEGORICAL_ONLY == {"qd", "nd"}
    for scrubber in SCRUBBERS.values():
        assert issubclass(scrubber, BaseScrubber)


@pytest.mark.parametrize("name, categorical", CONFIGS)
def test_every_name_constructs(name, categorical):
    scrubber = make_scrubber(
        name, 4, 3, categorical=categorical, generator=_generator()
    )
    assert isinstance(scrubber, SCRUBBERS[name])
    assert isinstance(scrubber, torch.nn.Module)
    assert scrubber.n_components == 4 and scrubber.n_outputs == 3


def test_unknown_name_raises():
    with pytest.raises(ValueError, match="Unknown scrubber 'lda'"):
        make_scrubber("lda", 4, 2, categorical=True)


@pytest.mark.parametrize("name", sorted(CATEGORICAL_ONLY))
def test_categorical_only_misuse_raises(name):
    with pytest.raises(ValueError, match="needs a categorical nuisance variable"):
        make_scrubber(name, 4, 2, categorical=False)


@pytest.mark.parametrize(
    "name, options, error",
    [
        ("mals", {"poly_order": 4}, ValueError),
        ("mals", {"poly_order": 1.5}, TypeError),
        ("mals", {"ridge": 0.0}, ValueError),
        ("mals", {"monomials": "cross"}, ValueError),
        ("mals", {"forgetting_factor": 1.5}, ValueError),
        ("mals", {"forgetting_factor": "fixed"}, ValueError),
        ("mals", {"forgetting_init": 0.95}, ValueError),
        ("qd", {"reg": -1.0}, ValueError),
        ("gr", {"alpha": -1.0}, ValueError),
        ("gr", {"hidden": (8, 0)}, ValueError),
        ("nd", {"n_ensemble": 0}, ValueError),
        ("mi", {"bandwidth": 0.0}, ValueError),
        ("mi", {"kernel": "gaussian"}, TypeError),
    ],
)
def test_bad_options_raise(name, options, error):
    with pytest.raises(error):
        make_scrubber(name, 4, 2, categorical=True, **options)


@pytest.mark.parametrize("name, categorical", CONFIGS)
def test_bad_batches_raise(name, categorical):
    scrubber = make_scrubber(name, 4, 3, categorical=categorical)
    mu, v = _batch(5, 4, 3, categorical)
    with pytest.raises(ValueError, match="mu must have shape"):
        scrubber.penalty(mu[:, :3], v)
    with pytest.raises(ValueError, match="must match"):
        scrubber.penalty(mu[:4], v)
    if categorical:
        with pytest.raises(ValueError, match="Class indices"):
            scrubber.penalty(mu, torch.full((5,), 3))
        with pytest.raises(TypeError, match="integer tensor"):
            scrubber.penalty(mu, v.float())
        with pytest.raises(ValueError, match="categorical v must have shape"):
            scrubber.penalty(mu, v[:, None])
    else:
        with pytest.raises(ValueError, match="continuous v must have shape"):
            scrubber.penalty(mu, v[:, 0])


# ---------------------------------------------------- robustness, no NaN


def _finite_step(scrubber, mu, v):
    """Penalty and its gradient are finite; update and summary work."""
    mu = mu.clone().requires_grad_(True)
    penalty = scrubber.penalty(mu, v)
    assert penalty.shape == ()
    assert torch.isfinite(penalty)
    penalty.backward()
    assert torch.isfinite(mu.grad).all()
    scrubber.update(mu.detach(), v)
    summary = scrubber.summary()
    assert all(isinstance(value, float) for value in summary.values())
    return penalty.detach()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name, categorical", CONFIGS)
def test_no_nan_on_awkward_batches(name, categorical, device):
    scrubber = make_scrubber(name, 3, 2, categorical=categorical).to(device)
    scrubber.reset()
    mu, v = _batch(8, 3, 2, categorical, device=device)
    single_mu, single_v = mu[:1], v[:1]
    one_class_v = torch.zeros_like(v) if categorical else v
    for batch_mu, batch_v in [
        (single_mu, single_v),  # B = 1, before any statistics
        (mu, one_class_v),  # a single class
        (single_mu, single_v),
        (mu, v),
        (mu, one_class_v),
        (single_mu, single_v),
    ]:
        _finite_step(scrubber, batch_mu, batch_v)


@pytest.mark.parametrize("name", ["mals", "qd", "mi"])
def test_statistical_penalties_are_zero_before_first_update(name):
    scrubber = make_scrubber(name, 3, 2, categorical=True)
    mu, v = _batch(16, 3, 2, True)
    mu.requires_grad_(True)
    penalty = scrubber.penalty(mu, v)
    penalty.backward()
    assert penalty.item() == 0.0
    assert torch.count_nonzero(mu.grad) == 0


def test_qd_single_class_batch_gives_zero():
    scrubber = QuadraticDiscriminantScrubber(2, 2, categorical=True)
    mu, v = _batch(32, 2, 2, True)
    scrubber.update(mu, v)
    assert scrubber.penalty(mu, torch.zeros_like(v)).item() == 0.0


def _trained(name, categorical, seed=0):
    scrubber = make_scrubber(
        name, 3, 2, categorical=categorical, generator=_generator()
    )
    for step in range(3):
        scrubber.update(*_batch(16 + step, 3, 2, categorical, seed=seed + step))
    return scrubber


@pytest.mark.parametrize("name, categorical", CONFIGS)
def test_pickle_round_trip_keeps_state(name, categorical):
    scrubber = _trained(name, categorical)
    copy = pickle.loads(pickle.dumps(scrubber))
    mu, v = _batch(10, 3, 2, categorical, seed=9)
    assert scrubber.summary() == copy.summary()
    torch.testing.assert_close(scrubber.penalty(mu, v), copy.penalty(mu, v))
    copy.update(mu, v)  # still usable, private optimiser included


@pytest.mark.parametrize(
    "name, categorical", [c for c in CONFIGS if c[0] != "nd"]  # nd shuffles
)
def test_state_dict_round_trip(name, categorical):
    scrubber = _trained(name, categorical)
    fresh = make_scrubber(name, 3, 2, categorical=categorical)
    fresh.load_state_dict(scrubber.state_dict())
    mu, v = _batch(10, 3, 2, categorical, seed=9)
    scrubber.reset()  # the batches kept for GR's end-of-epoch check are not state
    assert scrubber.summary() == fresh.summary()
    torch.testing.assert_close(scrubber.penalty(mu, v), fresh.penalty(mu, v))


# ------------------------------------------------------- gradient reversal


def test_reverse_gradient_scales_and_flips():
    x = torch.randn(5, 3, requires_grad=True)
    y = reverse_gradient(x, alpha=2.5)
    assert torch.equal(y, x)
    weights = torch.randn(5, 3)
    (y * weights).sum().backward()
    torch.testing.assert_close(x.grad, -2.5 * weights)


@pytest.mark.parametrize("categorical", [True, False])
def test_gr_gradient_to_mu_is_reversed(categorical):
    alpha = 2.5
    scrubber = GradientReversalScrubber(
        4, 3, categorical=categorical, generator=_generator(), alpha=alpha, cap=False
    )
    mu, v = _batch(16, 4, 3, categorical)
    mu_reversed = mu.clone().requires_grad_(True)
    scrubber.penalty(mu_reversed, v).backward()
    adversary_grads = [p.grad.clone() for p in scrubber.parameters()]

    # Same loss computed without the reversal layer.
    scrubber.zero_grad()
    mu_plain = mu.clone().requires_grad_(True)
    predictions = scrubber.adversary(mu_plain)
    if categorical:
        loss = torch.nn.functional.cross_entropy(
            predictions.reshape(-1, 3), v.repeat(predictions.shape[0])
        )
    else:
        loss = torch.nn.functional.mse_loss(predictions, v.expand_as(predictions))
    loss.backward()

    assert mu_plain.grad.abs().sum() > 0
    torch.testing.assert_close(mu_reversed.grad, -alpha * mu_plain.grad)
    # The adversary itself is not reversed: it descends its own loss.
    for reversed_grad, param in zip(adversary_grads, scrubber.parameters()):
        torch.testing.assert_close(reversed_grad, param.grad)


def test_nd_gradient_to_mu_is_reversed():
    alpha = 0.5
    scrubber = NeuralDiscriminatorScrubber(
        4, 3, categorical=True, generator=_generator(), alpha=alpha
    )
    mu, v = _batch(16, 4, 3, True)
    state = scrubber.generator.get_state()
    mu_reversed = mu.clone().requires_grad_(True)
    scrubber.penalty(mu_reversed, v).backward()

    scrubber.generator.set_state(state)  # same shuffle
    mu_plain = mu.clone().requires_grad_(True)
    scrubber._critic_loss(mu_plain, v).backward()

    assert mu_plain.grad.abs().sum() > 0
    torch.testing.assert_close(mu_reversed.grad, -alpha * mu_plain.grad)


def _planted_batch(categorical, seed=0):
    """v is a clear function of mu."""
    generator = _generator(seed)
    mu = torch.randn(64, 3, generator=generator)
    if categorical:
        v = (mu[:, 0] > 0).long() + (mu[:, 1] > 0).long()
    else:
        v = torch.stack([mu[:, 0] * mu[:, 1], mu[:, 2]], dim=1)
    return mu, v


@pytest.mark.parametrize(
    "name, categorical", [("gr", True), ("gr", False), ("nd", True)]
)
def test_adversary_learns_when_its_parameters_are_stepped(name, categorical):
    mu, v = _planted_batch(categorical)
    # GR's capped loss gives an untrained adversary no gradient; its own
    # steps in update() train it then (tested below).
    options = {"cap": False} if name == "gr" else {}
    scrubber = make_scrubber(
        name, 3, 3 if categorical else 2, categorical=categorical,
        generator=_generator(1), **options,
    )
    optimizer = torch.optim.Adam(scrubber.parameters(), lr=1e-2)
    mu = mu.requires_grad_(True)  # gradients to mu are computed but unused
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = scrubber.penalty(mu, v)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_nd_update_trains_its_critic_alone():
    mu, v = _planted_batch(True)
    scrubber = NeuralDiscriminatorScrubber(
        3, 3, categorical=True, generator=_generator(1), n_iter=40,
        learning_rate=1e-2,
    )
    with torch.no_grad():
        before = scrubber.penalty(mu, v).item()
        scrubber.update(mu, v)  # enables gradients for its own critic steps
        after = scrubber.penalty(mu, v).item()
    assert before == pytest.approx(math.log(2.0), abs=0.1)
    assert after < before - 0.1
    assert all(param.grad is None for param in scrubber.parameters())


def test_gr_reset_reinitialises_from_the_generator_only_when_asked():
    first, second = (
        GradientReversalScrubber(3, 2, categorical=True, generator=_generator(7),
                                 reinitialize=True)
        for _ in range(2)
    )
    kept = GradientReversalScrubber(3, 2, categorical=True, generator=_generator(7),
                                    reinitialize=False)
    initial = [p.clone() for p in first.parameters()]
    for a, b, c in zip(first.parameters(), second.parameters(), kept.parameters()):
        assert torch.equal(a, b) and torch.equal(a, c)
    for scrubber in (first, second, kept):
        scrubber.reset()
    for a, b, c, d in zip(first.parameters(), second.parameters(), initial,
                          kept.parameters()):
        assert torch.equal(a, b)
        assert not torch.equal(a, c)
        assert torch.equal(c, d)


@pytest.mark.parametrize("categorical", [True, False])
def test_gr_reinitialised_adversary_catches_up_on_the_recent_batches(categorical):
    """Fresh weights fitted to the last batches predict them; without the
    catch-up steps they are as bad as at the start."""
    losses = {}
    for catch_up_iter in (0, 300):
        scrubber = GradientReversalScrubber(3, 3 if categorical else 2, categorical=categorical,
                                            generator=_generator(2), n_iter=0,
                                            catch_up_iter=catch_up_iter)
        batches = [_planted_batch(categorical, seed=seed) for seed in range(4)]
        with torch.no_grad():
            untrained = np.mean([scrubber._loss(scrubber.adversary(mu), v).item()
                                 for mu, v in batches])
            for mu, v in batches:
                scrubber.update(mu, v)
            scrubber.reset()
            losses[catch_up_iter] = np.mean([scrubber._loss(scrubber.adversary(mu), v).item()
                                             for mu, v in batches])
    assert losses[0] > 0.7 * untrained
    assert losses[300] < 0.3 * untrained


@pytest.mark.parametrize("categorical", [True, False])
def test_gr_penalty_is_capped_at_the_best_constant_prediction(categorical):
    """Codes pushed far from where the adversary was fitted make it err far
    beyond predicting the mean; the capped penalty then stays at that
    ceiling and gives the encoder no gradient."""
    mu, v = _planted_batch(categorical)
    mu = 100.0 * mu.requires_grad_(True)
    capped, uncapped = (
        GradientReversalScrubber(3, 3 if categorical else 2, categorical=categorical,
                                 generator=_generator(1), cap=cap)
        for cap in (True, False)
    )
    ceiling = capped._ceiling(v)
    penalty = capped.penalty(mu, v)
    assert uncapped.penalty(mu, v) > 2.0 * ceiling.mean()
    torch.testing.assert_close(penalty, ceiling.mean())
    (gradient,) = torch.autograd.grad(penalty, mu)
    assert gradient.abs().max() == 0


def test_gr_update_trains_its_adversary_alone():
    mu, v = _planted_batch(False)
    scrubber = GradientReversalScrubber(3, 2, categorical=False, generator=_generator(1),
                                        n_iter=40, learning_rate=1e-2)
    idle = GradientReversalScrubber(3, 2, categorical=False, generator=_generator(1),
                                    n_iter=0)
    with torch.no_grad():
        before = scrubber.penalty(mu, v).item()
        scrubber.update(mu, v)
        idle.update(mu, v)
        after = scrubber.penalty(mu, v).item()
    assert after < before - 0.1
    assert idle.penalty(mu, v).item() == pytest.approx(before)
    assert all(param.grad is None for param in scrubber.parameters())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gr_adversary_fitted_to_recent_batches_generalises_to_the_next(seed):
    """Held-out adversary / fresh probe loss on noisy batches of 64: 1.05-1.11
    fitting each batch alone (it overfits the batch), 0.83-0.88 fitting the
    last 8 together."""

    def batch(index):
        mu, v = _planted_batch(False, seed=100 * seed + index)
        return mu, v + 0.3 * torch.randn(v.shape, generator=_generator(1000 * seed + index))

    ratios = {}
    for replay_batches in (1, 8):
        scrubber = GradientReversalScrubber(3, 2, categorical=False, generator=_generator(seed),
                                            n_iter=20, replay_batches=replay_batches)
        for index in range(32):
            scrubber.update(*batch(index))
        summary = scrubber.summary()
        ratios[replay_batches] = summary["adversary_loss"] / summary["probe_loss"]
    assert ratios[8] < 0.95 < ratios[1]


def test_gr_summary_scores_the_adversary_on_each_batch_before_its_steps():
    scrubber = GradientReversalScrubber(3, 2, categorical=False, generator=_generator(3),
                                        n_iter=30, probe_batches=4)
    before = []
    for seed in range(6):
        mu, v = _planted_batch(False, seed=seed)
        with torch.no_grad():
            before.append(scrubber._loss(scrubber.adversary(mu), v).item())
        scrubber.update(mu, v)
    assert scrubber.summary()["adversary_loss"] == pytest.approx(np.mean(before[-4:]))
    with torch.no_grad():
        after = np.mean([scrubber._loss(scrubber.adversary(mu), v).item()
                         for mu, v in (_planted_batch(False, seed=seed) for seed in range(2, 6))])
    assert after < 0.9 * np.mean(before[-4:])  # fitted to them since: lower


@pytest.mark.parametrize("n_iter", [0, 50])
def test_gr_summary_tells_a_fooled_adversary_from_a_good_one(n_iter):
    """The fresh probe learns v from the kept (last 8) batches; an adversary
    that is never stepped stays far above it, one stepped on the batches
    before comes close on each batch it has not yet been stepped on."""
    scrubber = GradientReversalScrubber(3, 2, categorical=False, generator=_generator(1),
                                        n_iter=n_iter, learning_rate=1e-2)
    for seed in range(16):
        mu, v = _planted_batch(False, seed=seed)
        scrubber.update(mu, v)
    summary = scrubber.summary()
    assert summary["probe_loss"] < 0.5 * v.var(dim=0).mean()
    ratio = summary["adversary_loss"] / summary["probe_loss"]
    assert (ratio > 2.0) if n_iter == 0 else (ratio < 1.5)
    scrubber.reset()
    assert scrubber.summary() == {}


@pytest.mark.parametrize("size", [0, 1, 3])
def test_recent_batches_keep_the_newest(size):
    from sklearn_scrubvae.scrubbers._ensemble import RecentBatches

    recent = RecentBatches(size)
    for index in range(5):
        recent.add(torch.full((2,), float(index)), torch.tensor([index]))
    assert [int(v) for _, v in recent.batches] == list(range(5))[5 - size :]
    if size:
        assert recent.concatenated()[0].tolist() == [float(i) for i in range(5 - size, 5)
                                                     for _ in range(2)]
    recent.clear()
    assert recent.batches == []


def test_gr_without_probe_batches_skips_the_check():
    scrubber = GradientReversalScrubber(3, 2, categorical=False, generator=_generator(1),
                                        probe_batches=0)
    for seed in range(4):
        scrubber.update(*_planted_batch(False, seed=seed))
    assert scrubber.summary() == {}


# -------------------------------------------------------------------- MALS


def test_mals_matches_weighted_ridge_lstsq():
    n_batches, factor, ridge = 4, 0.7, 1e-2
    rng = np.random.default_rng(0)
    coef_true = rng.normal(size=(3, 2))
    scrubber = MovingAverageLeastSquaresScrubber(
        3, 2, categorical=False, forgetting_factor=factor, ridge=ridge
    )
    mus, vs = [], []
    for _ in range(n_batches):
        mu = rng.normal(size=(32, 3))
        v = mu @ coef_true + 0.3 * rng.normal(size=(32, 2))
        scrubber.update(_tensor(mu), _tensor(v))
        mus.append(mu)
        vs.append(v)

    # Batch t weighs factor ** (T - 1 - t); the ridge is a block of extra rows.
    weights = np.concatenate(
        [np.full(32, factor ** (n_batches - 1 - t)) for t in range(n_batches)]
    )
    design = _with_intercept(np.concatenate(mus)) * np.sqrt(weights)[:, None]
    target = np.concatenate(vs) * np.sqrt(weights)[:, None]
    design = np.vstack([design, np.sqrt(ridge) * np.eye(4)])
    target = np.vstack([target, np.zeros((4, 2))])
    expected, *_ = np.linalg.lstsq(design, target, rcond=None)
    np.testing.assert_allclose(scrubber.coef[0], expected, rtol=1e-4, atol=1e-5)

    mu = rng.normal(size=(16, 3))
    v = mu @ coef_true + 0.3 * rng.normal(size=(16, 2))
    expected_penalty = -np.mean((_with_intercept(mu) @ expected - v) ** 2)
    penalty = scrubber.penalty(_tensor(mu), _tensor(v))
    assert penalty.item() == pytest.approx(expected_penalty, rel=1e-4)


def test_mals_categorical_targets_are_one_hot():
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(40, 2))
    v = rng.integers(3, size=40)
    scrubber = MovingAverageLeastSquaresScrubber(
        2, 3, categorical=True, forgetting_factor=0.5, ridge=1e-6
    )
    scrubber.update(_tensor(mu), torch.tensor(v))
    expected, *_ = np.linalg.lstsq(_with_intercept(mu), np.eye(3)[v], rcond=None)
    np.testing.assert_allclose(scrubber.coef[0].numpy(), expected, atol=1e-4)


def test_mals_penalty_scores_with_earlier_batches_only():
    scrubber = MovingAverageLeastSquaresScrubber(2, 1, categorical=False)
    mu, v = _batch(32, 2, 1, False)
    scrubber.update(mu, v)
    coef = scrubber.coef.clone()
    new_mu, new_v = _batch(32, 2, 1, False, seed=1)
    scrubber.penalty(new_mu, new_v)
    assert torch.equal(scrubber.coef, coef)


@pytest.mark.parametrize(
    "order, monomials, expected",
    [
        (1, "pairwise", 4 + 1),
        (2, "pairwise", 4 + 10 + 1),
        (2, "all", 4 + 10 + 1),
        (2, "powers", 4 + 4 + 1),
        (3, "pairwise", 4 + 10 + 4 + 1),
        (3, "all", 4 + 10 + 20 + 1),
        (3, "powers", 4 + 4 + 4 + 1),
    ],
)
def test_polynomial_feature_counts(order, monomials, expected):
    scrubber = MovingAverageLeastSquaresScrubber(
        4, 1, categorical=False, poly_order=order, monomials=monomials
    )
    assert scrubber.features.n_features == expected
    mu = torch.randn(5, 4)
    features = scrubber.features(mu)
    assert features.shape == (5, expected)
    if order >= 2:  # z_0 ** 2 is always a feature
        assert torch.isclose(features, (mu[:, :1] ** 2)).all(dim=0).any()


def _mals_penalty_after_fit(poly_order, mu, v, **options):
    scrubber = MovingAverageLeastSquaresScrubber(
        mu.shape[1], v.shape[1], categorical=False, poly_order=poly_order,
        forgetting_factor=1.0, ridge=1e-6, **options,
    )
    scrubber.update(mu, v)
    return scrubber.penalty(mu, v).item()


def test_quadratic_target_decodable_by_order_two_only():
    mu, _ = _batch(256, 3, 1, False)
    v = (mu[:, :1] * mu[:, 1:2]) + 0.5 * mu[:, 2:] ** 2
    assert _mals_penalty_after_fit(1, mu, v) < -0.3
    assert _mals_penalty_after_fit(2, mu, v) > -1e-4
    # Pure powers miss the cross term.
    assert _mals_penalty_after_fit(2, mu, v, monomials="powers") < -0.3


def test_cubic_target_decodable_by_order_three():
    mu, _ = _batch(256, 2, 1, False)
    v = mu[:, :1] ** 3 - mu[:, 1:] ** 2
    assert _mals_penalty_after_fit(2, mu, v) < -0.3
    assert _mals_penalty_after_fit(3, mu, v) > -1e-3


# ----------------------------------------------------- forgetting factors


def test_forgetting_factors_move_towards_better_copy():
    factors = ForgettingFactors("auto", init=0.5, gap=0.1, step=0.05)
    factors.tune(torch.tensor([1.0, 0.0]))  # copy b (more memory) is better
    torch.testing.assert_close(factors.values, torch.tensor([0.55, 0.65]))
    factors.tune(torch.tensor([0.0, 1.0]))
    factors.tune(torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(factors.values, torch.tensor([0.45, 0.55]))
    factors.tune(torch.tensor([0.3, 0.3]))  # tie: nothing moves
    torch.testing.assert_close(factors.values, torch.tensor([0.45, 0.55]))
    assert factors.summary() == pytest.approx(
        {"forgetting_factor_a": 0.45, "forgetting_factor_b": 0.55}
    )


def test_forgetting_factors_stay_in_unit_interval_and_keep_gap():
    factors = ForgettingFactors("auto", init=0.5, gap=0.1, step=0.3)
    for errors in [[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 6:
        factors.tune(torch.tensor(errors))
        f_a, f_b = factors.values.tolist()
        assert 0.0 <= f_a <= f_b <= 1.0
        assert f_b - f_a == pytest.approx(0.1, abs=1e-6)
    assert factors.values[0].item() == 0.0


def test_fixed_forgetting_factor_never_moves():
    factors = ForgettingFactors(0.3, init=0.5, gap=0.1, step=0.1)
    factors.tune(torch.tensor([1.0]))
    assert factors.n_copies == 1
    assert factors.summary() == pytest.approx({"forgetting_factor": 0.3})


def _run_mals_stream(flip_every, n_batches=300, seed=0):
    """MALS on v = +-mu @ a + noise; the sign flips every ``flip_every`` batches."""
    generator = _generator(seed)
    scrubber = MovingAverageLeastSquaresScrubber(
        2, 1, categorical=False, forgetting_init=0.5, forgetting_gap=0.1,
        forgetting_step=0.01,
    )
    coef = torch.tensor([[1.0], [-2.0]])
    for t in range(n_batches):
        sign = -1.0 if flip_every and (t // flip_every) % 2 else 1.0
        mu = torch.randn(8, 2, generator=generator)
        v = sign * mu @ coef + torch.randn(8, 1, generator=generator)
        scrubber.update(mu, v)
        f_a, f_b = scrubber.forgetting.values.tolist()
        assert 0.0 <= f_a <= f_b <= 1.0
        assert f_b - f_a == pytest.approx(0.1, abs=1e-6)
    return scrubber.summary()["forgetting_factor_a"]


def test_mals_factor_rises_on_stationary_stream():
    assert _run_mals_stream(flip_every=0) > 0.7


def test_mals_factor_falls_when_relationship_flips():
    assert _run_mals_stream(flip_every=5) < 0.3


def test_qd_factor_follows_drift():
    """QD's factor weighs the old statistics, as MALS's does: it rises when
    the classes are stationary and falls when the class means keep jumping."""

    def run(drift):
        generator = _generator(0)
        scrubber = QuadraticDiscriminantScrubber(
            2, 2, categorical=True, forgetting_init=0.5, forgetting_gap=0.05,
            forgetting_step=0.01,
        )
        for t in range(150):
            v = torch.arange(32) % 2
            shift = 3.0 * (t // 3 % 2) if drift else 0.0
            mu = torch.randn(32, 2, generator=generator) + (2.0 * v + shift)[:, None]
            scrubber.update(mu, v)
        return scrubber.summary()["forgetting_factor_a"]

    assert run(drift=False) > 0.7
    assert run(drift=True) < 0.4


def _newest_batch_share(name, factor):
    """Share of the newest batch in a scrubber's statistics.

    200 batches of a class whose latent sits at 0, then one batch at 1: the
    estimate of the class's latent location (MALS: its decoder's intercept
    for a constant latent; QD: the class mean) is the newest batch's share.
    """
    v = torch.zeros(16, dtype=torch.long)
    if name == "mals":
        scrubber = MovingAverageLeastSquaresScrubber(
            1, 1, categorical=False, forgetting_factor=factor, ridge=1e-9
        )
        ones = torch.ones(16, 1)
        for _ in range(200):
            scrubber.update(torch.zeros(16, 1), 0.0 * ones)
        scrubber.update(torch.zeros(16, 1), ones)
        return scrubber.coef[0, -1, 0].item()  # the intercept is the last feature
    scrubber = QuadraticDiscriminantScrubber(
        1, 2, categorical=True, forgetting_factor=factor
    )
    for _ in range(200):
        scrubber.update(torch.zeros(16, 1), v)
    scrubber.update(torch.ones(16, 1), v)
    return scrubber.means[0, 0, 0, 0].item()


@pytest.mark.parametrize("name", ["mals", "qd"])
@pytest.mark.parametrize("factor", [0.3, 0.9])
def test_forgetting_factor_has_one_meaning(name, factor):
    """In every scrubber the factor weighs the old statistics: once the memory
    is full, the newest batch has weight 1 - factor."""
    assert _newest_batch_share(name, factor) == pytest.approx(1.0 - factor, abs=1e-4)


# ---------------------------------------------------------------------- QD


def _two_gaussians(separation, n=400, seed=0):
    generator = _generator(seed)
    v = torch.arange(n) % 2
    mu = torch.randn(n, 3, generator=generator)
    mu[:, 0] += separation * v
    return mu, v


def test_qd_penalty_large_for_separated_classes_small_for_identical():
    scrubber = QuadraticDiscriminantScrubber(3, 2, categorical=True)
    mu, v = _two_gaussians(6.0)
    scrubber.update(mu, v)
    mu, v = _two_gaussians(6.0, seed=1)
    # Jeffreys divergence of unit Gaussians 6 apart is 6 ** 2 = 36 (halved).
    assert scrubber.penalty(mu, v).item() == pytest.approx(18.0, rel=0.25)

    scrubber = QuadraticDiscriminantScrubber(3, 2, categorical=True)
    mu, v = _two_gaussians(0.0)
    scrubber.update(mu, v)
    mu, v = _two_gaussians(0.0, seed=1)
    assert abs(scrubber.penalty(mu, v).item()) < 0.1


def test_qd_gradient_step_reduces_separation():
    scrubber = QuadraticDiscriminantScrubber(3, 3, categorical=True)
    generator = _generator(0)
    v = torch.arange(90) % 3
    mu = torch.randn(90, 3, generator=generator) + 2.0 * torch.eye(3)[v]
    scrubber.update(mu, v)
    mu = mu.clone().requires_grad_(True)
    penalty = scrubber.penalty(mu, v)
    penalty.backward()
    # The penalty is a mean over ~30 samples per class: per-sample gradients
    # are small, hence the large step.
    stepped = scrubber.penalty(mu.detach() - 10.0 * mu.grad, v)
    assert penalty.item() > 1.0
    assert stepped.item() < 0.9 * penalty.item()


def test_qd_first_batch_sets_models_then_blends():
    scrubber = QuadraticDiscriminantScrubber(
        2, 2, categorical=True, forgetting_factor=0.75
    )
    mu_1, v = _batch(40, 2, 2, True, seed=0)
    mu_2, _ = _batch(40, 2, 2, True, seed=1)
    scrubber.update(mu_1, v)
    torch.testing.assert_close(scrubber.means[0, 1, 0], mu_1[v == 1].mean(0))
    scrubber.update(mu_2, v)
    expected = 0.75 * mu_1[v == 1].mean(0) + 0.25 * mu_2[v == 1].mean(0)
    torch.testing.assert_close(scrubber.means[0, 1, 0], expected)
    rest = mu_2[v != 1]
    expected_cov = 0.75 * torch.cov(mu_1[v != 1].T, correction=0)
    expected_cov += 0.25 * torch.cov(rest.T, correction=0)
    torch.testing.assert_close(scrubber.covariances[0, 1, 1], expected_cov)


def test_qd_skips_models_absent_from_batch():
    scrubber = QuadraticDiscriminantScrubber(
        2, 3, categorical=True, forgetting_factor=0.5
    )
    mu, v = _batch(30, 2, 3, True)
    scrubber.update(mu, v)
    means = scrubber.means.clone()
    scrubber.update(mu[v == 0] + 10.0, v[v == 0])
    torch.testing.assert_close(scrubber.means[0, 1, 0], means[0, 1, 0])  # no class 1
    torch.testing.assert_close(scrubber.means[0, 0, 1], means[0, 0, 1])  # no rest
    assert not torch.equal(scrubber.means[0, 0, 0], means[0, 0, 0])


# ---------------------------------------------------------------------- MI


def test_mi_dependent_exceeds_independent():
    generator = _generator(0)
    scores = {}
    for dependent in (True, False):
        scrubber = KernelMutualInformationScrubber(
            2, 1, categorical=False, bandwidth=0.5
        )
        for _ in range(2):
            mu = torch.randn(256, 2, generator=generator)
            noise = torch.randn(256, 1, generator=generator)
            v = mu[:, :1].clone() if dependent else noise
            if scrubber.reference_mu.shape[0]:
                scores[dependent] = scrubber.penalty(mu, v).item()
            scrubber.update(mu, v)
    assert scores[True] > 0.5
    assert abs(scores[False]) < 0.1


def test_mi_categorical_dependent_exceeds_independent():
    generator = _generator(0)
    v = torch.arange(200) % 2
    scores = {}
    for shift in (3.0, 0.0):
        scrubber = KernelMutualInformationScrubber(2, 2, categorical=True)
        for _ in range(2):
            mu = torch.randn(200, 2, generator=generator) + shift * v[:, None]
            if scrubber.reference_mu.shape[0]:
                scores[shift] = scrubber.penalty(mu, v).item()
            scrubber.update(mu, v)
    assert 0.4 < scores[3.0] <= math.log(2.0) + 1e-5  # I(mu; v) <= H(v)
    assert abs(scores[0.0]) < 0.1


def test_mi_class_absent_from_reference_is_ignored():
    scrubber = KernelMutualInformationScrubber(2, 3, categorical=True)
    mu, _ = _batch(20, 2, 3, True)
    scrubber.update(mu, torch.arange(20) % 2)  # no class 2 in the reference
    only_new = scrubber.penalty(mu, torch.full((20,), 2))
    assert only_new.item() == 0.0
    mixed = scrubber.penalty(mu, torch.arange(20) % 3)
    assert torch.isfinite(mixed)


# ------------------------------------------------- positive-control training


def _planted_pose_data(categorical, n=1024, seed=0):
    """x (n, 6) mixes behaviour s (n, 2) and a dominant nuisance v."""
    generator = _generator(seed)
    behaviour = torch.randn(n, 2, generator=generator)
    if categorical:
        v = torch.randint(2, (n,), generator=generator)
        nuisance = 3.0 * (2.0 * v[:, None] - 1.0)
    else:
        v = torch.randn(n, 1, generator=generator)
        nuisance = 3.0 * v
    # The same orthonormal mixing for every sample.
    mixing = torch.linalg.qr(torch.randn(6, 3, generator=_generator(123)))[0].T
    x = torch.cat([behaviour, nuisance], dim=1) @ mixing
    return x + 0.05 * torch.randn(n, 6, generator=generator), v


def _train_linear_encoder(x, v, scrubber, lam, n_steps):
    """Tiny unconditional linear autoencoder (2-D code); returns its encoder.

    A small penalty on mean(mu ** 2) stands in for a VAE's KL term and keeps
    the code's scale bounded.
    """
    with torch.random.fork_rng():
        torch.manual_seed(0)
        encoder, decoder = torch.nn.Linear(6, 2), torch.nn.Linear(2, 6)
    parameters = [*encoder.parameters(), *decoder.parameters()]
    if scrubber is not None:
        parameters += list(scrubber.parameters())
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    generator = _generator(1)
    for _ in range(n_steps):
        index = torch.randint(len(x), (128,), generator=generator)
        mu = encoder(x[index])
        loss = ((decoder(mu) - x[index]) ** 2).mean() + 0.1 * (mu**2).mean()
        if scrubber is not None:
            loss = loss + lam * scrubber.penalty(mu, v[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scrubber is not None:
            scrubber.update(mu.detach(), v[index])
    return encoder.requires_grad_(False)


def _held_out_probe_score(probe, scrubber, lam, categorical, n_steps):
    """Train on one sample, fit the probe on its codes, score on a second."""
    x, v = _planted_pose_data(categorical)
    x_test, v_test = _planted_pose_data(categorical, seed=1)
    encoder = _train_linear_encoder(x, v, scrubber, lam, n_steps)
    probe.fit(encoder(x).numpy(), v.numpy())
    return probe.score(encoder(x_test).numpy(), v_test.numpy())


# A fixed forgetting factor of 0.5 (short memory) keeps these short runs from
# lingering near the penalty's stationary points.


def test_mals_training_removes_linear_information():
    scrubber = MovingAverageLeastSquaresScrubber(
        2, 1, categorical=False, forgetting_factor=0.5
    )
    probe = LinearRegression()
    plain = _held_out_probe_score(probe, None, 0.0, False, n_steps=300)
    scrubbed = _held_out_probe_score(probe, scrubber, 10.0, False, n_steps=300)
    assert plain > 0.9
    assert scrubbed < 0.2


def test_qd_training_removes_class_separability():
    scrubber = QuadraticDiscriminantScrubber(
        2, 2, categorical=True, forgetting_factor=0.5
    )
    probe = QuadraticDiscriminantAnalysis()
    plain = _held_out_probe_score(probe, None, 0.0, True, n_steps=600)
    scrubbed = _held_out_probe_score(probe, scrubber, 10.0, True, n_steps=600)
    assert plain > 0.95
    assert scrubbed < 0.65  # chance is 0.5


def test_mals_error_is_capped_at_the_batch_variance():
    """Moving far away from stale decoders earns the encoder nothing."""
    generator = torch.Generator().manual_seed(0)
    scrubber = make_scrubber("mals", 3, 1, categorical=False, forgetting_factor=0.5)
    mu = torch.randn(64, 3, generator=generator)
    v = mu[:, :1] * 2.0
    scrubber.update(mu, v)
    far = (mu + 100.0).requires_grad_(True)
    penalty = scrubber.penalty(far, v)
    torch.testing.assert_close(penalty, -v.var(dim=0, unbiased=False).mean())
    penalty.backward()
    assert torch.count_nonzero(far.grad) == 0


@pytest.mark.parametrize("categorical", [False, True])
def test_mi_estimate_is_never_negative(categorical):
    generator = torch.Generator().manual_seed(0)
    scrubber = make_scrubber("mi", 2, 3 if categorical else 1, categorical=categorical)
    for _ in range(5):
        mu = torch.randn(32, 2, generator=generator)
        v = (
            torch.randint(0, 3, (32,), generator=generator)
            if categorical
            else torch.randn(32, 1, generator=generator)
        )
        assert scrubber.penalty(mu * 10 + 50, v) >= 0
        scrubber.update(mu, v)


# ---------------------------------------------------- statistics with the batch


@pytest.mark.parametrize("name, categorical", [("qd", True), ("mals", False)])
def test_include_batch_scores_the_batch_against_itself(name, categorical):
    """With include_batch and no memory, the penalty uses the batch's own
    statistics: before any update it already sees the planted signal, equals
    the penalty of statistics updated on that batch, and its gradient also
    flows through them."""
    mu, v = _planted_batch(categorical)
    n_outputs = 3 if categorical else 2
    options = dict(categorical=categorical, forgetting_factor=0.0)
    included = make_scrubber(name, 3, n_outputs, include_batch=True, **options)
    stale = make_scrubber(name, 3, n_outputs, **options)
    assert stale.penalty(mu, v) == 0
    mu = mu.requires_grad_(True)
    penalty = included.penalty(mu, v)
    assert abs(penalty) > 0.1
    stale.update(mu.detach(), v)
    torch.testing.assert_close(penalty, stale.penalty(mu, v), rtol=1e-4, atol=1e-5)
    (with_models,) = torch.autograd.grad(penalty, mu)
    (models_fixed,) = torch.autograd.grad(stale.penalty(mu, v), mu)
    assert not torch.allclose(with_models, models_fixed)
