"""The run driver: device and seed, a fresh or warm-started net, guarded epochs.

:func:`run_epochs` drives an initialised :class:`ScrubbedVAENet` through the
epochs a fit still owes: all of ``max_iter`` for a fresh fit, the rest of
them after a checkpoint, ``max_iter`` more for a warm start. It wraps the
module for data-parallel training when the process belongs to a
``torchrun`` launch, and turns a diverged epoch into a restored model and
an error or a warning.
"""

import warnings

import torch

from . import distributed as _distributed
from .build import build_module, build_net
from .device import check_precision, draw_seed, make_generator, resolve_device
from .divergence import TrainingDiverged, divergence_message


def training_device(device, random_state, precision):
    """The device and seed of a fit, agreed on by every process of a launch.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` or a torch device.
    random_state : int, RandomState instance or None
    precision : {"32", "bf16"}
        Checked against the device.

    Returns
    -------
    device : torch.device
    seed : int
        Rank 0's seed in every process of a data-parallel launch.
    """
    device = resolve_device(device)
    seed = draw_seed(random_state)
    if _distributed.is_distributed():
        device = _distributed.setup_process_group(device)
        seed = _distributed.broadcast_seed(seed, device)
    check_precision(precision, device)
    return device, seed


def start_net(spec, *, device, seed, previous=None, run=None):
    """An initialised net for a fit: fresh, or continuing ``previous`` (warm start).

    Parameters
    ----------
    spec : dict
        See :mod:`~sklearn_scrubvae._solver.build`.
    device : torch.device
    seed : int
    previous : ScrubbedVAENet or None, default=None
        A fitted net whose module, optimiser state and history carry over.
    run : dict or None, default=None
        Fingerprint of the run for checkpoints.

    Returns
    -------
    net : ScrubbedVAENet
    """
    generator = make_generator(seed, device)
    if previous is None:
        module = build_module(spec, seed=seed, generator=generator)
    else:
        module = previous.module_
    net = build_net(spec, module, device=device, generator=generator, run=run)
    net.initialize()
    if previous is not None:
        continue_from(net, previous)
    return net


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


def run_epochs(net, dataset, spec, *, warm):
    """Train ``net`` on ``dataset`` for the epochs the fit still owes.

    Parameters
    ----------
    net : ScrubbedVAENet
        Initialised.
    dataset : WindowDataset
    spec : dict
        Hyper-parameters: ``max_iter``, ``on_divergence`` and those named
        in the divergence message.
    warm : bool
        Continue for ``max_iter`` more epochs (warm start) instead of
        resuming from a checkpoint or starting afresh.

    Raises
    ------
    FloatingPointError
        When an epoch's loss is not finite and ``on_divergence="raise"``;
        the net then holds the last finite model.
    """
    try:
        _train(net, dataset, spec, warm)
    finally:
        # Generators stay out of the fitted model (a CUDA generator could
        # not be unpickled on a CPU-only machine).
        net.generator = None
        net.iterator_train__generator = None


def _train(net, dataset, spec, warm):
    callbacks = dict(net.callbacks_)
    epochs = spec["max_iter"]
    if not warm and "checkpoint" in callbacks:
        epochs -= callbacks["checkpoint"].restore(net)
    if epochs <= 0 or getattr(callbacks.get("early_stopping"), "stopped", False):
        return
    if "epoch_log" in callbacks:
        callbacks["epoch_log"].last_epoch = len(net.history) + epochs
    ddp = None
    if _distributed.is_distributed():
        _distributed.check_batch_size(spec["batch_size"])
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
        message = divergence_message(diverged.epoch, diverged.loss, good_epochs, spec)
        if spec["on_divergence"] == "raise":
            raise FloatingPointError(message) from (None if diverged is error else error)
        warnings.warn(message, UserWarning, stacklevel=4)
    finally:
        guard.clear()
        net.ddp_ = None
        if ddp is not None:
            _distributed.unwrap(net.module_)
