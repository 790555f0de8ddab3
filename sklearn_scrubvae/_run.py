"""The epochs of a fit: fresh, resumed from a checkpoint or warm-started; guarded.

:func:`run_epochs` drives an initialised :class:`ScrubbedVAENet` through the
epochs a fit still owes: all of ``max_iter`` for a fresh fit, the rest of
them after a checkpoint, ``max_iter`` more for a warm start. It wraps the
module for data-parallel training when the process belongs to a
``torchrun`` launch, and turns a diverged epoch into a restored model and
an error or a warning.
"""

import hashlib
import json
import warnings

import torch

from . import _distributed
from ._checkpoint import TrainingCheckpoint
from ._divergence import DivergenceGuard, TrainingDiverged, divergence_message
from ._persistence import encode_value

# Parameters that may change between a run and its resumption.
_RESUMABLE = {
    "max_iter", "verbose", "device", "checkpoint_dir", "checkpoint_every", "warm_start",
    "on_divergence",
}


def run_description(estimator):
    """What a checkpoint must match to be resumed: parameters and a data fingerprint.

    Parameters
    ----------
    estimator : ScrubbedCVAE
        With its input and nuisance encodings fitted and ``n_windows_`` set.

    Returns
    -------
    run : dict
        JSON-able.
    """
    params = {
        name: value for name, value in estimator.get_params(deep=False).items()
        if name not in _RESUMABLE
    }
    fitted = {"input": estimator.input_, "nuisance": estimator.nuisance_encoder_}
    data = json.dumps(encode_value(fitted), sort_keys=True).encode()
    return {
        **{name: repr(value) for name, value in params.items()},
        "n_features_in": int(estimator.n_features_in_),
        "n_windows": int(estimator.n_windows_),
        "data": hashlib.sha256(data).hexdigest(),
    }


def training_callbacks(estimator):
    """The divergence guard and, with a ``checkpoint_dir``, the checkpoint.

    Returns
    -------
    callbacks : list of (str, Callback)
        The guard comes first so that a diverged epoch is never saved.
    """
    callbacks = [("divergence", DivergenceGuard())]
    if estimator.checkpoint_dir is not None:
        checkpoint = TrainingCheckpoint(
            estimator.checkpoint_dir,
            estimator.checkpoint_every,
            run_description(estimator),
        )
        callbacks.append(("checkpoint", checkpoint))
    return callbacks


def continue_from(net, previous):
    """Carry a fitted net's optimiser state and history over to a new net.

    The new net (built from the current parameters around the same module)
    keeps its own learning rate and weight decay, like a warm-started
    scikit-learn MLP.

    Parameters
    ----------
    net : ScrubbedVAENet
        Initialised around ``previous.module_``.
    previous : ScrubbedVAENet
    """
    groups = [
        {key: value for key, value in group.items() if key != "params"}
        for group in net.optimizer_.param_groups
    ]
    net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
    for group, settings in zip(net.optimizer_.param_groups, groups):
        group.update(settings)
    net.history = previous.history


def run_epochs(estimator, net, dataset, *, warm):
    """Train ``net`` on ``dataset`` for the epochs the fit still owes.

    Parameters
    ----------
    estimator : ScrubbedCVAE
    net : ScrubbedVAENet
        Initialised.
    dataset : WindowDataset
    warm : bool
        Continue for ``max_iter`` more epochs (warm start) instead of
        resuming from ``checkpoint_dir`` or starting afresh.

    Raises
    ------
    FloatingPointError
        When an epoch's loss is not finite and ``on_divergence="raise"``;
        the net then holds the last finite model.
    """
    callbacks = dict(net.callbacks_)
    epochs = estimator.max_iter
    if not warm and "checkpoint" in callbacks:
        epochs -= callbacks["checkpoint"].restore(net)
    if epochs <= 0:
        return
    if "epoch_log" in callbacks:
        callbacks["epoch_log"].last_epoch = len(net.history) + epochs
    ddp = None
    if _distributed.is_distributed():
        ddp = _distributed.wrap(net.module_, torch.device(net.device))
    net.ddp_ = ddp
    guard = callbacks["divergence"]
    try:
        net.partial_fit(dataset, epochs=epochs)
    except Exception as error:
        diverged = error if isinstance(error, TrainingDiverged) else guard.explain(net, error)
        if diverged is None:
            raise
        good_epochs = guard.restore(net)
        message = divergence_message(
            diverged.epoch, diverged.loss, good_epochs, estimator.get_params(deep=False)
        )
        if estimator.on_divergence == "raise":
            raise FloatingPointError(message) from (None if diverged is error else error)
        warnings.warn(message, UserWarning, stacklevel=3)
    finally:
        guard.clear()
        net.ddp_ = None
        if ddp is not None:
            _distributed.unwrap(net.module_)
