"""Neural discriminator scrubber (ND)."""

import numbers

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval

from ._ensemble import MLPEnsemble, PrivateAdam, RecentBatches
from ._reversal import reverse_gradient
from .base import COUNT, NON_NEGATIVE, POSITIVE, BaseScrubber, check_hidden


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
    on the last ``replay_batches`` detached batches together, so the critic
    stays ahead of the encoder (that optimiser's state is not pickled).

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
    hidden : tuple of int, default=(128, 128)
        Hidden layer widths of each critic. ``(64,)`` is the package's
        earlier critic.
    n_iter : int, default=20
        Critic-only optimisation steps per batch in :meth:`update`.
    learning_rate : float, default=1e-2
        Learning rate of the critic's private Adam optimiser.
    replay_batches : int, default=8
        Number of most recent batches, the current one included, that those
        steps fit together. ``hidden=(64,), n_iter=1,
        learning_rate=1e-3, replay_batches=1`` is the package's earlier
        behaviour (see ``doc/differences.md``).

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

    _parameter_constraints: dict = {
        **BaseScrubber._parameter_constraints,
        "alpha": [NON_NEGATIVE],
        "n_ensemble": [COUNT],
        "hidden": [Interval(numbers.Integral, 1, None, closed="left"), tuple, list],
        "n_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "learning_rate": [POSITIVE],
        "replay_batches": [COUNT],
    }

    def __init__(
        self,
        n_components: int,
        n_outputs: int,
        *,
        categorical: bool,
        generator: torch.Generator | None = None,
        alpha: float = 1.0,
        n_ensemble: int = 3,
        hidden: int | tuple[int, ...] = (128, 128),
        n_iter: int = 20,
        learning_rate: float = 1e-2,
        replay_batches: int = 8,
    ) -> None:
        super().__init__(
            n_components, n_outputs, categorical=categorical, generator=generator
        )
        self._validate_params(
            alpha=alpha, n_ensemble=n_ensemble, hidden=hidden, n_iter=n_iter,
            learning_rate=learning_rate, replay_batches=replay_batches,
        )
        self.alpha = float(alpha)
        self.n_iter = int(n_iter)
        self.learning_rate = float(learning_rate)
        self.critic = MLPEnsemble(
            self.n_components + self.n_outputs, 1, check_hidden(hidden, type(self).__name__),
            int(n_ensemble), self.generator,
        )
        self._optimizer = PrivateAdam(self.critic, self.learning_rate)
        self._replay = RecentBatches(int(replay_batches))

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

    def penalty(self, mu: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
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

    def update(self, mu: torch.Tensor, v: torch.Tensor) -> None:
        """Take ``n_iter`` Adam steps of the critic alone on the recent detached batches.

        Gradients left on the critic's parameters are cleared afterwards.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : LongTensor of shape (B,)
        """
        mu, v = self._check_inputs(mu, v)
        self._replay.add(mu.detach(), v)
        mu, v = self._replay.concatenated()
        self._optimizer.minimise(lambda: self._critic_loss(mu, v), self.n_iter)
