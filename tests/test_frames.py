"""The frames layer: one window plan and one nuisance encoding for every task."""

import numpy as np
import pandas as pd
import pytest

from sklearn_scrubvae._frames.nuisance import NuisanceEncoder, encode_nuisance
from sklearn_scrubvae._frames.windows import WindowPlan


@pytest.mark.parametrize("stride", [1, 3])
def test_window_plan_matches_a_frame_by_frame_rule(stride):
    rng = np.random.default_rng(0)
    groups = np.repeat([4, 7, 9], [20, 3, 31])
    valid = rng.random(len(groups)) > 0.1
    plan = WindowPlan(len(groups), groups, window=5, stride=stride, valid=valid)
    first = {g: np.flatnonzero(groups == g)[0] for g in np.unique(groups)}
    last = {g: np.flatnonzero(groups == g)[-1] for g in np.unique(groups)}
    candidates, centers, own = [], [], []
    for c, g in enumerate(groups):
        lo, hi = c - 2, c + 2
        clipped = range(max(lo, first[g]), min(hi, last[g]) + 1)
        own.append(all(valid[f] for f in clipped))
        if lo >= first[g] and hi <= last[g] and (lo - first[g]) % stride == 0:
            candidates.append(c)
            if own[-1]:
                centers.append(c)
    np.testing.assert_array_equal(plan.candidates, candidates)
    np.testing.assert_array_equal(plan.centers, centers)
    np.testing.assert_array_equal(plan.own(), own)
    assert plan.n_dropped == len(candidates) - len(centers) > 0
    covered = np.zeros(len(groups), bool)
    for c in set(candidates) - set(centers):
        covered[c - 2 : c + 3] = True
    np.testing.assert_array_equal(plan.dropped_frames(), covered)


def test_one_category_order_for_the_model_and_the_metrics():
    table = pd.DataFrame({"animal": ["c", "a", "b", "a"], "speed": [1.0, 2.0, 3.0, 4.0]})
    encoder = NuisanceEncoder().fit(table, 4)
    decoder_input, targets = encoder.transform(table, 4)
    np.testing.assert_array_equal(encoder.categories_["animal"], ["a", "b", "c"])
    np.testing.assert_array_equal(targets["animal"], [2, 0, 1, 0])
    np.testing.assert_allclose(encode_nuisance(table), decoder_input, rtol=1e-6)
    np.testing.assert_array_equal(encode_nuisance(table)[:, :3], np.eye(3)[[2, 0, 1, 0]])


# ------------------------------------------------- inputs of large recordings


def _gappy_poses(seed=0):
    from sklearn_scrubvae.datasets import make_mouse_behavior

    poses, table, *_ = make_mouse_behavior(n_animals=3, n_frames=300, random_state=seed)
    poses = poses.astype(np.float32)
    rng = np.random.default_rng(seed)
    for begin in rng.choice(len(poses) - 20, size=12, replace=False):
        poses[begin : begin + rng.integers(1, 9), rng.integers(18)] = np.nan
    poses[5:30:7] += 40.0  # jumps: tracking errors
    return poses, table["session"].to_numpy()


def _skeleton_input(min_keypoints=1.0):
    from sklearn_scrubvae._frames.inputs import SkeletonInput
    from sklearn_scrubvae.pose import get_skeleton

    return SkeletonInput(get_skeleton("mouse18"), "midfwd", max_gap=4, max_displacement=8.0,
                         min_keypoints=min_keypoints)


@pytest.mark.parametrize("min_keypoints", [1.0, 0.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_frames_equal_the_frames_derived_whole(seed, min_keypoints):
    """Windows derived batch by batch equal those gathered from all frames.

    Centres near recording edges and the ends of X, with gaps and tracking
    errors, clipped to their recording as the training dataset clips them.
    """
    from sklearn_scrubvae._frames.inputs import WindowFrames

    poses, groups = _gappy_poses(seed)
    inputs = _skeleton_input(min_keypoints).fit(poses, groups, window=9)
    whole, valid = inputs.frames(poses, groups)
    assert ("present" in whole) == (min_keypoints < 1)
    np.testing.assert_array_equal(inputs.usable(poses, groups), valid)
    plan = WindowPlan(len(poses), groups, window=9)
    centers = np.concatenate([[0, 1, 4, len(poses) - 1], np.random.default_rng(seed).choice(
        len(poses), 60), np.flatnonzero(groups[1:] != groups[:-1]) + [[0], [1]]], axis=None)
    index = np.clip(centers[:, None] + np.arange(-4, 5), plan.start[centers, None],
                    plan.stop[centers, None] - 1)
    windows = WindowFrames(inputs, poses, plan.start, plan.stop).windows(index)
    assert set(windows) == set(whole)
    for name, value in whole.items():
        np.testing.assert_array_equal(windows[name], value[index], err_msg=name)


def test_skeleton_scales_from_a_sample_of_frames_match_all_frames(monkeypatch):
    """Bone-length medians of evenly spaced frames: exact below the cap, close above."""
    from sklearn_scrubvae._frames import inputs as _inputs

    poses, groups = _gappy_poses()
    exact = _skeleton_input().fit(poses, groups, window=9)
    frames, valid = exact.frames(poses, groups)
    np.testing.assert_array_equal(
        exact.reference_bone_lengths_, np.median(frames["bone_lengths"][valid], axis=0))
    monkeypatch.setattr(_inputs, "CHUNK_FRAMES", 50)
    chunked = _skeleton_input().fit(poses, groups, window=9)
    np.testing.assert_array_equal(chunked.reference_bone_lengths_, exact.reference_bone_lengths_)
    np.testing.assert_allclose(chunked.root_scale_, exact.root_scale_, rtol=1e-9)
    monkeypatch.setattr(_inputs, "MEDIAN_FRAMES", 100)
    sampled = _skeleton_input().fit(poses, groups, window=9)
    assert not np.array_equal(sampled.reference_bone_lengths_, exact.reference_bone_lengths_)
    np.testing.assert_allclose(sampled.reference_bone_lengths_,
                               exact.reference_bone_lengths_, rtol=0.05)
    assert sampled.root_scale_ == chunked.root_scale_


@pytest.mark.parametrize("min_keypoints", [1.0, 0.5])
def test_feature_usable_flags_equal_those_of_the_derived_frames(min_keypoints):
    from sklearn_scrubvae._frames.inputs import FeatureInput

    X = np.random.default_rng(0).normal(size=(500, 6))
    X[np.random.default_rng(1).random(X.shape) < 0.3] = np.nan
    inputs = FeatureInput(min_keypoints).fit(X)
    frames, valid = inputs.frames(X)
    assert set(frames) == set(inputs.shapes)
    assert 0 < valid.sum() < len(X)
    np.testing.assert_array_equal(inputs.usable(X), valid)
