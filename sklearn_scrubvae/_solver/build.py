"""Building the module and the net from plain values, for a fit and for a load.

A *spec* is a dict of plain values: the estimator's hyper-parameters
(``n_components``, ``window``, ``hidden_channels``, ``lam``, ...) plus

- ``"representation"``: the input representation, ``{"kind": "features",
  "n_features": int}`` or ``{"kind": "skeleton", "skeleton": Skeleton,
  "alignment": str, "root_scale": float, "length_scale": float}``, each
  with an optional ``"masked": bool`` (frames carry a ``"present"`` mask;
  default False);
- ``"nuisance_dim"``: width of the decoder's nuisance input;
- ``"scrubbers"``: ``{key: {"name": str, "n_outputs": int, "categorical":
  bool}}``, one entry per scrubbed column (keys from :func:`scrubber_key`).
"""

import numbers

import torch
from skorch.history import History

from ..nn.model import ScrubbedVAE
from ..nn.representations import FeatureRepresentation, SkeletonRepresentation
from ..scrubbers import SCRUBBERS, make_scrubber
from .callbacks import make_callbacks
from .data import RecordingChunkSplit
from .device import make_generator, seeded
from .net import ScrubbedVAENet
from .state import load_module_state

FUSED_ADAMW_DEVICES = ("cpu", "cuda")
"""Device types where AdamW updates every parameter in one fused kernel.

On the CPU, torch's default (one loop of element-wise operations per
parameter tensor) took 130 ms per step for the paper's network (12.9 M
parameters, one thread), the fused kernel 16 ms.
"""


def check_architecture(spec):
    """Check the hyper-parameters of the network that parameter constraints cannot express.

    Parameters
    ----------
    spec : dict
        With ``window``, ``kernel_size``, ``hidden_channels`` and ``scrubber``.

    Raises
    ------
    ValueError
    """
    if spec["window"] % 2 == 0:
        raise ValueError(
            f"window must be odd so windows have a centre frame, got {spec['window']}."
        )
    if spec["kernel_size"] % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got {spec['kernel_size']}.")
    channels = spec["hidden_channels"]
    if len(channels) == 0 or any(not isinstance(c, numbers.Integral) or c < 1 for c in channels):
        raise ValueError(
            f"hidden_channels must be a non-empty tuple of positive ints, got {channels!r}."
        )
    if isinstance(spec["scrubber"], dict):
        unknown = {name for name in spec["scrubber"].values() if name not in SCRUBBERS}
        if unknown:
            raise ValueError(
                f"Unknown scrubber name(s) {sorted(unknown)}; choose from {sorted(SCRUBBERS)}."
            )


def scrubber_key(column):
    """Name of a column's scrubber in the module (no dots: a submodule name)."""
    return str(column).replace(".", "_")


def scrubber_options(name, spec):
    """Constructor options of scrubber ``name`` from the hyper-parameters."""
    options = {
        "gr": {"alpha": spec["alpha"]},
        "nd": {"alpha": spec["alpha"]},
        "mals": {"poly_order": spec["poly_order"], "forgetting_factor": spec["forgetting_factor"]},
        "qd": {"forgetting_factor": spec["forgetting_factor"]},
    }.get(name, {})
    return {**options, **(spec["scrubber_params"] or {}).get(name, {})}


def make_representation(kind, root_velocity_weight=0.0, **values):
    """The torch input representation described by ``spec["representation"]``.

    ``root_velocity_weight`` (the estimator's parameter) weighs the root-step
    term of skeleton windows; generic features ignore it.
    """
    masked = values.get("masked", False)
    if kind == "features":
        return FeatureRepresentation(values["n_features"], masked)
    return SkeletonRepresentation(
        values["skeleton"], values["alignment"], values["root_scale"], values["length_scale"],
        masked, root_velocity_weight,
    )


def build_module(spec, *, seed, generator):
    """A freshly initialised :class:`~sklearn_scrubvae.nn.model.ScrubbedVAE`.

    Parameters
    ----------
    spec : dict
        See the module docstring.
    seed : int
        Seeds the weight initialisation (torch's global generator is
        restored afterwards).
    generator : torch.Generator
        The scrubbers' private source of randomness.

    Returns
    -------
    module : ScrubbedVAE
    """
    with seeded(seed):
        scrubbers = {
            key: make_scrubber(
                scrubber["name"],
                n_components=spec["n_components"],
                n_outputs=scrubber["n_outputs"],
                categorical=scrubber["categorical"],
                generator=generator,
                **scrubber_options(scrubber["name"], spec),
            )
            for key, scrubber in spec["scrubbers"].items()
        }
        return ScrubbedVAE(
            make_representation(
                **spec["representation"], root_velocity_weight=spec["root_velocity_weight"]
            ),
            window=spec["window"],
            n_components=spec["n_components"],
            nuisance_dim=spec["nuisance_dim"],
            conditional=spec["conditional"],
            hidden_channels=tuple(spec["hidden_channels"]),
            kernel_size=spec["kernel_size"],
            covariance=spec["covariance"],
            scrubbers=scrubbers,
        )


def build_net(spec, module, *, device, generator=None, run=None):
    """The :class:`ScrubbedVAENet` that trains and runs ``module`` (not initialised).

    Parameters
    ----------
    spec : dict
    module : ScrubbedVAE
    device : torch.device
    generator : torch.Generator or None, default=None
        Shuffling and posterior-sample noise.
    run : dict or None, default=None
        Fingerprint of the run, checked by a resumed checkpoint.

    Returns
    -------
    net : ScrubbedVAENet
    """
    callbacks = make_callbacks(
        verbose=spec["verbose"],
        gradient_clip=spec["gradient_clip"],
        early_stopping=spec["early_stopping"],
        n_iter_no_change=spec["n_iter_no_change"],
        tol=spec["tol"],
        checkpoint_dir=spec["checkpoint_dir"],
        checkpoint_every=spec["checkpoint_every"],
        run=run,
    )
    split = RecordingChunkSplit(spec["validation_fraction"]) if spec["early_stopping"] else None
    return ScrubbedVAENet(
        module,
        criterion__beta=spec["beta"],
        criterion__lam=spec["lam"],
        precision=spec["precision"],
        compile=spec["compile"],
        generator=generator,
        iterator_train__generator=generator,
        optimizer=torch.optim.AdamW,
        lr=spec["learning_rate"],
        optimizer__weight_decay=spec["weight_decay"],
        optimizer__fused=torch.device(device).type in FUSED_ADAMW_DEVICES,
        max_epochs=spec["max_iter"],
        batch_size=spec["batch_size"],
        train_split=split,
        callbacks=callbacks,
        device=device,
        verbose=0,  # the epoch log callback reports progress
        torch_load_kwargs={"weights_only": False},
    )


def restore_net(spec, state, history, device):
    """An initialised net around saved weights, as a fit with ``spec`` builds it.

    Parameters
    ----------
    spec : dict
    state : dict of str -> Tensor
        The module's saved ``state_dict``.
    history : list of dict
        The saved training history.
    device : torch.device

    Returns
    -------
    net : ScrubbedVAENet
    """
    # Initial weights (seeded, for speed and determinism) are all overwritten.
    module = build_module(spec, seed=0, generator=make_generator(0, device))
    load_module_state(module, state)
    net = build_net(spec, module, device=device)
    net.initialize()
    net.history = History(history)
    return net
