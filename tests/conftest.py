"""Shared test helpers: the real pose datasets beside the checkout."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_scrubvae.pose import Skeleton

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require(*parts):
    """Path of a file under ``../shared/data``; skips the test when it is absent."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


OIST_EDGES = [
    ("left_back", "right_back"), ("left_back", "miniscope"),
    ("left_back", "left_coord"), ("right_back", "right_coord"),
    ("left_coord", "left_hip"), ("right_coord", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
]  # fmt: skip


def oist_skeleton(keypoint_names):
    """Kinematic tree of the 11 OIST treadmill mocap markers."""
    return Skeleton.from_edges(keypoint_names, OIST_EDGES, root="left_back", front="miniscope")


def make_frames(n_frames=240, n_features=4, seed=0):
    """Smooth generic features of three recordings, with animal and speed columns."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)
    X = np.column_stack([np.sin(t / (3 + k)) for k in range(n_features)])
    X += 0.1 * rng.normal(size=X.shape)
    table = pd.DataFrame(
        {
            "animal": pd.Categorical(np.repeat(["a", "b", "c"], n_frames // 3)),
            "speed": rng.normal(size=n_frames),
        }
    )
    groups = np.repeat([0, 1, 2], n_frames // 3)
    return X, table, groups
