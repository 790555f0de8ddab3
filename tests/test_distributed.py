"""Beyond one process: hyperparameter sweeps on a dask cluster."""

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
