"""From real tracking files to behaviour clusters, with no manual repair.

Two recordings as researchers have them (from ``../shared/data``):

1. OIST treadmill motion capture: one mouse, two sessions (CP55,940 at
   15 m/min, harmaline at 5 m/min), 11 markers in 3D at 300 Hz, about a
   quarter of the marker positions missing. A custom skeleton, the missing
   data report, resampling to 90 Hz, speed and heading features, and
   ``ScrubbedCVAE`` (speed scrubbed with MALS) in a Pipeline with KMeans.
2. Three motionmapperpy open-field mice (2D, 17 keypoints, 30 Hz), written
   as DeepLabCut files by the ``movement`` package, read back with
   ``min_confidence``, made egocentric with ``EgocentricAligner`` and
   embedded with identity scrubbed by QD, then clustered. The mice come
   without tracker confidence, so the DeepLabCut files are given one: 0.95
   everywhere and 0.05 at 1% of the points, chosen at random (the points a
   tracker would doubt), which ``min_confidence=0.5`` turns into gaps.

Each part ends with a per-cluster summary. ``--smoke`` runs both on a few
hundred frames with a tiny model (seconds); the full run takes minutes on
a laptop CPU.

Run: python doc/examples/real_recording.py [--smoke] [--data ../shared/data]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.pose import (
    EgocentricAligner,
    Skeleton,
    compute_heading,
    compute_speed,
    interpolate_gaps,
    missing_report,
    resample_poses,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
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
MICE = ["OFT_F_5_0_9000", "OFT_F_8_0_9000", "OFT_F_19_0_9000"]
MICE_ROOT, MICE_FRONT = 8, 2  # spine -> neck of the motionmapperpy keypoints


def model_size(smoke):
    """Training settings: tiny for a smoke run, laptop-sized otherwise."""
    if smoke:
        return dict(n_components=4, hidden_channels=(8, 16), kernel_size=3, max_iter=1,
                    batch_size=64)  # fmt: skip
    return dict(n_components=16, hidden_channels=(32, 64), kernel_size=5, max_iter=30,
                batch_size=256, learning_rate=1e-3)  # fmt: skip


def cluster_summary(labels, valid, table):
    """Frames, share of frames with an embedding of their own and means per cluster."""
    frame = table.assign(cluster=labels, own_embedding=valid.astype(float))
    numeric = frame.select_dtypes("number").columns.drop("cluster")
    summary = frame.groupby("cluster")[list(numeric)].mean()
    summary.insert(0, "frames", frame.groupby("cluster").size())
    shares = pd.crosstab(frame["cluster"], frame["recording"], normalize="index")
    return summary.join(shares.add_prefix("share "))


def oist_treadmill(data=DATA, smoke=False):
    """Part 1: 3D mocap with gaps, custom skeleton, speed scrubbed, KMeans."""
    tic = time.perf_counter()
    recordings = []
    for name, file in OIST_SESSIONS.items():
        poses, names, fps, _ = load_poses(data / "oist_mouse_mocap3d" / file)
        poses, _ = resample_poses(poses, fps=fps, new_fps=90)  # the paper's frame rate
        recordings.append(poses[:900] if smoke else poses)
    fps = 90
    poses = np.concatenate(recordings)
    recording = np.repeat(list(OIST_SESSIONS), [len(r) for r in recordings])
    skeleton = Skeleton.from_edges(names, OIST_EDGES, root="left_back", front="miniscope")

    report = missing_report(poses, skeleton, groups=recording, max_gap=10)
    print(report.sort_values("frames_lost", ascending=False).round(3).head(5))

    speed = compute_speed(poses, skeleton, fps=fps, groups=recording)
    heading = compute_heading(poses, skeleton)
    table = pd.concat([speed, heading], axis=1).assign(recording=recording)

    vae = ScrubbedCVAE(
        skeleton=skeleton, scrubber="mals", nuisance=["speed_root"], lam=10.0,
        window=31,  # 0.34 s at 90 fps
        random_state=0, **model_size(smoke),
    )  # fmt: skip
    with sklearn.config_context(enable_metadata_routing=True):
        vae.set_fit_request(groups=True).set_transform_request(groups=True)
        pipeline = make_pipeline(vae, KMeans(n_clusters=3 if smoke else 8, n_init=4,
                                             random_state=0))
        labels = pipeline.fit_predict(poses, table, groups=recording)
    valid = vae.valid_frames(poses, groups=recording)
    summary = cluster_summary(labels, valid, table.drop(columns=["heading_sin", "heading_cos"]))
    print(summary.round(2).to_string())
    result = {
        "report": report,
        "summary": summary,
        "windows_kept": vae.n_windows_,
        "windows_dropped": vae.n_windows_dropped_,
        "valid_frames": int(valid.sum()),
        "n_frames": len(poses),
        "labels": labels,
        "seconds": time.perf_counter() - tic,
    }
    print(
        f"OIST: {result['windows_kept']} training windows kept, "
        f"{result['windows_dropped']} dropped; {result['valid_frames']} of {len(poses)} "
        f"frames have an embedding of their own; {result['seconds']:.0f} s"
    )
    return result


def write_dlc_files(data, folder, n_frames, seed=0):
    """Write the motionmapperpy mice as DeepLabCut .h5 files with ``movement``."""
    from movement.io import load_poses as movement_load, save_poses

    rng = np.random.default_rng(seed)
    paths = []
    for mouse in MICE:
        position = np.load(data / "motionmapperpy_mice" / f"{mouse}.npy")[:n_frames]
        confidence = np.where(rng.random(position.shape[:2]) < 0.01, 0.05, 0.95)
        dataset = movement_load.from_numpy(
            position_array=position.transpose(0, 2, 1)[..., None],  # (time, space, kp, ind)
            confidence_array=confidence[..., None],
            individual_names=[mouse],
            keypoint_names=[f"kp{k}" for k in range(position.shape[1])],
            fps=30,
        )
        path = folder / f"{mouse}.h5"
        save_poses.to_dlc_file(dataset, path, split_individuals=False)
        paths.append(path)
    return paths


def star_skeleton(names):
    """Every keypoint hung from the spine: enough for root speed and heading."""
    root, front = names[MICE_ROOT], names[MICE_FRONT]
    edges = [(root, name) for name in names if name != root]
    return Skeleton.from_edges(names, edges, root=root, front=front)


def motionmapper_mice(data=DATA, smoke=False):
    """Part 2: 2D DeepLabCut files, min_confidence, EgocentricAligner, identity scrubbed."""
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_dlc_files(data, Path(folder), n_frames=300 if smoke else 3000)
        loaded = [
            # DeepLabCut files store no frame rate: say it
            load_poses(path, source_software="DeepLabCut", fps=30, min_confidence=0.5)
            for path in paths
        ]
    poses = np.concatenate([interpolate_gaps(p, max_gap=5) for p, _, _, _ in loaded])
    names, fps = loaded[0][1], loaded[0][2]
    mouse = pd.Categorical(np.repeat(MICE, [len(p) for p, _, _, _ in loaded]))
    speed = compute_speed(poses, star_skeleton(names), fps=fps, groups=mouse)
    table = speed.assign(animal=mouse, recording=mouse)

    with sklearn.config_context(enable_metadata_routing=True):
        aligner = EgocentricAligner(root=MICE_ROOT, front=MICE_FRONT, motion=True)
        aligner.set_fit_request(groups=True).set_transform_request(groups=True)
        vae = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], lam=10.0, window=17,
                           random_state=0, **model_size(smoke))  # fmt: skip
        vae.set_fit_request(groups=True).set_transform_request(groups=True)
        pipeline = make_pipeline(aligner, vae, KMeans(n_clusters=3 if smoke else 8, n_init=4,
                                                      random_state=0))
        labels = pipeline.fit_predict(poses, table, groups=mouse)
        valid = vae.valid_frames(aligner.transform(poses, groups=mouse), groups=mouse)
    summary = cluster_summary(labels, valid, table.drop(columns=["animal"]))
    print(summary.round(2).to_string())
    result = {
        "summary": summary,
        "labels": labels,
        "n_frames": len(poses),
        "missing_points": int(sum(np.isnan(p).any(axis=-1).sum() for p, _, _, _ in loaded)),
        "valid_frames": int(valid.sum()),
        "seconds": time.perf_counter() - tic,
    }
    print(
        f"Mice: {result['missing_points']} low-confidence points set missing; "
        f"{result['valid_frames']} of {len(poses)} frames have an embedding of their own; "
        f"{result['seconds']:.0f} s"
    )
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few hundred frames, tiny model")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    return oist_treadmill(args.data, args.smoke), motionmapper_mice(args.data, args.smoke)


if __name__ == "__main__":
    main()
