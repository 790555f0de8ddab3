"""
Quick start: scrubbing animal identity
======================================

Three synthetic mice (:func:`~sklearn_scrubvae.datasets.make_mouse_behavior`),
each with a healthy and a lesioned session of 30 s at 30 fps. Every frame
is described by its keypoints relative to the root, turned to face +x:
body size, the strongest identity cue of the synthetic animals, is plain
to see in these features.

Two small models train for ten epochs each: a plain VAE, and an SC-VAE
whose decoder is conditioned on the animal while a quadratic-discriminant
scrubber (``scrubber="qd"``) removes the animal from the latent code. We
then ask how well a QDA probe still tells the animals apart from each
embedding, and cluster the scrubbed embedding into behaviours.
"""

# %%
# Data
# ----
# ``make_mouse_behavior`` returns poses of shape ``(n_frames, 18, 3)`` and a
# nuisance table with one row per frame: the animal, the session, the true
# behaviour, speed and heading. ``groups`` (one recording id per frame)
# keeps the model's windows inside recordings.
import matplotlib.pyplot as plt

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.metrics import cluster_embeddings, decodability_score
from sklearn_scrubvae.plotting import (
    plot_cluster_usage,
    plot_decodability,
    plot_embedding,
    plot_ethogram,
    plot_history,
)
from sklearn_scrubvae.pose import align_egocentric

FPS = 30
poses, table = make_mouse_behavior(3, 30 * FPS, lesion=True, fps=FPS, random_state=0)
session = table["session"].astype(str).to_numpy()
facing = align_egocentric(poses[:, None], "mouse18")[:, 0]  # every frame faces +x
X = facing.reshape(len(facing), -1)                          # (n_frames, 54)
print(X.shape, table["animal"].cat.categories.tolist())

# %%
# Two models
# ----------
# The same small network for both; only the scrubbing differs.
settings = dict(window=15, stride=4, n_components=8, hidden_channels=(32, 64),
                kernel_size=3, batch_size=256, learning_rate=2e-3, max_iter=10,
                random_state=0)
vae = ScrubbedCVAE(scrubber=None, conditional=False, **settings)
vae.fit(X, groups=session)
scrubbed = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], lam=10.0, **settings)
scrubbed.fit(X, table, groups=session)
embeddings = {
    "VAE": vae.transform(X, groups=session),
    "SC-VAE-QD": scrubbed.transform(X, groups=session),
}

# %%
# Training curves
# ---------------
# Every per-epoch term of ``history_``: the loss, the reconstruction error,
# the KL divergence, the scrubber's penalty and, on the right axis, the
# self-tuning forgetting factors of the QD scrubber.
ax = plot_history(scrubbed)
ax.set_title("SC-VAE-QD training")

# %%
# Embeddings
# ----------
# The plain VAE's embedding falls into one band per animal; after scrubbing
# the animals overlap, while the embedding still separates behaviours.
fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
for ax, (name, Z) in zip(axes, embeddings.items()):
    plot_embedding(Z, table["animal"], ax=ax)
    ax.set_title(f"{name}, coloured by animal")
plot_embedding(embeddings["SC-VAE-QD"], table["behavior"], ax=axes[2])
axes[2].set_title("SC-VAE-QD, coloured by behaviour")

# %%
# Decodability
# ------------
# :func:`~sklearn_scrubvae.metrics.decodability_score` fits a probe on
# held-out folds (every ``step``-th frame); black lines mark chance (1/3 for
# three animals).
results = {
    name: {
        "animal (QDA accuracy)": decodability_score(Z, table["animal"], "qda", step=15),
        "speed (linear R²)": decodability_score(Z, table["speed"], step=15),
    }
    for name, Z in embeddings.items()
}
for name, scores in results.items():
    print(name, {key: round(result.mean, 2) for key, result in scores.items()})
ax = plot_decodability(results)

# %%
# Behaviour clusters
# ------------------
# Six Gaussian-mixture clusters of the scrubbed embedding, over time for
# every session (below the true behaviour), and their usage per condition.
clusters = cluster_embeddings(embeddings["SC-VAE-QD"], 6, random_state=0)
fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), layout="constrained", sharex=True)
plot_ethogram(table["behavior"], fps=FPS, groups=session, ax=axes[0])
axes[0].set_title("true behaviour")
plot_ethogram(clusters, fps=FPS, groups=session, ax=axes[1])
axes[1].set_title("clusters of the SC-VAE-QD embedding")

ax = plot_cluster_usage(clusters, table[["condition", "session"]])
ax.set_title("cluster usage, one point per session")
