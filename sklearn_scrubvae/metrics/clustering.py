"""Clusters of embeddings and how they relate to nuisance and behaviour."""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture
from numpy.typing import ArrayLike
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._frames.tables import check_labels, check_nuisance_frame, missing_rows
from .synthesis import HEADING_COLUMNS


@validate_params(
    {
        "Z": ["array-like"],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"gmm", "kmeans"})],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def cluster_embeddings(
    Z: ArrayLike,
    n_clusters: int,
    *,
    method: str = "gmm",
    random_state: int | np.random.RandomState | None = None,
) -> np.ndarray:
    """Cluster embeddings, leaving NaN rows unassigned.

    Parameters
    ----------
    Z : array-like of shape (n_frames, n_components)
        Embeddings; NaN rows allowed.
    n_clusters : int
        Number of clusters (mixture components).
    method : {"gmm", "kmeans"}, default="gmm"
        ``GaussianMixture`` with full covariances, or ``KMeans``.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation.

    Returns
    -------
    labels : ndarray of shape (n_frames,), dtype int
        Cluster of each frame; -1 for rows with NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.metrics import cluster_embeddings
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    >>> labels = cluster_embeddings(Z, 2, random_state=0)
    >>> len(set(labels[:50])), len(set(labels[50:])), bool(labels[0] != labels[-1])
    (1, 1, True)
    """
    Z = check_array(Z, ensure_all_finite="allow-nan", dtype=np.float64)
    if method == "gmm":
        model = GaussianMixture(n_components=n_clusters, random_state=random_state)
    else:
        model = KMeans(n_clusters=n_clusters, random_state=random_state)
    valid = ~np.isnan(Z).any(axis=1)
    labels = np.full(len(Z), -1)
    labels[valid] = model.fit_predict(Z[valid])
    return labels


@dataclass(frozen=True)
class ClusterSpread:
    """Spread of a nuisance variable within clusters.

    Attributes
    ----------
    per_cluster : Series of float, indexed by cluster label
        Spread within each cluster.
    sizes : Series of int, indexed by cluster label
        Frames per cluster.
    weighted_mean : float
        Mean of ``per_cluster`` weighted by ``sizes``.
    overall : float
        Spread of all clustered frames together.
    """

    per_cluster: pd.Series
    sizes: pd.Series
    weighted_mean: float
    overall: float

    @property
    def ratio(self) -> float:
        """float: ``weighted_mean / overall``; near 1 when clusters ignore the nuisance."""
        return self.weighted_mean / self.overall


def _unit_heading(frame):
    """Unit (sin, cos) vectors from angles or a sin/cos column pair."""
    if frame.shape[1] == 1:
        angle = frame.iloc[:, 0].to_numpy(dtype=np.float64)
        return np.column_stack([np.sin(angle), np.cos(angle)])
    if frame.shape[1] != 2:
        raise ValueError(
            "kind='circular' takes angles (one column, radians) or a (sin, cos) "
            f"pair, got {frame.shape[1]} columns."
        )
    if set(HEADING_COLUMNS) <= set(frame.columns):
        frame = frame[list(HEADING_COLUMNS)]
    vectors = frame.to_numpy(dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("A (sin, cos) pair is (0, 0); it has no direction.")
    return vectors / norms


def _spread(values, groups, kind):
    """Spread of each group of rows: circular variance or mean variance."""
    grouped = pd.DataFrame(values).groupby(groups)
    if kind == "circular":
        return 1.0 - np.sqrt((grouped.mean() ** 2).sum(axis=1))
    return grouped.var(ddof=0).mean(axis=1)


@validate_params(
    {
        "labels": ["array-like"],
        "nuisance": ["array-like"],
        "kind": [StrOptions({"circular", "variance"})],
    },
    prefer_skip_nested_validation=True,
)
def cluster_nuisance_spread(
    labels: ArrayLike, nuisance: ArrayLike, *, kind: str = "circular"
) -> ClusterSpread:
    """Spread of a nuisance variable within each cluster.

    A code scrubbed of the nuisance gives clusters whose within-cluster
    spread is close to the spread of all the data (``ratio`` near 1); a
    code that clusters by the nuisance gives small within-cluster spread.

    Parameters
    ----------
    labels : array-like of shape (n_frames,)
        Cluster labels; -1 marks unassigned frames, which are ignored.
    nuisance : array-like of shape (n_frames,) or (n_frames, n_columns), \
            Series or DataFrame
        The nuisance per frame; frames with missing values are ignored.
    kind : {"circular", "variance"}, default="circular"
        - "circular": circular variance ``1 - |mean resultant length|`` of a
          direction, 0 when all directions agree and near 1 for uniform
          directions. Give angles in radians (one column) or a (sin, cos)
          pair (two columns: ``heading_sin``/``heading_cos`` by name,
          otherwise taken in (sin, cos) order; pairs are normalised).
        - "variance": population variance, averaged over columns (for
          speed).

    Returns
    -------
    spread : ClusterSpread
        ``per_cluster``, ``sizes``, ``weighted_mean``, ``overall`` and
        ``ratio``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.metrics import cluster_nuisance_spread
    >>> labels = np.repeat([0, 1], 50)
    >>> speed = np.concatenate([np.full(50, 1.0), np.linspace(0, 10, 50)])
    >>> spread = cluster_nuisance_spread(labels, speed, kind="variance")
    >>> spread.per_cluster.round(2).tolist(), round(spread.overall, 2)
    ([0.0, 8.67], 8.34)
    """
    labels = check_labels(labels, "labels")
    frame = check_nuisance_frame(nuisance, len(labels))
    keep = (labels != -1) & ~frame.isna().any(axis=1).to_numpy()
    frame, labels = frame[keep], labels[keep]
    if len(labels) == 0:
        raise ValueError("No frame has both a cluster label and a nuisance value.")
    if kind == "circular":
        values = _unit_heading(frame)
    else:
        values = frame.to_numpy(dtype=np.float64)
    per_cluster = _spread(values, labels, kind)
    sizes = pd.Series(labels).value_counts().reindex(per_cluster.index)
    overall = float(_spread(values, np.zeros(len(values)), kind).iloc[0])
    weighted = float(np.average(per_cluster, weights=sizes))
    return ClusterSpread(per_cluster, sizes, weighted, overall)


@dataclass(frozen=True)
class ClusterAgreement:
    """Agreement of clusters with ground-truth behaviour labels.

    Attributes
    ----------
    adjusted_rand : float
        Adjusted Rand index (0 at chance, 1 identical partitions).
    normalized_mutual_info : float
        Normalised mutual information (0 independent, 1 identical).
    """

    adjusted_rand: float
    normalized_mutual_info: float


@validate_params(
    {"labels": ["array-like"], "behavior": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def cluster_agreement(labels: ArrayLike, behavior: ArrayLike) -> ClusterAgreement:
    """Agreement between cluster labels and behaviour labels.

    Parameters
    ----------
    labels : array-like of shape (n_frames,)
        Cluster labels; frames labelled -1 are ignored.
    behavior : array-like of shape (n_frames,)
        Ground-truth behaviour per frame.

    Returns
    -------
    agreement : ClusterAgreement

    Examples
    --------
    >>> from sklearn_scrubvae.metrics import cluster_agreement
    >>> agreement = cluster_agreement([0, 0, 1, 1], ["walk", "walk", "rear", "rear"])
    >>> agreement
    ClusterAgreement(adjusted_rand=1.0, normalized_mutual_info=1.0)
    """
    labels = check_labels(labels, "labels")
    behavior = check_labels(behavior, "behavior", len(labels))
    keep = labels != -1
    return ClusterAgreement(
        adjusted_rand=float(adjusted_rand_score(behavior[keep], labels[keep])),
        normalized_mutual_info=float(normalized_mutual_info_score(behavior[keep], labels[keep])),
    )


@validate_params(
    {
        "labels": ["array-like"],
        "values": ["array-like"],
        "behavior": ["array-like", None],
        "target": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def cluster_variance_explained(
    labels: ArrayLike,
    values: ArrayLike,
    *,
    behavior: ArrayLike | None = None,
    target: object = None,
) -> float:
    """Fraction of a variable's variance explained by cluster membership.

    The correlation ratio ``eta^2 = SS_between / SS_total`` of each column
    of ``values`` across clusters, averaged over columns. Restricted to one
    behaviour (``behavior == target``) it tells whether the clusters of
    that behaviour split by the variable, e.g. walking clusters by speed:
    near 0 when they do not, near 1 when every cluster holds one speed.
    With many small clusters eta^2 is biased upwards (its expectation under
    no effect is ``(n_clusters - 1) / (n_frames - 1)``).

    Parameters
    ----------
    labels : array-like of shape (n_frames,)
        Cluster labels; frames labelled -1 are ignored.
    values : array-like of shape (n_frames,) or (n_frames, n_columns), \
            Series or DataFrame
        Continuous variable (e.g. speed); frames with NaN are ignored.
    behavior : array-like of shape (n_frames,), default=None
        Behaviour label per frame.
    target : object, default=None
        Keep only frames with ``behavior == target``; required with
        ``behavior``.

    Returns
    -------
    eta_squared : float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.metrics import cluster_variance_explained
    >>> labels = np.repeat([0, 1], 4)
    >>> print(round(cluster_variance_explained(labels, [1., 1., 1., 1., 3., 3., 3., 3.]), 2))
    1.0
    """
    labels = check_labels(labels, "labels")
    frame = check_nuisance_frame(values, len(labels), name="values")
    X = frame.to_numpy(dtype=np.float64)
    keep = (labels != -1) & ~missing_rows(X, frame)
    if behavior is not None:
        if target is None:
            raise ValueError("Give target, the behaviour to restrict to.")
        keep &= check_labels(behavior, "behavior", len(labels)) == target
    X, labels = X[keep], labels[keep]
    if len(X) < 2:
        raise ValueError(f"Only {len(X)} frame(s) left; eta^2 needs at least two.")
    total = ((X - X.mean(axis=0)) ** 2).sum(axis=0)
    cluster_means = pd.DataFrame(X).groupby(labels).transform("mean").to_numpy()
    within = ((X - cluster_means) ** 2).sum(axis=0)
    if np.any(total == 0):
        raise ValueError("A column of values is constant; eta^2 is undefined.")
    return float(np.mean(1.0 - within / total))
