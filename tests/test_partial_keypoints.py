"""Frames with some keypoints (or features) missing are embedded from what was observed."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae._frames.inputs import required_count
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.nn.representations import FeatureRepresentation, SkeletonRepresentation
from sklearn_scrubvae.pose import (
    MOUSE18,
    Skeleton,
    compute_mean_pose,
    compute_pose_covariance,
    impute_keypoints,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = dict(n_components=4, window=9, hidden_channels=(8, 16), kernel_size=3, max_iter=2,
            batch_size=64, random_state=0)  # fmt: skip
ANKLE = MOUSE18.index("AnkleL")


def turned(points, yaw):
    """Points (..., 3) turned about z by ``yaw`` (...)."""
    cos, sin = np.cos(yaw)[..., None], np.sin(yaw)[..., None]
    x, y = points[..., :1], points[..., 1:2]
    return np.concatenate([cos * x - sin * y, sin * x + cos * y, points[..., 2:]], axis=-1)


@pytest.fixture(scope="module")
def rigid_body():
    """A body shape in its body frame and 50 frames of it turned and moved."""
    rng = np.random.default_rng(0)
    shape = rng.normal(size=(6, 3))
    shape -= shape[0]  # root at the origin
    shape[1] = [2.0, 0.0, 0.5]  # front ahead of the root: heading +x
    yaw = rng.uniform(-np.pi, np.pi, size=50)
    poses = turned(np.broadcast_to(shape, (50, 6, 3)), yaw[:, None]) + rng.normal(
        scale=5.0, size=(50, 1, 3))
    skeleton = Skeleton.from_edges([f"k{i}" for i in range(6)],
                                   [(0, 1), (0, 2), (2, 3), (1, 4), (4, 5)], root=0, front=1)
    return shape, poses, skeleton


def test_mean_pose_is_the_body_shape_in_its_own_frame(rigid_body):
    shape, poses, skeleton = rigid_body
    gappy = poses.copy()
    gappy[::3, 4] = np.nan  # skipped where missing
    np.testing.assert_allclose(compute_mean_pose(gappy, skeleton), shape, atol=1e-9)


def test_imputed_keypoints_of_a_rigid_body_are_exact(rigid_body):
    shape, poses, _ = rigid_body
    rng = np.random.default_rng(1)
    gappy = poses.copy()
    for frame in gappy:  # two to four of six keypoints lost, the root and front included
        frame[rng.choice(6, size=rng.integers(2, 5), replace=False)] = np.nan
    gappy[7, 0], gappy[7, 1:] = poses[7, 0], np.nan  # a lone keypoint: no fit
    imputed = impute_keypoints(gappy, shape)
    fitted = np.arange(50) != 7
    np.testing.assert_allclose(imputed[fitted], poses[fitted], atol=1e-9)
    assert np.isnan(imputed[7, 1:]).all() and np.array_equal(imputed[7, 0], poses[7, 0])


def test_a_missing_keypoint_follows_the_keypoints_it_moves_with(rigid_body):
    shape, poses, _ = rigid_body
    rng = np.random.default_rng(2)
    lift = rng.normal(scale=0.5, size=len(poses))
    moving = poses.copy()
    moving[:, 4:, 2] += lift[:, None]  # a limb (keypoints 4 and 5) lifted together
    mean_pose = compute_mean_pose(moving, rigid_body[2])
    covariance = compute_pose_covariance(moving, mean_pose)
    assert covariance.shape == (18, 18)
    gappy = moving.copy()
    gappy[::2, 5] = np.nan
    followed = impute_keypoints(gappy, mean_pose, covariance)
    np.testing.assert_allclose(followed, moving, atol=1e-6)
    rigid = impute_keypoints(gappy, mean_pose)  # the mean shape alone misses the lift
    assert np.abs(rigid[::2, 5, 2] - moving[::2, 5, 2]).mean() > 0.2


def test_the_pose_covariance_needs_complete_frames(rigid_body):
    shape, poses, _ = rigid_body
    gappy = poses.copy()
    gappy[1:, 3] = np.nan
    with pytest.raises(ValueError, match="1 frame"):
        compute_pose_covariance(gappy, shape)


def test_required_count_takes_counts_and_fractions():
    assert required_count(3, 18, "keypoints") == 3
    assert required_count(0.5, 11, "keypoints") == 6
    assert required_count(1.0, 11, "keypoints") == 11
    assert required_count(0.01, 11, "keypoints") == 1
    with pytest.raises(ValueError, match="min_keypoints=19 but the frames have only 18"):
        required_count(19, 18, "keypoints")


def windows_of_skeleton(n_windows=4, window=5, seed=0):
    """Gathered skeleton frames of random poses, as the solver passes them."""
    poses = np.random.default_rng(seed).normal(size=(n_windows * window, 18, 3)) * 10
    from sklearn_scrubvae.pose import inverse_kinematics

    rot6d, root, bones = inverse_kinematics(poses, MOUSE18)
    values = {"rot6d": rot6d, "root": root, "bone_lengths": bones,
              "keypoints": poses - root[:, None], "present": np.ones((len(poses), 18))}
    frames = {name: torch.as_tensor(value, dtype=torch.float32).unflatten(0, (n_windows, window))
              for name, value in values.items()}
    frames["present"][:, ::2, ANKLE] = 0.0  # the ankle missing in every other frame
    return frames


def test_skeleton_likelihood_ignores_missing_keypoints_only():
    representation = SkeletonRepresentation(MOUSE18, "midfwd", 10.0, 10.0, masked=True)
    frames = windows_of_skeleton()
    decoded = torch.randn(4, 5, representation.n_channels,
                          generator=torch.Generator().manual_seed(0))
    error = representation.reconstruction_error(decoded, frames)
    moved = {**frames, "keypoints": frames["keypoints"].clone()}
    moved["keypoints"][:, ::2, ANKLE] += 100.0  # where the ankle is missing
    torch.testing.assert_close(representation.reconstruction_error(decoded, moved), error)
    moved["keypoints"][:, 1::2, ANKLE] += 100.0  # where it was observed
    assert (representation.reconstruction_error(decoded, moved) > error + 10).all()


def test_feature_likelihood_ignores_missing_features_only():
    representation = FeatureRepresentation(3, masked=True)
    features = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(0))
    present = torch.ones(2, 5, 3)
    present[:, 2, 1] = 0.0
    frames = {"features": features, "present": present}
    decoded = torch.zeros_like(features)
    error = representation.reconstruction_error(decoded, frames)
    moved = features.clone()
    moved[:, 2, 1] += 100.0
    torch.testing.assert_close(
        representation.reconstruction_error(decoded, {**frames, "features": moved}), error)
    moved[:, 3, 1] += 100.0
    assert (representation.reconstruction_error(decoded, {**frames, "features": moved})
            > error + 10).all()
    assert representation.inputs(frames).shape == (2, 5, 3) and representation.n_mask == 3


@pytest.fixture(scope="module")
def gappy_mice():
    """Two synthetic mice; the left ankle lost in 0.3-1 s runs over about 60% of frames."""
    poses, table = make_mouse_behavior(n_animals=2, n_frames=300, random_state=0)
    rng = np.random.default_rng(0)
    gappy = poses.copy()
    lost = np.zeros(len(poses), bool)
    while lost.mean() < 0.6:
        start = rng.integers(0, len(poses) - 90)
        lost[start : start + rng.integers(27, 90)] = True
    gappy[lost, ANKLE] = np.nan
    return poses, gappy, lost, table, table["session"].to_numpy()


def test_frames_missing_an_ankle_are_embedded_from_the_rest(gappy_mice):
    poses, gappy, lost, table, groups = gappy_mice
    params = dict(skeleton="mouse18", scrubber="qd", nuisance=["animal"], **TINY)
    est = ScrubbedCVAE(**params).fit(gappy, table, groups=groups)
    assert est.valid_frames(gappy, groups=groups).all()
    assert est.n_windows_dropped_ == 0
    assert est.module_.representation.n_mask == 18
    assert est.input_.pose_covariance_.shape == (54, 54)  # from the complete frames
    Z = est.transform(gappy, groups=groups)
    assert np.isfinite(Z).all()
    # the old rule, every keypoint required, is one parameter away
    old = ScrubbedCVAE(**params, min_keypoints=1.0, unusable_frames="nan")
    with pytest.warns(UserWarning, match="AnkleL"):
        old.fit(gappy, table, groups=groups)
    own = old.valid_frames(gappy, groups=groups)
    assert own.mean() < 0.4 and not own[lost].any()
    assert old.module_.representation.n_mask == 0


def test_a_model_fitted_on_complete_poses_is_the_every_keypoint_model(gappy_mice):
    poses, gappy, lost, table, groups = gappy_mice
    params = dict(skeleton="mouse18", scrubber="qd", nuisance=["animal"],
                  unusable_frames="nan", **TINY)
    default = ScrubbedCVAE(**params).fit(poses, table, groups=groups)
    every = ScrubbedCVAE(**params, min_keypoints=1.0).fit(poses, table, groups=groups)
    assert not default.input_.masked and default.input_.n_required_ == 18
    assert default.module_.representation.n_mask == 0
    np.testing.assert_array_equal(default.transform(poses, groups=groups),
                                  every.transform(poses, groups=groups))
    # it never saw a missing keypoint: frames missing the ankle get no embedding of their own
    own = default.valid_frames(gappy, groups=groups)
    assert not own[lost].any() and own[~lost].mean() > 0.5
    assert np.isnan(default.transform(gappy, groups=groups)[lost]).all()


def test_generic_features_fitted_complete_require_every_feature():
    X = np.random.default_rng(0).normal(size=(200, 6))
    est = ScrubbedCVAE(scrubber=None, conditional=False, unusable_frames="nan", **TINY).fit(X)
    assert not est.input_.masked and est.module_.representation.n_mask == 0
    X[100, 0] = np.nan
    assert not est.valid_frames(X)[100]


def test_the_encoder_reads_the_presence_mask(gappy_mice):
    poses, gappy, lost, table, groups = gappy_mice
    est = ScrubbedCVAE(skeleton="mouse18", scrubber=None, conditional=False, **TINY)
    est.fit(gappy, groups=groups)
    frames, _ = est.input_.frames(gappy[:9][None].reshape(9, 18, 3))
    batch = {name: torch.as_tensor(value)[None] for name, value in frames.items()}
    flipped = {**batch, "present": 1.0 - batch["present"]}
    with torch.no_grad():
        mu = est.module_.encode(batch)[0]
        assert not torch.allclose(est.module_.encode(flipped)[0], mu)


@pytest.mark.parametrize("n_dims", [2, 3])
def test_generic_features_with_a_missing_keypoint_keep_their_frames(n_dims):
    poses, table = make_mouse_behavior(n_animals=2, n_frames=150, random_state=1)
    X = (poses - poses[:, :1])[..., :n_dims].copy()
    X[50:120, ANKLE] = np.nan  # one keypoint: n_dims NaN features
    X = X.reshape(len(X), -1)
    est = ScrubbedCVAE(scrubber="qd", nuisance=["animal"], unusable_frames="nan", **TINY)
    Z = est.fit_transform(X, table, groups=table["session"].to_numpy())
    assert np.isfinite(Z).all()
    assert est.module_.representation.n_mask == 18 * n_dims
    X[60, : 10 * n_dims] = np.nan  # 10 of 18 keypoints: fewer than half present
    assert np.isnan(est.transform(X, groups=table["session"].to_numpy())[60]).all()


def test_min_keypoints_larger_than_the_skeleton_is_refused(gappy_mice):
    poses, _, _, table, groups = gappy_mice
    with pytest.raises(ValueError, match="min_keypoints=19 but the frames have only 18 keypoints"):
        ScrubbedCVAE(skeleton="mouse18", scrubber=None, conditional=False, min_keypoints=19,
                     **TINY).fit(poses, groups=groups)


def test_models_saved_before_keep_the_every_keypoint_rule():
    est = ScrubbedCVAE.load(FIXTURES / "saved_pose.safetensors")
    assert est.min_keypoints == 1.0
    assert not est.input_.masked
    assert est.module_.representation.n_inputs == 6 * 18 + 3
    gappy = make_mouse_behavior(n_animals=2, n_frames=120, random_state=0)[0]
    gappy[30:60, ANKLE] = np.nan
    assert not est.valid_frames(gappy)[30:60].any()


def test_a_masked_model_saves_and_loads(gappy_mice, tmp_path):
    _, gappy, _, table, groups = gappy_mice
    est = ScrubbedCVAE(skeleton="mouse18", scrubber="qd", nuisance=["animal"], **TINY)
    est.fit(gappy, table, groups=groups).save(tmp_path / "model.safetensors")
    loaded = ScrubbedCVAE.load(tmp_path / "model.safetensors")
    assert loaded.min_keypoints == 0.5 and loaded.input_.masked
    np.testing.assert_array_equal(loaded.transform(gappy, groups=groups),
                                  est.transform(gappy, groups=groups))


# ------------------------------------------------------- soundness, 3 seeds


@pytest.fixture(scope="module")
def bench_missing():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_missing

    return bench_missing


@pytest.fixture(scope="module")
def synthetic_run(bench_missing):
    """The benchmark's quick-mode synthetic run of a seed, computed once per module."""
    from argparse import Namespace

    from _common import MODES

    runs = {}

    def run(seed):
        if seed not in runs:
            args = Namespace(seed=seed, device="cpu", models=None, lam=None)
            scores, distances, _ = bench_missing.synthetic(MODES["quick"], args)
            runs[seed] = scores.set_index(["model", "data"]), distances
        return runs[seed]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lost_points_keep_clusters_and_embeddings(synthetic_run, seed):
    """Synthetic mice losing a hind-limb point (30% and 60% of frames) and the tail base,
    the benchmark's quick mode: every frame keeps an embedding of its own; on the frames
    that miss a keypoint, behaviour clusters of the VAE stay within 0.05 ARI of the
    complete-data VAE's (clusters are compared on the VAE, whose ARI moves least with the
    model seed; doc/benchmarks.md, section (f)); the identity-scrubbed model stays below
    halfway between chance and 1; and removing the ankle moves a frame's embedding much
    less than the typical distance between frames."""
    scores, distances = synthetic_run(seed)
    assert (scores["own embedding"] == 1.0).all()
    vae, qd = scores.loc["VAE"], scores.loc["SC-VAE-QD"]
    for coverage in ("30%", "60%"):
        gappy, column = f"{coverage} missing", f"ARI ({coverage} missing frames)"
        assert vae.loc[gappy, column] >= vae.loc["complete", column] - 0.05, vae[column]
        assert qd.loc[gappy, "QDA acc"] <= (1 + qd.loc[gappy, "chance"]) / 2
    assert (distances["same / random"] < 0.5).all(), distances.to_dict("records")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lost_points_keep_identity_scrubbing(synthetic_run, seed):
    """Identity scrubbing (SC-VAE-QD at the estimator's default weight) on gappy poses:
    QDA accuracy within 0.05 of the model fitted on complete poses."""
    scores, _ = synthetic_run(seed)
    qd = scores.loc["SC-VAE-QD"]
    for gappy in ("30% missing", "60% missing"):
        assert qd.loc[gappy, "QDA acc"] <= qd.loc["complete", "QDA acc"] + 0.05, qd["QDA acc"]
