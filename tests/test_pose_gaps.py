import numpy as np
import pytest

from sklearn_scrubvae.pose import interpolate_gaps


def linear_tracks(n_frames=30, seed=0):
    """Keypoints in uniform linear motion: interpolation is exact."""
    rng = np.random.default_rng(seed)
    start, velocity = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    return start + np.arange(n_frames)[:, None, None] * velocity


def test_short_gaps_are_filled_exactly():
    truth = linear_tracks()
    poses = truth.copy()
    poses[5:8, 1] = np.nan  # a 3-frame gap of a whole keypoint
    poses[12, 2, 0] = np.nan  # a single coordinate
    poses[20:22, :, 2] = np.nan  # one coordinate of every keypoint
    filled = interpolate_gaps(poses, max_gap=3)
    np.testing.assert_allclose(filled, truth, atol=1e-12)
    assert np.isnan(poses[5, 1]).all()  # the input is left alone


def test_long_gaps_and_edge_gaps_stay_missing():
    truth = linear_tracks()
    poses = truth.copy()
    poses[5:9, 1] = np.nan  # 4 frames: too long
    poses[:2, 2] = np.nan  # touches the start
    poses[-1, 3] = np.nan  # touches the end
    poses[15:17, 0] = np.nan  # short: filled
    filled = interpolate_gaps(poses, max_gap=3)
    missing = np.isnan(poses)
    missing[15:17, 0] = False
    np.testing.assert_array_equal(np.isnan(filled), missing)
    np.testing.assert_allclose(filled[~missing], truth[~missing], atol=1e-12)


def test_gaps_are_never_filled_across_recordings():
    poses = linear_tracks(20)
    poses[10:] += 100.0  # a second recording elsewhere
    poses[9:11, 0] = np.nan  # a 2-frame gap straddling the border
    poses[3:5, 1] = np.nan  # a gap inside the first recording
    groups = np.repeat([7, 3], 10)
    filled = interpolate_gaps(poses, max_gap=5, groups=groups)
    assert np.isnan(filled[9:11, 0]).all()
    assert np.isfinite(filled[3:5, 1]).all()
    bridged = interpolate_gaps(poses, max_gap=5)
    assert np.isfinite(bridged[9:11, 0]).all()


def test_max_gap_zero_and_any_trailing_shape():
    poses = np.array([0.0, np.nan, 2.0])
    np.testing.assert_array_equal(
        np.isnan(interpolate_gaps(poses, max_gap=0)), np.isnan(poses)
    )
    np.testing.assert_allclose(interpolate_gaps(poses, max_gap=1), [0.0, 1.0, 2.0])
    table = np.array([[0.0, 10.0], [np.nan, np.nan], [4.0, np.nan], [6.0, 16.0]])
    np.testing.assert_allclose(
        interpolate_gaps(table, max_gap=2), [[0, 10], [2, 12], [4, 14], [6, 16]]
    )


@pytest.mark.parametrize("max_gap", [-1, 2.5, "3"])
def test_max_gap_errors(max_gap):
    with pytest.raises(ValueError, match="max_gap"):
        interpolate_gaps(np.zeros((3, 2)), max_gap=max_gap)


def test_non_contiguous_input_is_filled():
    """Loaders often return transposed views; gaps must still be filled."""
    track = np.arange(12.0).reshape(3, 4).T.copy()  # (4 frames, 3 coordinates)
    track[1] = np.nan
    view = np.ascontiguousarray(track.T).T  # same values, Fortran-ordered
    assert not view.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(interpolate_gaps(view, max_gap=1), np.arange(12.0).reshape(3, 4).T)
