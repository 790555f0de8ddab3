"""Gaussian-kernel maximum mean discrepancy and the lesion effect size."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.spatial.distance import pdist
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._frames.tables import check_labels

BANDWIDTH_CONSTRAINTS = [StrOptions({"median"}), Interval(Real, 0, None, closed="neither")]
BLOCK_SIZE_CONSTRAINTS = [Interval(Integral, 1, None, closed="left")]


@validate_params(
    {
        "max_samples": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def median_bandwidth(
    *samples: ArrayLike,
    max_samples: int = 2000,
    random_state: int | np.random.RandomState | None = None,
) -> float:
    """Median pairwise Euclidean distance of the pooled samples.

    Parameters
    ----------
    *samples : array-like of shape (n_i, n_features)
        Samples to pool.
    max_samples : int, default=2000
        When more points are pooled, the median is estimated on this many
        points drawn at random without replacement (``max_samples ** 2 / 2``
        distances), which keeps the cost bounded for large inputs.
    random_state : int, RandomState instance or None, default=None
        Seed of that draw.

    Returns
    -------
    bandwidth : float
        Positive.

    Raises
    ------
    ValueError
        If fewer than two points are pooled or all pooled points coincide.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.metrics import median_bandwidth
    >>> x = np.array([[0.0], [1.0], [2.0]])
    >>> print(median_bandwidth(x))
    1.0
    """
    pooled = np.vstack([np.asarray(sample, dtype=np.float64) for sample in samples])
    if len(pooled) < 2:
        raise ValueError("the median bandwidth needs at least two points.")
    if len(pooled) > max_samples:
        rng = check_random_state(random_state)
        pooled = pooled[rng.choice(len(pooled), size=max_samples, replace=False)]
    bandwidth = float(np.median(pdist(pooled)))
    if bandwidth <= 0:
        raise ValueError(
            "the median pairwise distance is 0 (most points coincide); "
            "give bandwidth as a positive number."
        )
    return bandwidth


def _scaled(X, centre, bandwidth):
    """Rows mapped so that the kernel becomes ``exp(-|x - y|^2)``."""
    return (X - centre) / (np.sqrt(2.0) * bandwidth)


def _kernel_block(X, Y, x_norms, y_norms):
    """``exp(-|x_i - y_j|^2)`` for one block, from squared row norms."""
    block = X @ Y.T
    block *= 2.0
    block -= x_norms[:, None]
    block -= y_norms[None, :]
    np.minimum(block, 0.0, out=block)
    np.exp(block, out=block)
    return block


def _mean_cross_kernel(X, Y, block_size):
    """Mean of ``exp(-|x_i - y_j|^2)`` over all pairs, in row blocks."""
    x_norms = np.einsum("ij,ij->i", X, X)
    y_norms = np.einsum("ij,ij->i", Y, Y)
    total = 0.0
    for i in range(0, len(X), block_size):
        rows = slice(i, i + block_size)
        for j in range(0, len(Y), block_size):
            cols = slice(j, j + block_size)
            total += _kernel_block(X[rows], Y[cols], x_norms[rows], y_norms[cols]).sum()
    return total / (len(X) * len(Y))


def _mean_self_kernel(X, block_size):
    """Mean of ``exp(-|x_i - x_j|^2)`` over pairs ``i != j``, upper blocks only."""
    norms = np.einsum("ij,ij->i", X, X)
    total = 0.0
    for i in range(0, len(X), block_size):
        rows = slice(i, i + block_size)
        for j in range(i, len(X), block_size):
            cols = slice(j, j + block_size)
            block = _kernel_block(X[rows], X[cols], norms[rows], norms[cols])
            total += block.sum() - np.trace(block) if i == j else 2.0 * block.sum()
    n = len(X)
    return total / (n * (n - 1))


def _linear_time_mmd2(X, Y, rng):
    """Gretton et al. (2012) linear-time estimate on shuffled, paired rows."""
    n_pairs = min(len(X), len(Y)) // 2
    if n_pairs < 1:
        raise ValueError("method='linear' needs at least two points per sample.")
    x = X[rng.permutation(len(X))[: 2 * n_pairs]]
    y = Y[rng.permutation(len(Y))[: 2 * n_pairs]]
    x1, x2, y1, y2 = x[:n_pairs], x[n_pairs:], y[:n_pairs], y[n_pairs:]

    def kernel(a, b):
        return np.exp(-np.einsum("ij,ij->i", a - b, a - b))

    return float(np.mean(kernel(x1, x2) + kernel(y1, y2) - kernel(x1, y2) - kernel(x2, y1)))


def _subsample(Z, mask, max_samples, rng):
    """Rows of ``Z`` under ``mask``, at most ``max_samples`` drawn at random.

    None when fewer than two rows remain (no unbiased MMD^2 then).
    """
    rows = np.flatnonzero(mask)
    if len(rows) > max_samples:
        rows = np.sort(rng.choice(rows, size=max_samples, replace=False))
    return Z[rows] if len(rows) >= 2 else None


@validate_params(
    {
        "A": ["array-like"],
        "B": ["array-like"],
        "bandwidth": BANDWIDTH_CONSTRAINTS,
        "method": [StrOptions({"exact", "linear"})],
        "block_size": BLOCK_SIZE_CONSTRAINTS,
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def mmd(
    A: ArrayLike,
    B: ArrayLike,
    *,
    bandwidth: str | float = "median",
    method: str = "exact",
    block_size: int = 1024,
    random_state: int | np.random.RandomState | None = None,
) -> float:
    """Unbiased squared maximum mean discrepancy with a Gaussian kernel.

    With ``k(x, y) = exp(-|x - y|^2 / (2 h^2))``::

        MMD^2 = mean_{i != j} k(a_i, a_j) + mean_{i != j} k(b_i, b_j)
                - 2 mean_{i, j} k(a_i, b_j)

    the U-statistic of Gretton et al. (2012), which is unbiased and can be
    slightly negative when the two distributions are equal.

    Parameters
    ----------
    A : array-like of shape (n_samples_a, n_features)
        First sample, at least two rows.
    B : array-like of shape (n_samples_b, n_features)
        Second sample, at least two rows.
    bandwidth : "median" or float, default="median"
        Kernel width ``h``. "median" is the median pairwise Euclidean
        distance of the pooled sample, estimated on at most 2,000 points
        drawn at random (see :func:`median_bandwidth`).
    method : {"exact", "linear"}, default="exact"
        - "exact": all pairs, computed in ``block_size x block_size`` kernel
          blocks with float64 accumulation, so memory stays
          ``O(block_size^2 + (n_samples_a + n_samples_b) n_features)``;
          time is quadratic: two samples of 100,000 points in 64 dimensions
          take about 5 minutes of CPU time (subsample, or use "linear", for
          a quick look).
        - "linear": the linear-time estimate of Gretton et al. (2012,
          Lemma 14) on ``min(n_samples_a, n_samples_b)`` rows of each
          sample, shuffled (frames of a recording are correlated) and
          paired; unbiased but with a much larger variance.
    block_size : int, default=1024
        Rows per kernel block of the exact method.
    random_state : int, RandomState instance or None, default=None
        Seed of the bandwidth subsample and of the linear method's shuffle.

    Returns
    -------
    mmd2 : float
        The estimate of MMD^2.

    References
    ----------
    .. [1] Gretton, A., Borgwardt, K. M., Rasch, M. J., Schoelkopf, B. and
       Smola, A. (2012). A kernel two-sample test. Journal of Machine
       Learning Research 13, 723-773.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(300, 2))
    >>> B = rng.normal(size=(300, 2)) + [3.0, 0.0]
    >>> mmd(A, B, bandwidth=1.0) > 0.5
    True
    """
    A = check_array(A, dtype=np.float64, ensure_min_samples=2)
    B = check_array(B, dtype=np.float64, ensure_min_samples=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"A and B must have the same number of features, got {A.shape[1]} and {B.shape[1]}."
        )
    rng = check_random_state(random_state)
    if bandwidth == "median":
        bandwidth = median_bandwidth(A, B, random_state=rng)

    centre = (A.sum(axis=0) + B.sum(axis=0)) / (len(A) + len(B))
    A, B = _scaled(A, centre, bandwidth), _scaled(B, centre, bandwidth)
    if method == "linear":
        return _linear_time_mmd2(A, B, rng)
    return float(
        _mean_self_kernel(A, block_size)
        + _mean_self_kernel(B, block_size)
        - 2.0 * _mean_cross_kernel(A, B, block_size)
    )


@validate_params(
    {
        "Z": ["array-like"],
        "animal": ["array-like"],
        "condition": ["array-like"],
        "healthy": "no_validation",
        "bandwidth": BANDWIDTH_CONSTRAINTS,
        "max_samples": [Interval(Integral, 2, None, closed="left")],
        "block_size": BLOCK_SIZE_CONSTRAINTS,
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def effect_size_d(
    Z: ArrayLike,
    animal: ArrayLike,
    condition: ArrayLike,
    *,
    healthy: object = "healthy",
    bandwidth: str | float = "median",
    max_samples: int = 1000,
    block_size: int = 1024,
    random_state: int | np.random.RandomState | None = None,
) -> pd.Series:
    """Per-animal effect size of a lesion on the embedding distribution.

    For animal ``i`` with healthy frames ``H_i`` and lesioned frames
    ``L_i``::

        d_i = MMD^2(H_i, L_i) / mean_{j != i} MMD^2(H_i, H_j)

    the change of animal ``i`` in units of the typical difference between
    healthy animals. Both terms are unbiased MMD^2 estimates (see
    :func:`mmd`) with one shared bandwidth.

    Parameters
    ----------
    Z : array-like of shape (n_frames, n_components)
        Embeddings; rows with NaN are dropped.
    animal : array-like of shape (n_frames,)
        Animal id per frame.
    condition : array-like of shape (n_frames,)
        Condition per frame; frames whose condition is not ``healthy`` are
        pooled as lesioned.
    healthy : object, default="healthy"
        The condition value of healthy (pre-lesion) frames.
    bandwidth : "median" or float, default="median"
        Kernel width; "median" is the median pairwise distance of all the
        subsampled frames pooled (estimated on at most 2,000 of them).
    max_samples : int, default=1000
        Each (animal, condition) sample is reduced to this many frames
        drawn at random without replacement. The cost is quadratic in it;
        random frames are also less correlated than consecutive ones.
    block_size : int, default=1024
        Rows per kernel block (see :func:`mmd`).
    random_state : int, RandomState instance or None, default=None
        Seed of the subsampling.

    Returns
    -------
    d : Series of float, indexed by animal
        In order of first appearance, named "d". NaN for an animal with
        fewer than two healthy or two lesioned frames.

    Raises
    ------
    ValueError
        If fewer than two animals have healthy frames.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> shifts = {"a": 0.0, "b": 0.0, "c": 2.0}
    >>> Z, animal, condition = [], [], []
    >>> for name, shift in shifts.items():
    ...     for state, offset in [("healthy", 0.0), ("lesioned", shift)]:
    ...         Z.append(rng.normal(size=(200, 3)) + offset)
    ...         animal += [name] * 200
    ...         condition += [state] * 200
    >>> d = effect_size_d(np.vstack(Z), animal, condition, random_state=0)
    >>> d.idxmax()
    'c'
    """
    Z = check_array(Z, ensure_all_finite="allow-nan", dtype=np.float64)
    animal = check_labels(animal, "animal", len(Z))
    is_healthy = check_labels(condition, "condition", len(Z)) == healthy
    rng = check_random_state(random_state)

    valid = ~np.isnan(Z).any(axis=1)
    animals = pd.unique(animal[valid])
    healthy_sets, lesioned_sets = {}, {}
    for a in animals:
        rows = valid & (animal == a)
        healthy_sets[a] = _subsample(Z, rows & is_healthy, max_samples, rng)
        lesioned_sets[a] = _subsample(Z, rows & ~is_healthy, max_samples, rng)
    healthy_sets = {a: s for a, s in healthy_sets.items() if s is not None}
    if len(healthy_sets) < 2:
        raise ValueError(
            f"effect_size_d needs healthy frames (condition == {healthy!r}) "
            f"from at least two animals, got {len(healthy_sets)}."
        )

    pooled = [s for s in (*healthy_sets.values(), *lesioned_sets.values()) if s is not None]
    if bandwidth == "median":
        bandwidth = median_bandwidth(*pooled, random_state=rng)
    centre = np.vstack(pooled).mean(axis=0)
    healthy_sets = {a: _scaled(s, centre, bandwidth) for a, s in healthy_sets.items()}
    self_healthy = {a: _mean_self_kernel(s, block_size) for a, s in healthy_sets.items()}

    names = list(healthy_sets)
    between = {}
    for k, a in enumerate(names):
        for b in names[k + 1 :]:
            cross = _mean_cross_kernel(healthy_sets[a], healthy_sets[b], block_size)
            between[a, b] = between[b, a] = self_healthy[a] + self_healthy[b] - 2.0 * cross

    d = pd.Series(np.nan, index=pd.Index(animals, name="animal"), name="d")
    for a in names:
        if lesioned_sets[a] is None:
            continue
        lesioned = _scaled(lesioned_sets[a], centre, bandwidth)
        change = (
            self_healthy[a]
            + _mean_self_kernel(lesioned, block_size)
            - 2.0 * _mean_cross_kernel(healthy_sets[a], lesioned, block_size)
        )
        d[a] = change / np.mean([between[a, b] for b in names if b != a])
    return d
