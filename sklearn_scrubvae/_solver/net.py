"""A skorch net that trains and runs a ScrubbedVAE on window datasets, and its criterion.

Batches come from :class:`~sklearn_scrubvae._solver.data.WindowDataset` through
:class:`~sklearn_scrubvae._solver.data.BatchLoader` (in data-parallel training,
:class:`~sklearn_scrubvae._solver.distributed.ShardedBatchLoader`): ``X`` is a dict (the
module's keyword arguments) and ``y`` the scrubber targets. The loss terms
of each batch stay on the device; they become batch-size weighted epoch
means through :class:`EpochMean` scoring callbacks, one host transfer per
term and epoch.
"""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog
from skorch.utils import to_tensor
from torch import nn

from . import distributed as _distributed
from .data import BatchLoader
from .device import fast_float32, network_precision


class ScrubbedELBOLoss(nn.Module):
    """Negative ELBO plus the weighted scrubber penalties.

    ``loss = reconstruction + beta * kl + lam * penalty``, where the terms are
    batch means (see :meth:`terms`); with a weight per scrubber, the
    penalty term is ``sum(lam[name] * <name>_penalty)``.

    Parameters
    ----------
    beta : float
        KL weight.
    lam : float or dict of str -> float
        Scrubber penalty weight, or one per scrubber name (every scrubber
        of the module).
    """

    def __init__(self, beta, lam):
        super().__init__()
        self.beta = beta
        self.lam = lam

    @staticmethod
    def reconstruction(outputs, frames, module):
        """Reconstruction error of each window.

        Parameters
        ----------
        outputs : dict
            :meth:`ScrubbedVAENet.infer` output (``"decoded"``).
        frames : dict of str -> Tensor of shape (B, window, ...)
            The windows that were encoded.
        module : ScrubbedVAE

        Returns
        -------
        error : Tensor of shape (B,)
        """
        return module.representation.reconstruction_error(outputs["decoded"], frames)

    def terms(self, outputs, frames, targets, module, *, scrubbed=None, weight=1.0):
        """Batch means of the loss terms.

        Parameters
        ----------
        outputs : dict
            :meth:`ScrubbedVAENet.infer` output.
        frames : dict of str -> Tensor of shape (B, window, ...)
        targets : dict of str -> Tensor
            Scrubber targets per scrubber name.
        module : ScrubbedVAE
            Holds the representation and the scrubbers.
        scrubbed : tuple of (Tensor of shape (N, D), dict) or None, default=None
            Posterior means and targets the penalties are computed on; None
            uses this batch's (``outputs["mu"]``, ``targets``).
        weight : float, default=1.0
            Multiplies the per-window means (reconstruction and KL).

        Returns
        -------
        terms : dict of str -> Tensor of shape ()
            ``"reconstruction"``, ``"kl"``, ``"<scrubber>_penalty"`` per
            scrubber and their sum ``"penalty"``.
        """
        mu, targets = (outputs["mu"], targets) if scrubbed is None else scrubbed
        penalties = {
            f"{name}_penalty": scrubber.penalty(mu, targets[name])
            for name, scrubber in module.scrubbers.items()
        }
        return {
            "reconstruction": weight * self.reconstruction(outputs, frames, module).mean(),
            "kl": weight * outputs["kl"].mean(),
            "penalty": sum(penalties.values(), mu.new_zeros(())),
            **penalties,
        }

    def forward(self, terms):
        """Weighted sum of the loss terms.

        Parameters
        ----------
        terms : dict of str -> Tensor of shape ()
            ``"reconstruction"``, ``"kl"``, ``"penalty"`` and, for a weight
            per scrubber, ``"<name>_penalty"``.

        Returns
        -------
        loss : Tensor of shape ()

        Raises
        ------
        ValueError
            If ``lam`` is a dict that does not name exactly the scrubbers.
        """
        if isinstance(self.lam, dict):
            names = {key[: -len("_penalty")] for key in terms if key.endswith("_penalty")}
            if set(self.lam) != names:
                raise ValueError(
                    f"lam names scrubbers {sorted(self.lam)}, the module has {sorted(names)}."
                )
            penalty = sum(weight * terms[f"{name}_penalty"] for name, weight in self.lam.items())
        else:
            penalty = self.lam * terms["penalty"]
        return terms["reconstruction"] + self.beta * terms["kl"] + penalty


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

    ``infer`` runs the VAE on a batch of windows with nuisance and returns
    the module's outputs (posterior mean, per-window KL, decoded windows);
    the criterion (:class:`ScrubbedELBOLoss`) computes the reconstruction
    error from them and weighs it with the KL divergence and the scrubbers'
    penalties. :meth:`embed`, :meth:`decode` and :meth:`window_elbo` run the
    trained module over a dataset in evaluation mode.
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
        # Data-parallel training goes through the DistributedDataParallel
        # wrapper (see distributed), which averages the gradients.
        forward = self.ddp_ if self.ddp_ is not None and self.module_.training else self.module_
        with network_precision(torch.device(self.device), self.precision):
            mu, kl, decoded = forward(
                **x, generator=self.generator, noise_rows=shard, **fit_params
            )
        return {"mu": mu.float(), "kl": kl.float(), "decoded": decoded.float()}

    def get_iterator(self, dataset, training=False):
        if training and self.ddp_ is not None:
            # Data-parallel training: each process takes its shard of every batch.
            kwargs = {"batch_size": self.batch_size, **self.get_params_for("iterator_train")}
            return _distributed.ShardedBatchLoader(dataset, **kwargs)
        return super().get_iterator(dataset, training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        terms = self.criterion_.terms(y_pred, X["frames"], y_true, self.module_)
        return self.criterion_(terms)

    def _loss_step(self, batch, **fit_params):
        X, y = batch
        X = {**X, "frames": to_tensor(X["frames"], device=self.device)}
        shard = X.get("shard")
        y_pred = self.infer(X, **fit_params)
        scrubbed, weight = (y_pred["mu"], y), 1.0
        if shard is not None:
            # A shard's per-window means are weighted by its share of the
            # global batch, and the penalties are computed on the whole
            # global batch of posterior means: averaged over processes (the
            # gradients by DistributedDataParallel, the recorded terms by
            # ``_record_terms``) every term is the global batch's.
            scrubbed = _distributed.gather_scrubbed(y_pred["mu"], y)
            weight = _distributed.shard_weight(len(y_pred["mu"]), shard[1])
        terms = self.criterion_.terms(
            y_pred, X["frames"], y, self.module_, scrubbed=scrubbed, weight=weight
        )
        return {"loss": self.criterion_(terms), "y_pred": y_pred, "terms": terms,
                "scrubbed": scrubbed}

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        step = self._loss_step(batch, **fit_params)
        step["loss"].backward()
        return step

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            return self._loss_step(batch, **fit_params)

    def train_step(self, batch, **fit_params):
        # TF32 covers the network's forward and backward pass; the scrubbers'
        # running statistics (covariances) are then updated in full float32.
        with fast_float32(torch.device(self.device)):
            step = super().train_step(batch, **fit_params)
        # In data-parallel training, every process updates its scrubbers
        # from the whole global batch.
        mu, targets = step["scrubbed"]
        self.module_.update_scrubbers(mu.detach(), targets)
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
            self._record_terms(prefix, {"loss": step["loss"], **step["terms"]})
            # The global batch's size weighs the (process-averaged) terms.
            size = batch[0]["shard"][1] if "shard" in batch[0] else len(batch[0]["nuisance"])
            self.history.record_batch(f"{prefix}_batch_size", size)
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        self.history.record(f"{prefix}_batch_count", batch_count)

    def _record_terms(self, prefix, terms):
        recorded = torch.stack([value.detach() for value in terms.values()])
        if self.ddp_ is not None:
            recorded = _distributed.mean_over_processes(recorded)
        for name, value in zip(terms, recorded):
            self.history.record_batch(f"{prefix}_{name}", value)

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

    # ------------------------------------------------------------ inference

    def _evaluate(self, dataset, compute):
        """``compute(X)`` over the batches of ``dataset`` in evaluation mode, concatenated."""
        self.check_is_fitted()
        self._set_training(False)
        with torch.no_grad():
            return torch.cat(
                [
                    compute(to_tensor(X, device=self.device))
                    for X, _ in self.get_iterator(dataset, training=False)
                ]
            )

    def embed(self, dataset):
        """Posterior means of the windows of a dataset without nuisance.

        Parameters
        ----------
        dataset : WindowDataset

        Returns
        -------
        mu : Tensor of shape (n_windows, n_components), float32
        """

        def encode(X):
            with network_precision(torch.device(self.device), self.precision):
                return self.module_.encode(X["frames"])[0].float()

        return self._evaluate(dataset, encode)

    def decode(self, dataset):
        """Decoded windows of latent codes.

        Parameters
        ----------
        dataset : LatentDataset

        Returns
        -------
        decoded : Tensor of shape (n, window, n_channels), float32
        """

        def decode(X):
            with network_precision(torch.device(self.device), self.precision):
                return self.module_.decode(X["z"], X["nuisance"]).float()

        return self._evaluate(dataset, decode)

    def window_elbo(self, dataset):
        """Evidence lower bound of each window, with one posterior sample.

        Parameters
        ----------
        dataset : WindowDataset
            With nuisance.

        Returns
        -------
        elbo : Tensor of shape (n_windows,), float64
        """

        def elbo(X):
            outputs = self.infer(X)
            reconstruction = self.criterion_.reconstruction(outputs, X["frames"], self.module_)
            return -(reconstruction + outputs["kl"]).double()

        return self._evaluate(dataset, elbo)
