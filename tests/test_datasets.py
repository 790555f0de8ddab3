import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter1d
from scipy.stats import pearsonr
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from threadpoolctl import threadpool_limits

from sklearn_scrubvae.datasets import make_mouse_behavior

PARENTS = [-1, 0, 1, 2, 3, 0, 1, 6, 7, 1, 9, 10, 5, 12, 13, 5, 15, 16]
COLUMNS = [
    "animal",
    "session",
    "condition",
    "behavior",
    "speed",
    "heading_sin",
    "heading_cos",
    "lesion_severity",
    "body_size",
]
BEHAVIORS = {"walk", "rear", "groom", "turn", "still"}


@pytest.fixture(autouse=True)
def single_threaded_blas():
    # The classifiers below fit small matrices, which a threaded BLAS slows
    # down on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def lesion_data():
    return make_mouse_behavior(n_animals=3, n_frames=1800, random_state=0)


@pytest.fixture(scope="module")
def healthy_data():
    return make_mouse_behavior(n_animals=4, n_frames=3000, lesion=False, random_state=0)


def per_session(values, labels):
    """Split a frame-major array into (n_sessions, n_frames, ...)."""
    n_sessions = labels["session"].nunique()
    return np.asarray(values).reshape(n_sessions, -1, *np.shape(values)[1:])


def spine_yaw(poses):
    spine = poses[:, 1, :2] - poses[:, 0, :2]
    return np.arctan2(spine[:, 1], spine[:, 0])


def egocentric(poses):
    """Root-relative keypoints rotated so that SpineM -> SpineF faces +x."""
    relative = poses[:, 1:] - poses[:, :1]
    yaw = spine_yaw(poses)[:, None]
    x, y = relative[..., 0], relative[..., 1]
    relative[..., 0], relative[..., 1] = (
        np.cos(yaw) * x + np.sin(yaw) * y,
        -np.sin(yaw) * x + np.cos(yaw) * y,
    )
    return relative.reshape(len(poses), -1)


def first_half(labels):
    """True on the first half of every session (for a train/test split in time)."""
    n_frames = len(labels) // labels["session"].nunique()
    return np.arange(len(labels)) % n_frames < n_frames // 2


def test_shapes_dtypes_and_columns(lesion_data):
    poses, labels = lesion_data
    assert poses.shape == (3 * 2 * 1800, 18, 3)
    assert poses.dtype == np.float64
    assert isinstance(labels, pd.DataFrame)
    assert list(labels.columns) == COLUMNS
    assert len(labels) == len(poses)
    for name in ["animal", "session", "condition", "behavior"]:
        assert isinstance(labels[name].dtype, pd.CategoricalDtype)
    for name in COLUMNS[4:]:
        assert labels[name].dtype == np.float64
    assert labels["session"].unique().tolist() == [
        f"{animal}-{condition}"
        for animal in range(3)
        for condition in ["healthy", "lesioned"]
    ]
    assert set(labels["behavior"].cat.categories) == BEHAVIORS
    sessions = labels.groupby("session", observed=True)
    assert (sessions.size() == 1800).all()
    assert (sessions["condition"].nunique() == 1).all()
    assert (sessions["animal"].nunique() == 1).all()


def test_per_animal_columns_are_constant(lesion_data):
    _, labels = lesion_data
    animals = labels.groupby("animal", observed=True)
    assert (animals[["lesion_severity", "body_size"]].nunique() == 1).all().all()
    severity = animals["lesion_severity"].first()
    assert ((severity >= 0) & (severity <= 1)).all()
    assert severity.nunique() == 3
    assert animals["body_size"].first().between(0.85, 1.15).all()


def test_without_lesion_one_healthy_session_per_animal(healthy_data):
    poses, labels = healthy_data
    assert poses.shape == (4 * 3000, 18, 3)
    assert labels["session"].nunique() == 4
    assert (labels["condition"] == "healthy").all()
    assert (labels["lesion_severity"] == 0).all()


def test_no_missing_values(lesion_data):
    poses, labels = lesion_data
    assert np.isfinite(poses).all()
    assert not labels.isna().any().any()


def test_same_seed_same_data_and_different_seed_different_data():
    kwargs = {"n_animals": 2, "n_frames": 300}
    poses, labels = make_mouse_behavior(**kwargs, random_state=7)
    poses_again, labels_again = make_mouse_behavior(**kwargs, random_state=7)
    np.testing.assert_array_equal(poses, poses_again)
    pd.testing.assert_frame_equal(labels, labels_again)
    other, other_labels = make_mouse_behavior(**kwargs, random_state=8)
    assert not np.allclose(poses, other)
    assert not np.allclose(labels["speed"], other_labels["speed"])
    state = np.random.RandomState(7)
    first, _ = make_mouse_behavior(**kwargs, random_state=state)
    second, _ = make_mouse_behavior(**kwargs, random_state=state)
    assert not np.allclose(first, second)  # the state advances


@pytest.mark.parametrize("fps", [30, 90])
def test_speed_is_the_root_step_without_noise(fps):
    poses, labels = make_mouse_behavior(
        n_animals=2, n_frames=600, fps=fps, noise=0, random_state=1
    )
    root = per_session(poses[:, 0, :2], labels)
    step = np.linalg.norm(np.diff(root, axis=1), axis=-1) * fps
    speed = per_session(labels["speed"], labels)
    np.testing.assert_allclose(step, speed[:, 1:], atol=1e-6)
    assert speed.max() > 40  # the animals do walk


def test_speed_matches_finite_difference_of_noisy_root(lesion_data):
    poses, labels = lesion_data
    # Frame-to-frame differences of 0.5 mm tracking noise are worth ~60 mm/s
    # at 90 fps, so the root path is smoothed (Gaussian, sigma 3 frames =
    # 33 ms) before central differences.
    root = gaussian_filter1d(per_session(poses[:, 0, :2], labels), 3.0, axis=1)
    measured = np.linalg.norm(np.gradient(root, axis=1), axis=-1).ravel() * 90
    r = np.corrcoef(measured, labels["speed"])[0, 1]
    assert r > 0.9


def test_heading_is_the_yaw_of_the_spine():
    poses, labels = make_mouse_behavior(
        n_animals=2, n_frames=600, noise=0, random_state=2
    )
    heading = np.arctan2(labels["heading_sin"], labels["heading_cos"])
    error = np.angle(np.exp(1j * (spine_yaw(poses) - heading)))
    np.testing.assert_allclose(error, 0, atol=1e-9)
    norm = labels["heading_sin"] ** 2 + labels["heading_cos"] ** 2
    np.testing.assert_allclose(norm, 1)


def test_heading_matches_noisy_spine_yaw(lesion_data):
    poses, labels = lesion_data
    heading = np.arctan2(labels["heading_sin"], labels["heading_cos"])
    error = np.abs(np.angle(np.exp(1j * (spine_yaw(poses) - heading))))
    assert np.median(error) < np.radians(3)
    # Control: a constant heading is far off.
    assert np.median(np.abs(np.angle(np.exp(1j * spine_yaw(poses))))) > np.radians(30)


def test_bones_are_rigid_plausible_and_scale_with_body_size():
    poses, labels = make_mouse_behavior(
        n_animals=3, n_frames=600, noise=0, random_state=3
    )
    bones = np.linalg.norm(poses[:, 1:] - poses[:, PARENTS[1:]], axis=-1)
    per_animal = bones.reshape(3, -1, 17)  # one healthy and one lesioned session
    np.testing.assert_allclose(
        per_animal.min(axis=1), per_animal.max(axis=1), rtol=1e-9
    )
    size = labels.groupby("animal", observed=True)["body_size"].first().to_numpy()
    lengths = per_animal[:, 0] / size[:, None]
    # Apart from size, animals differ only in limb spread and tail-base
    # height, which change the bones to Tail_base, elbows and knees.
    same = np.setdiff1d(np.arange(17), [4, 5, 8, 11, 14])
    shared = lengths[:, same]
    np.testing.assert_allclose(shared.min(axis=0), shared.max(axis=0))
    assert (lengths > 5).all() and (lengths < 35).all()
    np.testing.assert_allclose(lengths[:, 0], 25.0)  # SpineM -> SpineF
    np.testing.assert_allclose(lengths[:, 4], 30.0, rtol=0.02)  # SpineM -> Tail_base
    snout_to_tail = np.linalg.norm(poses[:, 4] - poses[:, 5], axis=-1)
    assert 60 < np.median(snout_to_tail) < 100


def test_every_behavior_occurs(healthy_data):
    _, labels = healthy_data
    fractions = labels["behavior"].value_counts(normalize=True)
    assert set(fractions.index) == BEHAVIORS
    assert (fractions > 0.05).all()
    # Walking speed varies a lot within "walk".
    walking = labels.loc[labels["behavior"] == "walk", "speed"]
    assert walking.quantile(0.9) > 2 * walking.quantile(0.1)


def test_identity_is_decodable_from_root_relative_poses(healthy_data):
    poses, labels = healthy_data
    X = (poses[:, 1:] - poses[:, :1]).reshape(len(poses), -1)
    y = labels["animal"].cat.codes.to_numpy()
    train = first_half(labels)
    qda = QuadraticDiscriminantAnalysis(reg_param=1e-3).fit(X[train], y[train])
    assert qda.score(X[~train], y[~train]) > 0.5  # chance is 0.25


def test_behavior_is_decodable_from_egocentric_poses(healthy_data):
    poses, labels = healthy_data
    X = egocentric(poses)
    y = labels["behavior"].cat.codes.to_numpy()
    train = first_half(labels)
    qda = QuadraticDiscriminantAnalysis(reg_param=1e-2).fit(X[train], y[train])
    majority = np.bincount(y[~train]).max() / np.sum(~train)
    assert qda.score(X[~train], y[~train]) > majority + 0.3


def turning_bias(poses, labels, fps):
    """Per session: time turning right minus time turning left (> 1 rad/s)."""
    yaw = np.unwrap(per_session(spine_yaw(poses), labels), axis=1)
    yaw_rate = np.gradient(yaw, axis=1) * fps
    return np.mean(yaw_rate < -1, axis=1) - np.mean(yaw_rate > 1, axis=1)


def test_lesion_effect_grows_with_severity():
    # 12 animals, 400 s per session at 30 fps; the lesion is in the right
    # hemisphere, so turns become biased to the right (ipsiversive).
    n_animals, fps = 12, 30
    poses, labels = make_mouse_behavior(
        n_animals=n_animals, n_frames=12000, fps=fps, noise=0, random_state=0
    )
    bias = turning_bias(poses, labels, fps).reshape(n_animals, 2)
    severity = labels.groupby("animal", observed=True)["lesion_severity"].first()
    assert abs(bias[:, 0].mean()) < 0.03  # healthy animals turn both ways
    assert pearsonr(severity, bias[:, 1] - bias[:, 0])[0] > 0.6
    walking = labels["behavior"] == "walk"
    walking_speed = per_session(labels["speed"].where(walking), labels)
    mean_walking_speed = np.nanmean(walking_speed, axis=1).reshape(n_animals, 2)
    slowing = mean_walking_speed[:, 1] - mean_walking_speed[:, 0]
    assert pearsonr(severity, slowing)[0] < -0.5


def test_lesion_is_subtle_in_single_frames():
    poses, labels = make_mouse_behavior(n_animals=4, n_frames=3000, random_state=4)
    X = egocentric(poses)
    y = labels["condition"].cat.codes.to_numpy()
    train = first_half(labels)
    qda = QuadraticDiscriminantAnalysis(reg_param=1e-2).fit(X[train], y[train])
    assert qda.score(X[~train], y[~train]) < 0.9


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_animals": 0}, ValueError, "'n_animals' parameter .* range \\[1, inf\\)"),
        ({"n_animals": 2.0}, TypeError, "'n_animals' parameter .* an int"),
        ({"n_frames": 0}, ValueError, "'n_frames' parameter .* range \\[1, inf\\)"),
        ({"n_frames": "100"}, TypeError, "'n_frames' parameter .* an int"),
        ({"lesion": 1}, TypeError, "'lesion' parameter .* 'bool'"),
        ({"fps": 0}, ValueError, "'fps' parameter .* range \\(0.0, inf\\)"),
        ({"fps": np.inf}, ValueError, "'fps' parameter .* range \\(0.0, inf\\)"),
        ({"fps": "90"}, TypeError, "'fps' parameter .* a float"),
        ({"noise": -0.1}, ValueError, "'noise' parameter .* range \\[0.0, inf\\)"),
        ({"noise": np.nan}, ValueError, "'noise' parameter .* range \\[0.0, inf\\)"),
        ({"random_state": "seed"}, ValueError, "'random_state' parameter"),
    ],
)
def test_invalid_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_mouse_behavior(**kwargs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_animals_differ_in_limb_posture_not_only_in_size(seed):
    # Scale-free posture: the pitch of the left shin (knee -> ankle) in the
    # vertical plane of the heading, averaged over each animal's still frames.
    poses, labels = make_mouse_behavior(
        n_animals=4, n_frames=900, lesion=False, noise=0.0, random_state=seed
    )
    shin = poses[:, 13] - poses[:, 12]  # AnkleL - KneeL
    heading = np.arctan2(labels["heading_sin"], labels["heading_cos"]).to_numpy()
    forward = shin[:, 0] * np.cos(heading) + shin[:, 1] * np.sin(heading)
    pitch = np.arctan2(forward, -shin[:, 2])
    still = (labels["behavior"] == "still").to_numpy()
    means = pd.Series(pitch[still]).groupby(labels["animal"].to_numpy()[still]).mean()
    assert means.max() - means.min() > 0.25  # rad; the same for every animal without
