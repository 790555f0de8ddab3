"""Training checkpoints that survive a crash, and resuming from them.

A checkpoint directory holds one folder per saved epoch (``epoch-000020``)
and a ``latest`` file naming the newest complete one. Each folder is
written under a temporary name and renamed when complete, and ``latest``
is replaced atomically afterwards, so a run killed at any moment leaves the
previous checkpoint intact. A folder holds the module's weights and
scrubber state (``module.pt``), the optimiser's state (``optimizer.pt``),
the history (``history.json``), the random generators' states (``rng.pt``),
the state of the callbacks that steer training, such as early stopping's
patience counter (``callbacks.pt``), and what the run was (``run.json``: a
fingerprint of parameters and data).
"""

import json
import os
import shutil
from pathlib import Path

import torch
from skorch.callbacks import Checkpoint

from .distributed import is_main_process
from .state import load_module_state

LATEST = "latest"
RUN_FILE = "run.json"


class _EveryNEpochs:
    """Checkpoint monitor: true on every ``n_epochs``-th epoch of the run."""

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs

    def __call__(self, net):
        return len(net.history) % self.n_epochs == 0


def generator_states(net):
    """States of the net's and the scrubbers' random generators.

    Parameters
    ----------
    net : ScrubbedVAENet

    Returns
    -------
    states : dict of str -> ByteTensor
    """
    generators = {"net": net.generator}
    for name, scrubber in net.module_.scrubbers.items():
        generators[f"scrubber.{name}"] = scrubber.generator
    return {
        name: generator.get_state() for name, generator in generators.items()
        if generator is not None
    }


def set_generator_states(net, states):
    """Restore states saved by :func:`generator_states`."""
    if "net" in states and net.generator is not None:
        net.generator.set_state(states["net"])
    for name, scrubber in net.module_.scrubbers.items():
        if f"scrubber.{name}" in states:
            scrubber.generator.set_state(states[f"scrubber.{name}"])


def callback_states(net):
    """``state_dict()`` of every callback of ``net`` that has one, by name."""
    return {
        name: callback.state_dict() for name, callback in net.callbacks_
        if hasattr(callback, "state_dict")
    }


def set_callback_states(net, states):
    """Restore states saved by :func:`callback_states`."""
    callbacks = dict(net.callbacks_)
    for name, state in states.items():
        callbacks[name].load_state_dict(state)


class TrainingCheckpoint(Checkpoint):
    """skorch checkpoint of a whole training state, written atomically.

    Every ``every`` epochs (counted over the whole run, resumed or not) the
    module, the optimiser, the history, the random generators and the
    callbacks' states are written to a new folder of ``dirname``; older
    folders are removed once the new one is complete. A run that stops
    early is also saved as it ends (with its best weights), so that
    resuming it trains nothing more.

    Parameters
    ----------
    dirname : str or path-like
        Checkpoint directory (created when missing).
    every : int
        Epochs between checkpoints.
    run : dict
        JSON-able description of the run (parameters and a fingerprint of
        the data); a resume checks it matches.
    """

    def __init__(self, dirname, every, run):
        super().__init__(
            monitor=_EveryNEpochs(every),
            dirname=str(dirname),
            f_params="module.pt",
            f_optimizer="optimizer.pt",
            f_criterion=None,
            f_history="history.json",
            f_pickle=None,
            event_name=None,
            load_best=False,
        )
        self.every = every
        self.run = run

    def save_model(self, net):
        if not is_main_process():  # data-parallel runs: rank 0 writes
            return
        root = Path(self.dirname)
        root.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{len(net.history):06d}"
        partial = root / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        net.save_params(
            f_params=partial / self.f_params,
            f_optimizer=partial / self.f_optimizer,
            f_history=partial / self.f_history,
        )
        torch.save(generator_states(net), partial / "rng.pt")
        torch.save(callback_states(net), partial / "callbacks.pt")
        (partial / RUN_FILE).write_text(json.dumps(self.run, sort_keys=True))
        _fsync_tree(partial)
        final = root / name
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        _write_atomic(root / LATEST, name)
        for old in root.glob("epoch-*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)

    def on_train_end(self, net, **kwargs):
        stopping = dict(net.callbacks_).get("early_stopping")
        if stopping is not None and stopping.stopped:
            self.save_model(net)

    def restore(self, net):
        """Load the latest checkpoint into an initialised net, if there is one.

        Parameters
        ----------
        net : ScrubbedVAENet
            Initialised, with the module and optimiser the checkpoint was
            made with.

        Returns
        -------
        n_epochs : int
            Epochs in the restored history; 0 when nothing was restored.

        Raises
        ------
        ValueError
            If the checkpoint belongs to another run (other parameters or
            data).
        """
        folder = latest_checkpoint(self.dirname)
        if folder is None:
            return 0
        saved = json.loads((folder / RUN_FILE).read_text())
        if saved != json.loads(json.dumps(self.run, sort_keys=True)):
            changed = sorted(
                key for key in set(saved) | set(self.run)
                if saved.get(key) != json.loads(json.dumps(self.run.get(key)))
            )
            raise ValueError(
                f"The checkpoint in {str(folder)!r} belongs to another run (differs in "
                f"{changed}). Pass the same parameters and data to resume, or another "
                "checkpoint_dir to start afresh."
            )
        state = torch.load(folder / self.f_params, map_location=net.device, weights_only=True)
        load_module_state(net.module_, state)
        net.load_params(f_optimizer=folder / self.f_optimizer, f_history=folder / self.f_history)
        set_generator_states(net, torch.load(folder / "rng.pt", weights_only=True))
        set_callback_states(net, torch.load(folder / "callbacks.pt", weights_only=True))
        return len(net.history)


def latest_checkpoint(dirname):
    """The newest complete checkpoint folder of ``dirname``, or None."""
    pointer = Path(dirname) / LATEST
    if not pointer.is_file():
        return None
    folder = Path(dirname) / pointer.read_text().strip()
    return folder if folder.is_dir() else None


def _write_atomic(path, text):
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _fsync_tree(folder):
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
