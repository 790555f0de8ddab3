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

TINY = dict(n_components=4, window=9, hidden_channels=(8, 16), kernel_size=3, max_iter=1,
            batch_size=64, random_state=0)  # fmt: skip


@pytest.fixture(scope="module")
def mice():
    poses, table = make_mouse_behavior(n_animals=2, n_frames=150, random_state=0)
    return poses, table, table["session"].to_numpy()


def pose_model(**params):
    return ScrubbedCVAE(skeleton="mouse18", scrubber="qd", nuisance=["animal"], **{**TINY, **params})


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
