"""Motion-synthesis consistency: does the decoder obey the nuisance it is given?"""

from collections.abc import Callable
from functools import partial
from numbers import Integral, Real

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

from ..pose import Skeleton, compute_heading, compute_speed
from .._frames.tables import check_nuisance_frame, missing_rows

HEADING_COLUMNS = ("heading_sin", "heading_cos")


@validate_params(
    {"windows": ["array-like"], "skeleton": [Skeleton, str]},
    prefer_skip_nested_validation=True,
)
def measure_heading(windows: ArrayLike, skeleton: Skeleton | str) -> pd.DataFrame:
    """Heading of decoded pose windows at their centre frame.

    Parameters
    ----------
    windows : ndarray of shape (n, window, n_keypoints, 3)
        Decoded keypoint windows.
    skeleton : Skeleton
        The skeleton of the keypoints.

    Returns
    -------
    heading : DataFrame of shape (n, 2)
        Columns ``heading_sin`` and ``heading_cos`` from
        :func:`sklearn_scrubvae.pose.compute_heading`.

    Examples
    --------
    >>> from sklearn_scrubvae.datasets import make_mouse_behavior
    >>> from sklearn_scrubvae.metrics import measure_heading
    >>> poses, table = make_mouse_behavior(n_animals=1, n_frames=45, lesion=False,
    ...                                    random_state=0)
    >>> windows = poses.reshape(3, 15, 18, 3)  # three windows of 15 frames
    >>> measure_heading(windows, "mouse18").shape
    (3, 2)
    """
    windows = np.asarray(windows, dtype=np.float64)
    centre = windows[:, windows.shape[1] // 2]
    return pd.DataFrame(compute_heading(centre, skeleton)).reset_index(drop=True)


@validate_params(
    {
        "windows": ["array-like"],
        "skeleton": [Skeleton, str],
        "fps": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def measure_speed(windows: ArrayLike, skeleton: Skeleton | str, fps: float) -> pd.DataFrame:
    """Speed features of decoded pose windows, averaged over each window.

    Each window is treated as its own recording and passed to
    :func:`sklearn_scrubvae.pose.compute_speed` with a smoothing window of
    the full window length; the value at the centre frame is kept, i.e.
    the speed averaged over the decoded window, as the nuisance was
    computed on the input.

    Parameters
    ----------
    windows : ndarray of shape (n, window, n_keypoints, 3)
        Decoded keypoint windows.
    skeleton : Skeleton
        The skeleton of the keypoints.
    fps : float
        Frames per second.

    Returns
    -------
    speed : DataFrame of shape (n, n_speed_features)
        The columns of ``compute_speed``.

    Examples
    --------
    >>> from sklearn_scrubvae.datasets import make_mouse_behavior
    >>> from sklearn_scrubvae.metrics import measure_speed
    >>> poses, table = make_mouse_behavior(n_animals=1, n_frames=45, lesion=False,
    ...                                    random_state=0)
    >>> windows = poses.reshape(3, 15, 18, 3)  # three windows of 15 frames
    >>> list(measure_speed(windows, "mouse18", fps=90).columns)
    ['speed_root', 'speed_spine_head', 'speed_limbs']
    """
    windows = np.asarray(windows, dtype=np.float64)
    n, length = windows.shape[:2]
    poses = windows.reshape(n * length, *windows.shape[2:])
    groups = np.repeat(np.arange(n), length)
    speed = compute_speed(poses, skeleton, window=length, fps=fps, groups=groups)
    return pd.DataFrame(speed).iloc[length // 2 :: length].reset_index(drop=True)


def _default_measure(estimator, columns, fps):
    """Measure of ``columns`` on decoded windows from the estimator's skeleton."""
    skeleton = getattr(estimator, "skeleton_", None)
    if skeleton is None:
        raise ValueError(
            "The estimator has no skeleton (generic feature mode), so the variable "
            "cannot be measured on decoded motion; pass measure=."
        )
    if set(columns) <= set(HEADING_COLUMNS):
        table = partial(measure_heading, skeleton=skeleton)
    else:
        if fps is None:
            raise ValueError("Measuring speed needs the frame rate: pass fps= (or measure=).")
        table = partial(measure_speed, skeleton=skeleton, fps=fps)

    def measure(windows):
        measured = table(windows)
        missing = [c for c in columns if c not in measured.columns]
        if missing:
            raise ValueError(
                f"Cannot measure {missing} on decoded motion (measured columns: "
                f"{list(measured.columns)}); pass measure=."
            )
        return measured[columns].to_numpy(dtype=np.float64)

    return measure


def _new_values(current, columns, rng):
    """Uniform random headings for a sin/cos pair, otherwise a row permutation."""
    if sorted(columns) == sorted(HEADING_COLUMNS):
        angle = rng.uniform(-np.pi, np.pi, size=len(current))
        values = {"heading_sin": np.sin(angle), "heading_cos": np.cos(angle)}
        return np.column_stack([values[c] for c in columns])
    return current.to_numpy(dtype=np.float64)[rng.permutation(len(current))]


@validate_params(
    {
        "estimator": [HasMethods(["transform", "decode_windows"])],
        "X": ["array-like"],
        "nuisance": ["array-like"],
        "variable": [str, Integral, list, tuple],
        "new_values": ["array-like", None],
        "measure": [callable, None],
        "fps": [Interval(Real, 0, None, closed="neither"), None],
        "groups": ["array-like", None],
        "step": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    # The estimator is the caller's: its own checks still run inside.
    prefer_skip_nested_validation=False,
)
def synthesis_consistency_score(
    estimator: BaseEstimator,
    X: ArrayLike,
    nuisance: ArrayLike,
    variable: str | int | list | tuple,
    *,
    new_values: ArrayLike | None = None,
    measure: Callable[[np.ndarray], ArrayLike] | None = None,
    fps: float | None = None,
    groups: ArrayLike | None = None,
    step: int = 51,
    random_state: int | np.random.RandomState | None = None,
) -> float:
    """R^2 between requested and measured nuisance on synthesised motion.

    Frames are encoded, ``variable`` is replaced by new values in the
    nuisance table, the decoder generates windows from the same latent
    codes under the new values, and the variable is measured again on the
    generated motion. A decoder that obeys the nuisance scores near 1; one
    that ignores it scores 0 or below.

    Every ``step``-th frame whose embedding and nuisance are valid is used.

    Parameters
    ----------
    estimator : fitted ScrubbedCVAE
        Anything with ``transform(X, groups=...)`` and
        ``decode_windows(Z, nuisance=...)``; the default measurements also
        use ``skeleton_``.
    X : array-like of shape (n_frames, ...)
        Frames, as given to ``estimator.transform``.
    nuisance : DataFrame or array-like of shape (n_frames, n_columns)
        The nuisance table the estimator conditions on.
    variable : str, int or list of them
        The column(s) to change, e.g. ``"speed_root"`` or
        ``["heading_sin", "heading_cos"]``.
    new_values : array-like of shape (n_frames,) or (n_frames, n_variables), \
            default=None
        Requested values, one row per frame of ``X`` (the used frames are
        taken from it). None generates them: a uniformly random angle for
        the ``heading_sin``/``heading_cos`` pair, otherwise a random
        permutation of the variable's values across the used frames.
    measure : callable, default=None
        ``measure(windows) -> array of shape (n, n_variables)``: the
        variable measured on decoded windows ``(n, window, ...)``, in the
        units of the nuisance table and in the order of ``variable``. None
        uses, with the estimator's skeleton, :func:`measure_heading` for
        heading columns and :func:`measure_speed` (with ``fps``) otherwise,
        selecting the columns named in ``variable``.
    fps : float, default=None
        Frame rate of ``X``, needed by the default speed measurement.
    groups : array-like of shape (n_frames,), default=None
        Recording id per frame, passed to ``estimator.transform``.
    step : int, default=51
        Keep every ``step``-th valid frame.
    random_state : int, RandomState instance or None, default=None
        Seed of the generated values.

    Returns
    -------
    score : float
        ``r2_score(requested, measured)``, averaged over the variables.
        It is not scale-free: ``measure`` must return the nuisance table's
        units.

    Raises
    ------
    ValueError
        If a variable is not a column of the table, shapes disagree or no
        default measurement applies.
    """
    columns = list(variable) if isinstance(variable, (list, tuple)) else [variable]
    n_frames = len(X)
    frame = check_nuisance_frame(nuisance, n_frames)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"variable {missing} not in the nuisance columns {list(frame.columns)}.")
    measure = _default_measure(estimator, columns, fps) if measure is None else measure

    if groups is None:
        Z = estimator.transform(X)
    else:
        Z = estimator.transform(X, groups=groups)
    Z = np.asarray(Z, dtype=np.float64)
    used = np.flatnonzero(~missing_rows(Z, frame))[::step]
    if len(used) < 2:
        raise ValueError(f"Only {len(used)} usable frame(s); lower step or give more frames.")
    table = frame.iloc[used].reset_index(drop=True)

    if new_values is None:
        requested = _new_values(table[columns], columns, check_random_state(random_state))
    else:
        values = np.asarray(new_values, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.shape != (n_frames, len(columns)):
            raise ValueError(
                f"new_values must have shape ({n_frames}, {len(columns)}), one row per "
                f"frame and one column per variable; got {values.shape}."
            )
        requested = values[used]
    table[columns] = requested

    windows = estimator.decode_windows(Z[used], nuisance=table)
    measured = np.asarray(measure(windows), dtype=np.float64)
    if measured.ndim == 1:
        measured = measured[:, None]
    if measured.shape != requested.shape:
        raise ValueError(
            f"measure returned shape {measured.shape}, expected {requested.shape}."
        )
    return float(r2_score(requested, measured))
