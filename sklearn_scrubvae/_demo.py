"""The package's demo: scrub animal identity from a pose embedding."""

import time

import numpy as np
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

from ._estimator import ScrubbedCVAE
from .datasets import make_mouse_behavior


def held_out_identity_accuracy(Z, animal, train, step=5):
    """Accuracy of a QDA probe of identity fitted on ``train`` frames, scored on the rest.

    Parameters
    ----------
    Z : ndarray of shape (n_frames, n_components)
    animal : ndarray of shape (n_frames,)
    train : ndarray of bool, shape (n_frames,)
    step : int, default=5
        Use every ``step``-th frame of each part.

    Returns
    -------
    accuracy : float
    """
    rows_fit, rows_test = np.flatnonzero(train)[::step], np.flatnonzero(~train)[::step]
    probe = QuadraticDiscriminantAnalysis(reg_param=1e-2).fit(Z[rows_fit], animal[rows_fit])
    return probe.score(Z[rows_test], animal[rows_test])


def run_demo(n_animals=4, n_frames=1500, max_iter=20, random_state=0, verbose=True):
    """Fit a plain VAE and an identity-scrubbed SC-VAE-QD on synthetic mice.

    Both embed 3D poses of ``make_mouse_behavior`` in pose mode (MOUSE18),
    trained on the first two thirds of every session; a QDA probe of animal
    identity is fitted on those frames and scored on the held-out last
    third.

    Parameters
    ----------
    n_animals : int, default=4
    n_frames : int, default=1500
        Frames per animal (one session each).
    max_iter : int, default=20
        Training epochs of each model.
    random_state : int, default=0
    verbose : bool, default=True
        Print the results.

    Returns
    -------
    results : dict
        ``"chance"`` and, per model ("VAE", "SC-VAE-QD"), the held-out probe
        accuracy and the fit time in seconds.
    """
    poses, labels = make_mouse_behavior(
        n_animals=n_animals, n_frames=n_frames, lesion=False, random_state=random_state
    )
    session = labels["session"].to_numpy()
    animal = labels["animal"].to_numpy()
    train = (np.arange(len(poses)) % n_frames) < 2 * n_frames // 3
    settings = dict(
        skeleton="mouse18", n_components=8, window=15, hidden_channels=(32, 64),
        kernel_size=3, batch_size=256, learning_rate=2e-3, max_iter=max_iter,
        random_state=random_state,
    )
    models = {
        "VAE": dict(scrubber=None, conditional=False),
        "SC-VAE-QD": dict(scrubber="qd", nuisance=["animal"], lam=10.0),
    }
    results = {"chance": 1.0 / n_animals}
    for name, params in models.items():
        start = time.perf_counter()
        est = ScrubbedCVAE(**settings, **params)
        est.fit(poses[train], labels[train], groups=session[train])
        Z = est.transform(poses, groups=session)
        results[name] = {
            "identity_accuracy": held_out_identity_accuracy(Z, animal, train),
            "seconds": time.perf_counter() - start,
        }
    if verbose:
        print(
            f"{n_animals} synthetic mice, {len(poses)} frames of 3D poses; held-out QDA probe of "
            f"animal identity from the embedding (chance {results['chance']:.2f}):"
        )
        for name in models:
            r = results[name]
            print(f"  {name:<10} accuracy {r['identity_accuracy']:.2f}   (fit {r['seconds']:.0f} s)")
    return results
