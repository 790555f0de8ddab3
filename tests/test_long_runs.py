"""Long runs: checkpoints and resume, warm starts, divergence, memory-mapped data."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae._frames import inputs as _inputs
from sklearn_scrubvae._solver.divergence import _copy_state
from sklearn_scrubvae.datasets import make_mouse_behavior

from conftest import make_frames

TINY = dict(
    n_components=3, window=5, hidden_channels=(8, 8), kernel_size=3, max_iter=2,
    batch_size=64, random_state=0,
)


# ------------------------------------------------------------ checkpoints


@pytest.mark.parametrize("scrubber", ["mals", "gr"])
def test_resumed_fit_equals_an_uninterrupted_fit(tmp_path, scrubber):
    """Stop after 3 epochs, resume to 5: same model as 5 epochs in one go."""
    X, table, groups = make_frames()
    # The adversary's private optimiser and recent batches are not
    # checkpointed (its steps and catch-up resume without them), so GR is
    # compared with the loop's optimiser alone.
    params = dict(TINY, scrubber=scrubber, nuisance=["speed"], checkpoint_every=1,
                  scrubber_params={"gr": {"n_iter": 0, "catch_up_iter": 0}})
    straight = ScrubbedCVAE(**{**params, "max_iter": 5, "checkpoint_dir": tmp_path / "a"})
    straight.fit(X, table, groups=groups)
    first = ScrubbedCVAE(**{**params, "max_iter": 3, "checkpoint_dir": tmp_path / "b"})
    first.fit(X, table, groups=groups)
    assert (tmp_path / "b" / "latest").read_text() == "epoch-000003"
    assert sorted(p.name for p in (tmp_path / "b" / "epoch-000003").iterdir()) == [
        "callbacks.pt", "history.json", "module.pt", "optimizer.pt", "rng.pt", "run.json",
    ]
    resumed = ScrubbedCVAE(**{**params, "max_iter": 5, "checkpoint_dir": tmp_path / "b"})
    resumed.fit(X, table, groups=groups)
    assert resumed.n_iter_ == 5 and len(resumed.loss_curve_) == 5
    np.testing.assert_allclose(resumed.loss_curve_, straight.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(
        resumed.transform(X, groups=groups), straight.transform(X, groups=groups), atol=1e-5
    )
    # The positive control: a fresh fit of the two remaining epochs differs.
    fresh = ScrubbedCVAE(**{**params, "max_iter": 2}).fit(X, table, groups=groups)
    assert not np.allclose(fresh.transform(X, groups=groups), straight.transform(X, groups=groups))


def test_resumed_early_stopped_run_stops_at_the_uninterrupted_epoch(tmp_path):
    """The patience counter, score to beat and best weights are in the checkpoint."""
    X, table, groups = make_frames()
    params = dict(TINY, scrubber="mals", nuisance=["speed"], checkpoint_every=1, max_iter=40,
                  early_stopping=True, n_iter_no_change=3, tol=0.0, learning_rate=3e-3)
    straight = ScrubbedCVAE(**params).fit(X, table, groups=groups)
    stop = straight.n_iter_
    assert stop < params["max_iter"]
    # Interrupted two epochs before the stop, with misses already counted.
    first = ScrubbedCVAE(**{**params, "max_iter": stop - 1, "checkpoint_dir": tmp_path})
    first.fit(X, table, groups=groups)
    assert dict(first.net_.callbacks_)["early_stopping"].misses_ > 0
    resumed = ScrubbedCVAE(**{**params, "checkpoint_dir": tmp_path}).fit(X, table, groups=groups)
    assert resumed.n_iter_ == stop
    np.testing.assert_allclose(resumed.loss_curve_, straight.loss_curve_, rtol=1e-5)
    Z = straight.transform(X, groups=groups)  # the best epoch's weights
    np.testing.assert_allclose(resumed.transform(X, groups=groups), Z, atol=1e-5)
    # The stopped run was saved as it ended: fitting again trains nothing more.
    assert (tmp_path / "latest").read_text() == f"epoch-{stop:06d}"
    again = ScrubbedCVAE(**{**params, "checkpoint_dir": tmp_path}).fit(X, table, groups=groups)
    assert again.n_iter_ == stop
    np.testing.assert_allclose(again.transform(X, groups=groups), Z, atol=1e-5)


def test_checkpoint_every_and_finished_runs(tmp_path):
    X, table, groups = make_frames()
    params = dict(TINY, scrubber="mals", nuisance=["speed"], checkpoint_dir=tmp_path)
    ScrubbedCVAE(**{**params, "max_iter": 5, "checkpoint_every": 2}).fit(X, table)
    assert (tmp_path / "latest").read_text() == "epoch-000004"
    assert [p.name for p in tmp_path.glob("epoch-*")] == ["epoch-000004"]
    assert not list(tmp_path.glob(".*partial"))
    # Rerunning a finished run (same max_iter) trains nothing more.
    done = ScrubbedCVAE(**{**params, "max_iter": 4, "checkpoint_every": 2}).fit(X, table)
    assert done.n_iter_ == 4


def test_checkpoint_of_another_run_is_refused(tmp_path):
    X, table, groups = make_frames()
    params = dict(TINY, scrubber="mals", nuisance=["speed"], checkpoint_dir=tmp_path,
                  checkpoint_every=1)
    ScrubbedCVAE(**params).fit(X, table)
    with pytest.raises(ValueError, match="another run.*lam"):
        ScrubbedCVAE(**{**params, "lam": 5.0}).fit(X, table)
    with pytest.raises(ValueError, match="another run"):
        ScrubbedCVAE(**params).fit(X + 1.0, table)


KILLED_FIT = """
import sys
import numpy as np, pandas as pd
from sklearn_scrubvae import ScrubbedCVAE
rng = np.random.default_rng(0)
t = np.arange(3000)
X = np.column_stack([np.sin(t / (3 + k)) for k in range(4)]) + 0.1 * rng.normal(size=(3000, 4))
table = pd.DataFrame({"speed": rng.normal(size=3000)})
est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], n_components=3, window=9,
                   hidden_channels=(16, 16), kernel_size=3, max_iter=MAX_ITER, batch_size=64,
                   random_state=0, checkpoint_dir=sys.argv[1], checkpoint_every=EVERY,
                   verbose=1, device="cpu")
est.fit(X, table)
print("N_ITER", est.n_iter_, flush=True)
"""


@pytest.mark.slow
def test_fit_killed_mid_run_resumes_and_loses_at_most_checkpoint_every_epochs(tmp_path):
    max_iter, every = 30, 4
    script = tmp_path / "fit.py"
    script.write_text(KILLED_FIT.replace("MAX_ITER", str(max_iter)).replace("EVERY", str(every)))
    ckpt = tmp_path / "ckpt"
    child = subprocess.Popen(
        [sys.executable, "-u", str(script), str(ckpt)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    epochs_done = 0
    for line in child.stdout:  # one line per finished epoch
        fields = line.split()
        if fields[:1] == ["epoch"]:
            epochs_done = int(fields[1].split("/")[0])
        if epochs_done >= 2 * every + 2:  # past a checkpoint, between two of them
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    saved = int((ckpt / "latest").read_text().split("-")[1])
    print(f"killed after epoch {epochs_done}, last checkpoint at epoch {saved}")
    assert saved % every == 0 and epochs_done - saved <= every
    # Resume in another process, as after a crash.
    done = subprocess.run(
        [sys.executable, "-u", str(script), str(ckpt)], capture_output=True, text=True,
        timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    epochs = [int(line.split()[1].split("/")[0]) for line in done.stdout.splitlines()
              if line.startswith("epoch ")]
    assert epochs == list(range(saved + 1, max_iter + 1))  # only the lost epochs rerun
    assert f"N_ITER {max_iter}" in done.stdout
    assert (ckpt / "latest").read_text() == f"epoch-{max_iter - max_iter % every:06d}"


# ------------------------------------------------------------- warm start


def test_warm_start_continues_and_accumulates():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], warm_start=True,
                       **{**TINY, "learning_rate": 1e-2})
    est.fit(X, table, groups=groups)
    first_curve = list(est.loss_curve_)
    weights = {name: p.detach().clone() for name, p in est.module_.named_parameters()}
    batches = int(est.module_.scrubbers["speed"].n_batches)
    # A negligible learning rate: the continued fit starts from the fitted
    # weights, so they barely move, and the scrubber keeps counting batches.
    est.set_params(learning_rate=1e-12)
    est.fit(X, table, groups=groups)
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4 and len(est.history_) == 4
    assert est.loss_curve_[:2] == first_curve
    for name, p in est.module_.named_parameters():
        torch.testing.assert_close(p.detach(), weights[name], rtol=0, atol=1e-6)
    assert int(est.module_.scrubbers["speed"].n_batches) == 2 * batches
    assert est.net_.optimizer_.param_groups[0]["lr"] == 1e-12
    # Positive control: without warm_start, the same call starts afresh.
    cold = ScrubbedCVAE(scrubber="mals", nuisance=["speed"], **{**TINY, "learning_rate": 1e-12})
    cold.fit(X, table, groups=groups)
    assert cold.n_iter_ == 2
    assert not all(
        torch.allclose(p.detach(), weights[name], atol=1e-3)
        for name, p in cold.module_.named_parameters()
    )


def test_warm_start_rejects_othermake_frames():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(scrubber=None, conditional=False, warm_start=True, **TINY).fit(X)
    with pytest.raises(ValueError, match="features"):
        est.fit(X[:, :3])


# -------------------------------------------------------------- divergence

EXPLODING = dict(TINY, scrubber="mals", nuisance=["speed"], learning_rate=1e6,
                 gradient_clip=None, max_iter=4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_divergence_raises_and_restores_the_last_finite_model(seed):
    X, table, groups = make_frames(seed=seed)
    est = ScrubbedCVAE(**{**EXPLODING, "random_state": seed})
    with pytest.raises(FloatingPointError, match=r"epoch \d.*learning_rate=1e\+06.*lam.*beta"):
        est.fit(X, table, groups=groups)
    assert np.isfinite(est.loss_curve_).all() and est.n_iter_ == len(est.loss_curve_)
    assert all(p.isfinite().all() for p in est.module_.parameters())
    assert np.isfinite(est.transform(X, groups=groups)).all()
    # Positive control: a sane learning rate trains without error.
    sane = ScrubbedCVAE(**{**EXPLODING, "random_state": seed, "learning_rate": 1e-3})
    assert sane.fit(X, table, groups=groups).n_iter_ == 4


def test_divergence_message_names_each_scrubber_weight():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(**{**EXPLODING, "lam": {"speed": 7.5}})
    with pytest.raises(FloatingPointError, match=r"lam=\{speed: 7\.5\}"):
        est.fit(X, table, groups=groups)


def test_divergence_can_warn_and_keep_the_last_good_model():
    X, table, groups = make_frames()
    est = ScrubbedCVAE(**EXPLODING, on_divergence="warn")
    with pytest.warns(UserWarning, match="diverged"):
        est.fit(X, table, groups=groups)
    assert est.n_iter_ < 4 and np.isfinite(est.transform(X, groups=groups)).all()
    # The guard's copy of the last good state is dropped once training ends.
    guard = dict(est.net_.callbacks_)["divergence"]
    assert not hasattr(guard, "module_state_")


def test_restored_model_is_the_model_of_the_last_finite_epoch():
    X, table, groups = make_frames()
    # This learning rate diverges after the first epoch.
    params = {**EXPLODING, "learning_rate": 300.0, "max_iter": 6}
    est = ScrubbedCVAE(**params, on_divergence="warn")
    with pytest.warns(UserWarning, match="diverged"):
        est.fit(X, table, groups=groups)
    assert est.n_iter_ >= 1  # epochs were kept (a test of the epoch snapshots)
    short = ScrubbedCVAE(**{**params, "max_iter": est.n_iter_})
    short.fit(X, table, groups=groups)
    assert short.loss_curve_ == est.loss_curve_
    for kept, trained in zip(est.module_.state_dict().values(),
                             short.module_.state_dict().values()):
        torch.testing.assert_close(kept, trained, rtol=0, atol=0)


def test_state_copies_reuse_the_previous_copy_and_follow_the_state():
    state = {"w": torch.ones(3), "opt": {"state": {0: {"step": torch.tensor(1.0)}},
                                         "groups": [{"lr": 0.1, "params": [0]}]}}
    first = _copy_state(state, None)
    assert first["w"] is not state["w"] and torch.equal(first["w"], state["w"])
    state["w"] += 1
    state["opt"]["state"][0]["step"] += 1
    state["opt"]["groups"][0]["lr"] = 0.2
    second = _copy_state(state, first)
    assert second["w"] is first["w"] and torch.equal(second["w"], state["w"])
    assert float(second["opt"]["state"][0]["step"]) == 2.0
    assert second["opt"]["groups"][0]["lr"] == 0.2
    state["w"] = torch.ones(4)  # a resized buffer gets a fresh copy
    assert _copy_state(state, second)["w"].shape == (4,)


# ------------------------------------------------------- memory-mapped data


def test_memory_mapped_poses_give_the_in_memory_result(tmp_path, monkeypatch):
    poses, table, *_ = make_mouse_behavior(n_animals=2, n_frames=150, random_state=0)
    poses = poses.astype(np.float32)
    poses[40:44, 3] = np.nan  # a short gap, filled across a chunk border
    np.save(tmp_path / "poses.npy", poses)
    mapped = np.load(tmp_path / "poses.npy", mmap_mode="r")
    groups = table["session"].to_numpy()
    params = dict(TINY, skeleton="mouse18", scrubber="mals", nuisance=["speed"],
                  max_gap=5, max_iter=1)
    in_memory = ScrubbedCVAE(**params).fit(poses.astype(np.float64), table, groups=groups)
    monkeypatch.setattr(_inputs, "CHUNK_FRAMES", 37)
    est = ScrubbedCVAE(**params).fit(mapped, table, groups=groups)
    assert isinstance(mapped, np.memmap)
    np.testing.assert_allclose(est.loss_curve_, in_memory.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(
        est.transform(mapped, groups=groups),
        in_memory.transform(poses.astype(np.float64), groups=groups), atol=1e-5,
    )


def test_memory_mapped_poses_are_never_derived_whole(tmp_path, monkeypatch):
    """fit, transform and score derive at most a chunk or a batch of frames at a time."""
    poses, table, *_ = make_mouse_behavior(n_animals=2, n_frames=300, random_state=0)
    np.save(tmp_path / "poses.npy", poses.astype(np.float32))
    mapped = np.load(tmp_path / "poses.npy", mmap_mode="r")
    groups = table["session"].to_numpy()
    est = ScrubbedCVAE(**dict(TINY, skeleton="mouse18", scrubber=None, conditional=False,
                              batch_size=16))
    derived = []
    for name in ("frames", "_chunk_frames"):
        method = getattr(_inputs.SkeletonInput, name)
        monkeypatch.setattr(_inputs.SkeletonInput, name,
                            lambda self, X, *a, method=method, **k: derived.append(len(X))
                            or method(self, X, *a, **k))
    monkeypatch.setattr(_inputs, "CHUNK_FRAMES", 100)
    est.fit(mapped, groups=groups)
    est.transform(mapped, groups=groups)
    est.score(mapped, groups=groups)
    assert derived and max(derived) < len(poses) / 2


def test_score_in_chunks_scores_every_full_window_once(monkeypatch):
    """score averages over the full windows of X, each scored in exactly one chunk."""
    from sklearn_scrubvae._frames.windows import WindowPlan

    poses, table, *_ = make_mouse_behavior(n_animals=2, n_frames=300, random_state=0)
    groups = table["session"].to_numpy()
    params = dict(TINY, skeleton="mouse18", scrubber="mals", nuisance=["speed"])
    est = ScrubbedCVAE(**params).fit(poses, table, groups=groups)
    whole = est.score(poses, table, groups=groups)
    monkeypatch.setattr(_inputs, "CHUNK_FRAMES", 37)
    chunked = est.score(poses, table, groups=groups)
    # one posterior sample per window, drawn batch by batch: close, not equal
    np.testing.assert_allclose(chunked, whole, rtol=1e-2)
    scored = []
    monkeypatch.setattr(est.net_, "window_elbo", lambda dataset: scored.append(len(dataset))
                        or torch.zeros(len(dataset), dtype=torch.float64))
    est.score(poses, table, groups=groups)
    n_windows = len(WindowPlan(len(poses), groups, window=est.window).centers)
    assert len(scored) > 10 and sum(scored) == n_windows


def test_memory_mapped_features_are_checked_in_chunks(tmp_path, monkeypatch):
    X, table, _ = make_frames()
    X = X.astype(np.float32)
    X[200, 1] = np.inf
    np.save(tmp_path / "X.npy", X)
    monkeypatch.setattr(_inputs, "CHUNK_FRAMES", 50)
    with pytest.raises(ValueError, match="infinity"):
        ScrubbedCVAE(**TINY, scrubber=None, conditional=False).fit(
            np.load(tmp_path / "X.npy", mmap_mode="r")
        )


def test_frames_too_large_for_the_device_stay_in_host_memory(monkeypatch):
    """Frames that do not fit on the accelerator are kept in host memory.

    No CUDA tensor is made here: asking for a CUDA device with frames that
    do not fit must leave every tensor of the dataset on the CPU.
    """
    from sklearn_scrubvae._solver import data

    monkeypatch.setattr(data, "frames_fit_on_device", lambda nbytes, device: False)
    frames = {"features": np.zeros((50, 4), np.float32)}
    bounds = np.zeros(50, np.int64), np.full(50, 50)
    dataset = data.window_dataset(
        frames, *bounds, np.arange(2, 48), 5, device=torch.device("cuda"),
        nuisance=np.zeros((50, 2), np.float32), targets={"a": np.zeros(50, np.int64)},
    )
    tensors = [dataset.frames, dataset.nuisance, dataset.targets["a"], dataset.centers]
    assert dataset.device.type == "cpu" and all(t.device.type == "cpu" for t in tensors)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_frames_served_from_host_memory_train_like_device_resident_frames(monkeypatch):
    """The per-batch path (frames too large for the device) trains the same."""
    from sklearn_scrubvae._solver import data

    X, table, groups = make_frames()
    params = dict(scrubber="mals", nuisance=["speed"], device="cuda", **TINY)
    resident = ScrubbedCVAE(**params).fit(X, table)
    monkeypatch.setattr(data, "frames_fit_on_device", lambda nbytes, device: False)
    batched = ScrubbedCVAE(**params).fit(X, table)
    np.testing.assert_allclose(batched.loss_curve_, resident.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(batched.transform(X), resident.transform(X), atol=1e-5)


def test_training_frames_share_memory_with_the_derived_inputs():
    """The largest array of a fit, the derived frames, is never held twice."""
    from sklearn_scrubvae._frames.inputs import side_by_side
    from sklearn_scrubvae._solver.data import WindowDataset, frames_as_tensors

    frames = side_by_side(50, {"rot6d": (18, 6), "root": (3,), "bone_lengths": (18,)})
    for value in frames.values():
        value[...] = np.random.default_rng(0).normal(size=value.shape)
    positions = torch.zeros(50, dtype=torch.int64)
    dataset = WindowDataset(
        frames_as_tensors(frames), nuisance=torch.zeros(50, 0), targets={},
        start=positions, stop=positions + 50, centers=torch.arange(2, 48), window=5,
    )
    assert dataset.frames.data_ptr() == frames["rot6d"].__array_interface__["data"][0]
    X, _ = dataset[torch.tensor([0, 7])]
    np.testing.assert_array_equal(X["frames"]["root"][1, 2].numpy(), frames["root"][9 + 2 - 2])
    # Separately allocated arrays are concatenated (copied) instead.
    copied = {name: value.copy() for name, value in frames.items()}
    other = WindowDataset(
        frames_as_tensors(copied), nuisance=torch.zeros(50, 0), targets={},
        start=positions, stop=positions + 50, centers=torch.arange(2, 48), window=5,
    )
    torch.testing.assert_close(other.frames, dataset.frames)
    assert other.frames.data_ptr() != dataset.frames.data_ptr()


def test_progress_line_of_a_resumed_run_counts_to_its_last_epoch(tmp_path, capsys):
    X, table, groups = make_frames()
    params = dict(TINY, scrubber="mals", nuisance=["speed"], checkpoint_dir=tmp_path,
                  checkpoint_every=1, verbose=1)
    ScrubbedCVAE(**{**params, "max_iter": 3}).fit(X, table, groups=groups)
    capsys.readouterr()
    ScrubbedCVAE(**{**params, "max_iter": 8}).fit(X, table, groups=groups)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert [line.split()[1] for line in lines] == [f"{i}/8" for i in range(4, 9)]
