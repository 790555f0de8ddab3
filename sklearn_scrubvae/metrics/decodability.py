"""How well a probe decodes nuisance variables from embeddings."""

from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.compose import TransformedTargetRegressor
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import (
    BaseCrossValidator,
    BaseShuffleSplit,
    GroupKFold,
    KFold,
    StratifiedKFold,
    check_cv,
    cross_val_score,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from numpy.typing import ArrayLike
from sklearn.utils import check_array
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params

from .._frames.tables import check_nuisance_frame, is_categorical, missing_rows

PROBES = ("auto", "linear", "mlp", "logistic", "qda")


@dataclass(frozen=True)
class DecodabilityResult:
    """Cross-validated decodability of a nuisance variable.

    Attributes
    ----------
    scores : ndarray of shape (n_splits,)
        Held-out score of each fold: R^2 (averaged over outputs) for a
        regression probe, accuracy for a classification probe. NumPy
        functions treat the result as this array: ``np.mean(result)``,
        ``np.std(result)`` and ``np.asarray(result)`` work on the scores.
    chance : float or None
        For classification, the accuracy of always predicting the most
        frequent class of the training fold, averaged over the same folds
        (equal to ``1 / n_classes`` for balanced classes). None for
        regression, where chance is R^2 = 0.
    metric : {"r2", "accuracy"}
        What ``scores`` holds.
    """

    scores: np.ndarray
    chance: float | None
    metric: str

    def __array__(self, dtype=None, copy=None):
        return np.array(self.scores, dtype=dtype, copy=copy)

    def __array_function__(self, func, types, args, kwargs):
        # NumPy's dispatch protocol (NEP 18): without it np.mean(result) would
        # call the ``mean`` attribute below, a float, and fail.
        def unwrap(value):
            if isinstance(value, DecodabilityResult):
                return value.scores
            if isinstance(value, (list, tuple)):
                return type(value)(unwrap(item) for item in value)
            return value

        return func(*unwrap(args), **{key: unwrap(value) for key, value in kwargs.items()})

    @property
    def mean(self) -> float:
        """float: Mean of ``scores`` over folds."""
        return float(np.mean(self.scores))

    @property
    def excess(self) -> float:
        """float: Decodability above chance on a 0-1 scale.

        ``max(mean, 0)`` for R^2; ``max((mean - chance) / (1 - chance), 0)``
        for accuracy. 0 means nothing is decodable, 1 perfect decoding.
        """
        if self.chance is None:
            return max(self.mean, 0.0)
        if self.chance >= 1.0:
            return 0.0
        return max((self.mean - self.chance) / (1.0 - self.chance), 0.0)


def _make_probe(probe, classification, random_state):
    if probe == "linear":
        model = LinearRegression()
    elif probe == "logistic":
        model = LogisticRegression(max_iter=1000)
    elif probe == "qda":
        model = QuadraticDiscriminantAnalysis(solver="eigen", shrinkage="auto")
    elif classification:
        model = MLPClassifier(max_iter=500, random_state=random_state)
    else:
        model = TransformedTargetRegressor(
            MLPRegressor(max_iter=500, random_state=random_state),
            transformer=StandardScaler(),
        )
    return make_pipeline(StandardScaler(), model)


def _resolve_probe(probe, categorical):
    """Probe estimator and whether it classifies, from name and target type."""
    if not isinstance(probe, str):
        return probe, is_classifier(probe)
    if probe == "auto":
        probe = "logistic" if categorical else "linear"
    if probe == "linear" and categorical:
        raise ValueError(
            "probe='linear' needs a continuous (float) nuisance; use 'logistic', "
            "'qda' or 'mlp' for labels."
        )
    if probe in ("logistic", "qda") and not categorical:
        raise ValueError(
            f"probe={probe!r} classifies labels but the nuisance is continuous "
            "(float); cast it to int, str or category, or use 'linear' or 'mlp'."
        )
    return probe, categorical


@validate_params(
    {
        "Z": ["array-like"],
        "nuisance": ["array-like"],
        "probe": [StrOptions(set(PROBES)), HasMethods(["fit", "predict"])],
        "cv": ["cv_object"],
        "groups": ["array-like", None],
        "step": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "transformer": [HasMethods(["fit", "transform"]), None],
    },
    # The probe and the transformer are the caller's estimators: their own
    # parameters are still checked when they are fitted.
    prefer_skip_nested_validation=False,
)
def decodability_score(
    Z: ArrayLike,
    nuisance: ArrayLike,
    probe: str | BaseEstimator = "linear",
    *,
    cv: int | BaseCrossValidator | BaseShuffleSplit | Iterable = 5,
    groups: ArrayLike | None = None,
    step: int = 51,
    random_state: int | np.random.RandomState | None = None,
    transformer: BaseEstimator | None = None,
) -> DecodabilityResult:
    """Held-out decodability of nuisance variables from embeddings.

    Rows with NaN in ``Z`` or a missing nuisance value are dropped, then
    every ``step``-th remaining row is kept so that the windows behind the
    kept embeddings do not overlap (their frame indices stay at least
    ``step`` apart). A probe is cross-validated on these rows.

    Parameters
    ----------
    Z : array-like of shape (n_frames, n_components)
        Embeddings, one row per frame; NaN rows allowed.
    nuisance : array-like of shape (n_frames,) or (n_frames, n_columns), \
            Series or DataFrame
        Nuisance values per frame. Float columns are continuous; integer,
        boolean, string and category columns are labels.
    probe : {"linear", "mlp", "logistic", "qda", "auto"} or estimator, \
            default="linear"
        - "linear": ``LinearRegression``, R^2 averaged over columns.
        - "mlp": ``MLPRegressor`` (standardised target) for continuous
          nuisance, ``MLPClassifier`` for labels.
        - "logistic": ``LogisticRegression`` accuracy (labels only).
        - "qda": ``QuadraticDiscriminantAnalysis`` accuracy (labels only),
          each class covariance regularised by Ledoit-Wolf shrinkage, whose
          amount adapts to the class size (a fixed ``reg_param`` fails or
          overfits when a class has fewer samples than ``n_components``).
        - "auto": "logistic" for labels, "linear" otherwise.

        Named probes standardise ``Z`` first. An estimator is cloned and
        used as is (a classifier is scored by accuracy, a regressor by R^2).
    cv : int or cross-validation splitter, default=5
        An int gives ``GroupKFold(cv)`` when ``groups`` is given, otherwise
        unshuffled folds of consecutive frames: ``KFold(cv)`` for
        regression, ``StratifiedKFold(cv)`` for classification (so that
        recordings concatenated class after class still give every class
        to every training fold).
    groups : array-like of shape (n_frames,), default=None
        Recording or animal id per frame; folds never split a group.
    step : int, default=51
        Keep every ``step``-th valid frame (the window length for
        non-overlapping windows). Use 1 to keep all frames.
    random_state : int, RandomState instance or None, default=None
        Seed of the MLP probes.
    transformer : transformer or None, default=None
        Applied to ``Z`` before the probe, fitted on each training fold with
        the nuisance as ``y`` (cloned per fold). A post-hoc eraser such as
        :class:`~sklearn_scrubvae.LinearConceptEraser` then never sees the
        held-out fold, as an honest baseline requires.

    Returns
    -------
    result : DecodabilityResult
        ``scores`` per fold, ``mean`` over folds, ``chance`` (None for
        regression) and ``excess`` above chance.

    Raises
    ------
    ValueError
        If the probe does not fit the nuisance type, or a classification
        probe gets more than one nuisance column.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(500, 4))
    >>> speed = Z @ [1.0, -2.0, 0.0, 0.5]
    >>> result = decodability_score(Z, speed, step=1)
    >>> round(result.mean, 3)
    1.0
    """
    Z = check_array(Z, ensure_all_finite="allow-nan", dtype=np.float64)
    frame = check_nuisance_frame(nuisance, len(Z))
    kept = np.flatnonzero(~missing_rows(Z, frame))[::step]
    frame = frame.iloc[kept]

    kinds = {is_categorical(column) for _, column in frame.items()}
    if len(kinds) > 1:
        raise ValueError(
            "nuisance mixes label and float columns; score them separately."
        )
    probe, classification = _resolve_probe(probe, kinds.pop())
    if classification:
        if frame.shape[1] != 1:
            raise ValueError(
                f"a classification probe takes one nuisance column, got {frame.shape[1]}."
            )
        y = frame.iloc[:, 0].to_numpy()
    else:
        y = frame.to_numpy(dtype=np.float64)
        y = y.ravel() if y.shape[1] == 1 else y
    model = (
        _make_probe(probe, classification, random_state)
        if isinstance(probe, str)
        else clone(probe)
    )
    if transformer is not None:
        model = make_pipeline(clone(transformer), model)

    if groups is not None:
        groups = np.asarray(groups)
        if len(groups) != len(Z):
            raise ValueError(f"groups has {len(groups)} rows but Z has {len(Z)}.")
        groups = groups[kept]
    if isinstance(cv, Integral):
        if groups is not None:
            cv = GroupKFold(n_splits=cv)
        else:
            cv = StratifiedKFold(n_splits=cv) if classification else KFold(n_splits=cv)

    # Explicit splits work the same with and without metadata routing.
    splits = list(check_cv(cv, y, classifier=classification).split(Z[kept], y, groups))
    if classification:
        for fold, (train, _) in enumerate(splits):
            if len(np.unique(y[train])) < 2:
                raise ValueError(
                    f"Fold {fold} of the probe's cross-validation trains on one class "
                    f"({np.unique(y[train]).tolist()}): use folds that mix the classes."
                )
    scores = cross_val_score(model, Z[kept], y, cv=splits)
    chance = None
    if classification:
        dummy = DummyClassifier(strategy="most_frequent")
        chance = float(cross_val_score(dummy, Z[kept], y, cv=splits).mean())
    return DecodabilityResult(
        scores=scores, chance=chance, metric="accuracy" if classification else "r2"
    )
