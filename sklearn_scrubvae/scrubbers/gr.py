"""Gradient reversal scrubber (GR)."""

import numbers

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval

from ._ensemble import MLPEnsemble, PrivateAdam, RecentBatches
from ._reversal import reverse_gradient
from .base import COUNT, NON_NEGATIVE, POSITIVE, BaseScrubber, check_hidden

# Seed of the fresh probes fitted by ``summary``: fixed, so that the check
# draws nothing from the scrubber's generator and leaves training unchanged.
_PROBE_SEED = 0
# Full-batch Adam steps and learning rate of a fresh probe.
_PROBE_ITER, _PROBE_LEARNING_RATE = 300, 1e-2


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

    **Keeping the adversary a good probe.** A reversal only scrubs while the
    adversary predicts ``v`` as well as any probe could: once it is fooled,
    the encoder is rewarded for fooling it, not for removing the
    information. :meth:`update` therefore takes ``n_iter`` adversary-only
    Adam steps after every batch, fitted to the last ``replay_batches``
    detached batches together (a single batch lets it overfit that batch and
    lose the others). At the start of every epoch, when ``reinitialize``,
    :meth:`reset` draws fresh weights and fits them to those batches with
    ``catch_up_iter`` steps, which gets the adversary out of a region where
    its steps no longer keep up with the encoder. At the end of every epoch
    :meth:`summary` compares the adversary with a *fresh* probe of the same
    architecture on the epoch's last ``probe_batches`` batches: the probe is
    fitted from scratch on half of them (even or odd batches) and scored on
    the other half; the adversary is scored on each batch as it arrived,
    before its steps on it. Both losses are thus held out.
    ``adversary_loss`` much above ``probe_loss`` means the adversary is
    fooled.

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
    n_iter : int, default=20
        Adversary-only Adam steps per batch in :meth:`update`; 0 leaves the
        adversary to the training loop's optimiser alone. That Adam's
        moments and the recent batches are not checkpointed: a resumed fit
        starts without them, so it matches an uninterrupted one only with
        ``n_iter=0`` and ``catch_up_iter=0``.
    learning_rate : float, default=1e-2
        Learning rate of those steps.
    replay_batches : int, default=8
        Number of most recent batches, the current one included, that those
        steps fit together. 1 fits the current batch alone, the package's
        earlier behaviour (see ``doc/differences.md``).
    reinitialize : bool, default=True
        Whether :meth:`reset` draws fresh adversary weights at the start of
        every epoch.
    catch_up_iter : int, default=300
        Adam steps on the recent batches right after those weights are
        drawn; 0 leaves a re-initialised adversary untrained until the
        epoch's first update.
    cap : bool, default=True
        Whether each of the adversary's losses in :meth:`penalty` is capped
        at the loss of the best constant prediction of the batch (see its
        Notes). ``n_iter=0, catch_up_iter=0, cap=False`` is the package's
        earlier behaviour.
    probe_batches : int, default=8
        Batches kept for the end-of-epoch fresh probe; 0 skips the check.

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

    _parameter_constraints: dict = {
        **BaseScrubber._parameter_constraints,
        "alpha": [NON_NEGATIVE],
        "n_ensemble": [COUNT],
        "hidden": [Interval(numbers.Integral, 1, None, closed="left"), tuple, list],
        "n_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "learning_rate": [POSITIVE],
        "replay_batches": [COUNT],
        "reinitialize": ["boolean"],
        "catch_up_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "cap": ["boolean"],
        "probe_batches": [Interval(numbers.Integral, 0, None, closed="left")],
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
        hidden: int | tuple[int, ...] = (64,),
        n_iter: int = 20,
        learning_rate: float = 1e-2,
        replay_batches: int = 8,
        reinitialize: bool = True,
        catch_up_iter: int = 300,
        cap: bool = True,
        probe_batches: int = 8,
    ) -> None:
        super().__init__(
            n_components, n_outputs, categorical=categorical, generator=generator
        )
        self._validate_params(
            alpha=alpha, n_ensemble=n_ensemble, hidden=hidden, n_iter=n_iter,
            learning_rate=learning_rate, replay_batches=replay_batches,
            reinitialize=reinitialize, catch_up_iter=catch_up_iter, cap=cap,
            probe_batches=probe_batches,
        )
        self.alpha = float(alpha)
        self.hidden = check_hidden(hidden, type(self).__name__)
        self.n_iter = int(n_iter)
        self.replay_batches = int(replay_batches)
        self.learning_rate = float(learning_rate)
        self.reinitialize = bool(reinitialize)
        self.catch_up_iter = int(catch_up_iter)
        self.cap = bool(cap)
        self.probe_batches = int(probe_batches)
        self.adversary = MLPEnsemble(
            self.n_components, self.n_outputs, self.hidden, int(n_ensemble),
            self.generator,
        )
        self._optimizer = PrivateAdam(self.adversary, self.learning_rate)
        self._replay = RecentBatches(self.replay_batches)
        self._recent = RecentBatches(self.probe_batches)

    def _losses(self, predictions, v):
        """Each member's loss: per column (continuous) or overall (categorical).

        Returns
        -------
        losses : Tensor of shape (M, k) or (M, 1)
        """
        if self.categorical:
            log_probabilities = F.log_softmax(predictions, dim=-1)
            return -log_probabilities.gather(
                -1, v.expand(predictions.shape[0], -1)[..., None]
            ).mean(dim=1)
        return ((predictions - v) ** 2).mean(dim=1)

    def _loss(self, predictions, v):
        """Mean over members of the MSE or cross-entropy; predictions (M, B, k)."""
        return self._losses(predictions, v).mean()

    def _ceiling(self, v):
        """Loss of the best constant prediction of the batch, shape (k,) or (1,).

        The variance of each column (continuous), or the entropy of the
        batch's class frequencies (categorical).
        """
        if self.categorical:
            frequencies = torch.bincount(v, minlength=self.n_outputs).to(torch.float32)
            frequencies = frequencies / frequencies.sum()
            return -(frequencies * frequencies.clamp(min=1e-12).log()).sum()[None]
        return v.var(dim=0, unbiased=False)

    def penalty(self, mu: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Adversary's loss on the batch, with the gradient to ``mu`` reversed.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : Tensor of shape (B,) or (B, k)

        Returns
        -------
        loss : Tensor of shape ()
            Mean over members (and columns) of the MSE or cross-entropy,
            each capped at the loss of the best constant prediction of the
            batch when ``cap``.

        Notes
        -----
        An adversary can do arbitrarily worse than predicting the batch mean
        (or the class frequencies) once the encoder moves its codes where the
        adversary extrapolates badly, which hides no information; uncapped,
        the encoder is rewarded for such moves (the adversary's error of
        standardised speed grew to 16 within 564 steps on synthetic mice).
        At the cap, neither the encoder nor the adversary gets a gradient
        from that term; :meth:`update` still trains the adversary on it.
        """
        mu, v = self._check_inputs(mu, v)
        losses = self._losses(self.adversary(reverse_gradient(mu, self.alpha)), v)
        if self.cap:
            losses = torch.minimum(losses, self._ceiling(v).to(losses))
        return losses.mean()

    def update(self, mu: torch.Tensor, v: torch.Tensor) -> None:
        """Score the adversary on the batch, then take ``n_iter`` steps on the recent ones.

        The batch is kept for the steps of the next ``replay_batches - 1``
        updates and, with the adversary's loss on it before these steps, for
        :meth:`summary`.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : Tensor of shape (B,) or (B, k)
        """
        mu, v = self._check_inputs(mu, v)
        mu = mu.detach()
        if self.probe_batches:
            with torch.no_grad():
                held_out = self._loss(self.adversary(mu), v)
            self._recent.add(mu, v, held_out)
        self._replay.add(mu, v)
        mu_replay, v_replay = self._replay.concatenated()
        self._optimizer.minimise(
            lambda: self._loss(self.adversary(mu_replay), v_replay), self.n_iter
        )

    def reset(self) -> None:
        """Start an epoch: forget the kept batches; if ``reinitialize``, redraw and catch up.

        The fresh weights get a fresh Adam and ``catch_up_iter`` steps on
        the last ``replay_batches`` batches (none before the first epoch).
        """
        self._recent.clear()
        if not self.reinitialize:
            return
        self.adversary.reset_parameters(self.generator)
        self._optimizer = PrivateAdam(self.adversary, self.learning_rate)
        if self._replay.batches:
            mu, v = self._replay.concatenated()
            self._optimizer.minimise(
                lambda: self._loss(self.adversary(mu), v), self.catch_up_iter
            )

    @torch.no_grad()
    def summary(self) -> dict[str, float]:
        """The adversary's and a fresh probe's held-out loss on the epoch's last batches.

        Returns
        -------
        summary : dict of str to float
            ``adversary_loss``, the mean of the adversary's losses on the
            kept batches before its steps on each, and ``probe_loss``, the
            mean over two folds (even and odd kept batches) of the loss on
            one fold of a probe fitted on the other; empty with fewer than
            two kept batches.
        """
        recent = self._recent.batches
        if len(recent) < 2:
            return {}
        folds = [recent[0::2], recent[1::2]]
        folds = [[torch.cat(parts) for parts in list(zip(*fold))[:2]] for fold in folds]
        generator = torch.Generator(device=self.generator.device).manual_seed(_PROBE_SEED)
        probe_losses = []
        for (mu_fit, v_fit), (mu_test, v_test) in [folds, folds[::-1]]:
            probe = MLPEnsemble(self.n_components, self.n_outputs, self.hidden, 1, generator)
            probe.to(mu_fit.device)
            PrivateAdam(probe, _PROBE_LEARNING_RATE).minimise(
                lambda: self._loss(probe(mu_fit), v_fit), _PROBE_ITER
            )
            probe_losses.append(self._loss(probe(mu_test), v_test).item())
        held_out = torch.stack([loss for _, _, loss in recent])
        return {
            "adversary_loss": held_out.mean().item(),
            "probe_loss": sum(probe_losses) / 2,
        }
