"""ScrubbedCVAE in pose mode: synthetic mouse, real 3D clips, gaps, alignment."""

import numpy as np
import pytest
import torch
from conftest import oist_skeleton, require
from scipy.io import loadmat

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.metrics import decodability_score
from sklearn_scrubvae.nn import SkeletonRepresentation
from sklearn_scrubvae.nn import forward_kinematics as torch_forward_kinematics
from sklearn_scrubvae.pose import MOUSE18, Skeleton, compute_heading, inverse_kinematics

TINY = dict(
    n_components=3, window=9, hidden_channels=(8, 8), kernel_size=3, max_iter=2,
    batch_size=256, random_state=0,
)


@pytest.fixture(scope="module")
def mice():
    return make_mouse_behavior(n_animals=3, n_frames=300, lesion=False, random_state=0)


def test_fit_transform_decode_on_synthetic_mouse(mice):
    poses, labels = mice
    est = ScrubbedCVAE(skeleton="mouse18", scrubber="qd", nuisance=["animal"], **TINY)
    est.fit(poses, labels, groups=labels["session"])
    assert est.skeleton_ == MOUSE18
    assert est.n_features_in_ == 54
    Z = est.transform(poses, groups=labels["session"])
    assert Z.shape == (len(poses), 3) and np.isfinite(Z).all()
    windows = est.decode_windows(Z[:4], nuisance=labels.iloc[:4])
    assert windows.shape == (4, 9, 18, 3) and np.isfinite(windows).all()
    centre = est.inverse_transform(Z[:4], nuisance=labels.iloc[:4])
    np.testing.assert_allclose(centre, windows[:, 4])
    # decoded windows are egocentric: the centre root sits near the origin in x, y
    assert np.abs(windows[:, 4, 0, :2]).max() < 5 * est.input_.root_scale_
    assert np.isfinite(est.score(poses, labels, groups=labels["session"]))


def test_flat_poses_give_flat_inverse_transform(mice):
    poses, labels = mice
    flat = poses.reshape(len(poses), -1)
    est = ScrubbedCVAE(skeleton="mouse18", scrubber=None, conditional=False, **TINY).fit(flat)
    Z = est.transform(flat)
    assert est.inverse_transform(Z[:2]).shape == (2, 54)


def test_pose_input_errors(mice):
    poses, labels = mice
    est = ScrubbedCVAE(skeleton="mouse18", **TINY)
    with pytest.raises(ValueError, match=r"shape \(n_frames, 18, 3\)"):
        est.fit(poses[:, :17], labels)
    with pytest.raises(ValueError, match="X has 51 features but the skeleton has 18"):
        est.fit(poses[:, :17].reshape(len(poses), -1), labels)
    bad = poses.copy()
    bad[3, 2, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.fit(bad, labels)
    with pytest.raises(ValueError, match="Unknown skeleton|unknown skeleton|mouse99"):
        ScrubbedCVAE(skeleton="mouse99", **TINY).fit(poses, labels)


def test_egocentric_alignment_of_windows():
    """After alignment the centre frame's root is at the origin (x, y) and faces +x;
    the aligned keypoints are the forward kinematics of the aligned rotations."""
    rng = np.random.default_rng(0)
    poses, _ = make_mouse_behavior(n_animals=1, n_frames=200, lesion=False, random_state=1)
    poses = poses[:45] + rng.normal(size=(1, 1, 3)) * 100
    rot6d, root, bones = inverse_kinematics(poses, MOUSE18)
    frames = {
        "rot6d": torch.as_tensor(rot6d.reshape(5, 9, 18, 6)),
        "root": torch.as_tensor(root.reshape(5, 9, 3)),
        "keypoints": torch.as_tensor((poses - root[:, None]).reshape(5, 9, 18, 3)),
    }
    for mode in ("midfwd", "x360"):
        rep = SkeletonRepresentation(MOUSE18, mode, root_scale=1.0, length_scale=1.0)
        aligned_rot6d, aligned_root, keypoints = rep.aligned(frames)
        np.testing.assert_allclose(aligned_root[:, 4, :2], 0.0, atol=1e-9)
        np.testing.assert_allclose(aligned_root[:, 4, 2], frames["root"][:, 4, 2])
        facing = aligned_rot6d[:, 4, MOUSE18.root, :3]  # body x axis of the centre frame
        front = keypoints[:, 4, MOUSE18.front]
        if mode == "midfwd":
            np.testing.assert_allclose(facing[:, 1], 0.0, atol=1e-9)
            assert (facing[:, 0] > 0).all()
            np.testing.assert_allclose(front[:, 1], 0.0, atol=1e-9)
            assert (front[:, 0] > 0).all()
        else:
            np.testing.assert_allclose(facing, frames["rot6d"][:, 4, MOUSE18.root, :3])
        # local rotations of the other joints are untouched
        others = [k for k in range(18) if k != MOUSE18.root]
        np.testing.assert_allclose(aligned_rot6d[:, :, others], frames["rot6d"][:, :, others])
        posed = torch_forward_kinematics(
            aligned_rot6d, torch.zeros(5, 9, 3, dtype=torch.float64),
            torch.as_tensor(bones.reshape(5, 9, 18)), MOUSE18,
        )
        np.testing.assert_allclose(posed, keypoints, atol=1e-9)


def test_real_rat_clip_with_its_own_skeleton():
    config = loadmat(require("stac_mjx_rodent3d", "rat23.mat"), simplify_cells=True)
    names = list(config["joint_names"])
    skeleton = Skeleton.from_edges(names, config["joints_idx"] - 1, root="SpineM", front="SpineF")
    poses, _, _, _ = load_poses(
        require("stac_mjx_rodent3d", "test_rodent_mocap_1000_frames.mat"), keypoint_names=names
    )
    est = ScrubbedCVAE(skeleton=skeleton, scrubber=None, conditional=False, **TINY).fit(poses)
    Z = est.transform(poses)
    assert Z.shape == (1000, 3) and np.isfinite(Z).all()
    assert est.decode_windows(Z[:3]).shape == (3, 9, 23, 3)
    assert np.isfinite(est.loss_curve_).all()


def test_gaps_in_real_mocap_are_filled_or_dropped():
    """OIST treadmill mocap: 21-26% of markers missing. Short gaps are filled,
    windows touching long gaps leave training and, with
    unusable_frames="nan", get NaN embeddings."""
    path = require("oist_mouse_mocap3d", "MOS1aD_S2_M5_MC2_T2_TRM_5MMIN_E.mat")
    poses, names, fps, _ = load_poses(path)
    skeleton = oist_skeleton(names)
    poses = poses[:3000:3]  # 300 Hz -> 100 Hz, 1000 frames
    est = ScrubbedCVAE(skeleton=skeleton, scrubber=None, conditional=False, max_gap=5,
                       unusable_frames="nan", **TINY)
    est.fit(poses)
    assert np.isfinite(est.loss_curve_).all()  # no NaN reached the optimiser
    assert est.n_windows_dropped_ > 0
    assert est.n_windows_ + est.n_windows_dropped_ == len(poses) - 8
    Z = est.transform(poses)
    nan_rows = np.isnan(Z).any(axis=1)
    assert nan_rows.any() and (~nan_rows).any()
    assert np.isnan(Z[nan_rows]).all()  # NaN rows are whole rows, never garbage
    # a frame whose own keypoints are missing beyond max_gap is never embedded
    filled = est.input_.frames(poses)[1]
    assert nan_rows[~filled].all()
    np.testing.assert_array_equal(nan_rows, ~est.valid_frames(poses))


@pytest.mark.slow
def test_identity_scrubbing_in_pose_mode():
    """The demo: QD brings a held-out QDA probe of identity towards chance
    (0.25) while a plain VAE's stays high."""
    from sklearn_scrubvae._demo import run_demo

    results = run_demo(verbose=False)
    vae = results["VAE"]["identity_accuracy"]
    qd = results["SC-VAE-QD"]["identity_accuracy"]
    assert vae > 0.7
    assert qd < 0.5
    assert vae - qd > 0.25


@pytest.mark.slow
def test_motion_synthesis_follows_requested_heading():
    """Decoding the same codes with new headings turns the generated animal."""
    from sklearn_scrubvae.metrics import synthesis_consistency_score

    poses, labels = make_mouse_behavior(n_animals=2, n_frames=3000, lesion=False, random_state=0)
    session = labels["session"].to_numpy()
    heading = compute_heading(poses, MOUSE18)
    columns = ["heading_sin", "heading_cos"]
    est = ScrubbedCVAE(
        skeleton="mouse18", alignment="x360", scrubber="mals", nuisance=columns,
        n_components=8, window=15, hidden_channels=(32, 64), kernel_size=3, batch_size=256,
        learning_rate=2e-3, max_iter=20, random_state=0,
    ).fit(poses, heading, groups=session)
    score = synthesis_consistency_score(
        est, poses, heading, columns, groups=session, step=10, random_state=0
    )
    assert score > 0.8


def _walking_velocity_r2(Z, labels):
    """Held-out linear R^2 of the walking velocity's x and y components from the code.

    Every 5th walking frame, five folds over 10 s chunks (``decodability_score``).
    """
    walking = np.flatnonzero(labels["behavior"].to_numpy() == "walk")
    speed = labels["speed"].to_numpy()[walking]
    return [
        decodability_score(
            Z[walking], speed * labels[column].to_numpy()[walking],
            groups=walking // 300, step=5,
        ).mean
        for column in ("heading_cos", "heading_sin")
    ]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scrubbing_heading_in_x360_windows_removes_the_walking_velocity(seed):
    """x360 windows keep the walking direction, so a C-VAE codes walking as a
    velocity vector along the heading; scrubbing the heading removes it."""
    poses, labels = make_mouse_behavior(
        n_animals=4, n_frames=1500, lesion=False, fps=30, random_state=seed
    )
    session = labels["session"].to_numpy()
    r2 = {}
    for scrubber in (None, "mals"):
        est = ScrubbedCVAE(
            skeleton="mouse18", alignment="x360", conditional=True, scrubber=scrubber,
            nuisance=["heading_sin", "heading_cos"], lam=100.0, n_components=16, window=17,
            hidden_channels=(32, 64), kernel_size=5, batch_size=128, learning_rate=1e-3,
            max_iter=24, random_state=seed,
        ).fit(poses, labels, groups=session)
        r2[scrubber] = _walking_velocity_r2(est.transform(poses, groups=session), labels)
    assert min(r2[None]) > 0.5
    assert max(r2["mals"]) < 0.3
