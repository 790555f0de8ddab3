"""Recordings as users have them: gaps, NaN nuisance, joined sessions, misuse."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae._frames.coverage import nearest_usable
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.pose import MOUSE18

TINY = dict(n_components=4, window=9, hidden_channels=(8, 16), kernel_size=3, max_iter=1,
            batch_size=64, random_state=0)  # fmt: skip


@pytest.fixture(scope="module")
def mice():
    poses, table = make_mouse_behavior(n_animals=2, n_frames=150, random_state=0)
    return poses, table, table["session"].to_numpy()


def pose_model(**params):
    defaults = dict(skeleton="mouse18", scrubber="qd", nuisance=["animal"], **TINY)
    return ScrubbedCVAE(**{**defaults, **params})


def with_gap(poses, keypoint=slice(None), frames=slice(100, 160)):
    """Poses with the whole body (or one keypoint) lost over ``frames``."""
    poses = poses.copy()
    poses[frames, keypoint] = np.nan
    return poses


def test_nearest_usable_stays_in_its_recording():
    usable = np.array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0], bool)
    start = np.array([0] * 7 + [7] * 3)
    stop = np.array([7] * 7 + [10] * 3)
    source = nearest_usable(usable, start, stop)
    # frame 3 is 2 from 1 and 2 from 5: the earlier wins; 7-9 have no usable frame
    np.testing.assert_array_equal(source, [1, 1, 1, 1, 5, 5, 5, -1, -1, -1])


def test_transform_bridges_unusable_frames_and_says_so(mice):
    poses, table, groups = mice
    gappy = with_gap(poses)
    est = pose_model().fit(gappy, table, groups=groups)
    valid = est.valid_frames(gappy, groups=groups)
    assert 0 < (~valid).sum() < len(valid)
    assert not valid[100:160].any()  # the gap is longer than max_gap
    with pytest.warns(UserWarning, match=r"nearest usable frame.*valid_frames"):
        Z = est.transform(gappy, groups=groups)
    assert np.isfinite(Z).all()
    source = nearest_usable(valid, *_segments(groups))
    np.testing.assert_array_equal(Z, Z[source])
    est.set_params(unusable_frames="nan")
    Z_nan = est.transform(gappy, groups=groups)
    np.testing.assert_array_equal(np.isnan(Z_nan).any(axis=1), ~valid)
    np.testing.assert_allclose(Z_nan[valid], Z[valid])


def _segments(groups):
    from sklearn_scrubvae._frames.windows import compute_segments

    return compute_segments(len(groups), groups)


def test_pipeline_with_kmeans_runs_on_gappy_poses(mice):
    poses, table, groups = mice
    gappy = with_gap(poses)
    pipe = make_pipeline(pose_model(), KMeans(3, n_init=2, random_state=0))
    with pytest.warns(UserWarning, match="nearest usable frame"):
        labels = pipe.fit_predict(gappy, table, scrubbedcvae__groups=groups)
    assert labels.shape == (len(poses),)


def test_many_dropped_windows_warn_with_the_keypoint(mice):
    poses, table, groups = mice
    gappy = poses.copy()
    gappy[::12, 5] = np.nan  # spread one-frame gaps: interpolated, harmless
    gappy[np.arange(len(gappy)) % 40 < 15, 7] = np.nan  # 15-frame gaps every 40 frames
    with pytest.warns(UserWarning, match=r"training windows \(\d+%\) touch") as record:
        est = pose_model(min_keypoints=1.0).fit(gappy, table, groups=groups)  # every keypoint
    (message,) = [str(w.message) for w in record if "training windows" in str(w.message)]
    name = est.skeleton_.keypoint_names[7]
    assert repr(name) in message
    assert est.n_windows_dropped_ > 0.2 * (est.n_windows_ + est.n_windows_dropped_)


def test_few_dropped_windows_do_not_warn(mice):
    poses, table, groups = mice
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pose_model().fit(with_gap(poses, frames=slice(100, 115)), table, groups=groups)


def test_nan_nuisance_rows_are_left_out_not_refused(mice):
    poses, table, groups = mice
    clean = pose_model().fit(poses, table.assign(speed=table["speed"]), groups=groups)
    speed = table["speed"].to_numpy().copy()
    speed[200:230] = np.nan
    est = ScrubbedCVAE(skeleton="mouse18", scrubber="mals", nuisance=["speed"], **TINY)
    est.fit(poses, table.assign(speed=speed), groups=groups)
    assert est.n_windows_dropped_ == clean.n_windows_dropped_ + 30 + 8
    with pytest.raises(ValueError, match="infinity"):
        speed[5] = np.inf
        est.fit(poses, table.assign(speed=speed), groups=groups)


def test_shuffled_nuisance_index_warns_but_a_slice_does_not(mice):
    poses, table, groups = mice
    shuffled = table.sample(frac=1.0, random_state=0)
    with pytest.warns(UserWarning, match="matched to frames by position"):
        pose_model().fit(poses, shuffled, groups=groups)
    with pytest.warns(UserWarning, match="matched to frames by position"):
        pose_model().fit(poses, table.iloc[::-1], groups=groups)
    sliced = table.iloc[150:450]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pose_model().fit(poses[150:450], sliced, groups=groups[150:450])


def test_nuisance_none_on_several_columns_names_them(mice):
    poses, table, groups = mice
    small = table[["speed", "heading_sin"]]
    with pytest.warns(UserWarning, match=r"nuisance=None uses every column.*'speed'.*scrubs"):
        ScrubbedCVAE(skeleton="mouse18", scrubber="mals", nuisance=None, **TINY).fit(
            poses, small, groups=groups
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ScrubbedCVAE(skeleton="mouse18", scrubber="mals", nuisance=None, **TINY).fit(
            poses, small[["speed"]], groups=groups
        )


def test_keypoint_arrays_without_skeleton_say_what_to_do(mice):
    poses, table, groups = mice
    with pytest.raises(ValueError, match=r"skeleton=.*flatten"):
        ScrubbedCVAE(scrubber="qd", nuisance=["animal"], **TINY).fit(poses, table)


def test_joined_recordings_without_groups_warn(mice):
    poses, table, groups = mice  # four sessions of 150 frames, each in its own place
    with pytest.warns(UserWarning, match=r"jumps.*3 frame\(s\) \(150, 300, 450\).*groups="):
        pose_model().fit(poses, table, groups=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pose_model().fit(poses, table, groups=groups)


def test_flattened_channel_first_poses_are_refused(mice):
    poses, table, groups = mice
    flat = np.swapaxes(poses, 1, 2).reshape(len(poses), -1)  # from (n, 3, K), scrambled
    with pytest.raises(ValueError, match=r"\(n_frames, 3, 18\) flattened"):
        pose_model().fit(flat, table, groups=groups)


def test_y_up_world_warns_with_the_reordering(mice):
    poses, table, groups = mice
    y_up = poses[..., [0, 2, 1]] * [1, 1, -1]  # z up -> y up, right-handed
    with pytest.warns(UserWarning, match=r"y axis looks vertical.*poses\[\.\.\., \[2, 0, 1\]\]"):
        est = pose_model().fit(y_up, table, groups=groups)
    restored = y_up[..., [2, 0, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.fit(restored, table, groups=groups)


def test_keypoints_reordered_at_transform_warn(mice):
    poses, table, groups = mice
    animal = table["animal"].to_numpy()
    first = animal == animal[0]
    est = pose_model(scrubber=None, conditional=False).fit(poses[first], groups=groups[first])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.transform(poses[~first], groups=groups[~first])  # another animal, same order
    order = np.random.default_rng(0).permutation(18)
    with pytest.warns(UserWarning, match="same order"):
        est.transform(poses[~first][:, order], groups=groups[~first])


def test_one_frame_glitch_warns_unless_max_displacement_is_set(mice):
    poses, table, groups = mice
    glitchy = poses.copy()
    glitchy[75, 4] += 500.0
    with pytest.warns(UserWarning, match=r"1 frame\(s\) \(75\).*max_displacement=") as record:
        pose_model().fit(glitchy, table, groups=groups)
    assert not any("recordings were joined" in str(w.message) for w in record)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pose_model(max_displacement=10.0).fit(glitchy, table, groups=groups)


def test_no_complete_frame_names_the_keypoint(mice):
    poses, table, groups = mice
    lost = poses.copy()
    lost[:, 11] = np.nan
    name = MOUSE18.keypoint_names[11]
    with pytest.raises(ValueError, match=rf"No frame has every keypoint.*'{name}' \(100% of frames\)"):
        pose_model(min_keypoints=1.0).fit(lost, table, groups=groups)
    with pytest.raises(ValueError, match=rf"'{name}'\] are never present"):
        pose_model().fit(lost, table, groups=groups)
    # Every keypoint is seen beside the root and front, but never more than 8 at once.
    core = [MOUSE18.root, MOUSE18.front]
    others = [k for k in range(18) if k not in core]
    most = np.full_like(poses, np.nan)
    for block, start in enumerate(range(0, len(poses), 50)):
        kept = core + others[(block % 3) * 6:(block % 3) * 6 + 6]
        most[start:start + 50, kept] = poses[start:start + 50, kept]
    with pytest.raises(ValueError, match=r"No frame has 9 of the 18 keypoints.*lower min_keypoints"):
        pose_model().fit(most, table, groups=groups)


def test_2d_poses_in_skeleton_mode_point_to_the_aligner(mice):
    poses, table, groups = mice
    with pytest.raises(ValueError, match="2D poses.*EgocentricAligner"):
        pose_model().fit(poses[..., :2], table, groups=groups)
    with pytest.raises(ValueError, match="2D poses.*EgocentricAligner"):
        pose_model().fit(poses[..., :2].reshape(len(poses), -1), table, groups=groups)
