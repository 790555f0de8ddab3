"""Neural discriminator scrubber (ND)."""

import torch
import torch.nn.functional as F

from ._ensemble import MLPEnsemble
from ._reversal import reverse_gradient
from .base import BaseScrubber, check_float, check_hidden, check_int


class NeuralDiscriminatorScrubber(BaseScrubber):
    """Critic telling true ``(mu, v)`` pairs from pairs with ``v`` shuffled.

    An ensemble of MLPs reads ``concat(mu, onehot(v))`` and outputs a logit:
    true pairs of the batch are labelled 1, the same ``mu`` paired with a
    permutation of ``v`` across the batch (drawn from the generator) are
    labelled 0. If ``mu`` carries no information about ``v`` both kinds of
    pairs follow the same distribution and no critic beats the chance loss
    ``log 2``: the critic is a mutual information test.

    **Sign.** :meth:`penalty` returns the critic's binary cross-entropy
    (mean over the ``2 B`` pairs and the members), computed on
    ``reverse_gradient(mu, alpha)``: minimising it fits the critic (its
    parameters are in ``parameters()``) while the gradient reaching ``mu`` is
    multiplied by ``-alpha``, so the encoder is pushed to raise the critic's
    loss. In addition :meth:`update` takes ``n_iter`` critic-only Adam steps
    on the detached batch, so the critic stays ahead of the encoder (that
    optimiser's state is not pickled).

    Parameters
    ----------
    n_components : int
        Dimension ``D`` of the latent code.
    n_outputs : int
        Number of classes ``k`` of ``v``.
    categorical : bool
        Must be True.
    generator : torch.Generator, default=None
        Seeds the critic's weights and the shuffles.
    alpha : float, default=1.0
        Scale of the reversed gradient reaching ``mu``.
    n_ensemble : int, default=3
        Number of MLP critics.
    hidden : tuple of int, default=(64,)
        Hidden layer widths of each critic.
    n_iter : int, default=1
        Critic-only optimisation steps per batch in :meth:`update`.
    learning_rate : float, default=1e-3
        Learning rate of the critic's private Adam optimiser.

    References
    ----------
    Wu et al., "Disentangling 3D Animal Pose Dynamics with Scrubbed Conditional
    Latent Variables", ICLR 2025.

    Examples
    --------
    >>> import torch
    >>> from sklearn_scrubvae.scrubbers import NeuralDiscriminatorScrubber
    >>> scrubber = NeuralDiscriminatorScrubber(4, 2, categorical=True)
    >>> mu, v = torch.randn(8, 4), torch.arange(8) % 2
    >>> scrubber.update(mu, v)
    >>> bool(scrubber.penalty(mu, v) > 0)
    True
    """

    categorical_only = True

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
        n_iter=1,
        learning_rate=1e-3,
    ):
        super().__init__(
            n_components, n_outputs, categorical=categorical, generator=generator
        )
        self.alpha = check_float(alpha, "alpha", low=0.0)
        self.n_iter = check_int(n_iter, "n_iter", minimum=0)
        self.learning_rate = check_float(
            learning_rate, "learning_rate", low=0.0, low_inclusive=False
        )
        self.critic = MLPEnsemble(
            self.n_components + self.n_outputs,
            1,
            check_hidden(hidden),
            check_int(n_ensemble, "n_ensemble", minimum=1),
            self.generator,
        )
        self._optimizer = None
        self._optimizer_device = None

    def _critic_loss(self, mu, v):
        """Binary cross-entropy of the critic on true and shuffled pairs."""
        batch_size = mu.shape[0]
        permutation = torch.randperm(
            batch_size, generator=self.generator, device=self.generator.device
        ).to(v.device)
        onehot = F.one_hot(v, self.n_outputs).to(mu.dtype)
        pairs = torch.cat(
            [
                torch.cat([mu, onehot], dim=1),
                torch.cat([mu, onehot[permutation]], dim=1),
            ]
        )
        logits = self.critic(pairs).squeeze(-1)
        labels = torch.cat([mu.new_ones(batch_size), mu.new_zeros(batch_size)])
        return F.binary_cross_entropy_with_logits(logits, labels.expand_as(logits))

    def penalty(self, mu, v):
        """Critic's loss on the batch, with the gradient to ``mu`` reversed.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : LongTensor of shape (B,)

        Returns
        -------
        loss : Tensor of shape ()
            Binary cross-entropy, ``log 2`` for an uninformed critic.
        """
        mu, v = self._check_inputs(mu, v)
        return self._critic_loss(reverse_gradient(mu, self.alpha), v)

    def update(self, mu, v):
        """Take ``n_iter`` Adam steps of the critic alone on the detached batch.

        Gradients left on the critic's parameters are cleared afterwards.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : LongTensor of shape (B,)
        """
        mu, v = self._check_inputs(mu, v)
        mu = mu.detach()
        optimizer = self._critic_optimizer(mu.device)
        with torch.enable_grad():
            for _ in range(self.n_iter):
                optimizer.zero_grad(set_to_none=True)
                self._critic_loss(mu, v).backward()
                optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def __getstate__(self):
        # The private optimiser's moments may live on a GPU; a pickled scrubber
        # starts a fresh one so that it loads anywhere.
        state = super().__getstate__()
        state.update(_optimizer=None, _optimizer_device=None)
        return state

    def _critic_optimizer(self, device):
        """The private Adam, rebuilt when the critic has moved to another device."""
        if self._optimizer is None or self._optimizer_device != device:
            self._optimizer = torch.optim.Adam(
                self.critic.parameters(), lr=self.learning_rate
            )
            self._optimizer_device = device
        return self._optimizer
