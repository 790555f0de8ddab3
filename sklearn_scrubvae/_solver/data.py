"""Device-resident datasets of windows and latent codes, served in whole batches.

Frames stay on the training device as one float32 matrix (one row per
frame, every per-frame quantity side by side); a batch of windows is
gathered from it by index. Frames too many to derive whole come instead
from a source that derives each batch's windows when asked, the next
batch in a background thread while the current one trains. Batches are
drawn from a permuted index tensor on the same device, so no per-window
Python object is ever created.
"""

import copy
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.utils.data import Dataset

from .device import frames_fit_on_device


def _side_by_side(columns):
    """Concatenate (n, w_i) blocks along columns; no copy if they already are.

    Per-frame inputs derived in host memory are allocated as column blocks
    of one matrix (see ``_frames.inputs.side_by_side``); that matrix is then used
    as it is, so the largest array of a fit is never held twice.
    """
    first, widths = columns[0], [column.shape[1] for column in columns]
    width = sum(widths)
    offsets = first.storage_offset() + torch.cumsum(torch.tensor([0] + widths[:-1]), 0)
    adjacent = all(
        column.device == first.device
        and column.untyped_storage().data_ptr() == first.untyped_storage().data_ptr()
        and column.stride() == (width, 1)
        and column.storage_offset() == int(offset)
        for column, offset in zip(columns, offsets)
    )
    if adjacent:
        return first.as_strided((first.shape[0], width), (width, 1))
    return torch.cat(columns, 1)


class WindowDataset(Dataset):
    """Windows of frames, addressed by their centre frame.

    Indexing with a LongTensor of positions ``i`` returns the whole batch
    ``(X, y)`` at once: ``X`` is a dict that skorch passes to the module as
    keyword arguments (``frames`` and, when given, ``nuisance``) and ``y``
    the scrubber targets. A window that would run
    past its recording's edge repeats the edge frame.

    Parameters
    ----------
    frames : dict of str -> Tensor of shape (n_frames, ...) or frame source
        Per-frame model inputs, put side by side in one matrix on the
        device of ``centers``; or an object with ``shapes`` (per-frame
        shape of each input, by name) and ``windows(index)``, which maps a
        (B, window) int ndarray of frames to a dict of (B, window, ...)
        float32 arrays, called for every batch.
    nuisance : Tensor of shape (n_frames, nuisance_dim) or None
        Encoded nuisance for the decoder; None when ``X`` only carries the
        frames (embedding).
    targets : dict of str -> Tensor of shape (n_frames, ...)
        Per-scrubber targets (class indices or standardised values).
    start, stop : Tensor of shape (n_frames,), int64
        Recording boundaries of each frame.
    centers : Tensor of shape (n_windows,), int64
        Centre frame of every window of the dataset.
    window : int
        Frames per window (odd).
    """

    def __init__(self, frames, nuisance, targets, start, stop, centers, window):
        n_frames = len(start)
        self.source = frames if hasattr(frames, "windows") else None
        if self.source is None:
            self.names = list(frames)
            self.shapes = [tuple(value.shape[1:]) for value in frames.values()]
            self.widths = [math.prod(shape) for shape in self.shapes]
            self.frames = _side_by_side(
                [value.reshape(n_frames, -1) for value in frames.values()]
            ).to(centers.device)
        self.nuisance = nuisance
        self.targets = targets
        self.start = start
        self.stop = stop
        self.centers = centers
        self.offsets = torch.arange(window, device=centers.device) - window // 2

    def __len__(self):
        return len(self.centers)

    @property
    def device(self):
        """Device of the frames and of the position tensors that index them."""
        return self.centers.device

    def __getitem__(self, positions):
        """The batch of windows at ``positions``.

        Parameters
        ----------
        positions : LongTensor of shape (B,)
            Positions in ``centers``, on the dataset's device.

        Returns
        -------
        X : dict
            ``"frames"``: dict of str -> Tensor of shape (B, window, ...);
            ``"nuisance"``: Tensor of shape (B, nuisance_dim), when the
            dataset has a nuisance.
        y : dict of str -> Tensor of shape (B, ...)
            Scrubber targets of the windows' centre frames.
        """
        centers = self.centers[positions]
        index = centers[:, None] + self.offsets
        index = torch.minimum(
            torch.maximum(index, self.start[centers, None]), self.stop[centers, None] - 1
        )
        X = {"frames": self._frames(index)}
        if self.nuisance is not None:
            X["nuisance"] = self.nuisance[centers]
        y = {name: value[centers] for name, value in self.targets.items()}
        return X, y

    def _frames(self, index):
        """Per-frame inputs of the frames ``index`` (B, window), by name."""
        if self.source is not None:
            arrays = self.source.windows(index.cpu().numpy())
            return {name: torch.as_tensor(value).to(self.device) for name, value in arrays.items()}
        columns = torch.split(self.frames[index], self.widths, dim=-1)
        return {
            name: column.reshape(*index.shape, *shape).contiguous()
            for name, column, shape in zip(self.names, columns, self.shapes)
        }

    def subset(self, mask):
        """The windows where ``mask`` is True, sharing the frame storage.

        Parameters
        ----------
        mask : BoolTensor of shape (n_windows,)

        Returns
        -------
        subset : WindowDataset
        """
        subset = copy.copy(self)
        subset.centers = self.centers[mask]
        return subset


class LatentDataset(Dataset):
    """Latent codes with the nuisance to decode them with.

    Parameters
    ----------
    z : Tensor of shape (n, n_components)
    nuisance : Tensor of shape (n, nuisance_dim)
    """

    def __init__(self, z, nuisance):
        self.z = z
        self.nuisance = nuisance

    def __len__(self):
        return len(self.z)

    @property
    def device(self):
        """Device of the codes and of the position tensors that index them."""
        return self.z.device

    def __getitem__(self, positions):
        """``({"z": ..., "nuisance": ...}, {})`` of the codes at ``positions``."""
        return {"z": self.z[positions], "nuisance": self.nuisance[positions]}, {}


class BatchLoader:
    """Iterate over a dataset in whole batches drawn from an index tensor.

    The drop-in for a DataLoader (skorch's ``iterator_train`` and
    ``iterator_valid``) over datasets indexed by a LongTensor of positions,
    such as :class:`WindowDataset`: each batch is one indexing call, with no
    per-item fetch and no collation.

    Parameters
    ----------
    dataset : WindowDataset or LatentDataset
        Supports ``len``, ``device`` and indexing with a LongTensor of
        positions on that device.
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation every epoch.
    generator : torch.Generator, default=None
        Source of the permutations, on the dataset's device.
    drop_lone : bool, default=False
        Drop a last batch holding a single item (batch normalisation cannot
        train on one window).
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, drop_lone=False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.drop_lone = drop_lone

    def _n_items(self):
        n = len(self.dataset)
        if self.drop_lone and n > 1 and n % self.batch_size == 1:
            return n - 1
        return n

    def __len__(self):
        return -(-self._n_items() // self.batch_size)

    def batch_positions(self):
        """Positions in the dataset of each batch of an epoch.

        Yields
        ------
        positions : LongTensor of shape (batch_size,) (the last may be shorter)
        """
        n, device = len(self.dataset), self.dataset.device
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device=device)
        else:
            order = torch.arange(n, device=device)
        for begin in range(0, self._n_items(), self.batch_size):
            yield order[begin : begin + self.batch_size]

    def batches(self):
        """The batches of an epoch, each gathered when it is asked for.

        Yields
        ------
        batch : tuple
            ``dataset[positions]`` for each of :meth:`batch_positions`.
        """
        for positions in self.batch_positions():
            yield self.dataset[positions]

    def __iter__(self):
        """The batches of an epoch; one derived ahead when the dataset derives them.

        A dataset whose frames come from a source (per-batch derivation,
        e.g. from a memory map) has the next batch derived in a background
        thread while the current one trains.
        """
        if getattr(self.dataset, "source", None) is None:
            return self.batches()
        return one_ahead(self.batches())


def one_ahead(iterator):
    """The items of ``iterator``, each computed in a background thread while the last is used.

    Parameters
    ----------
    iterator : iterator

    Yields
    ------
    item
        The items of ``iterator`` in order; an exception raised by it is
        raised here.
    """
    end = object()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, iterator, end)
        while (item := pending.result()) is not end:
            pending = pool.submit(next, iterator, end)
            yield item


def frames_as_tensors(frames):
    """Torch tensors sharing memory with per-frame arrays.

    Arrays made by :func:`side_by_side` become views of one tensor over
    their common matrix, so the training datasets can use that matrix
    without a copy.

    Parameters
    ----------
    frames : dict of str -> ndarray of shape (n_frames, ...)

    Returns
    -------
    tensors : dict of str -> Tensor of shape (n_frames, ...)
    """
    base = next(iter(frames.values())).base
    if base is not None and base.ndim == 2 and base.flags.c_contiguous:
        start = base.__array_interface__["data"][0]
        offsets = [
            (value.__array_interface__["data"][0] - start) // base.itemsize
            for value in frames.values()
        ]
        widths = [int(np.prod(value.shape[1:])) for value in frames.values()]
        if all(value.base is base for value in frames.values()) and offsets == list(
            np.cumsum([0] + widths[:-1])
        ):
            matrix = torch.from_numpy(base)
            return {
                name: matrix[:, lo : lo + width].reshape(value.shape)
                for (name, value), lo, width in zip(frames.items(), offsets, widths)
            }
    return {name: torch.as_tensor(value) for name, value in frames.items()}


def window_dataset(frames, start, stop, centers, window, *, device, nuisance=None, targets=None):
    """A :class:`WindowDataset` from per-frame numpy arrays.

    It lives on ``device`` when its frames fit there, else in host memory,
    and batches move to the device one by one.

    Parameters
    ----------
    frames : dict of str -> ndarray of shape (n_frames, ...) or frame source
        Per-frame inputs, or a source deriving them per batch (see
        :class:`WindowDataset`).
    start, stop : ndarray of shape (n_frames,)
    centers : ndarray of shape (n_windows,)
    window : int
    device : torch.device
    nuisance : ndarray of shape (n_frames, nuisance_dim) or None, default=None
        Decoder nuisance; None leaves it out of the batches (embedding).
    targets : dict of str -> ndarray of shape (n_frames, ...) or None, default=None
        Scrubber targets per scrubber name.

    Returns
    -------
    dataset : WindowDataset
    """
    if not hasattr(frames, "windows"):
        nbytes = sum(value.nbytes for value in frames.values())
        device = device if frames_fit_on_device(nbytes, device) else torch.device("cpu")
        frames = frames_as_tensors(frames)
    return WindowDataset(
        frames=frames,
        nuisance=None if nuisance is None else torch.as_tensor(nuisance, device=device),
        targets={
            name: torch.as_tensor(value, device=device) for name, value in (targets or {}).items()
        },
        start=torch.as_tensor(start, device=device),
        stop=torch.as_tensor(stop, device=device),
        centers=torch.as_tensor(centers, device=device),
        window=window,
    )


def latent_dataset(Z, nuisance, device):
    """A :class:`LatentDataset` on ``device`` from numpy codes and decoder nuisance."""
    return LatentDataset(
        torch.as_tensor(Z, dtype=torch.float32, device=device),
        torch.as_tensor(nuisance, device=device),
    )


def recording_chunks(centers, start, fraction):
    """Hold out the last ``fraction`` of every recording's windows.

    Parameters
    ----------
    centers : ndarray of shape (n_windows,)
        Centre frame of each window, increasing (as from
        a window plan).
    start : ndarray of shape (n_frames,)
        First frame of each frame's recording .
    fraction : float in (0, 1)
        Share of each recording's windows to hold out.

    Returns
    -------
    held_out : ndarray of bool, shape (n_windows,)
        True for the ``round(fraction * n)`` last windows of each recording
        that has ``n`` windows; at least one when ``n >= 2`` and never all,
        so that every recording is seen on both sides of the split.
    """
    _, first, inverse, counts = np.unique(
        start[centers], return_index=True, return_inverse=True, return_counts=True
    )
    n_held = np.where(counts >= 2, np.clip(np.rint(fraction * counts), 1, counts - 1), 0)
    position = np.arange(len(centers)) - first[inverse]
    return position >= (counts - n_held)[inverse]


class RecordingChunkSplit:
    """skorch ``train_split``: validate on the last chunk of every recording.

    Parameters
    ----------
    fraction : float in (0, 1)
        Share of each recording's windows held out (see
        :func:`recording_chunks`).
    """

    def __init__(self, fraction):
        self.fraction = fraction

    def __call__(self, dataset, y=None, **fit_params):
        """Training and validation subsets of a :class:`WindowDataset`."""
        centers = dataset.centers.cpu().numpy()
        held = recording_chunks(centers, dataset.start.cpu().numpy(), self.fraction)
        held = torch.as_tensor(held, device=dataset.device)
        return dataset.subset(~held), dataset.subset(held)
