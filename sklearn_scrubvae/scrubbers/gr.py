"""Gradient reversal scrubber (GR)."""

import torch.nn.functional as F

from ._ensemble import MLPEnsemble
from ._reversal import reverse_gradient
from .base import BaseScrubber, check_float, check_hidden, check_int


class GradientReversalScrubber(BaseScrubber):
    """Adversarial MLP ensemble predicting ``v`` through a gradient reversal.

    Each member of an ensemble of MLPs predicts ``v`` from
    ``reverse_gradient(mu, alpha)``: mean squared error for a continuous
    ``v``, cross-entropy for a categorical one, averaged over members.

    **Sign.** The value returned by :meth:`penalty` is the adversary's own
    loss (>= 0). Minimising it in the training loop fits the adversary, whose
    parameters are in ``parameters()``; the reversal layer multiplies the
    gradient reaching ``mu`` by ``-alpha``, so the same backward pass pushes
    the encoder to *increase* the adversary's loss. With ``alpha=0`` the
    encoder receives no scrubbing signal.

    The ensemble is re-initialised by :meth:`reset` at the start of every
    epoch, from the generator given at construction.

    Parameters
    ----------
    n_components : int
        Dimension ``D`` of the latent code.
    n_outputs : int
        Number of classes (categorical) or of columns (continuous) of ``v``.
    categorical : bool
        Whether ``v`` holds class indices of shape ``(B,)``.
    generator : torch.Generator, default=None
        Seeds the adversary's weights.
    alpha : float, default=1.0
        Scale of the reversed gradient reaching ``mu``.
    n_ensemble : int, default=3
        Number of MLPs.
    hidden : tuple of int, default=(64,)
        Hidden layer widths of each MLP.

    References
    ----------
    Wu et al., "Disentangling 3D Animal Pose Dynamics with Scrubbed Conditional
    Latent Variables", ICLR 2025.
    Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation",
    ICML 2015.

    Examples
    --------
    >>> import torch
    >>> from sklearn_scrubvae.scrubbers import GradientReversalScrubber
    >>> scrubber = GradientReversalScrubber(4, 3, categorical=True)
    >>> mu = torch.randn(8, 4, requires_grad=True)
    >>> v = torch.arange(8) % 3
    >>> scrubber.penalty(mu, v).shape
    torch.Size([])
    """

    def __init__(
        self,
        n_components,
        n_outputs,
        *,
        categorical,
        generator=None,
        alpha=1.0,
        n_ensemble=3,
        hidden=(64,),
    ):
        super().__init__(
            n_components, n_outputs, categorical=categorical, generator=generator
        )
        self.alpha = check_float(alpha, "alpha", low=0.0)
        self.adversary = MLPEnsemble(
            self.n_components,
            self.n_outputs,
            check_hidden(hidden),
            check_int(n_ensemble, "n_ensemble", minimum=1),
            self.generator,
        )

    def penalty(self, mu, v):
        """Adversary's loss on the batch, with the gradient to ``mu`` reversed.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : Tensor of shape (B,) or (B, k)

        Returns
        -------
        loss : Tensor of shape ()
            Mean over members of the MSE or cross-entropy.
        """
        mu, v = self._check_inputs(mu, v)
        predictions = self.adversary(reverse_gradient(mu, self.alpha))
        n_members = predictions.shape[0]
        if self.categorical:
            return F.cross_entropy(
                predictions.reshape(-1, self.n_outputs), v.repeat(n_members)
            )
        return F.mse_loss(predictions, v.expand_as(predictions))

    def reset(self):
        """Re-initialise the ensemble's weights."""
        self.adversary.reset_parameters(self.generator)
