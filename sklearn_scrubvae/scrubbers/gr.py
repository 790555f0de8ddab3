"""Gradient reversal scrubber (GR)."""

import numbers

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval

from ._ensemble import MLPEnsemble, PrivateAdam
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
    Adam steps on every detached batch, and the ensemble keeps its weights
    from epoch to epoch unless ``reinitialize``. At the end of every epoch
    :meth:`summary` compares the adversary with a *fresh* probe of the same
    architecture, fitted from scratch on the epoch's last ``probe_batches``
    batches (two folds: even and odd batches, each fitted on one and scored
    on the other). ``adversary_loss`` much above ``probe_loss`` means the
    adversary is fooled.

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
        moments are neither pickled nor checkpointed: a resumed fit restarts
        them, so it matches an uninterrupted one only with ``n_iter=0``.
    learning_rate : float, default=1e-2
        Learning rate of those steps.
    reinitialize : bool, default=False
        Whether :meth:`reset` draws fresh adversary weights at the start of
        every epoch.
    cap : bool, default=True
        Whether each of the adversary's losses in :meth:`penalty` is capped
        at the loss of the best constant prediction of the batch (see its
        Notes). ``n_iter=0, reinitialize=True, cap=False`` is the package's
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
        "reinitialize": ["boolean"],
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
        reinitialize: bool = False,
        cap: bool = True,
        probe_batches: int = 8,
    ) -> None:
        super().__init__(
            n_components, n_outputs, categorical=categorical, generator=generator
        )
        self._validate_params(
            alpha=alpha, n_ensemble=n_ensemble, hidden=hidden, n_iter=n_iter,
            learning_rate=learning_rate, reinitialize=reinitialize, cap=cap,
            probe_batches=probe_batches,
        )
        self.alpha = float(alpha)
        self.hidden = check_hidden(hidden, type(self).__name__)
        self.n_iter = int(n_iter)
        self.reinitialize = bool(reinitialize)
        self.cap = bool(cap)
        self.probe_batches = int(probe_batches)
        self.adversary = MLPEnsemble(
            self.n_components, self.n_outputs, self.hidden, int(n_ensemble),
            self.generator,
        )
        self._optimizer = PrivateAdam(self.adversary, float(learning_rate))
        self._recent = []

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
        """Take ``n_iter`` adversary-only steps on the batch and keep it for the probe.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
        v : Tensor of shape (B,) or (B, k)
        """
        mu, v = self._check_inputs(mu, v)
        mu = mu.detach()
        self._optimizer.minimise(lambda: self._loss(self.adversary(mu), v), self.n_iter)
        if self.probe_batches:
            self._recent = [*self._recent, (mu, v)][-self.probe_batches :]

    def reset(self) -> None:
        """Start an epoch: forget the kept batches; redraw weights if ``reinitialize``."""
        self._recent = []
        if self.reinitialize:
            self.adversary.reset_parameters(self.generator)

    @torch.no_grad()
    def summary(self) -> dict[str, float]:
        """The adversary's and a fresh probe's loss on the epoch's last batches.

        Returns
        -------
        summary : dict of str to float
            ``adversary_loss`` and ``probe_loss``, each the mean over two
            folds (even and odd kept batches) of the loss on one fold, the
            probe being fitted on the other; empty with fewer than two kept
            batches.
        """
        if len(self._recent) < 2:
            return {}
        folds = [self._recent[0::2], self._recent[1::2]]
        folds = [tuple(torch.cat(parts) for parts in zip(*fold)) for fold in folds]
        generator = torch.Generator(device=self.generator.device).manual_seed(_PROBE_SEED)
        adversary_losses, probe_losses = [], []
        for (mu_fit, v_fit), (mu_test, v_test) in [folds, folds[::-1]]:
            probe = MLPEnsemble(self.n_components, self.n_outputs, self.hidden, 1, generator)
            probe.to(mu_fit.device)
            PrivateAdam(probe, _PROBE_LEARNING_RATE).minimise(
                lambda: self._loss(probe(mu_fit), v_fit), _PROBE_ITER
            )
            probe_losses.append(self._loss(probe(mu_test), v_test).item())
            adversary_losses.append(self._loss(self.adversary(mu_test), v_test).item())
        return {
            "adversary_loss": sum(adversary_losses) / 2,
            "probe_loss": sum(probe_losses) / 2,
        }
