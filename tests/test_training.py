"""The solver: batched window datasets, loss, epoch scores, validation split, precision.

Most tests build the net from a dict of hyper-parameters and a dataset of
plain arrays, without the estimator.
"""

import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.history import History

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae._frames.windows import WindowPlan, compute_segments
from sklearn_scrubvae._solver.build import restore_net
from sklearn_scrubvae._solver.data import (
    BatchLoader,
    RecordingChunkSplit,
    WindowDataset,
    latent_dataset,
    recording_chunks,
    window_dataset,
)
from sklearn_scrubvae._solver.net import EpochMean
from sklearn_scrubvae._solver.run import run_epochs, start_net

TINY = dict(
    n_components=3, window=5, hidden_channels=(8, 8), kernel_size=3, max_iter=1,
    batch_size=64, random_state=0,
)


def make_frames(n_frames=300, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)
    X = np.column_stack([np.sin(t / (3 + k)) for k in range(4)]) + 0.1 * rng.normal(size=(n_frames, 4))
    groups = np.repeat([0, 1, 2], [n_frames * 3 // 10, n_frames * 4 // 10, n_frames * 3 // 10])
    table = pd.DataFrame({"animal": pd.Categorical(groups), "speed": rng.normal(size=n_frames)})
    return X, table, groups


# Hyper-parameters of a small conditional model scrubbing a 3-class and a
# continuous column, as plain values (what the solver receives).
SPEC = dict(
    n_components=3, window=5, hidden_channels=(8, 8), kernel_size=3, covariance="full",
    conditional=True, alpha=1.0, poly_order=1, forgetting_factor="auto", scrubber_params=None,
    beta=0.5, lam=3.0, precision="32", compile=False, learning_rate=1e-3, weight_decay=0.01,
    max_iter=1, batch_size=64, early_stopping=False, validation_fraction=0.1,
    gradient_clip=1e4, n_iter_no_change=10, tol=1e-4, verbose=0, checkpoint_dir=None,
    checkpoint_every=10, on_divergence="raise", root_velocity_weight=0.0,
    representation={"kind": "features", "n_features": 4}, nuisance_dim=4,
    scrubbers={"animal": {"name": "qd", "n_outputs": 3, "categorical": True},
               "speed": {"name": "mals", "n_outputs": 1, "categorical": False}},
)


def solver_arrays(n_frames=300, seed=0):
    """Standardised frames, decoder nuisance, scrubber targets and recording bounds."""
    X, table, groups = make_frames(n_frames, seed)
    features = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    animal = table["animal"].cat.codes.to_numpy().astype(np.int64)
    speed = ((table["speed"] - table["speed"].mean()) / table["speed"].std(ddof=0)).to_numpy()
    nuisance = np.column_stack([np.eye(3)[animal], speed]).astype(np.float32)
    targets = {"animal": animal, "speed": speed[:, None].astype(np.float32)}
    bounds = np.cumsum([0] + [np.sum(groups == g) for g in np.unique(groups)])
    start = np.repeat(bounds[:-1], np.diff(bounds))
    stop = np.repeat(bounds[1:], np.diff(bounds))
    return {"features": features}, nuisance, targets, start, stop


def naive_window(values, center, start, stop, window):
    """The window of ``values`` around ``center``, edge frames repeated, by a Python loop."""
    rows = [min(max(center + k, start), stop - 1) for k in range(-(window // 2), window // 2 + 1)]
    return values[rows]


# ------------------------------------------------------------------- dataset


def test_batched_gather_equals_window_by_window_slicing():
    rng = np.random.default_rng(1)
    groups = np.repeat([0, 1], [7, 11])
    start, stop = compute_segments(18, groups)
    frames = {"rot": rng.normal(size=(18, 3, 2)), "root": rng.normal(size=(18, 4))}
    nuisance = rng.normal(size=(18, 2))
    target = rng.integers(0, 3, size=18)
    centers = np.arange(18)  # every frame, so edge windows are clipped
    dataset = WindowDataset(
        {k: torch.as_tensor(v) for k, v in frames.items()}, torch.as_tensor(nuisance),
        {"animal": torch.as_tensor(target)}, torch.as_tensor(start), torch.as_tensor(stop),
        torch.as_tensor(centers), window=5,
    )
    positions = torch.tensor([0, 17, 6, 7, 3])
    X, y = dataset[positions]
    for name, values in frames.items():
        expected = np.stack(
            [naive_window(values, c, start[c], stop[c], 5) for c in centers[positions.numpy()]]
        )
        np.testing.assert_array_equal(X["frames"][name].numpy(), expected)
        assert X["frames"][name].is_contiguous()  # strided views slow every later op down
    np.testing.assert_array_equal(X["nuisance"].numpy(), nuisance[positions.numpy()])
    np.testing.assert_array_equal(y["animal"].numpy(), target[positions.numpy()])


@pytest.mark.parametrize("n, drop_lone, sizes", [(130, False, [64, 64, 2]), (129, True, [64, 64]),
                                                 (129, False, [64, 64, 1])])
def test_batch_loader_covers_every_window_once(n, drop_lone, sizes):
    centers = torch.arange(n)
    dataset = WindowDataset(
        {"x": torch.arange(n, dtype=torch.float32)[:, None]}, None, {}, torch.zeros(n, dtype=torch.long),
        torch.full((n,), n), centers, window=1,
    )
    generator = torch.Generator().manual_seed(0)
    loader = BatchLoader(dataset, 64, shuffle=True, generator=generator, drop_lone=drop_lone)
    epochs = [[X["frames"]["x"][:, 0, 0].long() for X, _ in loader] for _ in range(2)]
    assert len(loader) == len(sizes)
    for batches in epochs:
        assert [len(b) for b in batches] == sizes
        seen = torch.cat(batches)
        assert len(set(seen.tolist())) == len(seen)
    assert not torch.equal(torch.cat(epochs[0]), torch.cat(epochs[1]))  # reshuffled
    unshuffled = torch.cat([X["frames"]["x"][:, 0, 0] for X, _ in BatchLoader(dataset, 64)])
    np.testing.assert_array_equal(unshuffled.numpy(), np.arange(n))


class CountingSource:
    """A frame source (per-batch derivation) that records where and when it derives."""

    shapes = {"x": (1,)}

    def __init__(self, values):
        self.values = values
        self.threads = []

    def windows(self, index):
        self.threads.append(threading.get_ident())
        return {"x": self.values[index][..., None]}


def test_batches_derived_per_batch_are_derived_one_ahead_in_a_thread():
    """A source's next batch is derived in a background thread while one is used,
    never more than one ahead, and the batches are those of the same frames in memory."""
    n = 200
    values = np.arange(n, dtype=np.float32)
    bounds = torch.zeros(n, dtype=torch.long), torch.full((n,), n)
    source = CountingSource(values)
    derived = WindowDataset(source, None, {}, *bounds, torch.arange(n), window=3)
    in_memory = WindowDataset({"x": torch.as_tensor(values)[:, None]}, None, {}, *bounds,
                              torch.arange(n), window=3)
    batches, derived_after_use = [], []
    for X, _ in BatchLoader(derived, 64, shuffle=True,
                            generator=torch.Generator().manual_seed(0)):
        time.sleep(0.1)  # time to derive ahead: it must stop at one batch
        derived_after_use.append(len(source.threads))
        batches.append(X["frames"]["x"])
    assert derived_after_use == [2, 3, 4, 4]
    assert threading.get_ident() not in source.threads
    expected = [X["frames"]["x"] for X, _ in BatchLoader(
        in_memory, 64, shuffle=True, generator=torch.Generator().manual_seed(0))]
    for got, want in zip(batches, expected, strict=True):
        torch.testing.assert_close(got, want)


def test_an_error_while_deriving_ahead_reaches_the_training_loop():
    class Failing(CountingSource):
        def windows(self, index):
            raise RuntimeError("unreadable frames")

    n = 100
    dataset = WindowDataset(Failing(None), None, {}, torch.zeros(n, dtype=torch.long),
                            torch.full((n,), n), torch.arange(n), window=3)
    with pytest.raises(RuntimeError, match="unreadable frames"):
        list(BatchLoader(dataset, 32))


def test_solver_loss_and_gradients_equal_a_plain_computation():
    """One batch through skorch's infer/get_loss matches a hand-written forward pass."""
    frames, nuisance, targets, start, stop = solver_arrays()
    centers = np.arange(2, 298)
    dataset = window_dataset(frames, start, stop, centers, 5, device=torch.device("cpu"),
                             nuisance=nuisance, targets=targets)
    net = start_net(SPEC, device=torch.device("cpu"), seed=0)
    run_epochs(net, dataset, SPEC, warm=False)
    module = net.module_
    module.train()

    positions = torch.arange(10, 90)
    net.generator = torch.Generator().manual_seed(5)
    Xb, yb = dataset[positions]
    module.zero_grad()
    loss = net.get_loss(net.infer(Xb), yb, X=Xb, training=True)
    loss.backward()
    fast = [p.grad.clone() for p in module.parameters() if p.grad is not None]

    batch = centers[10:90]
    windows = np.stack([naive_window(frames["features"], c, start[c], stop[c], 5) for c in batch])
    module.zero_grad()
    plain_frames = {"features": torch.as_tensor(windows)}
    mu, kl, decoded = module(
        plain_frames, torch.as_tensor(nuisance[batch]), generator=torch.Generator().manual_seed(5)
    )
    penalty = sum(
        scrubber.penalty(mu, torch.as_tensor(targets[name][batch]))
        for name, scrubber in module.scrubbers.items()
    )
    reconstruction = module.representation.reconstruction_error(decoded, plain_frames)
    plain = reconstruction.mean() + 0.5 * kl.mean() + 3.0 * penalty
    plain.backward()
    slow = [p.grad.clone() for p in module.parameters() if p.grad is not None]

    torch.testing.assert_close(loss, plain)
    assert len(fast) == len(slow) > 0
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b)


def test_solver_trains_and_a_restored_net_gives_the_same_outputs():
    frames, nuisance, targets, start, stop = solver_arrays()
    spec = dict(SPEC, max_iter=3, learning_rate=1e-2)
    cpu = torch.device("cpu")
    dataset = window_dataset(frames, start, stop, np.arange(2, 298), 5, device=cpu,
                             nuisance=nuisance, targets=targets)
    net = start_net(spec, device=cpu, seed=0)
    run_epochs(net, dataset, spec, warm=False)
    losses = [row["train_loss"] for row in net.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert net.generator is None  # no generator stays in a fitted net
    assert net.optimizer_.defaults["fused"]  # one fused AdamW kernel on the CPU
    restored = restore_net(spec, net.module_.state_dict(), list(net.history), cpu)
    embedding = window_dataset(frames, start, stop, np.arange(300), 5, device=cpu)
    mu = net.embed(embedding)
    assert mu.shape == (300, 3)
    torch.testing.assert_close(restored.embed(embedding), mu)
    codes = latent_dataset(mu[:7].numpy(), nuisance[:7], cpu)
    torch.testing.assert_close(restored.decode(codes), net.decode(codes))
    assert restored.history[-1, "train_loss"] == losses[-1]


def test_batched_transform_and_decoding_equal_the_module_on_each_window():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], **{**TINY, "batch_size": 50})
    est.fit(X, table, groups=groups)
    frames, _ = est.input_.frames(X)
    start, stop = compute_segments(len(X), groups)
    windows = {  # every per-frame input, the presence mask included
        name: torch.as_tensor(np.stack([naive_window(value, c, start[c], stop[c], 5)
                                        for c in range(len(X))]))
        for name, value in frames.items()
    }
    module = est.module_.eval()
    with torch.no_grad():
        mu = module.encode(windows)[0]
        encoded, _ = est.nuisance_encoder_.transform(table, len(X))
        decoded = module.decode(mu, torch.as_tensor(encoded))
    Z = est.transform(X, groups=groups)
    np.testing.assert_allclose(Z, mu.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        est.decode_windows(Z, nuisance=table), est.input_.to_windows(decoded.numpy()),
        rtol=1e-4, atol=1e-5,
    )


# ---------------------------------------------------------- validation split


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_recording_chunks_hold_out_the_end_of_every_recording(fraction):
    groups = np.repeat(["a", "b", "c", "d"], [40, 103, 61, 9])
    plan = WindowPlan(len(groups), groups, window=7)
    start, centers = plan.start, plan.centers
    held = recording_chunks(centers, start, fraction)
    for recording in np.unique(start):
        mine = held[start[centers] == recording]
        n_held = max(1, round(fraction * len(mine)))
        assert mine.sum() == n_held
        assert not mine[: len(mine) - n_held].any() and mine[len(mine) - n_held :].all()


def test_recording_chunks_keep_both_sides_of_short_recordings():
    start = np.repeat([0, 5, 6], [5, 1, 2])
    held = recording_chunks(np.arange(8), start, 0.5)
    # 5 windows -> round(2.5) = 2 held; 1 window -> none; 2 windows -> 1
    np.testing.assert_array_equal(held, [0, 0, 0, 1, 1, 0, 0, 1])


def test_early_stopping_validates_on_every_recording():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], early_stopping=True,
                       validation_fraction=0.2, **TINY)
    est.fit(X, table, groups=groups)
    plan = WindowPlan(len(X), groups, window=est.window)
    expected = sum(round(0.2 * n) for n in np.unique(plan.start[plan.centers], return_counts=True)[1])
    assert sum(b["valid_batch_size"] for b in est.history_[-1]["batches"]
               if "valid_batch_size" in b) == expected
    frames, _ = est.input_.frames(X)
    dataset = window_dataset(frames, plan.start, plan.stop, plan.centers, est.window,
                             device=torch.device("cpu"))
    train, valid = RecordingChunkSplit(0.2)(dataset)
    assert len(train) + len(valid) == len(plan.centers) and len(valid) == expected
    animals = set(table["animal"].to_numpy()[valid.centers.numpy()])
    assert animals == {0, 1, 2}  # every class is validated, not only the first recording's


# --------------------------------------------------------------- epoch scores


def test_epoch_mean_weighs_batches_by_size_and_stores_floats():
    history = History()
    history.new_epoch()
    for size, value in [(64, 1.0), (64, 2.0), (8, 10.0)]:
        history.new_batch()
        history.record_batch("train_batch_size", size)
        history.record_batch("train_kl", torch.tensor(value))
    score = EpochMean("train_kl", lower_is_better=None, on_train=True).initialize()
    score.on_epoch_end(type("Net", (), {"history": history})())
    assert history[-1, "train_kl"] == pytest.approx((64 + 128 + 80) / 136)
    assert history[-1, "batches", :, "train_kl"] == [1.0, 2.0, 10.0]
    assert all(type(v) is float for v in history[-1, "batches", :, "train_kl"])
    assert "train_kl_best" not in history[-1]


def test_fitted_history_holds_weighted_term_means():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber={"animal": "qd", "speed": "mals"}, nuisance=["animal", "speed"],
                       **{**TINY, "max_iter": 2})
    est.fit(X, table, groups=groups)
    for epoch in est.history_:
        batches = epoch["batches"]
        sizes = [b["train_batch_size"] for b in batches]
        assert len(set(sizes)) == 2  # a short last batch makes weighting matter
        for term in ["loss", "reconstruction", "kl", "penalty", "animal_penalty", "speed_penalty"]:
            values = [b[f"train_{term}"] for b in batches]
            assert all(type(v) is float for v in values)
            assert epoch[f"train_{term}"] == pytest.approx(np.average(values, weights=sizes))
        assert epoch["train_penalty"] == pytest.approx(
            epoch["train_animal_penalty"] + epoch["train_speed_penalty"], abs=1e-5
        )
    assert est.loss_curve_ == [e["train_loss"] for e in est.history_]


# ------------------------------------------------------- precision, compile


def test_bf16_training_reaches_the_float32_loss():
    X, table, groups = make_frames(600)
    params = dict(scrubber=None, nuisance=["speed"], n_components=4, window=9,
                  hidden_channels=(16,), kernel_size=3, max_iter=5, batch_size=128,
                  learning_rate=1e-2, random_state=0)
    losses = {
        precision: ScrubbedCVAE(precision=precision, **params).fit(X, table, groups=groups)
        .loss_curve_ for precision in ["32", "bf16"]
    }
    assert losses["32"][-1] < losses["32"][0] - 2.0  # it learns
    assert losses["bf16"] != losses["32"]  # bf16 arithmetic was used
    assert losses["bf16"][-1] == pytest.approx(losses["32"][-1], rel=0.02)


def test_bad_precision_is_rejected():
    X, table, groups = make_frames()
    with pytest.raises(ValueError, match="'precision' parameter"):
        ScrubbedCVAE(precision="fp16", **TINY).fit(X, table)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_compiled_network_trains_and_pickles():
    import pickle

    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], compile=True, **TINY)
    reference = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], **TINY)
    est.fit(X, table, groups=groups)
    reference.fit(X, table, groups=groups)
    assert est.loss_curve_ == pytest.approx(reference.loss_curve_, rel=1e-4)
    Z = est.transform(X, groups=groups)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(est)).transform(X, groups=groups), Z)


# ----------------------------------------------------------------------- GPU


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@cuda
def test_cuda_training_uses_tf32_and_restores_the_setting():
    from sklearn_scrubvae._solver.device import fast_float32

    before = torch.backends.cuda.matmul.fp32_precision
    with fast_float32(torch.device("cuda")):
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
    assert torch.backends.cuda.matmul.fp32_precision == before


@cuda
@pytest.mark.parametrize("precision", ["32", "bf16"])
def test_cuda_fit_transform_and_cpu_round_trip(precision):
    import pickle

    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], device="cuda", precision=precision,
                       **TINY).fit(X, table, groups=groups)
    assert est.device_.type == "cuda"
    Z = est.transform(X, groups=groups)
    assert np.isfinite(Z).all() and np.isfinite(est.score(X, table, groups=groups))
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(restored.transform(X, groups=groups), Z, atol=1e-2)
