"""Saving fitted estimators without pickle: weights as safetensors, the rest as JSON.

A saved model is one ``.safetensors`` file. Its tensors are the torch
module's ``state_dict`` (weights and scrubber buffers); its header metadata
holds one JSON document with the constructor parameters, the fitted
attributes (nuisance encoding, input standardisation, skeleton, history...)
and the versions of the package and of torch that wrote it. Loading
executes no pickled code: JSON values are rebuilt only into plain Python
values, numpy arrays, :class:`~sklearn_scrubvae.pose.Skeleton` and a fixed
set of this package's helper classes.
"""

import hashlib
import json
import os
import warnings
from pathlib import Path, PurePath

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ._solver.device import resolve_device
from ._frames.inputs import FeatureInput, SkeletonInput
from ._frames.nuisance import NuisanceEncoder
from ._version import __version__
from .pose import Skeleton

FORMAT = "sklearn_scrubvae.ScrubbedCVAE/1"
_METADATA_KEY = "sklearn_scrubvae"
_MODULE_PREFIX = "module."
# Fitted attributes held elsewhere in the file (the weights and the history
# are both part of the skorch net) or recomputed on load (the device).
_NOT_IN_JSON = {"net_", "device_"}
# Plain helper classes whose instance dicts may be rebuilt from a file.
# Parameters that may change between a run and its resumption.
_RESUMABLE = {
    "max_iter", "verbose", "device", "checkpoint_dir", "checkpoint_every", "warm_start",
    "on_divergence",
}
_OBJECT_CLASSES = {cls.__name__: cls for cls in (FeatureInput, SkeletonInput, NuisanceEncoder)}
# Parameters added since the first file format, with the value that gives
# the behaviour of files written before them.
_ADDED_PARAMS = {"min_keypoints": 1.0, "root_velocity_weight": 0.0}


class InconsistentVersionWarning(UserWarning):
    """A model file was written by another version of sklearn_scrubvae."""


def save_estimator(estimator, path):
    """Write a fitted estimator to ``path`` (a ``.safetensors`` file).

    The file is written next to its destination and renamed into place, so
    an interrupted save never leaves a truncated model behind.

    Parameters
    ----------
    estimator : ScrubbedCVAE
        A fitted estimator.
    path : str or path-like
        Destination file.
    """
    params = estimator.get_params(deep=False)
    if not isinstance(params["random_state"], (int, np.integer, type(None))):
        warnings.warn(
            "random_state is a RandomState instance, which cannot be saved as JSON; the "
            "saved model records random_state=None.",
            UserWarning,
            stacklevel=3,
        )
        params["random_state"] = None
    fitted = {
        name: value
        for name, value in vars(estimator).items()
        if name.endswith("_") and not name.startswith("__") and name not in params
        and name not in _NOT_IN_JSON
    }
    document = {
        "format": FORMAT,
        "versions": {"sklearn_scrubvae": __version__, "torch": torch.__version__},
        "device": str(estimator.device_),
        "params": encode_value(params),
        "fitted": encode_value(fitted),
        "history": encode_value(list(estimator.history_)),
    }
    module = getattr(estimator.module_, "_orig_mod", estimator.module_)  # torch.compile
    tensors = {
        _MODULE_PREFIX + name: tensor.detach().cpu().contiguous().clone()
        for name, tensor in module.state_dict().items()
    }
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    save_file(tensors, partial, metadata={_METADATA_KEY: json.dumps(document)})
    os.replace(partial, path)


def load_estimator(cls, path, device=None):
    """Rebuild the parameters and fitted attributes of an estimator saved by :func:`save_estimator`.

    Parameters
    ----------
    cls : type
        The estimator class (``ScrubbedCVAE``).
    path : str or path-like
        File written by ``save``.
    device : str, torch.device or None, default=None
        Where to put the model. None: the device it was saved from when it
        is available here, else the CPU (with a warning).

    Returns
    -------
    estimator : ScrubbedCVAE
        With its parameters and fitted attributes, ``device_`` included,
        but no ``net_`` yet.
    state : dict of str -> Tensor
        The module's ``state_dict``, on the CPU.
    history : list of dict
        The training history.
    """
    document, state = read_model_file(path)
    estimator = cls(**{**_ADDED_PARAMS, **decode_value(document["params"])})
    vars(estimator).update(decode_value(document["fitted"]))
    if device is None:
        try:
            device = resolve_device(document["device"])
        except ValueError:
            warnings.warn(
                f"The model was saved from device {document['device']!r}, which is not "
                "available here; loading it on the CPU.",
                UserWarning,
                stacklevel=3,
            )
            device = torch.device("cpu")
    estimator.device_ = resolve_device(device)
    return estimator, state, decode_value(document["history"])


def run_fingerprint(params, fitted, n_features_in, n_windows):
    """What a checkpoint must match to be resumed: parameters and a data fingerprint.

    Parameters
    ----------
    params : dict
        The estimator's parameters; those that may change between a run
        and its resumption (``max_iter``, ``verbose``...) are left out.
    fitted : dict
        Fitted encodings of the data (input standardisation, nuisance
        encoding).
    n_features_in, n_windows : int

    Returns
    -------
    run : dict
        JSON-able.
    """
    data = json.dumps(encode_value(fitted), sort_keys=True).encode()
    return {
        **{name: repr(value) for name, value in params.items() if name not in _RESUMABLE},
        "n_features_in": int(n_features_in),
        "n_windows": int(n_windows),
        "data": hashlib.sha256(data).hexdigest(),
    }


def read_model_file(path):
    """The JSON document and module state of a saved model.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    document : dict
        Format, versions, device, parameters, fitted attributes, history
        (still encoded; see :func:`load_estimator`).
    state : dict of str -> Tensor
        The module's ``state_dict``, on the CPU.

    Warns
    -----
    InconsistentVersionWarning
        When the file was written by another version of the package.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No saved model at {str(path)!r}.")
    try:
        with safe_open(path, framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            state = {
                name[len(_MODULE_PREFIX) :]: handle.get_tensor(name)
                for name in handle.keys()
                if name.startswith(_MODULE_PREFIX)
            }
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(f"{str(path)!r} is not a saved sklearn_scrubvae model: {exc}") from exc
    if _METADATA_KEY not in metadata:
        raise ValueError(f"{str(path)!r} is a safetensors file but not a saved ScrubbedCVAE.")
    document = json.loads(metadata[_METADATA_KEY])
    if document.get("format") != FORMAT:
        raise ValueError(
            f"{str(path)!r} holds format {document.get('format')!r}; this version of "
            f"sklearn_scrubvae reads {FORMAT!r}."
        )
    saved = document["versions"]["sklearn_scrubvae"]
    if saved != __version__:
        warnings.warn(
            f"This model was saved with sklearn_scrubvae {saved} (torch "
            f"{document['versions']['torch']}) and is loaded with {__version__} (torch "
            f"{torch.__version__}); it may behave differently. Refit it or check its "
            "output.",
            InconsistentVersionWarning,
            stacklevel=4,
        )
    return document, state


# ------------------------------------------------------------------- JSON codec


def encode_value(value):
    """A JSON-ready form of ``value``; tagged dicts mark non-JSON types."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode_value(v) for k, v in value.items()}
        return {"__dict__": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufcUO":
            raise TypeError(f"Cannot save an array of dtype {value.dtype}.")
        objects = value.dtype.kind == "O"
        return {
            "__ndarray__": encode_value(value.tolist()) if objects else value.tolist(),
            "dtype": "object" if objects else value.dtype.str,
            "shape": list(value.shape),
        }
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, PurePath):
        return {"__path__": str(value)}
    if isinstance(value, Skeleton):
        _, (kwargs,) = value.__reduce__()
        return {"__skeleton__": encode_value(kwargs)}
    if type(value).__name__ in _OBJECT_CLASSES and type(value) is _OBJECT_CLASSES[
        type(value).__name__
    ]:
        return {"__object__": type(value).__name__, "state": encode_value(vars(value))}
    raise TypeError(
        f"Cannot save a value of type {type(value).__module__}.{type(value).__qualname__} "
        "without pickle; use pickle or joblib for this model."
    )


def decode_value(value):
    """Inverse of :func:`encode_value`."""
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(decode_value(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {decode_value(k): decode_value(v) for k, v in value["__dict__"]}
    if "__ndarray__" in value:
        if value["dtype"] == "object":
            flat = np.empty(int(np.prod(value["shape"])), dtype=object)
            flat[:] = list(_flatten(decode_value(value["__ndarray__"])))
            return flat.reshape(value["shape"])
        return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"])).reshape(
            value["shape"]
        )
    if "__device__" in value:
        return torch.device(value["__device__"])
    if "__path__" in value:
        return Path(value["__path__"])
    if "__skeleton__" in value:
        return Skeleton(**decode_value(value["__skeleton__"]))
    if "__object__" in value:
        cls = _OBJECT_CLASSES[value["__object__"]]
        obj = cls.__new__(cls)
        vars(obj).update(decode_value(value["state"]))
        return obj
    if any(k.startswith("__") for k in value):
        raise ValueError(f"Unknown entry in a saved model: {sorted(value)}.")
    return {k: decode_value(v) for k, v in value.items()}


def _flatten(nested):
    if isinstance(nested, list):
        for item in nested:
            yield from _flatten(item)
    else:
        yield nested

