"""Shared test helpers: the real pose datasets beside the checkout."""

import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
)

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


def assert_parameters_validated(func, caller_name, required=None, call=None):
    """Every named parameter of ``func`` is validated and refuses bad values.

    ``func`` must carry scikit-learn parameter constraints (from
    ``validate_params``, or ``_parameter_constraints`` on an estimator
    class) for exactly the named parameters of its signature. Then, for each
    parameter, an object of a foreign type and a value outside each of its
    constraints (where scikit-learn can make one) must raise
    ``InvalidParameterError`` naming the parameter and ``caller_name``; the
    other parameters are taken from ``required`` or left at their defaults.
    ``call(**params)`` makes the call, ``func(**params)`` by default.
    """
    constraints = getattr(func, "_skl_parameter_constraints", None) or getattr(
        func, "_parameter_constraints", None
    )
    assert constraints is not None, f"{caller_name} has no parameter constraints."
    names = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in ("self", "cls")
    ]
    assert sorted(constraints) == sorted(names), caller_name
    call = func if call is None else call
    required = required or {}
    foreign = type("Foreign", (), {})()
    for name in names:
        if constraints[name] == "no_validation":
            continue
        bad_values = [foreign]
        for constraint in map(make_constraint, constraints[name]):
            try:
                bad_values.append(generate_invalid_param_val(constraint))
            except NotImplementedError:
                pass
        match = rf"The '{name}' parameter of {re.escape(caller_name)} must be"
        for bad in bad_values:
            with pytest.raises(InvalidParameterError, match=match):
                call(**{**required, name: bad})
