"""Kernel mutual information scrubber (MI)."""

import math

import torch

from .base import POSITIVE, BaseScrubber


def _squared_distances(a, b):
    """Squared Euclidean distances between rows, shape (len(a), len(b))."""
    products = a @ b.T
    squared = (a**2).sum(dim=1)[:, None] + (b**2).sum(dim=1)[None, :] - 2.0 * products
    return squared.clamp(min=0.0)


class KernelMutualInformationScrubber(BaseScrubber):
    """Kernel density estimate of ``I(mu; v)`` against the previous batch.

    The densities are Parzen estimates over a reference set of ``R`` pairs
    ``(z_j, v_j)``: the previous batch, stored by :meth:`update`. With the
    Gaussian kernel ``K(a, b) = exp(-|a - b|^2 / (2 h^2))`` of bandwidth
    ``h``,

    ``I ~ mean_i [log p(mu_i, v_i) - log p(mu_i) - log p(v_i)]``, where

    - ``p(z) = mean_j K(z, z_j)``,
    - continuous ``v``: ``p(v) = mean_j K(v, v_j)`` and ``p(z, v) = mean_j
      K(z, z_j) K(v, v_j)`` (the same bandwidth on the standardised ``v``),
    - categorical ``v``: an exact-match kernel, so ``p(v) = mean_j [v_j = v]``
      is the class frequency and ``p(z, v) = mean_j K(z, z_j) [v_j = v]``;
      samples whose class is absent from the reference are left out.

    Kernel normalising constants cancel in the difference and are omitted;
    every density is a log-mean-exp. The penalty is the estimate, minimised
    by the encoder; only ``mu`` carries gradient. Before any reference exists
    (or when no sample's class is in it) the penalty is 0 with zero gradient.

    Parameters
    ----------
    n_components : int
        Dimension ``D`` of the latent code.
    n_outputs : int
        Number of classes (categorical) or of columns (continuous) of ``v``.
    categorical : bool
        Whether ``v`` holds class indices of shape ``(B,)``.
    generator : torch.Generator, default=None
        Unused (no randomness); accepted for a uniform interface.
    bandwidth : float, default=1.0
        Kernel bandwidth ``h`` on ``mu`` (and on a continuous ``v``).

    Attributes
    ----------
    reference_mu : Tensor of shape (R, D)
        Latent codes of the reference set (``R = 0`` before the first update).
    reference_v : Tensor of shape (R,) or (R, k)
        Their nuisance values.

    References
    ----------
    Wu et al., "Disentangling 3D Animal Pose Dynamics with Scrubbed Conditional
    Latent Variables", ICLR 2025.

    Examples
    --------
    >>> import torch
    >>> from sklearn_scrubvae.scrubbers import KernelMutualInformationScrubber
    >>> scrubber = KernelMutualInformationScrubber(2, 1, categorical=False)
    >>> mu = torch.randn(128, 2)
    >>> scrubber.update(mu, mu[:, :1])
    >>> bool(scrubber.penalty(mu, mu[:, :1]) > 0)
    True
    """

    _parameter_constraints: dict = {
        **BaseScrubber._parameter_constraints, "bandwidth": [POSITIVE]
    }

    def __init__(
        self,
        n_components: int,
        n_outputs: int,
        *,
        categorical: bool,
        generator: torch.Generator | None = None,
        bandwidth: float = 1.0,
    ) -> None:
        super().__init__(
            n_components, n_outputs, categorical=categorical, generator=generator
        )
        self._validate_params(bandwidth=bandwidth)
        self.bandwidth = float(bandwidth)
        # Empty until the first update.
        self.register_buffer("reference_mu", torch.zeros(0, self.n_components))
        if self.categorical:
            self.register_buffer("reference_v", torch.zeros(0, dtype=torch.long))
        else:
            self.register_buffer("reference_v", torch.zeros(0, self.n_outputs))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The reference set's size varies: adopt the stored one before copying.
        for name in ("reference_mu", "reference_v"):
            stored = state_dict.get(prefix + name)
            if stored is not None:
                current = getattr(self, name)
                setattr(self, name, current.new_empty(stored.shape))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _log_kernel(self, a, b):
        return -_squared_distances(a, b) / (2.0 * self.bandwidth**2)

    def penalty(self, mu: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Kernel estimate of the mutual information between ``mu`` and ``v``.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : Tensor of shape (B,) or (B, k)

        Returns
        -------
        mutual_information : Tensor of shape ()
            In nats, clipped at 0 from below; 0 before the first update.

        Notes
        -----
        Mutual information is non-negative. Estimated against the previous
        batch, it can fall below 0 when the encoder moves away from that
        reference; the clip stops the encoder gaining from such moves.
        """
        mu, v = self._check_inputs(mu, v)
        if self.reference_mu.shape[0] == 0:
            return 0.0 * mu.sum()
        reference_mu = self.reference_mu.to(mu)
        reference_v = self.reference_v.to(v)
        log_n = math.log(reference_mu.shape[0])
        log_k_mu = self._log_kernel(mu, reference_mu)
        log_p_mu = torch.logsumexp(log_k_mu, dim=1) - log_n
        if not self.categorical:
            log_k_v = self._log_kernel(v, reference_v)
            log_p_v = torch.logsumexp(log_k_v, dim=1) - log_n
            log_p_joint = torch.logsumexp(log_k_mu + log_k_v, dim=1) - log_n
            return (log_p_joint - log_p_mu - log_p_v).mean().clamp(min=0.0)
        match = v[:, None] == reference_v[None, :]
        usable = match.any(dim=1)
        # Rows whose class is absent match everything: finite, then discarded.
        match = match | ~usable[:, None]
        log_p_v = match.to(mu.dtype).mean(dim=1).log()
        log_p_joint = (
            torch.logsumexp(log_k_mu.masked_fill(~match, -math.inf), dim=1) - log_n
        )
        terms = (log_p_joint - log_p_mu - log_p_v) * usable.to(mu.dtype)
        return (terms.sum() / usable.sum().clamp(min=1)).clamp(min=0.0)

    @torch.no_grad()
    def update(self, mu: torch.Tensor, v: torch.Tensor) -> None:
        """Keep the batch as the reference set of the next penalty.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : Tensor of shape (B,) or (B, k)
        """
        mu, v = self._check_inputs(mu, v)
        self.reference_mu = mu.detach().clone()
        self.reference_v = v.clone()
