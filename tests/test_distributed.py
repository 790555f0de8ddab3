"""Beyond one process: sweeps on a dask cluster, data-parallel training with torchrun."""

import os

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, KFold

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
import os, sys
import numpy as np, pandas as pd
from sklearn_scrubvae import ScrubbedCVAE
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddp_data import PARAMS, data
X, table = data()
est = ScrubbedCVAE(**PARAMS).fit(X, table)
if int(os.environ["RANK"]) == 0:
    np.save(sys.argv[1], np.array(est.loss_curve_))
    np.save(sys.argv[2], est.transform(X))
    est.save(sys.argv[3])
"""

DDP_DATA = """
import numpy as np, pandas as pd
PARAMS = dict(scrubber=SCRUBBER, nuisance=["speed"], n_components=3, window=5,
              hidden_channels=(8, 8), kernel_size=3, max_iter=3, batch_size=64,
              random_state=0, device="cpu")

def data(n_frames=400):
    rng = np.random.default_rng(0)
    t = np.arange(n_frames)
    X = np.column_stack([np.sin(t / 3), np.cos(t / 5), np.sin(t / 7)])
    X += 0.1 * rng.normal(size=X.shape)
    return X, pd.DataFrame({"speed": rng.normal(size=n_frames) + X[:, 0]})
"""


@pytest.mark.slow
@pytest.mark.parametrize("scrubber, rtol", [("gr", 1e-4), ("mals", 1e-4)])
def test_two_process_ddp_follows_the_one_process_loss_trajectory(tmp_path, scrubber, rtol):
    """torchrun, gloo, 2 processes x 32 windows == 1 process x 64 windows."""
    import subprocess
    import sys

    from sklearn_scrubvae import ScrubbedCVAE

    (tmp_path / "ddp_data.py").write_text(DDP_DATA.replace("SCRUBBER", repr(scrubber)))
    (tmp_path / "fit.py").write_text(DDP_FIT)
    outputs = [tmp_path / "loss.npy", tmp_path / "Z.npy", tmp_path / "model.safetensors"]
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(tmp_path / "fit.py"), *map(str, outputs)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sys.path.insert(0, str(tmp_path))
    try:
        from ddp_data import PARAMS, data
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("ddp_data", None)
    X, table = data()
    single = ScrubbedCVAE(**PARAMS).fit(X, table)
    ddp_loss = np.load(outputs[0])
    assert len(ddp_loss) == PARAMS["max_iter"]
    np.testing.assert_allclose(ddp_loss, single.loss_curve_, rtol=rtol)
    np.testing.assert_allclose(np.load(outputs[1]), single.transform(X), atol=50 * rtol)
    # The model trained on two processes is an ordinary model once saved.
    assert ScrubbedCVAE.load(outputs[2]).n_iter_ == PARAMS["max_iter"]
    # Positive control: one process with the per-process batch differs.
    half = ScrubbedCVAE(**{**PARAMS, "batch_size": 32}).fit(X, table)
    assert not np.allclose(half.loss_curve_, ddp_loss, rtol=rtol)
