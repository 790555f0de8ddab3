"""Data-parallel training over the processes of a ``torchrun`` launch.

When ``fit`` runs in a process started by ``torchrun`` (``WORLD_SIZE`` > 1
in the environment) or after the caller initialised ``torch.distributed``,
every process trains the same model on its own share of every batch:

- all processes draw the same permutation of the training windows (the
  seed is broadcast from rank 0), cut every global batch of ``batch_size``
  windows into ``world_size`` contiguous shards and take their own
  (:class:`ShardedBatchLoader`); ``batch_size`` must be a multiple of
  ``world_size``, so that every full batch splits evenly (the last, shorter
  batch of an epoch splits into shards differing by at most one window);
- each process weighs its shard's batch-mean losses by its share of the
  global batch, and :class:`~torch.nn.parallel.DistributedDataParallel`
  averages the gradients, so a step follows the global batch's mean loss
  even when shards differ in size;
- batch normalisation uses the statistics of the whole global batch
  (:class:`GlobalBatchNorm1d`, a differentiable all-reduce of the sums);
- every process draws the posterior noise of the whole global batch and
  uses its own rows, so the sample of a window does not depend on the
  number of processes;
- the scrubbers' penalties and updates use the whole global batch (an
  all-gather of the posterior means, differentiable, and of the targets),
  so their statistics are identical in every process and equal to those of
  a one-process run, also for penalties that are not batch means (the
  batch-variance cap of "mals", the kernel estimate of "mi");
- the recorded losses are averaged over processes.

An optimiser step thus matches a one-process step on the same global batch
up to floating-point summation order.
"""

import os

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .data import BatchLoader


def is_distributed():
    """Whether this process is one of several of a data-parallel launch."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process():
    """Whether this process writes files: rank 0, or the only process."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def setup_process_group(device):
    """Join the process group of a ``torchrun`` launch (if not joined yet).

    Parameters
    ----------
    device : torch.device
        The device requested by the estimator; with CUDA each process takes
        the GPU of its ``LOCAL_RANK``.

    Returns
    -------
    device : torch.device
        This process's training device.
    """
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def check_batch_size(batch_size):
    """Raise a ValueError when ``batch_size`` does not split evenly over the processes."""
    world = dist.get_world_size()
    if batch_size % world:
        raise ValueError(
            f"batch_size={batch_size} is the global batch of a data-parallel fit and must "
            f"be a multiple of the {world} processes; pass e.g. "
            f"batch_size={max(world, batch_size - batch_size % world)}."
        )


def shard_weight(n_shard, n_global):
    """Weight of a shard's batch means: ``world_size * n_shard / n_global``."""
    return dist.get_world_size() * n_shard / n_global


def broadcast_seed(seed, device):
    """Rank 0's ``seed`` in every process."""
    tensor = torch.tensor([seed], dtype=torch.int64, device=_comm_device(device))
    dist.broadcast(tensor, src=0)
    return int(tensor.item())


def _comm_device(device):
    return device if dist.get_backend() == "nccl" else torch.device("cpu")


class GlobalBatchNorm1d(nn.BatchNorm1d):
    """Batch normalisation over the union of every process's batch.

    The per-channel sums and sums of squares are all-reduced with a
    differentiable collective, so the forward pass and the gradients equal
    those of one process holding the whole batch (on any backend, gloo
    included). Evaluation uses the running statistics, like BatchNorm1d.
    """

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        dims = [0] + list(range(2, x.dim()))
        count = torch.tensor(float(x.numel() // x.shape[1]), device=x.device, dtype=x.dtype)
        stats = torch.cat([x.sum(dims), (x * x).sum(dims), count[None]])
        stats = dist_nn.all_reduce(stats)
        n = stats[-1]
        mean = stats[: x.shape[1]] / n
        var = stats[x.shape[1] : -1] / n - mean * mean
        with torch.no_grad():
            self.num_batches_tracked += 1
            momentum = self.momentum
            self.running_mean.mul_(1 - momentum).add_(momentum * mean.detach())
            self.running_var.mul_(1 - momentum).add_(
                momentum * var.detach() * n.detach() / (n.detach() - 1)
            )
        shape = [1, -1] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape)


def convert_batch_norm(module, cls):
    """Turn every BatchNorm1d of ``module`` into ``cls`` in place (same state).

    Parameters
    ----------
    module : torch.nn.Module
    cls : type
        :class:`GlobalBatchNorm1d` for distributed training,
        ``torch.nn.BatchNorm1d`` to turn it back.
    """
    for child in module.modules():
        if isinstance(child, nn.BatchNorm1d):
            child.__class__ = cls
    return module


def wrap(module, device):
    """The DistributedDataParallel wrapper that trains ``module``.

    Parameters
    ----------
    module : ScrubbedVAE
        On ``device``; its batch norms are made global.
    device : torch.device

    Returns
    -------
    ddp : DataParallel
        Holds the DistributedDataParallel wrapper, which broadcasts rank 0's
        weights and buffers once; afterwards buffers
        (running statistics, scrubber state) are kept equal by computing
        them from global batches, not by broadcasting.
    """
    convert_batch_norm(module, GlobalBatchNorm1d)
    # skorch lets a net hold torch modules only as its components; the
    # wrapper is handed over in a plain holder.
    return DataParallel(
        DistributedDataParallel(
            module,
            device_ids=[device.index] if device.type == "cuda" else None,
            forward_sync_buffers=False,
        )
    )


class DataParallel:
    """Holder of the DistributedDataParallel wrapper a net trains through.

    Parameters
    ----------
    ddp : DistributedDataParallel
    """

    def __init__(self, ddp):
        self.ddp = ddp

    def __call__(self, *args, **kwargs):
        """The wrapper's forward pass (which prepares the gradient all-reduce)."""
        return self.ddp(*args, **kwargs)


def unwrap(module):
    """Undo :func:`wrap` on the module (plain batch norms again)."""
    return convert_batch_norm(module, nn.BatchNorm1d)


def _sizes(tensor):
    """Every process's ``len(tensor)``, in rank order."""
    size = torch.tensor([len(tensor)], device=_comm_device(tensor.device))
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    return [int(s) for s in sizes]


def gather_batch(tensor, differentiable=False):
    """Concatenate every process's ``tensor`` along dim 0, in rank order.

    Shards may differ in length by one window; they are padded for the
    collective and trimmed after.

    Parameters
    ----------
    tensor : Tensor of shape (B_rank, ...)
    differentiable : bool, default=False
        Let gradients flow back to every process's ``tensor`` (summed over
        the processes that use it).

    Returns
    -------
    gathered : Tensor of shape (sum of B_rank, ...)
    """
    sizes = _sizes(tensor)
    comm = _comm_device(tensor.device)
    pad = tensor.new_zeros((max(sizes) - len(tensor),) + tuple(tensor.shape[1:]))
    padded = torch.cat([tensor, pad]).to(comm)
    if differentiable:
        parts = dist_nn.all_gather(padded)
    else:
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
    return torch.cat([part[:n] for part, n in zip(parts, sizes)]).to(tensor.device)


def gather_scrubbed(mu, targets):
    """The global batch's posterior means (differentiable) and scrubber targets.

    Parameters
    ----------
    mu : Tensor of shape (B_rank, D)
    targets : dict of str -> Tensor of shape (B_rank, ...)

    Returns
    -------
    mu : Tensor of shape (B, D)
    targets : dict of str -> Tensor of shape (B, ...)
    """
    gathered = {name: gather_batch(value) for name, value in targets.items()}
    return gather_batch(mu, differentiable=True), gathered


def mean_over_processes(values):
    """Average a tensor over processes (detached; for logging)."""
    summed = values.detach().to(_comm_device(values.device), copy=True)
    dist.all_reduce(summed)
    return (summed / dist.get_world_size()).to(values.device)


class ShardedBatchLoader(BatchLoader):
    """A :class:`BatchLoader` that yields this process's shard of every batch.

    All processes draw the same permutation (same generator seed); each
    global batch of ``batch_size`` positions is split into ``world_size``
    contiguous shards (sizes differ by at most one), and this process
    gathers only its own shard's windows. A final global batch smaller
    than ``world_size`` is dropped. Each batch's ``X`` carries
    ``"shard"``: the shard's offset in the global batch and the global
    batch size, for drawing the posterior noise and weighing the losses.
    """

    def batches(self):
        """This process's shard of each global batch of an epoch, gathered when asked for."""
        rank, world = dist.get_rank(), dist.get_world_size()
        for positions in self.batch_positions():
            if len(positions) < world:
                continue
            shards = torch.tensor_split(positions, world)
            offset = sum(len(shard) for shard in shards[:rank])
            X, y = self.dataset[shards[rank]]
            X["shard"] = (offset, len(positions))
            yield X, y
