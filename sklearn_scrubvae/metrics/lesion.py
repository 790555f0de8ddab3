"""Session-level disease detection from embeddings, and severity correlation."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.stats import pearsonr
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._frames.tables import check_labels

if TYPE_CHECKING:
    from scipy.stats._result_classes import PearsonRResult


@dataclass(frozen=True)
class SessionClassification:
    """Held-out classification of whole sessions.

    Attributes
    ----------
    accuracy : float
        Fraction of sessions whose condition is predicted correctly.
    sessions : DataFrame
        One row per session (indexed by session id) with columns
        ``animal``, ``condition`` (true), ``predicted`` and ``n_frames``
        (frames used), plus one column per condition with the session's
        mean held-out frame probability of that condition.
    """

    accuracy: float
    sessions: pd.DataFrame


@validate_params(
    {
        "Z": ["array-like"],
        "session": ["array-like"],
        "condition": ["array-like"],
        "animal": ["array-like"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "aggregate": [StrOptions({"proba", "vote"})],
        "cv": [Interval(Integral, 2, None, closed="left"), None],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def session_knn_accuracy(
    Z: ArrayLike,
    session: ArrayLike,
    condition: ArrayLike,
    animal: ArrayLike,
    *,
    n_neighbors: int = 15,
    aggregate: str = "proba",
    cv: int | None = None,
    max_samples: int | None = 1000,
    random_state: int | np.random.RandomState | None = None,
) -> SessionClassification:
    """Accuracy of a k-NN classifier of whole sessions' conditions.

    A ``KNeighborsClassifier`` on the embeddings predicts each frame's
    condition (e.g. healthy vs lesioned) with all sessions of the held-out
    animals left out of training (leave-one-animal-out by default, so an
    animal's other session never serves as a neighbour). Frame predictions
    are then aggregated per session.

    Parameters
    ----------
    Z : array-like of shape (n_frames, n_components)
        Embeddings; NaN rows are dropped.
    session : array-like of shape (n_frames,)
        Session id per frame; a session has one animal and one condition.
    condition : array-like of shape (n_frames,)
        Condition per frame (the class to predict).
    animal : array-like of shape (n_frames,)
        Animal id per frame; folds never split an animal.
    n_neighbors : int, default=15
        Neighbours of the classifier (fewer if a training fold is smaller).
    aggregate : {"proba", "vote"}, default="proba"
        "proba": the session's predicted condition maximises the mean
        frame probability; "vote": the most frequent frame prediction.
    cv : int or None, default=None
        None: leave one animal out; an int: ``GroupKFold(cv)`` by animal.
    max_samples : int or None, default=1000
        Frames per session drawn at random without replacement before
        classification, to bound the cost; None uses all frames.
    random_state : int, RandomState instance or None, default=None
        Seed of that draw.

    Returns
    -------
    result : SessionClassification
        ``accuracy`` over sessions and the per-session ``sessions`` table.

    Raises
    ------
    ValueError
        If a session mixes animals or conditions, or fewer than two animals
        are given.
    """
    Z = check_array(Z, ensure_all_finite="allow-nan", dtype=np.float64)
    n = len(Z)
    frames = pd.DataFrame(
        {
            "session": check_labels(session, "session", n),
            "animal": check_labels(animal, "animal", n),
            "condition": check_labels(condition, "condition", n),
        }
    )
    mixed = frames.groupby("session")[["animal", "condition"]].nunique().gt(1).any()
    if mixed.any():
        raise ValueError(
            f"Each session must have a single {' and '.join(mixed.index[mixed])}."
        )

    valid = ~np.isnan(Z).any(axis=1)
    frames, Z = frames[valid].reset_index(drop=True), Z[valid]
    if max_samples is not None:
        order = check_random_state(random_state).permutation(len(Z))
        rank = frames.iloc[order].groupby("session").cumcount().to_numpy()
        keep = np.sort(order[rank < max_samples])
        frames, Z = frames.iloc[keep].reset_index(drop=True), Z[keep]
    n_animals = frames["animal"].nunique()
    if n_animals < 2:
        raise ValueError(f"Need at least two animals, got {n_animals}.")

    splitter = LeaveOneGroupOut() if cv is None else GroupKFold(n_splits=cv)
    smallest_train = min(
        len(train) for train, _ in splitter.split(Z, groups=frames["animal"])
    )
    knn = KNeighborsClassifier(n_neighbors=min(n_neighbors, smallest_train))
    classes = np.unique(frames["condition"])
    proba = cross_val_predict(
        knn, Z, frames["condition"], groups=frames["animal"], cv=splitter,
        method="predict_proba",
    )

    by_session = frames.groupby("session", sort=False)
    sessions = by_session[["animal", "condition"]].first()
    sessions["n_frames"] = by_session.size()
    mean_proba = pd.DataFrame(proba, columns=classes).groupby(frames["session"]).mean()
    if aggregate == "proba":
        predicted = mean_proba.idxmax(axis=1)
    else:
        votes = pd.Series(classes[proba.argmax(axis=1)])
        predicted = votes.groupby(frames["session"]).agg(lambda v: v.mode().iloc[0])
    sessions["predicted"] = predicted.reindex(sessions.index)
    sessions = sessions.join(mean_proba)
    accuracy = float((sessions["predicted"] == sessions["condition"]).mean())
    return SessionClassification(accuracy=accuracy, sessions=sessions)


@validate_params(
    {"effect": ["array-like"], "severity": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def severity_correlation(effect: ArrayLike, severity: ArrayLike) -> PearsonRResult:
    """Pearson correlation between per-animal effect and lesion severity.

    Parameters
    ----------
    effect : array-like of shape (n_animals,) or Series
        Behavioural change per animal, e.g. from :func:`effect_size_d`.
    severity : array-like of shape (n_animals,) or Series
        Severity per animal, e.g. dopamine denervation. When both are
        Series they are aligned on their index (animals in only one are
        dropped).

    Returns
    -------
    result : scipy.stats PearsonRResult
        ``statistic`` (Pearson r) and ``pvalue`` (two-sided), computed on
        the animals where both values are finite.

    Examples
    --------
    >>> from sklearn_scrubvae.metrics import severity_correlation
    >>> result = severity_correlation([0.1, 0.4, 0.8, 1.1], [0.0, 0.3, 0.6, 0.9])
    >>> print(round(result.statistic, 3))
    0.998
    """
    effect, severity = finite_pairs(effect, severity)
    if len(effect) < 3:
        raise ValueError(f"Need at least three animals with both values, got {len(effect)}.")
    return pearsonr(effect, severity)


def finite_pairs(effect, severity):
    """Per-animal effect and severity, aligned, where both are finite.

    Parameters
    ----------
    effect : array-like of shape (n_animals,) or Series
    severity : array-like of shape (n_animals,) or Series
        When both are Series they are aligned on their index (animals in
        only one are dropped).

    Returns
    -------
    effect : ndarray of shape (n_finite,)
    severity : ndarray of shape (n_finite,)
    """
    if isinstance(effect, pd.Series) and isinstance(severity, pd.Series):
        effect, severity = effect.align(severity, join="inner")
    effect = np.asarray(effect, dtype=np.float64)
    severity = np.asarray(severity, dtype=np.float64)
    if effect.shape != severity.shape or effect.ndim != 1:
        raise ValueError(
            f"effect and severity must be 1-D of equal length, got {effect.shape} "
            f"and {severity.shape}."
        )
    finite = np.isfinite(effect) & np.isfinite(severity)
    return effect[finite], severity[finite]
