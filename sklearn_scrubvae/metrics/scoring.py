"""A model-selection scorer that trades reconstruction against scrubbing."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.metadata_routing import MetadataRequest

from .._frames.tables import Table, check_nuisance_frame, is_categorical
from .decodability import PROBES, decodability_score

SCORER_CONSTRAINTS = {
    "nuisance_columns": [list, tuple, None],
    "probe": [StrOptions(set(PROBES)), HasMethods(["fit", "predict"])],
    "weight": [Interval(Real, 0, None, closed="left")],
    "max_decodability": [Interval(Real, 0, 1, closed="both"), None],
    "cv": ["cv_object"],
    "step": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
}


class ScrubbingScorer:
    """Scorer ``scorer(estimator, X, y)`` built by :func:`make_scrubbing_scorer`.

    Parameters
    ----------
    nuisance_columns, probe, weight, max_decodability, cv, step, random_state
        As in :func:`make_scrubbing_scorer`, which also defines the score.

    Examples
    --------
    With metadata routing enabled, a search routes ``groups`` (and a keyword
    ``nuisance``) to this scorer once it requests them:

    >>> import sklearn
    >>> from sklearn_scrubvae.metrics import make_scrubbing_scorer
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scorer = make_scrubbing_scorer(["animal"]).set_score_request(groups=True)
    """

    @validate_params(SCORER_CONSTRAINTS, prefer_skip_nested_validation=True)
    def __init__(
        self,
        nuisance_columns: list | tuple | None,
        probe: str | BaseEstimator,
        weight: float,
        max_decodability: float | None,
        cv: int | BaseCrossValidator | BaseShuffleSplit | Iterable,
        step: int,
        random_state: int | np.random.RandomState | None,
    ) -> None:
        self.nuisance_columns = nuisance_columns
        self.probe = probe
        self.weight = weight
        self.max_decodability = max_decodability
        self.cv = cv
        self.step = step
        self.random_state = random_state
        self._metadata_request = MetadataRequest(owner=self)

    def set_score_request(
        self, *, nuisance: bool | str | None = None, groups: bool | str | None = None
    ) -> ScrubbingScorer:
        """Request metadata passed to the scorer by a routing meta-estimator.

        Parameters
        ----------
        nuisance, groups : bool, str or None, default=None
            ``True`` requests the metadata under its own name, a string
            requests it under that alias, ``False`` refuses it and None leaves
            the request unchanged (see scikit-learn's metadata routing).

        Returns
        -------
        self : ScrubbingScorer
        """
        for param, alias in (("nuisance", nuisance), ("groups", groups)):
            if alias is not None:
                self._metadata_request.score.add_request(param=param, alias=alias)
        return self

    def get_metadata_routing(self) -> MetadataRequest:
        """Metadata this scorer requests (see :meth:`set_score_request`).

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
        """
        return self._metadata_request

    def __repr__(self):
        return (
            f"make_scrubbing_scorer(nuisance_columns={self.nuisance_columns!r}, "
            f"probe={self.probe!r}, weight={self.weight!r}, "
            f"max_decodability={self.max_decodability!r}, cv={self.cv!r}, "
            f"step={self.step!r}, random_state={self.random_state!r})"
        )

    def _targets(self, frame):
        if self.nuisance_columns is None:
            return [[column] for column in frame.columns]
        targets = [c if isinstance(c, list) else [c] for c in self.nuisance_columns]
        missing = [c for target in targets for c in target if c not in frame.columns]
        if missing:
            raise ValueError(
                f"nuisance_columns {missing} not in the nuisance table {list(frame.columns)}."
            )
        return targets

    def excess_decodability(
        self,
        estimator: BaseEstimator,
        X: ArrayLike,
        nuisance: ArrayLike,
        groups: ArrayLike | None = None,
    ) -> np.ndarray:
        """Above-chance decodability of each nuisance target from the embedding.

        Parameters
        ----------
        estimator : fitted transformer
        X : array-like of shape (n_frames, ...)
        nuisance : DataFrame or array-like with n_frames rows
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame, for ``transform`` and the probe's folds.

        Returns
        -------
        excess : ndarray of shape (n_targets,)
            :attr:`DecodabilityResult.excess` per target, in [0, 1].
        """
        frame = check_nuisance_frame(nuisance, len(X))
        Z = estimator.transform(X) if groups is None else estimator.transform(X, groups=groups)
        targets = self._targets(frame)
        for target in targets:
            self._check_scorable(frame[target], groups)
        cv = self.cv
        if groups is not None and isinstance(cv, Integral):
            cv = min(cv, len(np.unique(groups)))
        excess = []
        for target in targets:
            try:
                result = decodability_score(
                    Z,
                    frame[target],
                    probe=self.probe,
                    cv=cv,
                    groups=groups,
                    step=self.step,
                    random_state=self.random_state,
                )
            except ValueError as exc:
                raise ValueError(
                    f"Cannot score nuisance column(s) {target} on {_describe_fold(groups, Z)}: "
                    f"{exc}"
                ) from exc
            excess.append(result.excess)
        return np.array(excess)

    def _check_scorable(self, target, groups):
        """Raise one clear error when the probe cannot be scored on these frames."""
        fold = _describe_fold(groups, target)
        columns = list(target.columns)
        if groups is not None and isinstance(self.cv, Integral) and len(np.unique(groups)) < 2:
            raise ValueError(
                f"Cannot score nuisance column(s) {columns} on {fold}: the probe's folds keep "
                "recordings apart and this fold holds one recording. Use outer folds that "
                "hold out several recordings, or do not route groups to the scorer."
            )
        for column in columns:
            values = target[column].dropna()
            if is_categorical(target[column]) and values.nunique() < 2:
                raise ValueError(
                    f"Cannot score nuisance column {column!r} on {fold}: it holds one class "
                    f"({_summarise(values.unique())}), so decodability is undefined. Split "
                    "so that every held-out fold holds several classes (e.g. split each "
                    "recording by time instead of holding out whole animals)."
                )

    def __call__(
        self,
        estimator: BaseEstimator,
        X: ArrayLike,
        y: Table = None,
        *,
        nuisance: Table = None,
        groups: ArrayLike | None = None,
    ) -> float:
        """Score a fitted estimator on held-out frames; higher is better.

        Parameters
        ----------
        estimator : fitted ScrubbedCVAE
            Needs ``transform``, ``score(X, nuisance=...)``, ``window`` and
            ``n_features_in_``.
        X : array-like of shape (n_frames, ...)
            Held-out frames.
        y : DataFrame or array-like with n_frames rows, default=None
            The nuisance table of those frames.
        nuisance : DataFrame or array-like with n_frames rows, default=None
            Same as ``y``; wins when both are given.
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame.

        Returns
        -------
        score : float
            ``-inf`` when ``max_decodability`` is exceeded.
        """
        table = nuisance if nuisance is not None else y
        if table is None:
            raise ValueError("The scrubbing scorer needs the nuisance table as y or nuisance=.")
        excess = self.excess_decodability(estimator, X, table, groups=groups)
        if self.max_decodability is not None and excess.max() > self.max_decodability:
            return -np.inf
        if groups is None:
            elbo = estimator.score(X, nuisance=table)
        else:
            elbo = estimator.score(X, nuisance=table, groups=groups)
        elbo_per_value = elbo / (estimator.window * estimator.n_features_in_)
        return float(elbo_per_value - self.weight * excess.mean())


def _describe_fold(groups, frames):
    """How an error message names the held-out fold being scored."""
    fold = f"the held-out fold of {len(frames)} frames"
    if groups is not None:
        fold += f" (recordings {_summarise(np.unique(groups))})"
    return fold


def _summarise(values, limit=5):
    """Short text listing at most ``limit`` values."""
    values = [str(v) for v in values]
    more = f", ... ({len(values)} in all)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


@validate_params(SCORER_CONSTRAINTS, prefer_skip_nested_validation=True)
def make_scrubbing_scorer(
    nuisance_columns: list | tuple | None = None,
    *,
    probe: str | BaseEstimator = "auto",
    weight: float = 1.0,
    max_decodability: float | None = None,
    cv: int | BaseCrossValidator | BaseShuffleSplit | Iterable = 5,
    step: int = 51,
    random_state: int | np.random.RandomState | None = None,
) -> ScrubbingScorer:
    """Scorer for hyperparameter searches over scrubbing strength.

    The estimator's own ``score`` (mean ELBO per window) favours the
    weakest scrubbing, since scrubbing costs reconstruction. This scorer
    adds the decodability of the nuisance from the held-out embedding::

        score = ELBO / (window * n_features_in_) - weight * mean_t excess_t

    The ELBO is divided by the number of values in a window so that its
    scale does not depend on the window or the number of features (it is
    the ELBO per modelled value, in nats). ``excess_t`` is the above-chance
    decodability of nuisance target ``t`` from the embedding
    (:attr:`DecodabilityResult.excess`): ``max(R^2, 0)`` for continuous
    targets, ``max((accuracy - chance) / (1 - chance), 0)`` for labels, so
    it lies in [0, 1]; ``weight`` is the ELBO per value one would give up
    to remove all decodable information.

    With ``max_decodability`` the scorer also acts as a constraint: a model
    with any ``excess_t`` above it scores ``-inf``, so it ranks below every
    model that meets the bound (``GridSearchCV`` then warns about
    non-finite scores). ``weight=0`` gives the pure constrained form: the
    best ELBO among sufficiently scrubbed models.

    Parameters
    ----------
    nuisance_columns : list or None, default=None
        The targets: column names, or lists of names scored jointly (e.g.
        ``[["heading_sin", "heading_cos"], "speed"]``). None scores every
        column of the nuisance table separately.
    probe : {"auto", "linear", "mlp", "logistic", "qda"} or estimator, \
            default="auto"
        Probe of :func:`decodability_score`; "auto" uses linear regression
        for float columns and logistic regression for labels.
    weight : float, default=1.0
        Weight of the mean excess decodability, in ELBO-per-value units.
    max_decodability : float in [0, 1] or None, default=None
        Upper bound on every target's excess decodability.
    cv : int or cross-validation splitter, default=5
        Folds of the probe within the held-out frames.
    step : int, default=51
        Every ``step``-th held-out frame feeds the probe (non-overlapping
        windows); lower it for small folds.
    random_state : int, RandomState instance or None, default=None
        Seed of MLP probes.

    Returns
    -------
    scorer : ScrubbingScorer
        ``scorer(estimator, X, y=None, *, nuisance=None, groups=None)``,
        where ``y`` (or ``nuisance``, which wins) is the nuisance table of
        the frames in ``X``; pass it as ``scoring=`` to ``GridSearchCV``.
        With metadata routing enabled, ``scorer.set_score_request(groups=True)``
        lets a search route each held-out fold's recording ids to it.

    Examples
    --------
    >>> from sklearn_scrubvae.metrics import make_scrubbing_scorer
    >>> make_scrubbing_scorer(["speed"], weight=2.0, step=1)
    make_scrubbing_scorer(nuisance_columns=['speed'], probe='auto', weight=2.0, \
max_decodability=None, cv=5, step=1, random_state=None)
    """
    return ScrubbingScorer(
        nuisance_columns, probe, weight, max_decodability, cv, step, random_state
    )
