import warnings

import numpy as np
import pytest
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform
from scipy.spatial.transform import Rotation

from sklearn_scrubvae.io import load_poses
from sklearn_scrubvae.pose import (
    MOUSE18,
    Skeleton,
    forward_kinematics,
    inverse_kinematics,
    matrix_to_rotation_6d,
    rotation_6d_to_matrix,
)
from sklearn_scrubvae.pose.rotations import _rotation_between
from conftest import oist_skeleton, require




def random_skeleton(n_keypoints, seed):
    """A random tree, with labels shuffled so parents may follow children."""
    rng = np.random.default_rng(seed)
    parents = np.array([-1] + [rng.integers(j) for j in range(1, n_keypoints)])
    order = rng.permutation(n_keypoints)  # new label of each old keypoint
    shuffled = np.empty(n_keypoints, dtype=int)
    shuffled[order] = np.where(parents < 0, -1, order[parents])
    front = int(np.flatnonzero(shuffled == order[0])[0]) if n_keypoints > 1 else 0
    return Skeleton(
        [f"k{i}" for i in range(n_keypoints)],
        shuffled.tolist(),
        rng.normal(size=(n_keypoints, 3)),
        front=front,
    )


def yaw_rotation(angle):
    cos, sin = np.cos(angle), np.sin(angle)
    return np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])


def assert_round_trip(poses, skeleton, atol=1e-10):
    rot6d, root, lengths = inverse_kinematics(poses, skeleton)
    np.testing.assert_allclose(
        forward_kinematics(rot6d, root, lengths, skeleton), poses, rtol=0, atol=atol
    )
    return rot6d, root, lengths


@pytest.mark.parametrize("batch_shape", [(40,), (3, 7), ()])
def test_round_trip_mouse18(batch_shape):
    poses = np.random.default_rng(0).normal(size=(*batch_shape, 18, 3)) * 20
    rot6d, root, lengths = assert_round_trip(poses, MOUSE18)
    assert rot6d.shape == (*batch_shape, 18, 6)
    assert root.shape == (*batch_shape, 3)
    assert lengths.shape == (*batch_shape, 18)


@pytest.mark.parametrize("seed", range(5))
def test_round_trip_random_skeletons(seed):
    skeleton = random_skeleton(3 + 4 * seed, seed)
    poses = np.random.default_rng(seed).normal(size=(30, skeleton.n_keypoints, 3))
    assert_round_trip(poses, skeleton)


def test_outputs_are_rotations_lengths_and_root():
    poses = np.random.default_rng(1).normal(size=(25, 18, 3))
    rot6d, root, lengths = inverse_kinematics(poses, MOUSE18)
    matrix = rotation_6d_to_matrix(rot6d)
    identity = np.broadcast_to(np.eye(3), matrix.shape)
    np.testing.assert_allclose(
        matrix @ np.swapaxes(matrix, -1, -2), identity, atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(matrix), 1.0, atol=1e-12)
    np.testing.assert_array_equal(root, poses[:, 0])
    parents = np.array(MOUSE18.parents)
    expected = np.linalg.norm(poses[:, 1:] - poses[:, parents[1:]], axis=-1)
    np.testing.assert_allclose(lengths[:, 1:], expected, rtol=1e-14)
    np.testing.assert_array_equal(lengths[:, 0], 0.0)
    # SpineF defines the root's x axis, so its own local rotation is identity
    np.testing.assert_allclose(matrix[:, 1], identity[:, 1], atol=1e-12)


def test_planted_rotations_are_recovered():
    """Poses built from known shortest-arc local rotations give them back."""
    rng = np.random.default_rng(2)
    n_frames = 20
    directions = rng.normal(size=(n_frames, 18, 3))
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    local = _rotation_between(MOUSE18.offsets, directions)
    local[:, 1] = np.eye(3)  # the front keypoint defines the root frame
    yaw, pitch = rng.uniform(-np.pi, np.pi, n_frames), rng.uniform(-1.2, 1.2, n_frames)
    local[:, 0] = Rotation.from_euler("ZY", np.c_[yaw, pitch]).as_matrix()
    root = rng.normal(size=(n_frames, 3))
    lengths = rng.uniform(0.5, 2.0, size=(n_frames, 18))
    poses = forward_kinematics(matrix_to_rotation_6d(local), root, lengths, MOUSE18)
    rot6d, root_back, lengths_back = inverse_kinematics(poses, MOUSE18)
    np.testing.assert_allclose(rotation_6d_to_matrix(rot6d), local, atol=1e-10)
    np.testing.assert_allclose(root_back, root, atol=1e-12)
    np.testing.assert_allclose(lengths_back[:, 1:], lengths[:, 1:], atol=1e-12)


def test_yaw_equivariance():
    poses = np.random.default_rng(3).normal(size=(30, 18, 3))
    rotation = yaw_rotation(0.9)
    rot6d, root, lengths = inverse_kinematics(poses, MOUSE18)
    rot6d_turned, root_turned, lengths_turned = inverse_kinematics(
        poses @ rotation.T, MOUSE18
    )
    matrix = rotation_6d_to_matrix(rot6d)
    matrix_turned = rotation_6d_to_matrix(rot6d_turned)
    np.testing.assert_allclose(matrix_turned[:, 0], rotation @ matrix[:, 0], atol=1e-12)
    np.testing.assert_allclose(rot6d_turned[:, 1:], rot6d[:, 1:], atol=1e-12)
    np.testing.assert_allclose(root_turned, root @ rotation.T, atol=1e-12)
    np.testing.assert_allclose(lengths_turned, lengths, atol=1e-12)


def test_root_frame_is_level_when_pitched():
    poses = np.random.default_rng(4).normal(size=(10, 18, 3))
    matrix = rotation_6d_to_matrix(inverse_kinematics(poses, MOUSE18)[0][:, 0])
    forward = poses[:, 1] - poses[:, 0]
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    np.testing.assert_allclose(matrix[:, :, 0], forward, atol=1e-12)
    np.testing.assert_allclose(matrix[:, 2, 1], 0.0, atol=1e-12)  # y axis horizontal
    assert (matrix[:, 2, 2] >= 0).all()  # z axis points up


def test_degenerate_poses_stay_finite():
    rng = np.random.default_rng(5)
    poses = rng.normal(size=(4, 18, 3))
    poses[0, 1] = poses[0, 0] + [0.0, 0.0, 2.0]  # SpineF straight above SpineM
    poses[1, 1] = poses[1, 0] - [0.0, 0.0, 1.0]  # straight below
    poses[2, 1] = poses[2, 0]  # SpineF on SpineM
    poses[2, 7] = poses[2, 6]  # zero-length bone
    poses[3, 7] = poses[3, 6] - 2 * (poses[3, 6] - poses[3, 1])  # bone straight back
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rot6d, root, lengths = assert_round_trip(poses, MOUSE18)
    assert np.isfinite(rot6d).all()


def test_nan_frames_give_nan_quietly():
    poses = np.random.default_rng(6).normal(size=(5, 18, 3))
    poses[1, 14, 2] = np.nan
    poses[3, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rot6d, root, lengths = inverse_kinematics(poses, MOUSE18)
        back = forward_kinematics(rot6d, root, lengths, MOUSE18)
    for frame in (1, 3):
        assert np.isnan(rot6d[frame]).all() and np.isnan(root[frame]).all()
        assert np.isnan(lengths[frame]).all() and np.isnan(back[frame]).all()
    complete = [0, 2, 4]
    np.testing.assert_allclose(back[complete], poses[complete], atol=1e-12)


def test_forward_kinematics_broadcasts_and_normalises():
    poses = np.random.default_rng(7).normal(size=(6, 18, 3))
    rot6d, root, lengths = inverse_kinematics(poses, MOUSE18)
    shared = np.linspace(1.0, 2.0, 18)
    scaled = rot6d * np.random.default_rng(8).uniform(0.5, 3.0, size=(6, 18, 1))
    np.testing.assert_allclose(
        forward_kinematics(scaled, root, shared, MOUSE18),
        forward_kinematics(rot6d, root, np.broadcast_to(shared, (6, 18)), MOUSE18),
        atol=1e-12,
    )
    assert forward_kinematics(rot6d[None], root, lengths, MOUSE18).shape == (
        1,
        6,
        18,
        3,
    )


def test_input_errors():
    with pytest.raises(ValueError, match="18"):
        inverse_kinematics(np.zeros((4, 17, 3)), MOUSE18)
    with pytest.raises(ValueError, match="size 3.*EgocentricAligner"):
        inverse_kinematics(np.zeros((4, 18, 2)), MOUSE18)
    with pytest.raises(ValueError, match="np.swapaxes"):
        inverse_kinematics(np.zeros((4, 3, 18)), MOUSE18)
    with pytest.raises(TypeError, match="numeric"):
        inverse_kinematics(np.full((4, 18, 3), "a"), MOUSE18)
    with pytest.raises(ValueError, match="infinite"):
        inverse_kinematics(np.full((4, 18, 3), np.inf), MOUSE18)
    with pytest.raises(ValueError, match="rot6d"):
        forward_kinematics(np.zeros((4, 17, 6)), np.zeros((4, 3)), np.ones((4, 18)))
    with pytest.raises(ValueError, match="root"):
        forward_kinematics(np.zeros((4, 18, 6)), np.zeros((4, 2)), np.ones((4, 18)))
    with pytest.raises(ValueError, match="bone_lengths"):
        forward_kinematics(np.zeros((4, 18, 6)), np.zeros((4, 3)), np.ones((4, 17)))


def assert_real_round_trip(poses, skeleton):
    complete = np.isfinite(poses).all(axis=(1, 2))
    assert complete.any()
    scale = np.nanmax(np.abs(poses))
    rot6d, root, lengths = inverse_kinematics(poses, skeleton)
    back = forward_kinematics(rot6d, root, lengths, skeleton)
    np.testing.assert_allclose(
        back[complete], poses[complete], rtol=0, atol=1e-12 * scale
    )
    assert np.isnan(back[~complete]).all()
    assert np.isfinite(rot6d[complete]).all()


def test_round_trip_dannce_labels_as_mouse18():
    from scipy.io import loadmat

    config = require("dannce_demo", "configs_mouse22_skeleton.mat")
    names = list(loadmat(config, simplify_cells=True)["joint_names"])
    with pytest.warns(UserWarning, match="not consecutive"):  # labelled frames
        poses, _, _, _ = load_poses(
            require("dannce_demo", "demo_markerless_mouse_1_label3d_dannce.mat"),
            keypoint_names=names,
            keypoints=MOUSE18,
        )
    assert poses.shape == (81, 18, 3)
    assert_real_round_trip(poses, MOUSE18)


def test_round_trip_oist_mocap_with_gaps():
    path = require("oist_mouse_mocap3d", "MOS1aD_S2_M5_MC2_T2_TRM_5MMIN_E.mat")
    poses, names, fps, _ = load_poses(path)
    skeleton = oist_skeleton(names)
    poses = poses[::10]
    assert np.isnan(poses).any()
    assert_real_round_trip(poses, skeleton)


def test_round_trip_stac_rat_with_its_skeleton():
    from scipy.io import loadmat

    config = loadmat(require("stac_mjx_rodent3d", "rat23.mat"), simplify_cells=True)
    names = list(config["joint_names"])
    skeleton = Skeleton.from_edges(
        names, config["joints_idx"] - 1, root="SpineM", front="SpineF"
    )
    poses, _, _, _ = load_poses(
        require("stac_mjx_rodent3d", "test_rodent_mocap_1000_frames.mat"),
        keypoint_names=names,
    )
    assert_real_round_trip(poses[::5], skeleton)


def test_round_trip_stac_mouse_with_spanning_tree():
    poses, _, _, _ = load_poses(
        require("stac_mjx_rodent3d", "test_mouse_mocap_3600_frames.h5")
    )
    poses = poses[::20]
    distances = squareform(pdist(np.nanmean(poses, axis=0)))
    tree = minimum_spanning_tree(distances).tocoo()
    edges = np.c_[tree.row, tree.col]
    skeleton = Skeleton.from_edges(
        [f"k{i}" for i in range(poses.shape[1])],
        edges,
        root=0,
        front=int(edges[(edges == 0).any(axis=1)][0].max()),
    )
    assert_real_round_trip(poses, skeleton)
