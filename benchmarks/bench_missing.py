"""Partial keypoints: clusters, scrubbing and embeddings when a tracker loses points.

Synthetic mice (``make_mouse_behavior``, one healthy session per animal)
lose keypoints as a tracker does: one of the left ankle or right hind paw
(drawn per run) in runs of 0.2 to 2 s until ``coverage`` of the frames
(30% and 60%) are hit, and the tail base in runs over a further 10%. A
VAE (no scrubber) and an SC-VAE-QD (identity scrubbed, at the estimator's
default ``lam``; ``--lam`` overrides it) are fitted on the complete poses and
on each gappy copy, with the default ``min_keypoints``.
Per model and data:

- ARI of KMeans (one cluster per true behaviour) against the behaviours,
  on the frames that miss a keypoint in the gappy copy (the same frames for
  every model) and on all frames. Clusters are compared on the VAE: at the
  quick budget the SC-VAE-QD's ARI moves by 0.1 and more with the model
  seed alone (now and then a fit collapses to a near-constant embedding),
  the VAE's by about 0.01;
- held-out QDA and logistic accuracy of identity (contiguous chunk folds):
  scrubbing reaches its target when the SC-VAE-QD's QDA stays within 0.05
  of the complete model's and below halfway between chance and 1;
- the share of frames with an embedding of their own.

Embedding distances: each gappy model embeds the complete poses and the
same poses with only the left ankle removed (in the frames of the 30%
runs). The median distance between the two embeddings of a frame is
reported against the median distance between the embeddings of random
pairs of frames and of consecutive frames.

With ``--oist`` (and ``../shared/data`` present), the OIST treadmill mocap
(all 11 markers, 300 -> 90 Hz, window 31, MALS on ``speed_root``,
KMeans(8)) is embedded with ``min_keypoints=1.0`` (every marker required,
the earlier rule) and with the default, and the frames with an embedding of
their own are counted per session, with a per-cluster summary.

Run: python benchmarks/bench_missing.py --mode quick [--seed 0] [--oist]
"""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.cluster import KMeans

from _common import (
    DATA_DIR,
    ModelRunner,
    Report,
    chunk_folds,
    keep,
    make_synthetic,
    package_lam,
    probe_scores,
    run,
)
from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.metrics import cluster_agreement
from sklearn_scrubvae.pose import MOUSE18, Skeleton, compute_speed, resample_poses

MODELS = ["VAE", "SC-VAE-QD"]
COVERAGES = (0.3, 0.6)
TAIL_COVERAGE = 0.1
RUN_SECONDS = (0.2, 2.0)
LIMB_POINTS = ("AnkleL", "HindpawR")

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
]  # fmt: skip


def tracker_runs(groups, coverage, fps, rng):
    """Runs of 0.2 to 2 s, inside recordings, that together hit ``coverage`` of the frames.

    Parameters
    ----------
    groups : ndarray of shape (n_frames,)
        Recording id per frame (contiguous).
    coverage : float
    fps : float
    rng : numpy.random.Generator

    Returns
    -------
    runs : list of slice
        Possibly overlapping runs of frames.
    """
    n_frames = len(groups)
    hit = np.zeros(n_frames, bool)
    runs = []
    while hit.mean() < coverage:
        length = int(round(rng.uniform(*RUN_SECONDS) * fps))
        start = int(rng.integers(0, n_frames - length))
        if groups[start] != groups[start + length - 1]:
            continue
        runs.append(slice(start, start + length))
        hit[runs[-1]] = True
    return runs


def drop_like_a_tracker(poses, groups, coverage, fps, seed):
    """A copy of ``poses`` that loses a hind-limb point and the tail base in runs.

    Returns
    -------
    gappy : ndarray of shape (n_frames, 18, 3)
    limb_runs : list of slice
        The runs of the hind-limb points.
    """
    rng = np.random.default_rng(seed)
    gappy = poses.copy()
    limb_runs = tracker_runs(groups, coverage, fps, rng)
    for frames in limb_runs:
        gappy[frames, MOUSE18.index(str(rng.choice(LIMB_POINTS)))] = np.nan
    for frames in tracker_runs(groups, TAIL_COVERAGE, fps, rng):
        gappy[frames, MOUSE18.index("Tail_base")] = np.nan
    return gappy, limb_runs


def kmeans_labels(Z, valid, n_clusters, seed):
    """KMeans labels of the frames with an embedding of their own, -1 elsewhere."""
    labels = np.full(len(Z), -1)
    labels[valid] = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(Z[valid])
    return labels


def ari(labels, behavior, frames):
    """ARI of the clusters against the behaviours over ``frames`` (unassigned left out)."""
    keep = frames & (labels >= 0)
    return cluster_agreement(labels[keep], behavior[keep]).adjusted_rand


def embedding_distances(estimator, poses, groups, frames, seed):
    """Median distance between a frame's embeddings with and without the left ankle.

    Returns
    -------
    distances : dict
        ``same frame`` (ankle removed vs present, over ``frames``),
        ``random pairs`` and ``consecutive frames`` (complete poses).
    """
    rng = np.random.default_rng(seed)
    complete = estimator.transform(poses, groups=groups)
    no_ankle = poses.copy()
    no_ankle[frames, MOUSE18.index("AnkleL")] = np.nan
    partial = estimator.transform(no_ankle, groups=groups)
    pairs = rng.integers(0, len(poses), size=(20000, 2))
    same_recording = groups[1:] == groups[:-1]
    return {
        "same frame": np.median(np.linalg.norm(partial[frames] - complete[frames], axis=1)),
        "random pairs": np.median(np.linalg.norm(complete[pairs[:, 0]] - complete[pairs[:, 1]],
                                                 axis=1)),
        "consecutive frames": np.median(
            np.linalg.norm(complete[1:] - complete[:-1], axis=1)[same_recording]),
    }


def synthetic(settings, args):
    """Tables of the synthetic mice: ARI, identity, own embeddings, distances.

    Each of :data:`MODELS` is fitted on the complete poses and on each
    gappy copy (``args.models`` may pick some): one row per model and data.
    """
    poses, table, groups = make_synthetic(settings, lesion=False, seed=args.seed)
    behavior = table["behavior"].to_numpy()
    n_behaviors = len(np.unique(behavior))
    folds = chunk_folds(groups)
    step = max(1, len(poses) // 2000)
    data = {"complete": (poses, None)}
    for coverage in COVERAGES:
        data[f"{coverage:.0%} missing"] = drop_like_a_tracker(
            poses, groups, coverage, settings.fps, args.seed + int(100 * coverage))
    affected = {name: np.isnan(X).any(axis=(1, 2)) for name, (X, _) in data.items()}
    ankle = np.zeros(len(poses), bool)
    for frames in data["30% missing"][1]:
        ankle[frames] = True
    rows, distances, log = [], [], []
    for name, (X, limb_runs) in data.items():
        runner = ModelRunner(X, table, groups, settings, args, name)
        for model in [model for model in MODELS if keep(model, args)]:
            estimator, Z = runner.fit(model, ["animal"], lam=package_lam(args))
            valid = estimator.valid_frames(X, groups=groups)
            labels = kmeans_labels(Z, valid, n_behaviors, args.seed)
            identity = probe_scores(Z[valid], table[["animal"]][valid], ("logistic", "qda"),
                                    folds[valid], step, args.seed)
            row = {"model": model, "data": name,
                   "frames missing a keypoint": affected[name].mean(),
                   "own embedding": valid.mean(), "ARI (all frames)": ari(labels, behavior, valid)}
            row.update({f"ARI ({other} frames)": ari(labels, behavior, frames)
                        for other, frames in affected.items() if other != "complete"})
            rows.append({**row, **identity})
            if limb_runs is not None:
                distances.append({"model": model, "data": name, **embedding_distances(
                    estimator, poses, groups, ankle, args.seed)})
        log += runner.log
    scores = pd.DataFrame(rows).sort_values("model", kind="stable", ignore_index=True)
    distances = pd.DataFrame(distances).sort_values("model", kind="stable", ignore_index=True)
    distances["same / random"] = distances["same frame"] / distances["random pairs"]
    distances["same / consecutive"] = distances["same frame"] / distances["consecutive frames"]
    return scores, distances, log


def oist_poses(data):
    """OIST treadmill poses at 90 Hz, session per frame, skeleton, speed table."""
    recordings = []
    for file in OIST_SESSIONS.values():
        poses, names, fps, _ = load_poses(data / "oist_mouse_mocap3d" / file)
        recordings.append(resample_poses(poses, fps=fps, new_fps=90)[0])
    poses = np.concatenate(recordings)
    session = np.repeat(list(OIST_SESSIONS), [len(r) for r in recordings])
    skeleton = Skeleton.from_edges(names, OIST_EDGES, root="left_back", front="miniscope")
    speed = compute_speed(poses, skeleton, fps=90, groups=session)
    return poses, session, skeleton, speed.assign(session=session)


def oist(settings, args):
    """Frames with an embedding of their own per session, before and after; clusters."""
    poses, session, skeleton, table = oist_poses(DATA_DIR)
    counts, summary, log = {}, None, []
    for rule, min_keypoints in [("every marker (1.0)", 1.0), ("default (0.5)", 0.5)]:
        estimator = ScrubbedCVAE(
            skeleton=skeleton, scrubber="mals", nuisance=["speed_root"], lam=10.0, window=31,
            min_keypoints=min_keypoints, n_components=settings.n_components,
            hidden_channels=settings.hidden_channels, kernel_size=settings.kernel_size,
            max_iter=settings.max_iter, batch_size=settings.batch_size,
            learning_rate=settings.learning_rate, random_state=args.seed, device=args.device,
        ).fit(poses, table, groups=session)
        log.append({"experiment": "oist", "model": rule, "nuisance": "speed_root",
                    "alignment": "midfwd", "lam": estimator.lam, "epochs": estimator.n_iter_,
                    "final_loss": estimator.loss_curve_[-1], "fit_seconds": np.nan,
                    "device": str(estimator.device_)})
        valid = estimator.valid_frames(poses, groups=session)
        counts[rule] = pd.Series(valid).groupby(session).sum()
        if min_keypoints == 0.5:
            Z = estimator.transform(poses, groups=session)
            labels = kmeans_labels(Z, valid, 8, args.seed)
            summary = cluster_summary(labels, table, poses)
    own = pd.DataFrame(counts)
    own["frames"] = pd.Series(session).value_counts()
    own = own.reset_index(names="session")
    total = own.drop(columns="session").sum().to_frame().T.assign(session="both")
    return pd.concat([own, total], ignore_index=True), summary, log


def cluster_summary(labels, table, poses):
    """Per cluster: frames, share per session, speed and markers seen."""
    frame = pd.DataFrame({"cluster": labels, "session": table["session"],
                          "speed_root": table["speed_root"],
                          "markers seen": np.isfinite(poses).all(axis=-1).sum(axis=1)})
    frame = frame[frame["cluster"] >= 0]
    summary = frame.groupby("cluster")[["speed_root", "markers seen"]].mean()
    summary.insert(0, "frames", frame.groupby("cluster").size())
    shares = pd.crosstab(frame["cluster"], frame["session"], normalize="index")
    return summary.join(shares.add_prefix("share ")).reset_index()


def figure(scores, distances):
    """ARI on the affected frames and distance ratios, per model and data."""
    fig = Figure(figsize=(12, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    columns = [c for c in scores.columns if c.startswith("ARI (") and "all" not in c]
    scores.set_index(["model", "data"])[columns].plot.bar(ax=left, rot=30)
    left.set_ylabel("ARI, KMeans vs true behaviour")
    left.set_title("Clusters on the frames that miss a keypoint")
    distances.set_index(["model", "data"])[["same / random", "same / consecutive"]].plot.bar(
        ax=right, rot=30)
    right.set_ylabel("distance ratio")
    right.set_title("Ankle removed vs present, same frame")
    return fig


def experiment(settings, args):
    scores, distances, log = synthetic(settings, args)
    tables = {"clusters and identity": scores, "embedding distances": distances}
    notes = []
    if args.oist and (DATA_DIR / "oist_mouse_mocap3d").is_dir():
        own, summary, oist_log = oist(settings, args)
        tables.update({"oist own embeddings": own, "oist clusters": summary})
        log += oist_log
    elif args.oist:
        notes.append(f"OIST part skipped: {DATA_DIR / 'oist_mouse_mocap3d'} not found.")
    return Report(tables, figure(scores, distances), log, notes)


def add_arguments(parser):
    parser.add_argument("--oist", action="store_true",
                        help="also embed the OIST treadmill mocap (needs ../shared/data)")


if __name__ == "__main__":
    run("missing", __doc__, experiment, MODELS, add_arguments=add_arguments)
