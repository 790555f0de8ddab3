"""
Real recordings: from tracking files to behaviour clusters
==========================================================

Two kinds of recordings as a lab has them, with gaps, tracker
confidences, their own frame rates and several sessions:

1. OIST treadmill motion capture (MATLAB files): one mouse, two sessions
   (CP55,940 at 15 m/min, harmaline at 5 m/min), 11 markers in 3D at
   300 Hz, about a quarter of the marker positions missing. A custom
   skeleton, the missing-data report, resampling to 90 Hz, speed and heading
   features, and :class:`~sklearn_scrubvae.ScrubbedCVAE` (speed scrubbed
   with MALS) embedding every frame from the markers it has, then KMeans
   on the frames with an embedding of their own.
2. Three motionmapperpy open-field mice (2D, 17 keypoints, 30 Hz), written
   as DeepLabCut files by the ``movement`` package, read back with
   ``min_confidence``, made egocentric with
   :class:`~sklearn_scrubvae.pose.EgocentricAligner` and embedded with
   identity scrubbed by QD. The mice come without tracker confidence, so the
   files are given one: 0.95 everywhere and 0.05 at 1% of the points, chosen
   at random (the points a tracker would doubt), which
   ``min_confidence=0.5`` turns into gaps.

The recordings are read from the folder named by the environment variable
``SCRUBVAE_DATA`` (by default ``shared/data`` beside the repository). A part
whose files, or the ``movement`` package, are missing is skipped with a
note. Each part uses the first seconds of its recordings and a small
model, to build in under a minute.
"""

# %%
# Where the data are
# ------------------
import importlib.util
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline

import sklearn_scrubvae
from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.plotting import plot_cluster_usage, plot_ethogram
from sklearn_scrubvae.pose import (
    EgocentricAligner,
    Skeleton,
    compute_heading,
    compute_speed,
    interpolate_gaps,
    missing_report,
    resample_poses,
)

# Default: shared/data beside the repository of a source checkout.
CHECKOUT = Path(sklearn_scrubvae.__file__).resolve().parents[1]
DATA = Path(os.environ.get("SCRUBVAE_DATA", CHECKOUT.parent / "shared" / "data"))
OIST = DATA / "oist_mouse_mocap3d"
MICE = DATA / "motionmapperpy_mice"
SMALL = dict(n_components=8, hidden_channels=(32, 64), kernel_size=5, max_iter=5,
             batch_size=256, learning_rate=1e-3, random_state=0)
print(f"data folder: {DATA}")


def cluster_summary(labels, valid, table):
    """Frames, share of frames with an embedding of their own, means per cluster."""
    frame = table.assign(cluster=labels, own_embedding=valid.astype(float))
    numeric = frame.select_dtypes("number").columns.drop("cluster")
    summary = frame.groupby("cluster")[list(numeric)].mean()
    summary.insert(0, "frames", frame.groupby("cluster").size())
    shares = pd.crosstab(frame["cluster"], frame["recording"], normalize="index")
    return summary.join(shares.add_prefix("share "))


# %%
# Part 1: 3D motion capture with gaps
# -----------------------------------
# The 11 markers get a kinematic tree rooted at the back, with the
# miniscope as the front. :func:`~sklearn_scrubvae.pose.missing_report`
# names the markers that cost the most frames: here the ankles. A model
# that required every marker would embed only the frames with both ankles;
# with the default ``min_keypoints=0.5`` a frame needs 6 of the 11 markers,
# the missing ones are placed from the mean body shape for the encoder
# (which also sees which were present) and left out of the likelihood.
OIST_SESSIONS = {
    "CP55940 15 m/min": "MOS1aD_S15_M5_MC2_T2_TRM_15MMIN_B.mat",
    "harmaline 5 m/min": "MOS1aD_S2_M5_MC2_T2_TRM_5MMIN_E.mat",
}
OIST_EDGES = [
    ("left_back", "right_back"), ("left_back", "miniscope"),
    ("left_back", "left_coord"), ("right_back", "right_coord"),
    ("left_coord", "left_hip"), ("right_coord", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
]


def oist_treadmill(seconds=30):
    """Load, report, featurise and cluster the first ``seconds`` of both sessions."""
    recordings = []
    for file in OIST_SESSIONS.values():
        poses, names, fps, _ = load_poses(OIST / file)
        poses, _ = resample_poses(poses, fps=fps, new_fps=90)  # the paper's frame rate
        recordings.append(poses[: 90 * seconds])
    poses = np.concatenate(recordings)
    recording = np.repeat(list(OIST_SESSIONS), [len(r) for r in recordings])
    skeleton = Skeleton.from_edges(names, OIST_EDGES, root="left_back", front="miniscope")

    report = missing_report(poses, skeleton, groups=recording, max_gap=10)
    print(report.sort_values("frames_lost", ascending=False).round(3).head(4).to_string())
    print(f"every marker required: {report.attrs['frames_unusable']} of {len(poses)} "
          "frames unusable")

    table = pd.concat([compute_speed(poses, skeleton, fps=90, groups=recording),
                       compute_heading(poses, skeleton)], axis=1).assign(recording=recording)
    vae = ScrubbedCVAE(skeleton=skeleton, scrubber="mals", nuisance=["speed_root"],
                       lam=10.0, window=31, **SMALL)  # 31 frames: 0.34 s at 90 Hz
    Z = vae.fit(poses, table, groups=recording).transform(poses, groups=recording)
    valid = vae.valid_frames(poses, groups=recording)
    # Bridged embeddings are copies of a neighbour's: cluster the frames' own.
    labels = KMeans(n_clusters=6, n_init=4, random_state=0).fit(Z[valid]).predict(Z)
    print(f"{vae.n_windows_} training windows kept, {vae.n_windows_dropped_} dropped; "
          f"{valid.sum()} of {len(poses)} frames have an embedding of their own")
    summary = cluster_summary(labels, valid, table.drop(columns=["heading_sin", "heading_cos"]))
    return labels, valid, recording, summary


if OIST.exists():
    oist_labels, oist_valid, oist_recording, oist_summary = oist_treadmill()
    print(oist_summary.round(2).to_string())
else:
    print(f"Part 1 skipped: {OIST} is absent.")

# %%
# Clusters over time, in each session, and how much each session uses each
# cluster. Frames without an embedding of their own (their window touches a
# frame with fewer than 6 markers) are drawn grey and hatched in the
# ethogram and left out of the usage; both titles count them.
if OIST.exists():
    fig, axes = plt.subplots(2, 1, figsize=(9, 5), layout="constrained")
    plot_ethogram(oist_labels, fps=90, groups=oist_recording, valid=oist_valid, ax=axes[0])
    plot_cluster_usage(oist_labels, pd.Series(oist_recording, name="session"),
                       valid=oist_valid, ax=axes[1])

# %%
# Part 2: 2D DeepLabCut files
# ---------------------------
# ``movement`` writes the mice as DeepLabCut ``.h5`` files;
# :func:`~sklearn_scrubvae.io.load_poses` reads them back, turning points
# below ``min_confidence`` into gaps. DeepLabCut files store no frame
# rate: say it with ``fps=``.
MICE_NAMES = ["OFT_F_5_0_9000", "OFT_F_8_0_9000", "OFT_F_19_0_9000"]
ROOT, FRONT = 8, 2  # spine and neck keypoints of the motionmapperpy mice


def write_dlc_files(folder, n_frames, seed=0):
    """Write the mice as DeepLabCut files with ``movement``, with confidences."""
    from movement.io import load_poses as movement_load, save_poses

    rng = np.random.default_rng(seed)
    paths = []
    for mouse in MICE_NAMES:
        position = np.load(MICE / f"{mouse}.npy")[:n_frames]
        confidence = np.where(rng.random(position.shape[:2]) < 0.01, 0.05, 0.95)
        dataset = movement_load.from_numpy(
            position_array=position.transpose(0, 2, 1)[..., None],  # (time, space, kp, ind)
            confidence_array=confidence[..., None],
            individual_names=[mouse],
            keypoint_names=[f"kp{k}" for k in range(position.shape[1])],
            fps=30,
        )
        paths.append(folder / f"{mouse}.h5")
        save_poses.to_dlc_file(dataset, paths[-1], split_individuals=False)
    return paths


def star_skeleton(names):
    """Every keypoint hung from the spine: enough for root speed and heading."""
    edges = [(names[ROOT], name) for name in names if name != names[ROOT]]
    return Skeleton.from_edges(names, edges, root=names[ROOT], front=names[FRONT])


def dlc_mice(n_frames=1500):
    """Read, align, embed with identity scrubbed, and cluster the three mice."""
    with tempfile.TemporaryDirectory() as folder:
        loaded = [load_poses(path, source_software="DeepLabCut", fps=30, min_confidence=0.5)
                  for path in write_dlc_files(Path(folder), n_frames)]
    missing = sum(int(np.isnan(p).any(axis=-1).sum()) for p, _, _, _ in loaded)
    print(f"{missing} low-confidence points became gaps")
    poses = np.concatenate([interpolate_gaps(p, max_gap=5) for p, _, _, _ in loaded])
    names = loaded[0][1]
    mouse = pd.Categorical(np.repeat(MICE_NAMES, [len(p) for p, _, _, _ in loaded]))
    table = compute_speed(poses, star_skeleton(names), fps=30, groups=mouse)
    table = table.assign(animal=mouse, recording=mouse)
    with sklearn.config_context(enable_metadata_routing=True):
        aligner = EgocentricAligner(root=ROOT, front=FRONT, motion=True)
        aligner.set_fit_request(groups=True).set_transform_request(groups=True)
        vae = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], lam=10.0, window=17, **SMALL)
        vae.set_fit_request(groups=True).set_transform_request(groups=True)
        pipeline = make_pipeline(aligner, vae, KMeans(n_clusters=6, n_init=4, random_state=0))
        labels = pipeline.fit_predict(poses, table, groups=mouse)
        valid = vae.valid_frames(aligner.transform(poses, groups=mouse), groups=mouse)
    return labels, mouse, cluster_summary(labels, valid, table.drop(columns=["animal"]))


have_movement = importlib.util.find_spec("movement") is not None
if MICE.exists() and have_movement:
    mice_labels, mice_animal, mice_summary = dlc_mice()
    print(mice_summary.round(2).to_string())
    ax = plot_cluster_usage(mice_labels, pd.Series(mice_animal, name="mouse"))
    ax.set_title("DeepLabCut mice: cluster usage per mouse")
else:
    print(f"Part 2 skipped: needs {MICE} and the movement package "
          f"(pip install movement); movement installed: {have_movement}.")
