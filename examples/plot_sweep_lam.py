"""
Choosing the scrubbing strength with GridSearchCV
=================================================

The estimator's own ``score`` (the held-out ELBO) always prefers the
weakest scrubbing, since scrubbing costs reconstruction. A sweep over
``lam`` needs a score that also rewards a clean latent code:
:func:`~sklearn_scrubvae.metrics.make_scrubbing_scorer` returns the ELBO
per modelled value minus the above-chance decodability of the nuisance
(here by a QDA probe).

Three synthetic mice described, as in the quick start, by their keypoints
turned to face +x (where body size tells the animals apart); SC-VAE-QD
scrubs animal identity. The single fold trains on the first two thirds of
every session and scores on the last third, so every animal is seen in
training.
"""

# %%
# Data and folds
# --------------
import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.metrics import make_scrubbing_scorer
from sklearn_scrubvae.plotting import plot_decodability
from sklearn_scrubvae.pose import align_egocentric

N_FRAMES = 900  # per session, at 30 fps
poses, labels = make_mouse_behavior(3, N_FRAMES, lesion=False, fps=30, random_state=0)
X = align_egocentric(poses[:, None], "mouse18")[:, 0].reshape(len(poses), -1)
position = np.arange(len(poses)) % N_FRAMES
early = position < 2 * N_FRAMES // 3
folds = [(np.flatnonzero(early), np.flatnonzero(~early))]
session = labels["session"]

# %%
# The sweep
# ---------
# Two scores per candidate: the ELBO alone, and the scrubbing scorer, which
# ``refit`` uses to choose. Metadata routing takes the recording ids
# (``groups``) to every fit and to the ELBO, so that windows never cross
# sessions. The scrubbing scorer does not take them: with one recording per
# animal, probe folds that keep recordings apart would hold out whole
# animals, whose identity no probe can learn.
with sklearn.config_context(enable_metadata_routing=True):
    estimator = ScrubbedCVAE(
        scrubber="qd", nuisance=["animal"], window=15, stride=4, n_components=8,
        hidden_channels=(32, 64), kernel_size=3, batch_size=256, learning_rate=2e-3,
        max_iter=10, random_state=0,
    ).set_fit_request(groups=True).set_score_request(groups=True)
    scorers = {
        "elbo": check_scoring(estimator),  # the estimator's score: held-out ELBO
        "scrubbing": make_scrubbing_scorer(["animal"], probe="qda", cv=3, step=5)
        .set_score_request(groups=False),
    }
    search = GridSearchCV(estimator, {"lam": [0.0, 10.0, 30.0]}, scoring=scorers,
                          refit="scrubbing", cv=folds)
    search.fit(X, labels, groups=session)

results = pd.DataFrame(search.cv_results_)[
    ["param_lam", "mean_test_elbo", "mean_test_scrubbing", "rank_test_scrubbing"]
]
print(results.round(3).to_string(index=False))
print(f"chosen by the scrubbing scorer: lam = {search.best_params_['lam']}")
best_by_elbo = results.loc[results["mean_test_elbo"].idxmax(), "param_lam"]
print(f"chosen by the ELBO alone: lam = {best_by_elbo}")

# %%
# What the scorer weighs
# ----------------------
# The scrubbing score is the ELBO per modelled value (window frames times
# input features) minus the weighted excess decodability of the animal over
# chance: splitting it shows what each ``lam`` gains and pays.
best = search.best_estimator_
per_value = results["mean_test_elbo"] / (best.window * best.n_features_in_)
terms = pd.DataFrame({
    "model": [f"lam = {lam:g}" for lam in results["param_lam"]],
    "ELBO per value": per_value,
    "excess decodability": per_value - results["mean_test_scrubbing"],
    "scrubbing score": results["mean_test_scrubbing"],
})
print(terms.round(3).to_string(index=False))
ax = plot_decodability(terms)
ax.set_ylabel("held-out score (nats per value, accuracy)")
