"""Closed-form linear erasure of nuisance information from an embedding."""

from __future__ import annotations

from numbers import Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._frames.nuisance import encode_nuisance
from ._frames.tables import Table, check_nuisance_frame, missing_rows


def _symmetric_sqrt_pair(covariance, tol):
    """``(S^{1/2}, pinv(S^{1/2}))`` of a symmetric PSD matrix.

    Eigenvalues at or below ``tol * max_eigenvalue`` count as zero.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    kept = eigenvalues > tol * max(eigenvalues.max(), 0.0)
    root = np.where(kept, np.sqrt(np.clip(eigenvalues, 0.0, None)), 0.0)
    inverse_root = np.divide(1.0, root, out=np.zeros_like(root), where=kept)
    return (eigenvectors * root) @ eigenvectors.T, (eigenvectors * inverse_root) @ eigenvectors.T


class LinearConceptEraser(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Remove all linearly decodable nuisance information, in closed form.

    LEAst-squares Concept Erasure (LEACE): the smallest change of the data
    (in the Mahalanobis sense) after which no linear function of the data
    correlates with the nuisance. With the data covariance
    ``S_XX``, the cross-covariance ``S_XZ`` with the encoded nuisance
    ``Z``, the whitening ``W = pinv(S_XX^{1/2})`` and ``P`` the orthogonal
    projector onto the column space of ``W S_XZ``, each row becomes::

        x' = x - pinv(W) P W (x - mean)

    After erasure the cross-covariance with ``Z`` is zero on the fitting
    data: every linear regression of the nuisance on ``x'`` has R^2 = 0 and
    all class means of ``x'`` coincide, so no linear classifier beats the
    constant predictor. Nonlinear information is left in place. Used as a
    baseline for the scrubbers: it scrubs a fitted embedding after the
    fact, without retraining.

    Parameters
    ----------
    tol : float, default=1e-10
        Relative threshold: eigenvalues of ``S_XX`` and singular values of
        ``W S_XZ`` at or below ``tol`` times the largest count as zero
        (rank-deficient data are handled through pseudo-inverses).

    Attributes
    ----------
    mean_ : ndarray of shape ``(n_features_in_,)``
        Mean of the fitting data.
    projection_ : ndarray of shape ``(n_features_in_, n_features_in_)``
        The oblique projection ``pinv(W) P W`` removed from centred rows.
    n_erased_ : int
        Rank of ``projection_``: the number of erased directions (at most
        the number of encoded nuisance columns).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Defined when X has string column names.

    See Also
    --------
    sklearn_scrubvae.metrics.decodability_score : Probe what stays decodable.

    Notes
    -----
    The nuisance ``y`` is encoded per column: float columns are used as
    they are (rescaling a column does not change the erased subspace);
    integer, boolean, string and category columns are one-hot encoded, so
    every class-indicator is erased. Rows with NaN in ``X`` or a missing
    nuisance value are ignored in fit; NaN rows stay NaN in transform.

    References
    ----------
    .. [1] Belrose, N., Schneider-Joseph, D., Ravfogel, S., Cotterell, R.,
       Raff, E. and Biderman, S. (2023). LEACE: Perfect linear concept
       erasure in closed form. Advances in Neural Information Processing
       Systems 36.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_scrubvae._eraser import LinearConceptEraser
    >>> rng = np.random.default_rng(0)
    >>> speed = rng.normal(size=500)
    >>> Z = rng.normal(size=(500, 4)) + np.outer(speed, [1.0, 0.5, 0.0, 0.0])
    >>> Z_erased = LinearConceptEraser().fit_transform(Z, speed)
    >>> round(LinearRegression().fit(Z_erased, speed).score(Z_erased, speed), 6)
    0.0
    """

    _parameter_constraints = {"tol": [Interval(Real, 0, 1, closed="left")]}

    def __init__(self, tol=1e-10):
        self.tol = tol

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: Table = None, *,
            nuisance: Table = None) -> LinearConceptEraser:
        """Learn the erasure from data and nuisance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings; rows with NaN are ignored.
        y : array-like of shape (n_samples,) or (n_samples, n_columns), \
                Series or DataFrame
            The nuisance (concept) to erase; mixed column types allowed.
        nuisance : same as ``y``, default=None
            Wins over ``y`` when given.

        Returns
        -------
        self : LinearConceptEraser
            Fitted.
        """
        table = nuisance if nuisance is not None else y
        if table is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = validate_data(
            self, X, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=2
        )
        frame = check_nuisance_frame(table, X.shape[0], name="y")
        kept = ~missing_rows(X, frame)
        if kept.sum() < 2:
            raise ValueError(
                f"Only {kept.sum()} sample(s) without NaN; fit needs at least 2 (n_samples=1 "
                "cannot estimate a covariance)."
            )
        X = X[kept]
        concept = encode_nuisance(frame[kept])

        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        cov_xx = centred.T @ centred / len(X)
        cov_xz = centred.T @ (concept - concept.mean(axis=0)) / len(X)
        root, whitening = _symmetric_sqrt_pair(cov_xx, self.tol)
        left, singular, _ = np.linalg.svd(whitening @ cov_xz, full_matrices=False)
        basis = left[:, singular > self.tol * singular.max(initial=0.0)]
        self.projection_ = root @ basis @ basis.T @ whitening
        self.n_erased_ = basis.shape[1]
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Erase the nuisance directions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings; NaN rows stay NaN.

        Returns
        -------
        X_erased : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return X - (X - self.mean_) @ self.projection_.T

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True
        return tags
