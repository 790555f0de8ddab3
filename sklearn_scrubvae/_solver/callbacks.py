"""The training callbacks: one factory, and the plain-text epoch log and progress bar."""

import datetime
import sys
import time

from skorch.callbacks import Callback, EarlyStopping, GradientNormClipping, ProgressBar

from .checkpoint import TrainingCheckpoint
from .divergence import DivergenceGuard

# Epoch scores worth a column, in this order, when the history has them.
LOGGED_PREFIXES = ("train_loss", "valid_loss", "train_reconstruction", "train_kl", "train_penalty")


def format_duration(seconds):
    """``h:mm:ss`` text of a duration in seconds."""
    return str(datetime.timedelta(seconds=round(seconds)))


def _is_score(key, value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not key.endswith("_best")
    )


class EpochLog(Callback):
    """Print one line per epoch: ``epoch i/N``, the losses, elapsed time and ETA.

    The line is plain text (no colour codes, no table borders), so it reads
    the same in a terminal, a notebook and a log file.

    Parameters
    ----------
    sink : callable, default=None
        Receives each line; None prints to ``sys.stdout`` and flushes.
    last_epoch : int, default=None
        Number of the run's last epoch (a run resumed from a checkpoint
        ends at the epoch it was asked for); None counts ``max_epochs`` on
        from the history at the start of training.
    """

    def __init__(self, sink=None, last_epoch=None):
        self.sink = sink
        self.last_epoch = last_epoch

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.start_time_ = time.perf_counter()
        self.first_epoch_ = len(net.history)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        done = len(net.history) - self.first_epoch_
        last = self.first_epoch_ + net.max_epochs if self.last_epoch is None else self.last_epoch
        elapsed = time.perf_counter() - self.start_time_
        remaining = elapsed / done * max(last - len(net.history), 0)
        scores = [
            f"{key} {row[key]:.4g}"
            for prefix in LOGGED_PREFIXES
            for key in sorted(row)
            if key.startswith(prefix) and _is_score(key, row[key])
        ]
        line = (
            f"epoch {row['epoch']}/{last}  " + "  ".join(scores)
            + f"  [{format_duration(elapsed)} elapsed, ETA {format_duration(remaining)}]"
        )
        if self.sink is None:
            print(line, file=sys.stdout, flush=True)
        else:
            self.sink(line)


class ResumableEarlyStopping(EarlyStopping):
    """skorch's EarlyStopping whose bookkeeping survives a checkpoint and a resume.

    :meth:`state_dict` holds what decides when training stops and what it
    ends with: the epochs without improvement, the score to beat, the best
    epoch and its weights. Loaded with :meth:`load_state_dict` before
    ``fit`` continues, it is kept at the start of training instead of being
    reset, so a resumed run stops at the epoch an uninterrupted one does.
    """

    _resumed = False

    def state_dict(self):
        """The bookkeeping as plain values and tensors (for ``torch.save``)."""
        return {
            "misses": self.misses_,
            "dynamic_threshold": float(self.dynamic_threshold_),
            "best_epoch": self.best_epoch_,
            "best_model_weights": self.best_model_weights_,
        }

    def load_state_dict(self, state):
        """Continue from a :meth:`state_dict` at the next start of training."""
        self.misses_ = state["misses"]
        self.dynamic_threshold_ = state["dynamic_threshold"]
        self.best_epoch_ = state["best_epoch"]
        self.best_model_weights_ = state["best_model_weights"]
        self._resumed = True

    @property
    def stopped(self):
        """Whether the patience ran out (training is over)."""
        return getattr(self, "misses_", 0) >= self.patience

    def on_train_begin(self, net, **kwargs):
        if self._resumed:
            self._resumed = False
        else:
            super().on_train_begin(net, **kwargs)


class BatchProgressBar(ProgressBar):
    """skorch's per-batch progress bar, with the batch loss shown as a number.

    Batch losses stay on the training device until the epoch ends; the bar
    reads the last one (one host transfer per batch, only at ``verbose=2``).
    """

    def _get_postfix_dict(self, net):
        return {key: float(value) for key, value in super()._get_postfix_dict(net).items()}


def make_callbacks(
    *, verbose=0, gradient_clip=None, early_stopping=False, n_iter_no_change=10, tol=1e-4,
    checkpoint_dir=None, checkpoint_every=10, run=None,
):
    """Callbacks of a :class:`~sklearn_scrubvae._solver.net.ScrubbedVAENet`.

    Parameters
    ----------
    verbose : int, default=0
        0 silent; 1 one line per epoch (:class:`EpochLog`); 2 also a
        progress bar.
    gradient_clip : float or None, default=None
        Maximum gradient norm.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and restore the best weights.
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    checkpoint_dir : str, path-like or None, default=None
        Where a :class:`TrainingCheckpoint` writes; None writes none.
    checkpoint_every : int, default=10
    run : dict or None, default=None
        JSON-able fingerprint of the run that a checkpoint must match.

    Returns
    -------
    callbacks : list of (str, Callback)
        The divergence guard comes first, so that a diverged epoch is never
        checkpointed; the checkpoint comes after early stopping, so that it
        saves the early-stopping state of the epoch it saves.
    """
    callbacks = [("divergence", DivergenceGuard())]
    if gradient_clip is not None:
        callbacks.append(("clip", GradientNormClipping(gradient_clip_value=gradient_clip)))
    if early_stopping:
        stopping = ResumableEarlyStopping(
            monitor="valid_loss", patience=n_iter_no_change, threshold=tol,
            threshold_mode="abs", load_best=True,
        )
        callbacks.append(("early_stopping", stopping))
    if checkpoint_dir is not None:
        callbacks.append(("checkpoint", TrainingCheckpoint(checkpoint_dir, checkpoint_every, run)))
    if verbose >= 1:
        callbacks.append(("epoch_log", EpochLog()))
    if verbose >= 2:
        callbacks.append(("progress_bar", BatchProgressBar()))
    return callbacks
