import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_scrubvae.pose import MOUSE18, EgocentricAligner, heading_angle
from conftest import require

NAMES = ["body", "nose", "left", "right", "tail"]


def random_poses(n_frames, n_dims, seed=0):
    rng = np.random.default_rng(seed)
    poses = rng.normal(size=(n_frames, 5, n_dims))
    poses[:, 1, 0] += 4.0  # nose ahead of the body
    return poses


def turn(poses, yaw, shift):
    """Rotate poses about z by yaw (per frame) and translate them in the plane."""
    cos, sin = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    turned = poses.copy()
    turned[..., 0] = cos * poses[..., 0] - sin * poses[..., 1] + shift[:, None, 0]
    turned[..., 1] = sin * poses[..., 0] + cos * poses[..., 1] + shift[:, None, 1]
    return turned


@pytest.mark.parametrize("n_dims", [2, 3])
def test_frames_are_moved_into_the_body_frame(n_dims):
    rng = np.random.default_rng(1)
    poses = random_poses(40, n_dims)
    yaw, shift = rng.uniform(-np.pi, np.pi, 40), rng.normal(scale=50, size=(40, 2))
    moved = turn(poses, yaw, shift)
    aligner = EgocentricAligner(root="body", front="nose", keypoint_names=NAMES)
    Xt = aligner.fit_transform(moved)
    assert Xt.shape == (40, 5 * n_dims)
    aligned = Xt.reshape(40, 5, n_dims)
    np.testing.assert_allclose(aligned[:, 0, :2], 0.0, atol=1e-9)
    np.testing.assert_allclose(aligned[:, 1, 1], 0.0, atol=1e-9)
    assert (aligned[:, 1, 0] > 0).all()
    np.testing.assert_allclose(aligner.transform(poses), Xt, atol=1e-9)  # invariant
    if n_dims == 3:
        np.testing.assert_array_equal(aligned[..., 2], poses[..., 2])  # height kept
    distances = np.linalg.norm(aligned[:, :, None] - aligned[:, None], axis=-1)
    np.testing.assert_allclose(
        distances, np.linalg.norm(poses[:, :, None] - poses[:, None], axis=-1), atol=1e-9
    )


def test_translation_only_keeps_the_heading():
    poses = turn(random_poses(10, 3), np.linspace(-3, 3, 10), np.full((10, 2), 7.0))
    aligned = EgocentricAligner(rotate=False, n_dims=3).fit_transform(poses.reshape(10, -1))
    aligned = aligned.reshape(10, 5, 3)
    np.testing.assert_allclose(aligned[..., :2], poses[..., :2] - poses[:, :1, :2], atol=1e-12)
    np.testing.assert_allclose(
        heading_angle(aligned, MOUSE18), heading_angle(poses, MOUSE18), atol=1e-12
    )


def test_flat_and_3d_input_agree_and_name_their_columns():
    poses = random_poses(12, 2)
    flat = poses.reshape(12, -1)  # x0, y0, x1, y1, ...
    by_names = EgocentricAligner(keypoint_names=NAMES).fit(flat)
    by_dims = EgocentricAligner(n_dims=2).fit(flat)
    from_3d = EgocentricAligner(keypoint_names=NAMES).fit(poses)
    np.testing.assert_array_equal(by_names.transform(flat), from_3d.transform(poses))
    np.testing.assert_array_equal(by_dims.transform(flat), from_3d.transform(flat))
    assert (by_names.n_keypoints_, by_names.n_dims_, by_names.n_features_in_) == (5, 2, 10)
    assert by_names.get_feature_names_out()[:3].tolist() == ["body_x", "body_y", "nose_x"]
    assert by_dims.get_feature_names_out()[-1] == "keypoint_4_y"
    table = by_names.set_output(transform="pandas").transform(flat)
    assert isinstance(table, pd.DataFrame) and table.columns[2] == "nose_x"


def test_missing_keypoints():
    poses = random_poses(6, 3)
    poses[1, 0] = np.nan  # root
    poses[2, 1, 0] = np.nan  # front
    poses[3, 4] = np.nan  # another keypoint
    aligned = EgocentricAligner().fit_transform(poses).reshape(6, 5, 3)
    assert np.isnan(aligned[[1, 2]]).all()
    assert np.isnan(aligned[3, 4]).all() and np.isfinite(aligned[3, :4]).all()
    assert np.isfinite(aligned[[0, 4, 5]]).all()
    translated = EgocentricAligner(rotate=False).fit_transform(poses).reshape(6, 5, 3)
    assert np.isnan(translated[1]).all() and np.isfinite(translated[2, 0]).all()


def test_motion_columns_follow_the_body():
    """Walking a circle: constant forward step, no sideways step, constant turn."""
    n, radius, omega = 200, 30.0, 0.05  # omega radians per frame
    angle = omega * np.arange(n)
    body = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    tangent = np.stack([-np.sin(angle), np.cos(angle)], axis=1)
    poses = np.stack([body, body + 2 * tangent], axis=1)
    aligner = EgocentricAligner(motion=True)
    Xt = aligner.fit_transform(poses)
    names = aligner.get_feature_names_out()[-3:].tolist()
    assert names == ["step_forward", "step_lateral", "turn"]
    chord = radius * np.sin(omega)  # central difference over two frames, halved
    np.testing.assert_allclose(Xt[1:-1, 4], chord, rtol=1e-9)
    np.testing.assert_allclose(Xt[1:-1, 5], 0.0, atol=1e-9)
    np.testing.assert_allclose(Xt[:, 6], omega, rtol=1e-9)  # wraps through +-pi
    elsewhere = turn(poses, np.full(n, 2.0), np.full((n, 2), -40.0))
    np.testing.assert_allclose(aligner.transform(elsewhere), Xt, atol=1e-9)
    unrotated = EgocentricAligner(motion=True, rotate=False).fit_transform(poses)
    np.testing.assert_allclose(unrotated[:, -3:], Xt[:, -3:])
    backwards = aligner.transform(poses[::-1])
    np.testing.assert_allclose(backwards[1:-1, [4, 6]], -Xt[1:-1, [4, 6]][::-1], atol=1e-9)


def test_motion_never_crosses_recordings():
    poses = np.zeros((20, 2, 2))
    poses[:, 1, 0] = 1.0
    poses[:, :, 0] += np.arange(20)[:, None] * 0.5
    poses[10:] += 100.0  # second recording far away
    groups = np.repeat([0, 1], 10)
    aligner = EgocentricAligner(motion=True).fit(poses)
    np.testing.assert_allclose(aligner.transform(poses, groups=groups)[:, 4], 0.5)
    assert aligner.transform(poses)[9:11, 4].min() > 10
    np.testing.assert_allclose(
        aligner.fit_transform(poses, groups=groups), aligner.transform(poses, groups=groups)
    )


def test_pipelines_clone_and_route_groups():
    poses = random_poses(30, 2)
    poses[:, :, 0] += np.arange(30)[:, None]
    groups = np.repeat([0, 1], 15)
    aligner = EgocentricAligner(keypoint_names=NAMES, motion=True)
    assert clone(aligner).get_params() == aligner.get_params()
    scaled = make_pipeline(aligner, StandardScaler()).fit_transform(poses.reshape(30, -1))
    assert scaled.shape == (30, 13)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = clone(aligner).set_fit_request(groups=True).set_transform_request(groups=True)
        pipeline = make_pipeline(routed, StandardScaler())
        Xt = pipeline.fit_transform(poses, groups=groups)
        np.testing.assert_allclose(Xt, pipeline.transform(poses, groups=groups))
    expected = StandardScaler().fit_transform(aligner.fit_transform(poses, groups=groups))
    np.testing.assert_allclose(Xt, expected)


@pytest.mark.parametrize(
    "params, X, message",
    [
        ({}, np.zeros((4, 12)), "needs keypoint_names= or n_dims="),
        ({"keypoint_names": NAMES}, np.zeros((4, 12)), "not 2 or 3 coordinates"),
        ({"n_dims": 3}, np.zeros((4, 10)), "not a multiple of n_dims=3"),
        ({"n_dims": 3}, np.zeros((4, 5, 2)), "n_dims=3 but X has 2"),
        ({"keypoint_names": NAMES[:3]}, np.zeros((4, 5, 2)), "3 names but X has 5"),
        ({"root": "body"}, np.zeros((4, 5, 2)), "Unknown root keypoint 'body'"),
        ({"front": 7}, np.zeros((4, 5, 2)), "front index 7 is out of range"),
        ({"front": 0}, np.zeros((4, 5, 2)), "must be different"),
        ({"n_dims": 4}, np.zeros((4, 8)), "n_dims"),
        ({}, np.zeros((4, 3, 5)), "np.swapaxes"),
    ],
)
def test_input_errors(params, X, message):
    with pytest.raises(ValueError, match=message):
        EgocentricAligner(**params).fit(X)


def test_transform_checks_the_layout():
    aligner = EgocentricAligner().fit(np.zeros((4, 5, 2)))
    with pytest.raises(ValueError, match="fitted on 5 of 2"):
        aligner.transform(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="10 features"):
        aligner.transform(np.zeros((4, 8)))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_identity_scrubbing_of_real_2d_mice(seed):
    """The documented 2D path on the three motionmapperpy mice (30 fps).

    Settings of doc/benchmarks.md (3,000 frames per mouse, 17-frame
    windows, 6 epochs, lam 10). Positive control: the plain VAE's code
    tells the mice apart well above chance; SC-VAE-QD brings QDA to chance.
    """
    from sklearn.model_selection import GroupKFold

    from sklearn_scrubvae import ScrubbedCVAE
    from sklearn_scrubvae.metrics import decodability_score

    mice = ["OFT_F_5_0_9000", "OFT_F_8_0_9000", "OFT_F_19_0_9000"]
    n_frames = 3000
    poses = np.concatenate(
        [np.load(require("motionmapperpy_mice", f"{m}.npy"))[:n_frames] for m in mice]
    )
    table = pd.DataFrame({"animal": pd.Categorical(np.repeat(mice, n_frames))})
    fifth = np.tile(np.arange(n_frames) * 5 // n_frames, 3)  # held-out time chunks
    settings = dict(
        window=17, n_components=16, hidden_channels=(32, 64), kernel_size=5,
        batch_size=128, learning_rate=1e-3, max_iter=6, random_state=seed,
    )  # fmt: skip
    qda = {}
    for name, params in {
        "VAE": dict(scrubber=None, conditional=False),
        "SC-VAE-QD": dict(scrubber="qd", nuisance=["animal"], lam=10.0),
    }.items():
        with sklearn.config_context(enable_metadata_routing=True):
            model = make_pipeline(
                EgocentricAligner(root=8, front=2, motion=True)  # spine -> neck
                .set_fit_request(groups=True).set_transform_request(groups=True),
                ScrubbedCVAE(**settings, **params)
                .set_fit_request(groups=True).set_transform_request(groups=True),
            )
            y = table if name != "VAE" else None
            Z = model.fit(poses, y, groups=table["animal"]).transform(
                poses, groups=table["animal"]
            )
        result = decodability_score(
            Z, table["animal"], probe="qda", cv=GroupKFold(5), groups=fifth, step=17
        )
        qda[name] = result.scores.mean() - result.chance
    assert qda["VAE"] > 0.15
    assert qda["SC-VAE-QD"] < 0.06 and qda["SC-VAE-QD"] < qda["VAE"] - 0.1
