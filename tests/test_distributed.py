"""Beyond one process: sweeps on a dask cluster, data-parallel training with torchrun."""

import os

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, KFold

import sklearn_scrubvae
from sklearn_scrubvae import ScrubbedCVAE

TINY = dict(
    n_components=2, window=5, hidden_channels=(8,), kernel_size=3, max_iter=1,
    batch_size=64, random_state=0,
)


def _frames(n_frames=240, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)
    X = np.column_stack([np.sin(t / 3), np.cos(t / 5), np.sin(t / 7)])
    X += 0.1 * rng.normal(size=X.shape)
    return X, pd.DataFrame({"speed": rng.normal(size=n_frames)})


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster_matches_a_local_search():
    """GridSearchCV over lam, alpha, beta runs on two dask worker processes."""
    distributed = pytest.importorskip("dask.distributed")
    X, table = _frames()
    grid = {"lam": [0.0, 10.0], "alpha": [0.5, 2.0], "beta": [0.5]}
    base = ScrubbedCVAE(scrubber="gr", nuisance=["speed"], **TINY)
    local = GridSearchCV(base, grid, cv=KFold(2)).fit(X, table)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        worker_pids = client.run(os.getpid)
        search = GridSearchCV(base, grid, cv=KFold(2))
        with distributed.get_task_stream(client) as stream:
            with joblib.parallel_config(backend="dask"):
                search.fit(X, table)
    assert len(set(worker_pids.values())) == 2 and os.getpid() not in worker_pids.values()
    # The 8 cross-validation fits ran as tasks on the workers.
    assert len(stream.data) >= 8
    assert {task["worker"] for task in stream.data} <= set(worker_pids)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all()
    # Seeded fits give the same scores wherever they run.
    np.testing.assert_allclose(scores, local.cv_results_["mean_test_score"], rtol=1e-5)
    assert search.best_params_ == local.best_params_


DDP_FIT = """
import json, os, sys
import numpy as np, torch
from sklearn_scrubvae import ScrubbedCVAE

out, params, mode = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
# Count the windows of every training batch at the encoder's first Conv1d.
calls, conv_forward = [], torch.nn.Conv1d.forward
def counting(self, x):
    if self.training:
        calls.append((id(self), len(x)))
    return conv_forward(self, x)
torch.nn.Conv1d.forward = counting
if mode == "whole":  # the defect: every process computes the whole global batch
    from sklearn_scrubvae._solver import data, distributed
    distributed.ShardedBatchLoader.batches = data.BatchLoader.batches
sys.path.insert(0, sys.argv[4])
from test_distributed import _data
X, speed = _data(params.pop("n_frames"))
est = ScrubbedCVAE(**params).fit(X, speed)
rank = int(os.environ["RANK"])
first = calls[0][0] if calls else None
json.dump({"loss": est.loss_curve_, "n_iter": est.n_iter_,
           "valid_loss": [row.get("valid_loss") for row in est.history_],
           "sizes": [n for conv, n in calls if conv == first]},
          open(os.path.join(out, f"rank{rank}.json"), "w"))
if rank == 0:
    np.save(os.path.join(out, "Z.npy"), est.transform(X))
    est.save(os.path.join(out, "model.safetensors"))
"""

DDP_PARAMS = dict(
    nuisance=["speed"], n_components=3, window=5, hidden_channels=(8, 8), kernel_size=3,
    max_iter=3, batch_size=64, random_state=0, device="cpu",
)
N_FRAMES = 401  # 397 windows: six batches of 64 and one of 13 (shards of 7 and 6) per epoch


@pytest.fixture(autouse=True)
def _one_thread():
    """One-process reference fits use one thread, like the torchrun workers
    (OMP_NUM_THREADS=1): another thread count sums in another order, and
    those differences grow over epochs."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data(n_frames=N_FRAMES):
    """The frames and speed column that DDP_FIT builds, in this process."""
    rng = np.random.default_rng(0)
    t = np.arange(n_frames)
    X = np.column_stack([np.sin(t / 3), np.cos(t / 5), np.sin(t / 7)])
    X += 0.1 * rng.normal(size=X.shape)
    return X, pd.DataFrame({"speed": rng.normal(size=n_frames) + X[:, 0]})


def _torchrun(tmp_path, params, *, mode="shard", n_frames=N_FRAMES, run=None, **popen):
    """Launch DDP_FIT on two gloo processes; returns the Popen (run) or the ranks' results."""
    import json
    import subprocess
    import sys

    script = tmp_path / "fit.py"
    script.write_text(DDP_FIT)
    out = tmp_path / f"out-{mode}"
    out.mkdir(exist_ok=True)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(script), str(out), json.dumps({**params, "n_frames": n_frames}), mode,
        os.path.dirname(os.path.abspath(__file__)),
    ]
    # The processes import the package under test, wherever it lives.
    root = os.path.dirname(os.path.dirname(os.path.abspath(sklearn_scrubvae.__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    if run == "popen":
        return subprocess.Popen(command, env=env, **popen), out
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]
    return ranks, out, done


def _assert_each_process_takes_its_share(ranks, params, n_windows):
    """Per-process training batches hold batch_size / 2 windows (the last, about half)."""
    full, last = divmod(n_windows, params["batch_size"])
    for index, rank in enumerate(ranks):
        epoch = [params["batch_size"] // 2] * full + [(last + 1 - index) // 2]
        assert rank["sizes"] == epoch * rank["n_iter"]


# GR without its start-of-epoch catch-up: 300 Adam steps from fresh weights
# turn the float noise of the all-gathered batch (its rows summed in another
# order) into relative loss differences up to 3.3e-4 from the second epoch on.
DDP_GR = {"gr": {"catch_up_iter": 0}}


@pytest.mark.slow
@pytest.mark.parametrize("scrubber, rtol", [("gr", 1e-4), ("mals", 1e-4)])
def test_two_process_ddp_shards_batches_and_follows_one_process(tmp_path, scrubber, rtol):
    """torchrun, gloo: 2 processes x 32 windows follow 1 process x 64 windows."""
    params = {**DDP_PARAMS, "scrubber": scrubber, "scrubber_params": DDP_GR}
    ranks, out, _ = _torchrun(tmp_path, params)
    print("per-process training batch sizes, epoch 1:",
          [rank["sizes"][: len(rank["sizes"]) // rank["n_iter"]] for rank in ranks])
    _assert_each_process_takes_its_share(ranks, params, N_FRAMES - 4)
    X, speed = _data()
    single = ScrubbedCVAE(**params).fit(X, speed)
    for rank in ranks:
        assert rank["n_iter"] == params["max_iter"]
        np.testing.assert_allclose(rank["loss"], single.loss_curve_, rtol=rtol)
    np.testing.assert_allclose(np.load(out / "Z.npy"), single.transform(X), atol=50 * rtol)
    # The model trained on two processes is an ordinary model once saved.
    assert ScrubbedCVAE.load(out / "model.safetensors").n_iter_ == params["max_iter"]
    # Positive control: one process with the per-process batch differs.
    half = ScrubbedCVAE(**{**params, "batch_size": 32}).fit(X, speed)
    assert not np.allclose(half.loss_curve_, single.loss_curve_, rtol=rtol)


@pytest.mark.slow
def test_ddp_check_fails_when_every_process_takes_the_whole_batch(tmp_path):
    """Positive control: duplicated full batches still match the loss, not the batch sizes."""
    params = {**DDP_PARAMS, "scrubber": "gr", "scrubber_params": DDP_GR}
    ranks, _, _ = _torchrun(tmp_path, params, mode="whole")
    assert ranks[0]["sizes"][:2] == [64, 64]
    X, speed = _data()
    single = ScrubbedCVAE(**params).fit(X, speed)
    np.testing.assert_allclose(ranks[0]["loss"], single.loss_curve_, rtol=1e-4)
    with pytest.raises(AssertionError):
        _assert_each_process_takes_its_share(ranks, params, N_FRAMES - 4)


@pytest.mark.slow
def test_ddp_rejects_a_batch_size_that_does_not_split(tmp_path):
    import subprocess

    popen, _ = _torchrun(tmp_path, {**DDP_PARAMS, "scrubber": None, "batch_size": 63},
                         run="popen", stderr=subprocess.PIPE, text=True)
    _, stderr = popen.communicate(timeout=600)
    assert popen.returncode != 0
    assert "batch_size=63 is the global batch of a data-parallel fit" in stderr


@pytest.mark.slow
def test_ddp_killed_and_resumed_runs_the_epochs_of_an_uninterrupted_run(tmp_path):
    """Kill a torchrun fit after a checkpoint; a new torchrun resumes it exactly."""
    import signal
    import subprocess

    ckpt = tmp_path / "ckpt"
    params = {**DDP_PARAMS, "scrubber": "mals", "max_iter": 6, "verbose": 1,
              "checkpoint_dir": str(ckpt), "checkpoint_every": 1}
    psutil = pytest.importorskip("psutil")
    popen, _ = _torchrun(tmp_path, params, run="popen", stdout=subprocess.PIPE, text=True)
    for line in popen.stdout:  # rank 0 and rank 1 each print one line per epoch
        if line.startswith("epoch 3/"):
            # Like a crashed node: every worker (each in a session of its own)
            # and the launcher die at once.
            for process in [*psutil.Process(popen.pid).children(recursive=True), popen]:
                process.send_signal(signal.SIGKILL)
            break
    popen.wait(timeout=60)
    assert popen.returncode == -signal.SIGKILL
    saved = int((ckpt / "latest").read_text().split("-")[1])
    assert 1 <= saved < params["max_iter"]
    ranks, _, done = _torchrun(tmp_path, params)
    epochs = sorted({int(line.split()[1].split("/")[0]) for line in done.stdout.splitlines()
                     if line.startswith("epoch ")})
    assert epochs == list(range(saved + 1, params["max_iter"] + 1))
    X, speed = _data()
    straight = ScrubbedCVAE(**{**params, "checkpoint_dir": None, "verbose": 0}).fit(X, speed)
    for rank in ranks:
        assert rank["n_iter"] == params["max_iter"]
        np.testing.assert_allclose(rank["loss"], straight.loss_curve_, rtol=1e-4)


@pytest.mark.slow
def test_ddp_early_stopping_stops_every_process_at_the_same_epoch(tmp_path):
    # GR as the paper trains it (the adversary learns only through the reversed
    # gradient): its own Adam steps would amplify float noise between the runs.
    params = {**DDP_PARAMS, "scrubber": "gr", "max_iter": 30, "early_stopping": True,
              "n_iter_no_change": 2, "tol": 0.0, "learning_rate": 1e-2,
              "scrubber_params": {"gr": {"n_iter": 0, "catch_up_iter": 0, "cap": False}}}
    ranks, _, _ = _torchrun(tmp_path, params)
    X, speed = _data()
    single = ScrubbedCVAE(**params).fit(X, speed)
    assert single.n_iter_ < params["max_iter"]
    assert ranks[0]["n_iter"] == ranks[1]["n_iter"] == single.n_iter_
    np.testing.assert_allclose(ranks[0]["valid_loss"], ranks[1]["valid_loss"], rtol=0)
    # Training losses match to 1e-4; validation losses less closely, because
    # the convolution biases in front of batch norms get no gradient but
    # float noise, which AdamW turns into steps that the running means follow
    # (up to 0.27% apart on this network, whose encoder has no mask inputs).
    np.testing.assert_allclose(ranks[0]["loss"], single.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(ranks[0]["valid_loss"], single.history_[:, "valid_loss"],
                               rtol=5e-3)


def embed_on_dask(est, X, chunk_frames, depth):
    """The documented recipe: a recording's frames embedded block by block with overlap."""
    import dask.array as da

    X = da.from_array(X.reshape(len(X), -1), chunks=(chunk_frames, -1))
    depth = {0: depth, 1: 0}
    padded = da.overlap.overlap(X, depth=depth, boundary="none")
    Z = padded.map_blocks(est.transform, chunks=(padded.chunks[0], (est.n_components,)),
                          dtype=float)
    return da.overlap.trim_internal(Z, depth, boundary="none")


def test_transform_on_a_dask_cluster_equals_the_in_memory_transform():
    """Two workers embed a recording split into blocks whose edges fall inside windows."""
    import time

    distributed = pytest.importorskip("dask.distributed")
    from sklearn_scrubvae.datasets import make_mouse_behavior

    poses, *_ = make_mouse_behavior(n_animals=1, n_frames=1500, random_state=0)
    poses = poses[:1500].copy()  # one recording
    poses[393:397, 3] = np.nan  # short gaps (filled) just before block edges
    poses[790:793, 5] = np.nan
    est = ScrubbedCVAE(skeleton="mouse18", scrubber=None, conditional=False, window=9,
                       n_components=4, hidden_channels=(8, 16), max_iter=1, batch_size=64,
                       stride=5, random_state=0).fit(poses)
    expected = est.transform(poses)
    depth = est.window // 2 + est.max_gap + 2  # half a window, and gap filling's reach
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        start = time.perf_counter()
        with distributed.get_task_stream(client) as stream:
            Z = embed_on_dask(est, poses, 397, depth).compute()
        print(f"dask transform of {len(poses)} frames: {time.perf_counter() - start:.2f} s")
        short = embed_on_dask(est, poses, 397, est.window // 2).compute()
    assert len({task["worker"] for task in stream.data}) == 2
    assert np.array_equal(Z, expected)
    # Control: half a window of overlap misses the gaps filled across a block edge.
    assert not np.allclose(short, expected)
