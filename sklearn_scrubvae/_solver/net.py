"""The solver: a skorch net that trains and runs a ScrubbedVAE on window datasets.

Batches come from :class:`~sklearn_scrubvae._dataset.WindowDataset` through
:class:`~sklearn_scrubvae._dataset.BatchLoader`: ``X`` is a dict (the
module's keyword arguments) and ``y`` the scrubber targets. The loss terms
of each batch stay on the device; they become batch-size weighted epoch
means through :class:`EpochMean` scoring callbacks, one host transfer per
term and epoch.
"""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    EarlyStopping,
    EpochTimer,
    GradientNormClipping,
    PassthroughScoring,
    PrintLog,
)
from skorch.utils import to_tensor
from torch import nn

from . import distributed as _distributed
from .data import BatchLoader
from .device import autocast, fast_float32
from .callbacks import BatchProgressBar, EpochLog
from .._frames.windows import recording_chunks


class ScrubbedELBOLoss(nn.Module):
    """Negative ELBO plus the weighted scrubber penalties.

    ``loss = reconstruction + beta * kl + lam * penalty``, where the terms are
    batch means (see :meth:`ScrubbedVAENet.loss_terms`).

    Parameters
    ----------
    beta : float
        KL weight.
    lam : float
        Scrubber penalty weight.
    """

    def __init__(self, beta, lam):
        super().__init__()
        self.beta = beta
        self.lam = lam

    def forward(self, terms):
        """Weighted sum of the loss terms.

        Parameters
        ----------
        terms : dict of str -> Tensor of shape ()
            ``"reconstruction"``, ``"kl"`` and ``"penalty"``.

        Returns
        -------
        loss : Tensor of shape ()
        """
        return terms["reconstruction"] + self.beta * terms["kl"] + self.lam * terms["penalty"]


class EpochMean(PassthroughScoring):
    """Batch-size weighted epoch mean of a score recorded per batch as a tensor.

    Per-batch values are kept on the device during the epoch (recording
    them costs no host synchronisation); at the epoch's end they are
    fetched in one transfer, written back to the history as floats, and
    averaged with the batch sizes as weights.

    Parameters
    ----------
    name : str
        History key, e.g. ``"train_kl"``.
    lower_is_better : bool or None, default=True
        None records no ``<name>_best`` flag.
    on_train : bool, default=False
        Whether the score belongs to the training batches (weights from
        ``train_batch_size``) or the validation batches.
    """

    def get_avg_score(self, history):
        size_key = "train_batch_size" if self.on_train else "valid_batch_size"
        batches = [batch for batch in history[-1]["batches"] if self.name in batch]
        values = torch.stack([batch[self.name] for batch in batches]).tolist()
        for batch, value in zip(batches, values):
            batch[self.name] = value
        return float(np.average(values, weights=[batch[size_key] for batch in batches]))


class ScrubbedVAENet(NeuralNet):
    """skorch net that trains and runs a :class:`~sklearn_scrubvae.nn.model.ScrubbedVAE`.

    ``infer`` maps the three kinds of input dict to the module: windows with
    nuisance (``frames``, ``nuisance``) give a VAE pass (posterior mean,
    per-window KL and reconstruction error; training, validation, scoring);
    windows alone give posterior means (embedding); latent codes with
    nuisance (``z``, ``nuisance``) give decoded windows. The criterion
    (:class:`ScrubbedELBOLoss`) weighs the batch means of the
    reconstruction error, the KL divergence and the scrubbers' penalties.
    After each optimiser step the scrubbers see the batch's detached
    posterior means; at each epoch start they are reset (gradient reversal
    re-initialises its ensemble), and at each epoch end their state (e.g.
    forgetting factors) is written to the history.

    Parameters
    ----------
    module : ScrubbedVAE
        Initialised torch module.
    criterion : type, default=ScrubbedELBOLoss
        Set its weights with ``criterion__beta`` and ``criterion__lam``.
    precision : {"32", "bf16"}, default="32"
        "bf16" runs the module's forward pass under bfloat16 autocast; the
        losses and scrubbers always compute in float32. On CUDA the
        network's matrix products use TF32 in both cases.
    generator : torch.Generator or None, default=None
        Source of the posterior-sample noise.
    **kwargs
        Passed to :class:`skorch.NeuralNet` (e.g. ``iterator_train__generator``
        for the shuffling).
    """

    ddp_ = None
    """The DistributedDataParallel wrapper of the module while a data-parallel fit runs."""

    def __init__(
        self, module, *, criterion=ScrubbedELBOLoss, precision="32", generator=None, **kwargs
    ):
        kwargs.setdefault("iterator_train", BatchLoader)
        kwargs.setdefault("iterator_valid", BatchLoader)
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("iterator_train__drop_lone", True)
        super().__init__(module, criterion=criterion, **kwargs)
        self.precision = precision
        self.generator = generator

    @property
    def _default_callbacks(self):
        scrubbers = getattr(self.module, "scrubbers", {})
        terms = ["reconstruction", "kl", "penalty", *(f"{name}_penalty" for name in scrubbers)]
        scores = [
            (f"{prefix}_{term}", EpochMean(f"{prefix}_{term}", lower_is_better=better,
                                           on_train=prefix == "train"))
            for prefix in ("train", "valid")
            for term, better in [("loss", True)] + [(term, None) for term in terms]
        ]
        return [("epoch_timer", EpochTimer()), *scores, ("print_log", PrintLog())]

    def infer(self, x, **fit_params):
        shard = x.pop("shard", None) if isinstance(x, dict) else None
        x = to_tensor(x, device=self.device)
        module = self.module_
        device = torch.device(self.device)
        # Data-parallel training goes through the DistributedDataParallel
        # wrapper (see _distributed), which averages the gradients.
        forward = self.ddp_ if self.ddp_ is not None and module.training else module
        with fast_float32(device), autocast(device, self.precision):
            if "z" in x:
                return module.decode(x["z"], x["nuisance"]).float()
            if "nuisance" not in x:
                return module.encode(x["frames"])[0].float()
            mu, kl, decoded = forward(
                **x, generator=self.generator, noise_rows=shard, **fit_params
            )
        reconstruction = module.representation.reconstruction_error(decoded.float(), x["frames"])
        return {"mu": mu.float(), "kl": kl.float(), "reconstruction": reconstruction}

    def loss_terms(self, y_pred, y_true):
        """Batch means of the loss terms.

        Parameters
        ----------
        y_pred : dict
            Output of :meth:`infer` for windows with nuisance.
        y_true : dict of str -> Tensor
            Scrubber targets per scrubber name.

        Returns
        -------
        terms : dict of str -> Tensor of shape ()
            ``"reconstruction"``, ``"kl"``, ``"<scrubber>_penalty"`` per
            scrubber and their sum ``"penalty"``.
        """
        mu = y_pred["mu"]
        penalties = {
            f"{name}_penalty": scrubber.penalty(mu, y_true[name])
            for name, scrubber in self.module_.scrubbers.items()
        }
        return {
            "reconstruction": y_pred["reconstruction"].mean(),
            "kl": y_pred["kl"].mean(),
            "penalty": sum(penalties.values(), mu.new_zeros(())),
            **penalties,
        }

    def get_loss(self, y_pred, y_true, X=None, training=False):
        terms = self.loss_terms(y_pred, y_true)
        prefix = "train" if training else "valid"
        recorded = torch.stack([value.detach() for value in terms.values()])
        if self.ddp_ is not None:
            recorded = _distributed.mean_over_processes(recorded)
        for name, value in zip(terms, recorded):
            self.history.record_batch(f"{prefix}_{name}", value)
        return self.criterion_(terms)

    def train_step(self, batch, **fit_params):
        # TF32 covers the network's forward and backward pass; the scrubbers'
        # running statistics (covariances) are then updated in full float32.
        with fast_float32(torch.device(self.device)):
            step = super().train_step(batch, **fit_params)
        mu, targets = step["y_pred"]["mu"].detach(), batch[1]
        if self.ddp_ is not None:
            # Every process updates its scrubbers from the whole global batch.
            mu = _distributed.gather_batch(mu)
            targets = {name: _distributed.gather_batch(v) for name, v in targets.items()}
            step["loss"] = _distributed.mean_over_processes(step["loss"])
        self.module_.update_scrubbers(mu, targets)
        return step

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # skorch's own loop, except that the loss stays a device tensor (no
        # host synchronisation per batch) until EpochMean collects it.
        if iterator is None:
            return
        batch_count = 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            self.history.record_batch(f"{prefix}_loss", step["loss"].detach())
            self.history.record_batch(f"{prefix}_batch_size", len(batch[0]["nuisance"]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        self.history.record(f"{prefix}_batch_count", batch_count)

    def torch_compile(self, module, name):
        # Compile in place: the module keeps its class, state_dict keys and
        # picklability (the compiled graph is not pickled).
        if self.compile and name == "module":
            module.compile(**self.get_params_for("compile"))
        return module

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        self.module_.reset_scrubbers()

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        for key, value in self.module_.scrubber_summary().items():
            self.history.record(key, value)


class RecordingChunkSplit:
    """skorch ``train_split``: validate on the last chunk of every recording.

    Parameters
    ----------
    fraction : float in (0, 1)
        Share of each recording's windows held out (see
        :func:`~sklearn_scrubvae._windows.recording_chunks`).
    """

    def __init__(self, fraction):
        self.fraction = fraction

    def __call__(self, dataset, y=None, **fit_params):
        """Training and validation subsets of a :class:`WindowDataset`."""
        centers = dataset.centers.cpu().numpy()
        held = recording_chunks(centers, dataset.start.cpu().numpy(), self.fraction)
        held = torch.as_tensor(held, device=dataset.device)
        return dataset.subset(~held), dataset.subset(held)


def _silent(*args):
    """Swallow messages (picklable, unlike a lambda)."""


def make_callbacks(*, verbose, gradient_clip, early_stopping, n_iter_no_change, tol):
    """Callbacks for :class:`ScrubbedVAENet` from estimator settings.

    Parameters
    ----------
    verbose : int
        0 silent; 1 one line per epoch (:class:`EpochLog`); 2 also a
        progress bar.
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
    if verbose >= 1:
        callbacks.append(("epoch_log", EpochLog()))
    if verbose >= 2:
        callbacks.append(("progress_bar", BatchProgressBar()))
    return callbacks
