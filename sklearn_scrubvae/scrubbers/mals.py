"""Moving-average least squares scrubber (MALS, MAQS, MACS)."""

import numbers

import torch
from sklearn.utils._param_validation import Interval

from ._features import PolynomialFeatureMap
from ._forgetting import ForgettingFactors
from .base import POSITIVE, BaseScrubber


class MovingAverageLeastSquaresScrubber(BaseScrubber):
    """Closed-form polynomial decoder of ``v`` fitted on past batches.

    With features ``Phi = Phi(mu)`` of shape ``(B, P)`` (see ``poly_order``)
    and targets ``V`` of shape ``(B, k)`` (``v`` itself, or one-hot classes),
    :meth:`update` keeps exponentially weighted sums

    ``S_zz <- f * S_zz + Phi^T Phi`` and ``S_zv <- f * S_zv + Phi^T V``

    where ``f`` weighs the *old* statistics, and solves
    ``W = (S_zz + ridge * I)^-1 S_zv`` (sums and Cholesky solve in float64;
    the ridge also covers the intercept column). After ``T`` batches, ``W`` is the ridge
    regression of ``V`` on ``Phi`` in which batch ``t`` has weight
    ``f ** (T - 1 - t)``.

    :meth:`penalty` returns the *negative* mean squared error
    ``-mean((Phi(mu) W - V) ** 2)`` on the current batch, with ``W`` from
    earlier batches only (it is a buffer): the encoder, minimising the penalty,
    maximises the error of the best polynomial decoder. Before the first
    update it is 0 with zero gradient.

    With ``forgetting_factor="auto"`` two copies of the statistics are kept
    (Algorithm 3, see :class:`ForgettingFactors`), each scored by its squared
    error on the incoming batch, and the penalty averages the two copies.

    Parameters
    ----------
    n_components : int
        Dimension ``D`` of the latent code.
    n_outputs : int
        Number of classes (categorical) or of columns (continuous) of ``v``.
    categorical : bool
        Whether ``v`` holds class indices of shape ``(B,)`` (decoded as
        one-hot targets).
    generator : torch.Generator, default=None
        Unused (no randomness); accepted for a uniform interface.
    poly_order : {1, 2, 3}, default=1
        Highest degree of the features: 1 is MALS (linear), 2 MAQS
        (quadratic), 3 MACS (cubic).
    monomials : {"pairwise", "all", "powers"}, default="pairwise"
        Which monomials of degree >= 2 enter the features: "all" of them,
        "pairwise" (every product ``z_i z_j`` plus the powers ``z_i ** 3``;
        equal to "all" up to order 2) or only the "powers" ``z_i ** d``.
    fit_intercept : bool, default=True
        Whether the decoder has an intercept.
    ridge : float, default=1e-3
        Positive ridge added to the diagonal of ``S_zz``.
    forgetting_factor : "auto" or float in [0, 1], default="auto"
        Weight of the old statistics; "auto" self-tunes it.
    forgetting_init : float, default=0.5
        Initial ``f_a`` when self-tuning (the pair starts at 0.5 and 0.6, a
        memory of about two batches).
    forgetting_gap : float, default=0.1
        ``f_b - f_a`` when self-tuning.
    forgetting_step : float, default=1e-3
        Change of the factors per batch when self-tuning.

    Attributes
    ----------
    coef : Tensor of shape (n_copies, P, k)
        Current decoder ``W`` of each copy.

    Notes
    -----
    A long memory lets the encoder outrun the decoder: with factors near
    0.9 (about ten batches) and the paper's step of 1e-4, pose-mode models
    on synthetic mice drove the running decoder's error to its cap while a
    freshly fitted linear probe still recovered speed at R^2 0.49 after 564
    optimiser steps; starting at 0.5 with a step of 1e-3 brought the same
    probe to 0.02 (doc/benchmarks.md, section (e)).

    References
    ----------
    Wu et al., "Disentangling 3D Animal Pose Dynamics with Scrubbed Conditional
    Latent Variables", ICLR 2025 (Algorithms 1 and 3).

    Examples
    --------
    >>> import torch
    >>> from sklearn_scrubvae.scrubbers import MovingAverageLeastSquaresScrubber
    >>> scrubber = MovingAverageLeastSquaresScrubber(3, 1, categorical=False)
    >>> mu = torch.randn(64, 3)
    >>> v = mu[:, :1].clone()
    >>> scrubber.update(mu, v)
    >>> bool(scrubber.penalty(mu, v) > -1e-3)  # v is linearly decodable
    True
    """

    _parameter_constraints: dict = {
        **BaseScrubber._parameter_constraints,
        "poly_order": [Interval(numbers.Integral, 1, 3, closed="both")],
        "ridge": [POSITIVE],
        "include_batch": ["boolean"],
    }

    def __init__(
        self,
        n_components: int,
        n_outputs: int,
        *,
        categorical: bool,
        generator: torch.Generator | None = None,
        poly_order: int = 1,
        monomials: str = "pairwise",
        fit_intercept: bool = True,
        ridge: float = 1e-3,
        forgetting_factor: str | float = "auto",
        forgetting_init: float = 0.5,
        forgetting_gap: float = 0.1,
        forgetting_step: float = 1e-3,
        include_batch: bool = False,
    ) -> None:
        super().__init__(
            n_components, n_outputs, categorical=categorical, generator=generator
        )
        self._validate_params(poly_order=poly_order, ridge=ridge, include_batch=include_batch)
        self.ridge = float(ridge)
        self.include_batch = bool(include_batch)
        self.features = PolynomialFeatureMap(
            self.n_components, int(poly_order), monomials, fit_intercept
        )
        self.forgetting = ForgettingFactors(
            forgetting_factor,
            init=forgetting_init,
            gap=forgetting_gap,
            step=forgetting_step,
        )
        shape = (self.forgetting.n_copies, self.features.n_features)
        # float64 sums keep S_zz positive semi-definite to well below the
        # ridge, even with thousands of polynomial features.
        self.register_buffer(
            "sum_zz", torch.zeros(*shape, shape[1], dtype=torch.float64)
        )
        self.register_buffer(
            "sum_zv", torch.zeros(*shape, self.n_outputs, dtype=torch.float64)
        )
        self.register_buffer("coef", torch.zeros(*shape, self.n_outputs))
        self.register_buffer("n_batches", torch.zeros((), dtype=torch.long))

    def _squared_errors(self, features, targets, coef):
        """Squared errors of every copy's decoder ``coef`` (n_copies, P, k), shape (n_copies, B, k)."""
        predictions = torch.einsum("bp,cpk->cbk", features, coef.to(features))
        return (predictions - targets) ** 2

    def _sums_with(self, features, targets):
        """The moving sums with a batch added: ``f * S + Phi^T Phi``, ``f * S + Phi^T V``."""
        factors = self.forgetting.values.to(self.sum_zz)[:, None, None]
        features, targets = features.to(self.sum_zz), targets.to(self.sum_zz)
        return (
            self.sum_zz * factors + features.T @ features,
            self.sum_zv * factors + features.T @ targets,
        )

    def penalty(self, mu: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Negative mean squared error of the decoders on the batch.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : Tensor of shape (B,) or (B, k)

        Returns
        -------
        penalty : Tensor of shape ()
            ``-mean((Phi(mu) W - V) ** 2)``, averaged over copies; 0 before
            the first update. Each target column's mean squared error is
            capped at that column's variance in the batch.

        Notes
        -----
        The batch variance is the error of the best constant prediction. A
        decoder fitted on earlier batches can only do worse than that when
        the encoder has moved away from it, which hides no information;
        capping the error there leaves the encoder nothing to gain from
        such moves (uncapped, the penalty has no lower bound).
        """
        mu, v = self._check_inputs(mu, v)
        targets = self._targets(v, mu.dtype)
        features = self.features(mu)
        if self.include_batch:
            coef, started = self._solve(*self._sums_with(features, targets)), True
        else:
            coef, started = self.coef, bool(self.n_batches > 0)
        errors = self._squared_errors(features, targets, coef).mean(dim=1)
        ceiling = targets.var(dim=0, unbiased=False)
        capped = torch.minimum(errors, ceiling)
        return -capped.mean() * float(started)

    @torch.no_grad()
    def update(self, mu: torch.Tensor, v: torch.Tensor) -> None:
        """Tune the factors on the batch, add it to the sums, re-solve ``W``.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : Tensor of shape (B,) or (B, k)
        """
        mu, v = self._check_inputs(mu, v)
        features = self.features(mu.detach())
        targets = self._targets(v, mu.dtype)
        self.forgetting.tune(
            self._squared_errors(features, targets, self.coef).mean(dim=(1, 2))
        )
        sum_zz, sum_zv = self._sums_with(features, targets)
        self.sum_zz.copy_(sum_zz)
        self.sum_zv.copy_(sum_zv)
        self.coef.copy_(self._solve(sum_zz, sum_zv))
        self.n_batches += 1

    def _solve(self, sum_zz, sum_zv):
        """Ridge solution ``(S_zz + ridge I)^-1 S_zv`` of every copy, shape (n_copies, P, k)."""
        eye = torch.eye(sum_zz.shape[-1], dtype=sum_zz.dtype, device=sum_zz.device)
        cholesky = torch.linalg.cholesky(sum_zz + self.ridge * eye)
        return torch.cholesky_solve(sum_zv, cholesky).to(self.coef.dtype)

    def summary(self) -> dict[str, float]:
        """Current forgetting factors.

        Returns
        -------
        summary : dict of str to float
        """
        return self.forgetting.summary()
