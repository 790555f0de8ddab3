"""Devices, numerical precision and seeding of the torch side."""

from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from sklearn.utils import check_random_state

PRECISIONS = ("32", "bf16")


def resolve_device(device):
    """Torch device for a ``device`` parameter value.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` picks CUDA, then Apple MPS, then the CPU.

    Returns
    -------
    device : torch.device
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"Unknown device {device!r}.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was requested but CUDA is not available.")
    return device


def check_precision(precision, device):
    """Validate a ``precision`` parameter value for ``device``.

    Parameters
    ----------
    precision : {"32", "bf16"}
        "32" computes in float32 (TF32 matrix products on CUDA); "bf16"
        runs the network's forward pass under bfloat16 autocast.
    device : torch.device

    Returns
    -------
    precision : str
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "bf16":
        supported = torch.amp.autocast_mode.is_autocast_available(device.type) and (
            device.type != "cuda" or torch.cuda.is_bf16_supported()
        )
        if not supported:
            raise ValueError(f"precision='bf16' is not supported on device {str(device)!r}.")
    return precision


def autocast(device, precision):
    """Context of the network's forward pass: bf16 autocast or nothing.

    Parameters
    ----------
    device : torch.device
    precision : {"32", "bf16"}

    Returns
    -------
    context : context manager
    """
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


@contextmanager
def fast_float32(device):
    """Allow TensorFloat-32 matrix products on CUDA for the duration.

    Convolutions already use TF32 by default in torch; this extends it to
    the linear layers and scrubber algebra. The previous setting is
    restored on exit; other devices are left alone.

    Parameters
    ----------
    device : torch.device
    """
    if device.type != "cuda":
        yield
        return
    matmul = torch.backends.cuda.matmul
    previous = matmul.fp32_precision
    matmul.fp32_precision = "tf32"
    try:
        yield
    finally:
        matmul.fp32_precision = previous


def draw_seed(random_state):
    """A 31-bit seed drawn from a ``random_state`` parameter value.

    Parameters
    ----------
    random_state : int, RandomState instance or None

    Returns
    -------
    seed : int
    """
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def make_generator(seed, device):
    """A private torch generator on ``device``, seeded with ``seed``.

    Parameters
    ----------
    seed : int
    device : torch.device

    Returns
    -------
    generator : torch.Generator
    """
    return torch.Generator(device=device).manual_seed(seed)


@contextmanager
def seeded(seed):
    """Seed torch's global CPU generator inside the block and restore it after.

    For code that draws from the global generator (the default weight
    initialisation of torch layers) without changing the caller's stream.

    Parameters
    ----------
    seed : int
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


DEVICE_MEMORY_SHARE = 0.5
"""Largest share of an accelerator's free memory that training frames may take."""


def frames_fit_on_device(nbytes, device):
    """Whether ``nbytes`` of per-frame inputs should live on ``device``.

    On the CPU they always do (host memory is the device). On CUDA they do
    when they take at most :data:`DEVICE_MEMORY_SHARE` of the free memory,
    leaving the rest to the network's activations; otherwise frames stay
    in host memory and each batch is moved to the device. Other
    accelerators (MPS) keep the frames on the device.

    Parameters
    ----------
    nbytes : int
    device : torch.device

    Returns
    -------
    fits : bool
    """
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= DEVICE_MEMORY_SHARE * free


@contextmanager
def network_precision(device, precision):
    """TF32 matrix products (CUDA) and, for "bf16", autocast: the network's arithmetic.

    Parameters
    ----------
    device : torch.device
    precision : {"32", "bf16"}
    """
    with fast_float32(device), autocast(device, precision):
        yield
