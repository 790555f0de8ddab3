import numpy as np
import pandas as pd
import pytest

from sklearn_scrubvae.metrics import measure_heading, measure_speed, synthesis_consistency_score

WINDOW = 5


class FakeDecoder:
    """Embeds a frame as (frame index, NaN flag); decodes windows that hold
    the requested nuisance values (``obey=True``) or the original ones."""

    window = WINDOW
    fps = 90.0

    def __init__(self, nuisance, obey, nan_rows=(), skeleton=None):
        self.original = nuisance.reset_index(drop=True)
        self.obey = obey
        self.nan_rows = list(nan_rows)
        self.skeleton_ = skeleton
        self.decoded_rows = None

    def transform(self, X):
        Z = np.column_stack([np.arange(len(X), dtype=float), np.zeros(len(X))])
        Z[self.nan_rows] = np.nan
        return Z

    def decode_windows(self, Z, *, nuisance):
        rows = Z[:, 0].astype(int)
        self.decoded_rows = rows
        table = nuisance if self.obey else self.original.iloc[rows]
        values = table.to_numpy(dtype=float)
        return np.repeat(values[:, None, :], self.window, axis=1)


def centre_values(windows):
    return windows[:, WINDOW // 2]


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    angle = rng.uniform(-np.pi, np.pi, size=600)
    return pd.DataFrame(
        {
            "speed": rng.gamma(2.0, size=600),
            "heading_sin": np.sin(angle),
            "heading_cos": np.cos(angle),
        }
    )


def test_obeying_decoder_scores_one(table):
    X = np.zeros((600, 3))
    speed_only = table[["speed"]]
    est = FakeDecoder(speed_only, obey=True)
    score = synthesis_consistency_score(
        est, X, speed_only, "speed", measure=centre_values, step=3, random_state=0
    )
    assert score == pytest.approx(1.0)
    np.testing.assert_array_equal(est.decoded_rows, np.arange(0, 600, 3))


def test_ignoring_decoder_scores_at_most_zero(table):
    X = np.zeros((600, 3))
    speed_only = table[["speed"]]
    est = FakeDecoder(speed_only, obey=False)
    score = synthesis_consistency_score(
        est, X, speed_only, "speed", measure=centre_values, step=1, random_state=0
    )
    # Permuted requests are independent of the original values: R^2 ~ -1.
    assert score <= 0.0
    assert score == pytest.approx(-1.0, abs=0.25)


def test_random_heading_pair(table):
    X = np.zeros((600, 3))
    heading = table[["heading_sin", "heading_cos"]]
    obey = FakeDecoder(heading, obey=True)
    ignore = FakeDecoder(heading, obey=False)
    kwargs = dict(measure=centre_values, step=1, random_state=0)
    pair = ["heading_sin", "heading_cos"]
    assert synthesis_consistency_score(obey, X, heading, pair, **kwargs) == pytest.approx(1.0)
    assert synthesis_consistency_score(ignore, X, heading, pair, **kwargs) < 0.0


def test_given_values_and_nan_rows(table):
    X = np.zeros((600, 3))
    speed_only = table[["speed"]]
    est = FakeDecoder(speed_only, obey=True, nan_rows=[0, 1, 2])
    requested = np.linspace(0.0, 5.0, 600)
    seen = {}

    def measure(windows):
        seen["values"] = windows[:, 0, 0]
        return windows[:, 0]

    score = synthesis_consistency_score(
        est, X, speed_only, "speed", new_values=requested, measure=measure, step=10
    )
    assert score == pytest.approx(1.0)
    used = np.arange(3, 600)[::10]
    np.testing.assert_array_equal(est.decoded_rows, used)
    np.testing.assert_allclose(seen["values"], requested[used])


def test_bad_inputs(table):
    X = np.zeros((600, 3))
    est = FakeDecoder(table, obey=True)
    with pytest.raises(ValueError, match="not in the nuisance columns"):
        synthesis_consistency_score(est, X, table, "size", measure=centre_values)
    with pytest.raises(ValueError, match="new_values must have shape"):
        synthesis_consistency_score(
            est, X, table, "speed", new_values=np.zeros(10), measure=centre_values
        )
    with pytest.raises(ValueError, match="generic feature mode"):
        synthesis_consistency_score(est, X, table, "speed")
    with pytest.raises(ValueError, match="measure returned shape"):
        synthesis_consistency_score(
            est, X, table, "speed", measure=lambda w: np.zeros((3, 2)), step=1
        )


class PoseDecoder(FakeDecoder):
    """Decodes a rigid MOUSE18 body moving along +x at the requested
    ``speed_root`` and turning through the window so that it faces the
    requested heading only at the centre frame."""

    def decode_windows(self, Z, *, nuisance):
        rest = np.random.default_rng(0).normal(scale=0.2, size=(18, 3))
        rest[0], rest[1] = 0.0, [1.0, 0.0, 0.0]  # SpineM at origin, SpineF ahead
        t = np.arange(self.window) - self.window // 2
        windows = np.empty((len(Z), self.window, 18, 3))
        for i, (_, row) in enumerate(nuisance.iterrows()):
            yaw = np.arctan2(row["heading_sin"], row["heading_cos"]) + 0.2 * t
            cos, sin, zero, one = np.cos(yaw), np.sin(yaw), 0 * yaw, 1 + 0 * yaw
            about_z = np.stack(
                [[cos, -sin, zero], [sin, cos, zero], [zero, zero, one]]
            ).transpose(2, 0, 1)
            # Turning about the root keeps the root's path a straight line.
            shift = np.outer(t * row["speed_root"] / self.fps, [1.0, 0.0, 0.0])
            windows[i] = np.einsum("tij,kj->tki", about_z, rest) + shift[:, None, :]
        return windows


@pytest.fixture
def pose_table(table):
    return table.rename(columns={"speed": "speed_root"})


def test_default_heading_measure_on_decoded_poses(pose_table):
    from sklearn_scrubvae.pose import MOUSE18

    X = np.zeros((600, 3))
    est = PoseDecoder(pose_table, obey=True, skeleton=MOUSE18)
    pair = ["heading_sin", "heading_cos"]
    score = synthesis_consistency_score(est, X, pose_table, pair, step=20, random_state=0)
    assert score == pytest.approx(1.0)


def test_default_speed_measure_on_decoded_poses(pose_table):
    from sklearn_scrubvae.pose import MOUSE18

    X = np.zeros((600, 3))
    est = PoseDecoder(pose_table, obey=True, skeleton=MOUSE18)
    score = synthesis_consistency_score(
        est, X, pose_table, "speed_root", fps=est.fps, step=20, random_state=0
    )
    assert score == pytest.approx(1.0)
    with pytest.raises(ValueError, match="Cannot measure"):
        synthesis_consistency_score(
            est, X, pose_table.assign(size=1.0), "size", fps=est.fps, step=20
        )
    with pytest.raises(ValueError, match="needs the frame rate"):
        synthesis_consistency_score(est, X, pose_table, "speed_root", step=20)


def test_measures_take_the_centre_frame():
    from sklearn_scrubvae.pose import MOUSE18

    table = pd.DataFrame(
        {"speed_root": [3.0, 7.0], "heading_sin": [0.0, 1.0], "heading_cos": [1.0, 0.0]}
    )
    windows = PoseDecoder(table, obey=True).decode_windows(np.zeros((2, 2)), nuisance=table)
    heading = measure_heading(windows, MOUSE18)
    expected = table[["heading_sin", "heading_cos"]].to_numpy()
    np.testing.assert_allclose(heading.to_numpy(), expected, atol=1e-12)
    speed = measure_speed(windows, MOUSE18, fps=FakeDecoder.fps)
    np.testing.assert_allclose(speed["speed_root"], [3.0, 7.0])
