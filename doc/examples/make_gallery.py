"""Draw the figures of doc/gallery.md from synthetic mice.

Three synthetic mice (``make_mouse_behavior``), each with a healthy and a
lesioned session of 30 s at 30 fps, described frame by frame by their
keypoints relative to the root (generic features). Three small models train
for a few epochs each:

- on keypoints turned to face +x in every frame, where body size, the
  strongest identity cue of the synthetic animals, is plain to see: a plain
  VAE, and an SC-VAE whose decoder is conditioned on the animal while a QD
  scrubber removes the animal from the latent code;
- on keypoints that keep their heading: an SC-VAE conditioned on the
  heading (sin, cos) with a MALS scrubber, whose decoder then turns a
  latent code to any requested heading (motion synthesis).

The figures show the identity SC-VAE's training, both embeddings coloured by
animal (and by behaviour), how well probes decode the animal and the speed,
Gaussian-mixture clusters over time and per session, stick figures of the
recorded poses, one latent code decoded at other headings (GIF), and example
bouts of the three most used clusters (GIF).

Run: python doc/examples/make_gallery.py [--out DIR]   (a minute or two on two CPU cores)
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sklearn_scrubvae import ScrubbedCVAE  # noqa: E402
from sklearn_scrubvae.datasets import make_mouse_behavior  # noqa: E402
from sklearn_scrubvae.metrics import cluster_embeddings, decodability_score  # noqa: E402
from sklearn_scrubvae.plotting import (  # noqa: E402
    animate_clusters,
    animate_windows,
    plot_cluster_usage,
    plot_decodability,
    plot_embedding,
    plot_ethogram,
    plot_history,
    plot_pose,
)
from sklearn_scrubvae.pose import align_egocentric, heading_angle  # noqa: E402

FPS = 30
WINDOW = 15
HEADING = ["heading_sin", "heading_cos"]
SETTINGS = dict(
    window=WINDOW, stride=4, n_components=8, hidden_channels=(32, 64), kernel_size=3,
    batch_size=256, learning_rate=2e-3, max_iter=10, random_state=0,
)


def features(poses, *, facing):
    """Per-frame keypoints relative to the root, optionally turned to face +x.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, 18, 3)
    facing : bool
        Turn every frame so that its heading points along +x.

    Returns
    -------
    body : ndarray of shape (n_frames, 18, 3)
    """
    return align_egocentric(poses[:, None], "mouse18", mode="midfwd" if facing else "x360")[:, 0]


def save(figure, out, name):
    figure.savefig(out / name, dpi=80)
    plt.close(figure)
    print(f"wrote {out / name}")


def identity_figures(out, facing, table, session):
    """Training, embeddings, decodability, ethogram and usage of the identity models.

    Returns
    -------
    clusters : ndarray of shape (n_frames,)
        Gaussian-mixture clusters of the SC-VAE embedding.
    """
    X = facing.reshape(len(facing), -1)
    vae = ScrubbedCVAE(scrubber=None, conditional=False, **SETTINGS).fit(X, groups=session)
    scrubbed = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], lam=10.0, **SETTINGS)
    scrubbed.fit(X, table, groups=session)
    embeddings = {
        "VAE": vae.transform(X, groups=session),
        "SC-VAE-QD": scrubbed.transform(X, groups=session),
    }

    ax = plot_history(scrubbed)
    ax.set_title("SC-VAE-QD training")
    ax.figure.set_size_inches(6, 5)
    save(ax.figure, out, "history.png")

    figure, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    for ax, (name, Z) in zip(axes, embeddings.items()):
        plot_embedding(Z, table["animal"], ax=ax)
        ax.set_title(f"{name}, coloured by animal")
    plot_embedding(embeddings["SC-VAE-QD"], table["behavior"], ax=axes[2])
    axes[2].set_title("SC-VAE-QD, coloured by behaviour")
    save(figure, out, "embedding.png")

    results = {
        name: {
            "animal (QDA accuracy)": decodability_score(Z, table["animal"], "qda", step=WINDOW),
            "speed (linear R²)": decodability_score(Z, table["speed"], step=WINDOW),
        }
        for name, Z in embeddings.items()
    }
    for name, scores in results.items():
        print(f"  {name}: " + ", ".join(f"{k} {r.mean:.2f}" for k, r in scores.items()))
    ax = plot_decodability(results)
    ax.figure.set_size_inches(6, 3.5)
    save(ax.figure, out, "decodability.png")

    clusters = cluster_embeddings(embeddings["SC-VAE-QD"], 6, random_state=0)
    figure, axes = plt.subplots(2, 1, figsize=(9, 5.5), layout="constrained", sharex=True)
    plot_ethogram(table["behavior"], fps=FPS, groups=session, ax=axes[0])
    axes[0].set_title("true behaviour")
    plot_ethogram(clusters, fps=FPS, groups=session, ax=axes[1])
    axes[1].set_title("clusters of the SC-VAE-QD embedding")
    save(figure, out, "ethogram.png")

    ax = plot_cluster_usage(clusters, table[["condition", "session"]])
    ax.set_title("cluster usage, one point per session")
    ax.figure.set_size_inches(6, 3.5)
    save(ax.figure, out, "cluster_usage.png")
    return clusters


def synthesis_animation(out, heading_kept, table, session, centre):
    """A latent code decoded facing other directions, and the heading error over windows."""
    X = heading_kept.reshape(len(heading_kept), -1)
    model = ScrubbedCVAE(scrubber="mals", nuisance=HEADING, lam=10.0, **SETTINGS)
    Z = model.fit(X, table, groups=session).transform(X, groups=session)
    yaw = np.arctan2(table["heading_sin"].iloc[centre], table["heading_cos"].iloc[centre])
    turns = np.radians([0, 90, 180, -90])
    requested = table.iloc[[centre] * len(turns)].copy()
    requested["heading_sin"], requested["heading_cos"] = np.sin(yaw + turns), np.cos(yaw + turns)
    decoded = model.decode_windows(np.repeat(Z[[centre]], len(turns), axis=0), nuisance=requested)
    half = WINDOW // 2
    titles = ["recorded", "decoded", "turned 90°", "turned 180°", "turned -90°"]
    windows = [heading_kept[centre - half:centre + half + 1], *decoded.reshape(4, WINDOW, 18, 3)]
    animation = animate_windows(windows, "mouse18", titles=titles, fps=FPS, playback_fps=FPS / 2)
    animation.save(out / "synthesis.gif", writer="pillow", dpi=60)
    plt.close("all")
    print(f"wrote {out / 'synthesis.gif'}")

    rng = np.random.default_rng(0)
    sample = np.arange(half, len(X) - half, WINDOW)
    wanted = rng.uniform(-np.pi, np.pi, len(sample))
    requested = table.iloc[sample].copy()
    requested["heading_sin"], requested["heading_cos"] = np.sin(wanted), np.cos(wanted)
    decoded = model.decode_windows(Z[sample], nuisance=requested).reshape(-1, WINDOW, 18, 3)
    error = np.angle(np.exp(1j * (heading_angle(decoded[:, half], "mouse18") - wanted)))
    print(f"  random headings requested for {len(sample)} windows: median error "
          f"{np.degrees(np.median(np.abs(error))):.0f} degrees")


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    poses, table = make_mouse_behavior(3, 30 * FPS, lesion=True, fps=FPS, random_state=0)
    session = table["session"].astype(str).to_numpy()
    clusters = identity_figures(out, features(poses, facing=True), table, session)

    walking = np.flatnonzero((table["behavior"] == "walk").to_numpy() & (table["speed"] > 60))
    centre = walking[len(walking) // 2]
    half = WINDOW // 2
    recorded = align_egocentric(poses[centre - half:centre + half + 1], "mouse18")
    figure = plt.figure(figsize=(8, 4), layout="constrained")
    plot_pose(recorded[half], "mouse18", ax=figure.add_subplot(1, 2, 1, projection="3d"))
    ax = plot_pose(recorded, "mouse18", ax=figure.add_subplot(1, 2, 2, projection="3d"))
    ax.set_title(f"{WINDOW} frames of walking")
    save(figure, out, "pose.png")

    synthesis_animation(out, features(poses, facing=False), table, session, centre)

    top = np.argsort(-np.bincount(clusters[clusters >= 0]))[:3]
    animation = animate_clusters(
        poses, clusters, "mouse18", n_examples=4, window=WINDOW, groups=session,
        clusters=list(top), fps=FPS, playback_fps=FPS / 2, random_state=0,
    )
    animation.save(out / "clusters.gif", writer="pillow", dpi=55)
    plt.close("all")
    print(f"wrote {out / 'clusters.gif'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "gallery",
        help="folder of the images (default: doc/gallery)",
    )
    main(parser.parse_args().out)
