"""Quadratic discriminant scrubber (QD)."""

import math

import torch
import torch.nn.functional as F

from ._forgetting import ForgettingFactors
from .base import POSITIVE, BaseScrubber


class QuadraticDiscriminantScrubber(BaseScrubber):
    """One-vs-rest Gaussian discriminants tracked by moving averages.

    For every class ``c`` two Gaussian models of ``mu`` are kept: ``N(m_c,
    S_c)`` for windows with ``v = c`` ("in") and ``N(m_notc, S_notc)`` for
    windows with ``v != c`` ("rest"). :meth:`update` blends each batch's mean
    and covariance (divided by the count, about the batch mean) into them,
    ``m <- f m + (1 - f) m_batch`` and ``S <- f S + (1 - f) S_batch``, where
    the forgetting factor ``f`` weighs the *old* statistics (the memory), as
    in every scrubber of the package. A model absent from the batch is left alone;
    the first batch that holds it sets it outright. Every covariance is used
    as ``S + reg * I``, through its Cholesky factor.

    With ``LLR_c(z) = log N(z; m_c, S_c) - log N(z; m_notc, S_notc)``, the
    penalty of a batch is

    ``mean over classes c of (mean_{v_i = c} LLR_c(mu_i) - mean_{v_i != c}
    LLR_c(mu_i)) / 2``,

    an estimate of half the Jeffreys divergence ``KL(in || rest) + KL(rest ||
    in)`` when the models fit the batch, and 0 in expectation whenever the
    class and the rest are indistinguishable, whatever the models (both means
    then average the same function over the same distribution). The encoder
    minimises it. Since the models lag behind the encoder, a class can score
    below 0 by moving away from stale models while staying separable; each
    class's term is therefore clipped at 0 from below, which removes that
    escape route (without the clip, lam=10 on four synthetic mice drove the
    penalty to -86 and left identity decodable at 99%). Only classes whose two models exist and that have windows on both
    sides in the batch count; with none (a single-class batch, ``B = 1``,
    before the first update) the penalty is 0 with zero gradient.

    With ``forgetting_factor="auto"`` two copies of the statistics are kept
    (Algorithm 3, see :class:`ForgettingFactors`), each scored by the mean
    log-likelihood of the incoming batch under its "in" class models; the
    penalty averages the two copies.

    Parameters
    ----------
    n_components : int
        Dimension ``D`` of the latent code.
    n_outputs : int
        Number of classes ``k`` of ``v``.
    categorical : bool
        Must be True.
    generator : torch.Generator, default=None
        Unused (no randomness); accepted for a uniform interface.
    reg : float, default=1e-3
        Positive ridge added to every covariance.
    forgetting_factor : "auto" or float in [0, 1], default="auto"
        Weight of the old statistics (1 never forgets, 0 keeps only the
        latest batch); "auto" self-tunes it.
    forgetting_init : float, default=0.79
        Initial ``f_a`` when self-tuning (the pair starts at 0.79 and 0.8).
    forgetting_gap : float, default=0.01
        ``f_b - f_a`` when self-tuning.
    forgetting_step : float, default=1e-3
        Change of the factors per batch when self-tuning.

    Attributes
    ----------
    means : Tensor of shape (n_copies, k, 2, D)
        Means of the "in" (index 0) and "rest" (index 1) model of each class.
    covariances : Tensor of shape (n_copies, k, 2, D, D)
        Their covariances, without ``reg``.
    seen : BoolTensor of shape (k, 2)
        Which models have received data.

    References
    ----------
    Wu et al., "Disentangling 3D Animal Pose Dynamics with Scrubbed Conditional
    Latent Variables", ICLR 2025 (Algorithms 2 and 3).

    Examples
    --------
    >>> import torch
    >>> from sklearn_scrubvae.scrubbers import QuadraticDiscriminantScrubber
    >>> scrubber = QuadraticDiscriminantScrubber(2, 2, categorical=True)
    >>> v = torch.arange(200) % 2
    >>> mu = torch.randn(200, 2) + 4.0 * v[:, None]
    >>> scrubber.update(mu, v)
    >>> bool(scrubber.penalty(mu, v) > 1.0)  # the classes are far apart
    True
    """

    categorical_only = True

    _parameter_constraints: dict = {
        **BaseScrubber._parameter_constraints,
        "reg": [POSITIVE],
        "include_batch": ["boolean"],
    }

    def __init__(
        self,
        n_components: int,
        n_outputs: int,
        *,
        categorical: bool,
        generator: torch.Generator | None = None,
        reg: float = 1e-3,
        forgetting_factor: str | float = "auto",
        forgetting_init: float = 0.79,
        forgetting_gap: float = 0.01,
        forgetting_step: float = 1e-3,
        include_batch: bool = False,
    ) -> None:
        super().__init__(
            n_components, n_outputs, categorical=categorical, generator=generator
        )
        self._validate_params(reg=reg, include_batch=include_batch)
        self.reg = float(reg)
        self.include_batch = bool(include_batch)
        self.forgetting = ForgettingFactors(
            forgetting_factor,
            init=forgetting_init,
            gap=forgetting_gap,
            step=forgetting_step,
        )
        shape = (self.forgetting.n_copies, self.n_outputs, 2, self.n_components)
        self.register_buffer("means", torch.zeros(shape))
        self.register_buffer("covariances", torch.zeros(*shape, shape[-1]))
        self.register_buffer("seen", torch.zeros(self.n_outputs, 2, dtype=torch.bool))

    def _log_densities(self, mu, means, covariances):
        """Gaussian log-densities of every sample under every model.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        means : Tensor of shape (n_copies, k, 2, D)
        covariances : Tensor of shape (n_copies, k, 2, D, D)

        Returns
        -------
        log_densities : Tensor of shape (n_copies, k, 2, B)
        """
        eye = torch.eye(self.n_components, dtype=mu.dtype, device=mu.device)
        cholesky = torch.linalg.cholesky(covariances + self.reg * eye)
        centred = mu - means[..., None, :]
        whitened = torch.linalg.solve_triangular(
            cholesky, centred.transpose(-1, -2), upper=False
        )
        mahalanobis = (whitened**2).sum(dim=-2)
        log_det = 2.0 * torch.diagonal(cholesky, dim1=-2, dim2=-1).log().sum(-1)
        constant = self.n_components * math.log(2.0 * math.pi)
        return -0.5 * (mahalanobis + log_det[..., None] + constant)

    def penalty(self, mu: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Symmetric one-vs-rest log-likelihood-ratio divergence of the batch.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : LongTensor of shape (B,)

        Returns
        -------
        penalty : Tensor of shape ()
            Averaged over the classes that count and over copies; 0 when no
            class counts. Each class's divergence is clipped at 0 from below.
        """
        mu, v = self._check_inputs(mu, v)
        means, covariances, seen = self.means.to(mu), self.covariances.to(mu), self.seen
        if self.include_batch:
            means, covariances, seen = self._blend(*self._batch_moments(mu, v))
        log_densities = self._log_densities(mu, means, covariances)
        ratios = log_densities[:, :, 0] - log_densities[:, :, 1]
        in_class = F.one_hot(v, self.n_outputs).T.to(mu.dtype)
        rest = 1.0 - in_class
        n_in, n_rest = in_class.sum(dim=1), rest.sum(dim=1)
        mean_in = (ratios * in_class).sum(dim=-1) / n_in.clamp(min=1.0)
        mean_rest = (ratios * rest).sum(dim=-1) / n_rest.clamp(min=1.0)
        counted = seen.all(dim=1) & (n_in > 0) & (n_rest > 0)
        # The divergence is >= 0 for up-to-date models; a negative estimate only
        # means the encoder moved away from stale class models, so clipping it
        # at 0 leaves nothing to gain from running away from them.
        divergences = 0.5 * (mean_in - mean_rest).clamp(min=0.0) * counted.to(mu.dtype)
        n_terms = counted.sum().clamp(min=1) * divergences.shape[0]
        return divergences.sum() / n_terms

    @torch.no_grad()
    def update(self, mu: torch.Tensor, v: torch.Tensor) -> None:
        """Tune the factors on the batch, then blend it into the class models.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : LongTensor of shape (B,)
        """
        mu, v = self._check_inputs(mu, v)
        mu = mu.detach().to(self.means)
        log_densities = self._log_densities(mu, self.means, self.covariances)
        own = log_densities[:, v, 0, torch.arange(mu.shape[0], device=mu.device)]
        known = self.seen[v, 0].to(mu.dtype)
        log_likelihood = (own * known).sum(dim=-1) / known.sum().clamp(min=1.0)
        self.forgetting.tune(-log_likelihood)
        means, covariances, seen = self._blend(*self._batch_moments(mu, v))
        self.means.copy_(means)
        self.covariances.copy_(covariances)
        self.seen.copy_(seen)

    def _batch_moments(self, mu, v):
        """Mean and covariance of each class and its rest in the batch.

        Returns
        -------
        means : Tensor of shape (k, 2, D)
        covariances : Tensor of shape (k, 2, D, D)
            About the batch means, divided by the counts.
        present : BoolTensor of shape (k, 2)
            Which models have windows in the batch.
        """
        in_class = F.one_hot(v, self.n_outputs).T.to(mu.dtype)
        masks = torch.stack([in_class, 1.0 - in_class], dim=1)
        counts = masks.sum(dim=-1)
        means = masks @ mu / counts.clamp(min=1.0)[..., None]
        centred = (mu - means[..., None, :]) * masks[..., None]
        covariances = centred.transpose(-1, -2) @ centred
        covariances = covariances / counts.clamp(min=1.0)[..., None, None]
        return means, covariances, counts > 0

    def _blend(self, batch_means, batch_covariances, present):
        """The running models with a batch's moments blended in.

        Each model present in the batch becomes ``f * old + (1 - f) * batch``,
        or the batch's moments if it had not been seen; the others are kept.

        Returns
        -------
        means, covariances : Tensors shaped like :attr:`means`, :attr:`covariances`
        seen : BoolTensor of shape (k, 2)
        """
        means = self.means.to(batch_means)
        covariances = self.covariances.to(batch_means)
        # The weight of the batch: 1 - f, or 1 for a model not seen yet.
        new_share = 1.0 - self.forgetting.values.to(batch_means)[:, None, None]
        weights = torch.where(self.seen, new_share, torch.ones_like(new_share))
        weights = weights * present
        means = torch.lerp(means, batch_means.expand_as(means), weights[..., None])
        covariances = torch.lerp(
            covariances, batch_covariances.expand_as(covariances), weights[..., None, None]
        )
        return means, covariances, self.seen | present

    def summary(self) -> dict[str, float]:
        """Current forgetting factors.

        Returns
        -------
        summary : dict of str to float
        """
        return self.forgetting.summary()
