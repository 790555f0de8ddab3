"""
Motion synthesis: the same movement at another heading
======================================================

A decoder conditioned on a nuisance variable can generate the same latent
code at another value of it. Here the keypoints keep their heading, the
decoder is given the heading (its sine and cosine) and a MALS scrubber
removes linear heading information from the latent code. One window of
walking is encoded once and decoded facing its own direction and turned
by 90, 180 and -90 degrees; then many windows are decoded at random
headings and the heading of the generated motion is measured.
"""

# %%
# Poses that keep their heading
# -----------------------------
# ``align_egocentric(..., mode="x360")`` moves every frame's root to the
# origin but keeps its heading.
import matplotlib.pyplot as plt
import numpy as np

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.plotting import animate_windows, plot_pose
from sklearn_scrubvae.pose import align_egocentric, heading_angle

FPS, WINDOW = 30, 15
HEADING = ["heading_sin", "heading_cos"]
poses, table = make_mouse_behavior(3, 30 * FPS, lesion=False, fps=FPS, random_state=0)
session = table["session"].astype(str).to_numpy()
kept = align_egocentric(poses[:, None], "mouse18", mode="x360")[:, 0]
X = kept.reshape(len(kept), -1)

# %%
# A window of walking
# -------------------
# One recorded frame, and the 15-frame window around it drawn as a
# chronophotograph (earlier frames fainter), turned to face +x.
walking = np.flatnonzero((table["behavior"] == "walk").to_numpy() & (table["speed"] > 60))
centre = walking[len(walking) // 2]
half = WINDOW // 2
recorded = align_egocentric(poses[centre - half:centre + half + 1], "mouse18")
fig = plt.figure(figsize=(8, 4), layout="constrained")
plot_pose(recorded[half], "mouse18", ax=fig.add_subplot(1, 2, 1, projection="3d"))
ax = plot_pose(recorded, "mouse18", ax=fig.add_subplot(1, 2, 2, projection="3d"))
ax.set_title(f"{WINDOW} frames of walking")

# %%
# A model conditioned on the heading
# ----------------------------------
model = ScrubbedCVAE(scrubber="mals", nuisance=HEADING, lam=10.0, window=WINDOW, stride=4,
                     n_components=8, hidden_channels=(32, 64), kernel_size=3,
                     batch_size=256, learning_rate=2e-3, max_iter=10, random_state=0)
Z = model.fit(X, table, groups=session).transform(X, groups=session)

# %%
# One latent code, four headings
# ------------------------------
# The nuisance table of the decoded windows is the recorded one with the
# heading replaced. :func:`~sklearn_scrubvae.plotting.animate_windows` plays
# the windows side by side.
yaw = np.arctan2(table["heading_sin"].iloc[centre], table["heading_cos"].iloc[centre])
turns = np.radians([0, 90, 180, -90])
requested = table.iloc[[centre] * len(turns)].copy()
requested["heading_sin"], requested["heading_cos"] = np.sin(yaw + turns), np.cos(yaw + turns)
decoded = model.decode_windows(np.repeat(Z[[centre]], len(turns), axis=0), nuisance=requested)
windows = [kept[centre - half:centre + half + 1], *decoded.reshape(len(turns), WINDOW, 18, 3)]
animation = animate_windows(
    windows, "mouse18", fps=FPS / 2,
    titles=["recorded", "decoded", "turned 90°", "turned 180°", "turned -90°"],
)

# %%
# How well the requested heading is followed
# ------------------------------------------
# Every 15th window is decoded at a heading drawn at random, and the heading
# of the decoded middle frame is measured with
# :func:`~sklearn_scrubvae.pose.heading_angle`.
rng = np.random.default_rng(0)
sample = np.arange(half, len(X) - half, WINDOW)
wanted = rng.uniform(-np.pi, np.pi, len(sample))
requested = table.iloc[sample].copy()
requested["heading_sin"], requested["heading_cos"] = np.sin(wanted), np.cos(wanted)
decoded = model.decode_windows(Z[sample], nuisance=requested).reshape(-1, WINDOW, 18, 3)
error = np.degrees(np.angle(np.exp(1j * (heading_angle(decoded[:, half], "mouse18") - wanted))))
print(f"{len(sample)} windows: median absolute heading error "
      f"{np.median(np.abs(error)):.0f} degrees")
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
ax.hist(error, bins=36, range=(-180, 180))
ax.set_xlabel("decoded minus requested heading (degrees)")
ax.set_ylabel("windows")
