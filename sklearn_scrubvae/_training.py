"""The training loop: a skorch net over window centres."""

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, GradientNormClipping, ProgressBar
from skorch.dataset import ValidSplit
from skorch.utils import to_tensor


class WindowBatcher:
    """Gather windows of frames on the training device.

    Frames stay in one tensor per quantity; a batch of window centres is
    turned into ``(B, window, ...)`` tensors by indexing, never by copying
    all windows up front.

    Parameters
    ----------
    frames : dict of str -> Tensor of shape (n_frames, ...)
        Per-frame model inputs (see the representations in
        :mod:`sklearn_scrubvae.nn.representations`).
    nuisance : Tensor of shape (n_frames, nuisance_dim)
        Encoded nuisance for the decoder.
    targets : dict of str -> Tensor of shape (n_frames, ...)
        Per-scrubber targets.
    start, stop : Tensor of shape (n_frames,)
        Recording boundaries of each frame.
    window : int
        Frames per window (odd).
    """

    def __init__(self, frames, nuisance, targets, start, stop, window):
        self.frames = frames
        self.nuisance = nuisance
        self.targets = targets
        self.start = start
        self.stop = stop
        self.offsets = torch.arange(window, device=start.device) - window // 2

    def __call__(self, centers):
        """Windows, decoder nuisance and scrubber targets of a batch.

        Windows that would run past a recording edge repeat the edge frame.

        Parameters
        ----------
        centers : Tensor of shape (B,), int64

        Returns
        -------
        frames : dict of str -> Tensor of shape (B, window, ...)
        nuisance : Tensor of shape (B, nuisance_dim)
        targets : dict of str -> Tensor of shape (B, ...)
        """
        index = centers[:, None] + self.offsets
        index = torch.minimum(
            torch.maximum(index, self.start[centers, None]), self.stop[centers, None] - 1
        )
        frames = {name: value[index] for name, value in self.frames.items()}
        targets = {name: value[centers] for name, value in self.targets.items()}
        return frames, self.nuisance[centers], targets


class ScrubbedVAENet(NeuralNet):
    """skorch net that trains a :class:`~sklearn_scrubvae.nn.model.ScrubbedVAE`.

    The data it iterates over are window-centre indices; ``batcher_`` turns
    them into windows. The loss is the reconstruction error plus ``beta``
    times the KL divergence, averaged over windows, plus ``lam`` times the
    scrubbers' penalty. After each optimiser step the scrubbers see the
    batch's detached posterior means; at each epoch start they are reset
    (gradient reversal re-initialises its ensemble), and at each epoch end
    their state (e.g. forgetting factors) is written to the history.

    Parameters
    ----------
    module : ScrubbedVAE
        Initialised torch module.
    beta : float
        KL weight.
    lam : float
        Scrubber penalty weight.
    generator : torch.Generator
        Source of shuffling and posterior-sample noise.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, module, *, beta, lam, generator, **kwargs):
        super().__init__(module, criterion=torch.nn.MSELoss, **kwargs)
        self.beta = beta
        self.lam = lam
        self.generator = generator

    def infer(self, x, **fit_params):
        centers = to_tensor(x, device=self.device)
        frames, nuisance, targets = self.batcher_(centers)
        mu, kl, decoded = self.module_(frames, nuisance, generator=self.generator)
        return {"mu": mu, "kl": kl, "decoded": decoded, "frames": frames, "targets": targets}

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        reconstruction = self.module_.representation.reconstruction_error(
            y_pred["decoded"], y_pred["frames"]
        ).mean()
        kl = y_pred["kl"].mean()
        penalty = self.module_.scrub_penalty(y_pred["mu"], y_pred["targets"])
        prefix = "train" if training else "valid"
        self.history.record_batch(f"{prefix}_reconstruction", reconstruction.item())
        self.history.record_batch(f"{prefix}_kl", kl.item())
        self.history.record_batch(f"{prefix}_penalty", penalty.item())
        return reconstruction + self.beta * kl + self.lam * penalty

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        y_pred = step["y_pred"]
        self.module_.update_scrubbers(y_pred["mu"].detach(), y_pred["targets"])
        return step

    def get_iterator(self, dataset, training=False):
        if not training:
            return super().get_iterator(dataset, training=False)
        # BatchNorm cannot train on a lone window of one frame: drop such a tail.
        lone_tail = len(dataset) % self.batch_size == 1 and len(dataset) > 1
        return self.iterator_train(
            dataset,
            batch_size=self.batch_size,
            shuffle=True,
            generator=self.generator,
            drop_last=lone_tail,
        )

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.module_.reset_scrubbers()

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        for key, value in self.module_.scrubber_summary().items():
            self.history.record(key, value)
        for term in ("reconstruction", "kl", "penalty"):
            for prefix in ("train", "valid"):
                batches = self.history[-1]["batches"]
                values = [b[f"{prefix}_{term}"] for b in batches if f"{prefix}_{term}" in b]
                if values:
                    self.history.record(f"{prefix}_{term}", sum(values) / len(values))


def _silent(*args):
    """Swallow messages (picklable, unlike a lambda)."""


def make_callbacks(*, verbose, gradient_clip, early_stopping, n_iter_no_change, tol):
    """Callbacks for :class:`ScrubbedVAENet` from estimator settings.

    Parameters
    ----------
    verbose : int
        0 silent; 1 one log line per epoch; 2 also a progress bar.
    gradient_clip : float or None
        Maximum gradient norm.
    early_stopping : bool
        Stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs.
    n_iter_no_change : int
    tol : float

    Returns
    -------
    callbacks : list of (str, Callback)
    """
    callbacks = []
    if gradient_clip is not None:
        callbacks.append(("clip", GradientNormClipping(gradient_clip_value=gradient_clip)))
    if early_stopping:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_loss",
                    patience=n_iter_no_change,
                    threshold=tol,
                    threshold_mode="abs",
                    load_best=True,
                    sink=_silent,
                ),
            )
        )
    if verbose >= 2:
        callbacks.append(("progress_bar", ProgressBar()))
    return callbacks


def make_train_split(early_stopping, validation_fraction):
    """Validation split for early stopping, or None.

    The first ``1 / round(1 / validation_fraction)`` of the window centres
    (in time order, unshuffled) are held out, so that the validation windows
    overlap the training windows only at one boundary.
    """
    if not early_stopping:
        return None
    return ValidSplit(cv=round(1 / validation_fraction), stratified=False)
