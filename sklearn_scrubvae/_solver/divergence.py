"""Stop a diverging fit and fall back to the last finite model."""

import copy
import math

import torch
from skorch.callbacks import Callback

from .state import load_module_state


class TrainingDiverged(Exception):
    """Raised inside the training loop when an epoch's loss is not finite.

    Parameters
    ----------
    epoch : int
        The diverged epoch, counted from 1 over the whole run.
    loss : float
        Its training loss.
    """

    def __init__(self, epoch, loss):
        super().__init__(f"training loss {loss} in epoch {epoch}")
        self.epoch = epoch
        self.loss = loss


class DivergenceGuard(Callback):
    """Keep a copy of the last finite training state; stop on a non-finite loss.

    At the start of training and after every epoch whose training loss and
    weights are all finite, the module's state (weights and scrubber
    buffers) and the optimiser's state are copied (on the device), into the
    tensors of the previous copy where shapes match, so that no memory is
    allocated per epoch. An epoch with a non-finite loss raises
    :class:`TrainingDiverged`; the caller then calls :meth:`restore`. Place
    it before any checkpoint callback, so a diverged epoch is never written.
    """

    def on_train_begin(self, net, **kwargs):
        self._snapshot(net)

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "train_loss"]
        if not (math.isfinite(loss) and _finite_weights(net)):
            raise TrainingDiverged(len(net.history), loss)
        self._snapshot(net)

    @staticmethod
    def explain(net, error):
        """A :class:`TrainingDiverged` for an error raised inside an epoch, if due to divergence.

        Non-finite weights also break the scrubbers' algebra (e.g. a
        Cholesky factorisation) before the epoch ends; such an error is a
        divergence when the weights or the last batch loss are no longer
        finite.

        Parameters
        ----------
        net : ScrubbedVAENet
        error : Exception

        Returns
        -------
        diverged : TrainingDiverged or None
        """
        batches = net.history[-1]["batches"] if len(net.history) else []
        losses = [float(batch["train_loss"]) for batch in batches if "train_loss" in batch]
        loss = losses[-1] if losses else float("nan")
        if math.isfinite(loss) and _finite_weights(net):
            return None
        return TrainingDiverged(len(net.history), loss)

    def _snapshot(self, net):
        self.good_epochs_ = len(net.history)
        self.module_state_ = _copy_state(
            net.module_.state_dict(), getattr(self, "module_state_", None)
        )
        self.optimizer_state_ = _copy_state(
            net.optimizer_.state_dict(), getattr(self, "optimizer_state_", None)
        )

    def clear(self):
        """Drop the copy of the state (so that a pickled net does not carry it)."""
        for name in ("good_epochs_", "module_state_", "optimizer_state_"):
            vars(self).pop(name, None)

    def restore(self, net):
        """Put the last finite state back into ``net``; drop later history rows.

        Returns
        -------
        good_epochs : int
            Epochs of the restored model.
        """
        load_module_state(net.module_, self.module_state_)
        # A copy: the optimiser would otherwise keep the saved tensors as its state.
        net.optimizer_.load_state_dict(copy.deepcopy(self.optimizer_state_))
        del net.history[self.good_epochs_ :]
        return self.good_epochs_


def _finite_weights(net):
    # One fused norm over all parameters, one host transfer: it is finite
    # exactly when every weight is (short of an overflow of the sum of squares).
    return bool(torch.nn.utils.get_total_norm(net.module_.parameters()).isfinite())


def _copy_state(state, previous):
    """A copy of a state dict (nested dicts and lists of tensors and plain values).

    Tensors are copied into the matching tensor of ``previous`` (same key,
    shape, dtype and device) when there is one, else cloned.

    Parameters
    ----------
    state : dict, list, tuple, Tensor or plain value
    previous : same structure as ``state``, or None

    Returns
    -------
    copy : same structure as ``state``
    """
    if torch.is_tensor(state):
        reusable = (
            torch.is_tensor(previous)
            and (previous.shape, previous.dtype, previous.device)
            == (state.shape, state.dtype, state.device)
        )
        return previous.copy_(state) if reusable else state.detach().clone()
    if isinstance(state, dict):
        previous = previous if isinstance(previous, dict) else {}
        return {key: _copy_state(value, previous.get(key)) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        same = isinstance(previous, (list, tuple)) and len(previous) == len(state)
        previous = previous if same else [None] * len(state)
        return type(state)(_copy_state(value, old) for value, old in zip(state, previous))
    return copy.deepcopy(state)


def divergence_message(epoch, loss, good_epochs, params):
    """An explanation of a diverged fit, naming the usual causes.

    Parameters
    ----------
    epoch : int
        First epoch with a non-finite loss.
    loss : float
    good_epochs : int
        Epochs of the model that was kept.
    params : dict
        The estimator's ``learning_rate``, ``lam`` (a float or a weight
        per scrubber), ``beta`` (and ``gradient_clip``).

    Returns
    -------
    message : str
    """
    lam = params["lam"]
    if isinstance(lam, dict):
        lam = "{" + ", ".join(f"{name}: {weight:g}" for name, weight in lam.items()) + "}"
    else:
        lam = f"{lam:g}"
    kept = (
        f"the model of epoch {good_epochs}, the last with a finite loss, was restored"
        if good_epochs
        else "no epoch finished with a finite loss, so the model holds its initial weights"
    )
    return (
        f"Training diverged: the training loss became {loss} in epoch {epoch}; {kept}. "
        f"Likely causes: a learning rate too high (learning_rate={params['learning_rate']:g}; "
        "try 10 times smaller), a scrubber weight the encoder can exploit "
        f"(lam={lam}; try smaller), or a KL weight out of scale "
        f"(beta={params['beta']:g}); gradient_clip={params['gradient_clip']} bounds the "
        "steps. Set on_divergence='warn' to keep the last finite model instead of raising."
    )
