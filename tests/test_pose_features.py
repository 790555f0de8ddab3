import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn_scrubvae.pose import (
    MOUSE18,
    Skeleton,
    compute_body_size,
    compute_heading,
    compute_speed,
    compute_tracking_errors,
    forward_kinematics,
    inverse_kinematics,
)

FPS = 90.0


def rest_pose(seed=0):
    return np.random.default_rng(seed).normal(size=(18, 3)) * 10


def linear_motion(velocity, n_frames=120, seed=0):
    time = np.arange(n_frames) / FPS
    return rest_pose(seed) + time[:, None, None] * np.asarray(velocity)


def test_uniform_linear_motion():
    speed = compute_speed(
        linear_motion([30.0, -40.0, 0.0]), MOUSE18, window=51, fps=FPS
    )
    assert isinstance(speed, pd.DataFrame)
    assert list(speed.columns) == ["speed_root", "speed_spine_head", "speed_limbs"]
    assert speed.shape == (120, 3)
    np.testing.assert_allclose(speed["speed_root"], 50.0, rtol=1e-10)
    np.testing.assert_allclose(
        speed[["speed_spine_head", "speed_limbs"]], 0.0, atol=1e-9
    )


def test_limbs_circling_their_girdles():
    """Limb keypoints turning about their girdle at a known angular speed."""
    n_frames, omega, radius = 90, 2.0, 5.0
    angle = omega * np.arange(n_frames) / FPS
    poses = np.tile(rest_pose(1), (n_frames, 1, 1))
    limbs, girdles = list(MOUSE18.limbs), list(MOUSE18.girdles)
    circle = radius * np.stack([np.cos(angle), np.sin(angle), 0 * angle], axis=1)
    poses[:, limbs] = poses[:, girdles] + circle[:, None]
    speed = compute_speed(poses, MOUSE18, window=5, fps=FPS)
    # central differences measure the chord over two frames
    expected = radius * np.sin(omega / FPS) * FPS
    np.testing.assert_allclose(speed["speed_limbs"][3:-3], expected, rtol=1e-10)
    np.testing.assert_allclose(
        speed[["speed_root", "speed_spine_head"]], 0.0, atol=1e-9
    )


def test_window_averages_per_frame_speeds():
    rng = np.random.default_rng(2)
    poses = rng.normal(size=(40, 18, 3))
    raw = compute_speed(poses, MOUSE18, window=1, fps=FPS)
    root = poses[:, 0]
    velocity = np.gradient(root, axis=0) * FPS
    np.testing.assert_allclose(raw["speed_root"], np.linalg.norm(velocity, axis=1))
    smooth = compute_speed(poses, MOUSE18, window=7, fps=FPS)
    np.testing.assert_allclose(smooth.iloc[20], raw.iloc[17:24].mean(), rtol=1e-12)
    np.testing.assert_allclose(smooth.iloc[1], raw.iloc[0:5].mean(), rtol=1e-12)
    np.testing.assert_allclose(smooth.iloc[39], raw.iloc[36:40].mean(), rtol=1e-12)


def test_speed_never_crosses_recordings():
    first, second = (
        linear_motion([10.0, 0, 0], 60),
        linear_motion([0, 0, 20.0], 60, seed=3),
    )
    poses = np.concatenate([first, second + 1000.0])
    groups = np.repeat(["a", "b"], 60)
    speed = compute_speed(poses, MOUSE18, window=51, fps=FPS, groups=groups)
    np.testing.assert_allclose(speed["speed_root"][:60], 10.0, rtol=1e-9)
    np.testing.assert_allclose(speed["speed_root"][60:], 20.0, rtol=1e-9)
    spiked = compute_speed(poses, MOUSE18, window=51, fps=FPS)
    assert spiked["speed_root"].max() > 1000


def test_speed_skips_missing_values():
    poses = linear_motion([0, 9.0, 0], 30)
    poses[10:13] = np.nan
    poses[20, 7] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        speed = compute_speed(poses, MOUSE18, window=3, fps=FPS)
    # frames 10-12 have no speed; only frame 11's window sees none at all
    assert speed["speed_root"].isna().tolist() == [i == 11 for i in range(30)]
    np.testing.assert_allclose(speed["speed_root"].drop(11), 9.0, rtol=1e-9)
    lonely = np.full((3, 18, 3), np.nan)
    lonely[1] = rest_pose()
    with pytest.raises(ValueError, match="speed_root.*'SpineM'.*consecutive frames"):
        compute_speed(lonely, MOUSE18, window=3, fps=FPS)


def test_speed_is_nan_only_inside_gaps_longer_than_the_window():
    poses = linear_motion([0, 9.0, 0], 300)
    poses[100:200] = np.nan
    speed = compute_speed(poses, MOUSE18, window=51, fps=FPS)
    nan_frames = np.flatnonzero(speed.isna().any(axis=1))
    np.testing.assert_array_equal(nan_frames, np.arange(125, 175))
    np.testing.assert_allclose(speed["speed_root"].dropna(), 9.0, rtol=1e-9)


def test_features_name_keypoints_that_are_never_present():
    poses = linear_motion([1.0, 0, 0], 20)
    limbs = [MOUSE18.keypoint_names[k] for k in MOUSE18.limbs]
    poses[:, list(MOUSE18.limbs)] = np.nan
    with pytest.raises(ValueError, match=r"speed_limbs.*" + limbs[0]):
        compute_speed(poses, MOUSE18, window=3, fps=FPS)
    poses = linear_motion([1.0, 0, 0], 20)
    poses[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"heading.*\['SpineF'\]"):
        compute_heading(poses, MOUSE18)
    poses[::2, 1] = 0.0  # SpineF back in even frames, SpineM missing there
    poses[::2, 0] = np.nan
    with pytest.raises(ValueError, match="never present together in a frame"):
        compute_heading(poses, MOUSE18)
    poses = linear_motion([1.0, 0, 0], 20)
    poses[:, 4] = np.nan
    with pytest.raises(ValueError, match=r"\('EarR', 'Snout'\)"):
        compute_body_size(poses, MOUSE18)


def test_speed_needs_fps_and_scales_its_default_window_with_it():
    poses = np.random.default_rng(5).normal(size=(60, 18, 3))
    with pytest.raises(ValueError, match="fps is required"):
        compute_speed(poses, MOUSE18)
    for fps, frames in ((90, 51), (30, 17), (300, 171)):
        pd.testing.assert_frame_equal(
            compute_speed(poses, MOUSE18, fps=fps),
            compute_speed(poses, MOUSE18, window=frames, fps=fps),
        )
    assert not compute_speed(poses, MOUSE18, fps=30).equals(
        compute_speed(poses, MOUSE18, window=51, fps=30)
    )


@pytest.mark.parametrize(
    "window, fps", [(0, 90), (2.5, 90), (51, 0), (51, "90"), (51, np.inf)]
)
def test_speed_parameter_errors(window, fps):
    with pytest.raises(ValueError):
        compute_speed(linear_motion([1.0, 0, 0], 5), MOUSE18, window=window, fps=fps)


def test_skeleton_without_limbs_has_no_limb_speed():
    """Every non-root keypoint is axial: the limb column is left out, not NaN."""
    body = Skeleton.from_edges(
        ["centre", "nose", "tail"], [("centre", "nose"), ("centre", "tail")],
        root="centre", front="nose",
    )
    time = np.arange(40)[:, None, None] / FPS
    poses = np.array([[0.0, 0.0], [2.0, 0.0], [-3.0, 0.0]]) + time * [3.0, 4.0]
    speed = compute_speed(poses, body, window=5, fps=FPS)
    assert list(speed.columns) == ["speed_root", "speed_spine_head"]
    np.testing.assert_allclose(speed["speed_root"], 5.0, rtol=1e-10)
    np.testing.assert_allclose(speed["speed_spine_head"], 0.0, atol=1e-9)
    size = compute_body_size(poses, body)
    np.testing.assert_allclose(size["bone_length_total"], 5.0)
    np.testing.assert_allclose(size["bone_length_limbs"], 0.0)


def test_speed_and_heading_in_2d():
    rest = rest_pose()[:, :2]
    poses = rest + np.arange(90)[:, None, None] / FPS * np.array([30.0, -40.0])
    speed = compute_speed(poses, MOUSE18, window=9, fps=FPS)
    np.testing.assert_allclose(speed["speed_root"], 50.0, rtol=1e-10)
    np.testing.assert_allclose(speed[["speed_spine_head", "speed_limbs"]], 0, atol=1e-9)
    forward = rest[1] - rest[0]
    heading = compute_heading(poses, MOUSE18)
    np.testing.assert_allclose(
        heading["heading_sin"], forward[1] / np.linalg.norm(forward), rtol=1e-12
    )


def test_heading_of_known_rotations():
    angles = np.linspace(-3, 3, 13)
    poses = np.tile(rest_pose(), (13, 1, 1))
    poses[:, 1] = poses[:, 0] + 4.0 * np.stack(
        [np.cos(angles), np.sin(angles), np.full(13, 0.7)], axis=1
    )
    heading = compute_heading(poses, MOUSE18)
    assert list(heading.columns) == ["heading_sin", "heading_cos"]
    np.testing.assert_allclose(heading["heading_sin"], np.sin(angles), atol=1e-12)
    np.testing.assert_allclose(heading["heading_cos"], np.cos(angles), atol=1e-12)
    poses[4, 0] = np.nan
    assert compute_heading(poses, MOUSE18).iloc[4].isna().all()


def test_body_size_from_known_bone_lengths():
    rng = np.random.default_rng(4)
    n_frames = 21
    rot6d = inverse_kinematics(rng.normal(size=(n_frames, 18, 3)), MOUSE18)[0]
    small, large = np.linspace(1, 2, 18), np.linspace(2, 5, 18)
    lengths = np.concatenate([np.tile(small, (10, 1)), np.tile(large, (11, 1))])
    poses = forward_kinematics(rot6d, rng.normal(size=(n_frames, 3)), lengths, MOUSE18)
    poses[3] *= 10.0  # one badly tracked frame does not move the median
    poses[15, 4] = np.nan
    poses[16:, 7] = np.nan  # no frame of the second recording is complete
    groups = [0] * 10 + [1] * 11
    size = compute_body_size(poses, MOUSE18, groups=groups)
    assert list(size.columns) == [
        "bone_length_total", "bone_length_axial", "bone_length_limbs",
    ]  # fmt: skip
    for rows, bones in ((slice(0, 10), small), (slice(10, 21), large)):
        np.testing.assert_allclose(size["bone_length_total"][rows], bones[1:].sum())
        np.testing.assert_allclose(size["bone_length_axial"][rows], bones[1:6].sum())
        np.testing.assert_allclose(size["bone_length_limbs"][rows], bones[6:].sum())


def test_tracking_errors_flag_jumps_inside_recordings():
    poses = np.tile(rest_pose(), (10, 1, 1))
    poses[4] += 3.0  # glitch: jump at 4, jump back at 5
    poses[7:] += 100.0  # new recording starting at 7 far away
    poses[8, :9] = np.nan  # half of the keypoints missing: mean of the rest
    groups = [0] * 7 + [1] * 3
    errors = compute_tracking_errors(poses, threshold=2.25, groups=groups)
    assert errors.dtype == bool
    np.testing.assert_array_equal(errors, np.isin(np.arange(10), [4, 5]))
    assert compute_tracking_errors(poses, threshold=2.25)[7]
    assert not compute_tracking_errors(poses, threshold=10.0, groups=groups).any()


def test_groups_and_shape_errors():
    poses = linear_motion([1.0, 0, 0], 10)
    with pytest.raises(ValueError, match="one id per frame"):
        compute_speed(poses, MOUSE18, fps=FPS, groups=[0] * 9)
    with pytest.raises(ValueError, match="n_frames"):
        compute_heading(poses[0], MOUSE18)
    with pytest.raises(ValueError, match="keypoints"):
        compute_body_size(poses[:, :5], MOUSE18)
    with pytest.raises(ValueError, match="np.swapaxes"):
        compute_speed(np.swapaxes(poses, 1, 2), MOUSE18, fps=FPS)
    with pytest.raises(ValueError, match="np.swapaxes"):
        compute_heading(np.swapaxes(poses[..., :2], 1, 2), MOUSE18)
    with pytest.raises(TypeError, match="threshold"):
        compute_tracking_errors(poses, threshold="2")
