"""The interface shared by every scrubber, and its input checks."""

import numbers

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from torch import nn

# Constraints of the options shared by several scrubbers.
POSITIVE = Interval(numbers.Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(numbers.Real, 0, None, closed="left")
UNIT = Interval(numbers.Real, 0, 1, closed="both")
COUNT = Interval(numbers.Integral, 1, None, closed="left")


def check_hidden(hidden: int | tuple[int, ...] | list[int], caller: str) -> tuple[int, ...]:
    """The hidden layer widths of an MLP as a tuple of positive ints.

    ``hidden`` itself is checked by the scrubber's constraints (an int, a
    tuple or a list); this checks every width. ``caller`` names the
    scrubber in the error message.
    """
    hidden = (hidden,) if isinstance(hidden, numbers.Integral) else tuple(hidden)
    for width in hidden:
        validate_parameter_constraints(
            {"hidden width": [COUNT]}, {"hidden width": width}, caller_name=caller
        )
    return tuple(int(width) for width in hidden)


class BaseScrubber(nn.Module):
    """Base class of the scrubbers: critics of nuisance information in z.

    A scrubber watches the posterior means ``mu`` of a conditional VAE and the
    nuisance variable ``v`` of the same windows, and returns a penalty that the
    encoder minimises (weighted by the user's lambda) so that ``v`` can no
    longer be predicted from ``mu``. One scrubber handles one nuisance
    variable. Its state lives in buffers and parameters, so ``.to(device)``
    moves it and pickling keeps it.

    The training loop calls, for every batch:

    1. ``penalty(mu, v)`` inside the graph; the encoder minimises
       ``lam * penalty``. Scrubbers with trainable parameters (adversaries)
       expose them through ``parameters()`` so the loop's optimiser steps them
       with the VAE.
    2. ``update(mu.detach(), v)`` after the optimiser step: running statistics,
       forgetting factors, reference batches, private critic steps.

    and ``reset()`` at the start of every epoch, ``summary()`` at its end.

    Parameters
    ----------
    n_components : int
        Dimension ``D`` of the latent code.
    n_outputs : int
        Number of classes ``k`` of a categorical ``v``, or number of columns
        ``k`` of a continuous ``v``.
    categorical : bool
        Whether ``v`` holds class indices (LongTensor of shape ``(B,)`` with
        values in ``[0, k)``) or standardised values (float tensor of shape
        ``(B, k)``).
    generator : torch.Generator, default=None
        Source of randomness (initial weights, shuffles). ``None`` draws a
        private generator seeded from torch's global generator.

    Attributes
    ----------
    categorical_only : bool
        Class attribute: whether the scrubber needs a categorical ``v``.
    """

    categorical_only = False

    _parameter_constraints: dict = {
        "n_components": [COUNT],
        "n_outputs": [COUNT],
        "categorical": ["boolean"],
        "generator": [torch.Generator, None],
    }

    def __init__(
        self,
        n_components: int,
        n_outputs: int,
        *,
        categorical: bool,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self._validate_params(
            n_components=n_components, n_outputs=n_outputs, categorical=categorical,
            generator=generator,
        )
        if self.categorical_only and not categorical:
            raise ValueError(
                f"{type(self).__name__} needs a categorical nuisance variable; "
                "got categorical=False."
            )
        self.n_components = int(n_components)
        self.n_outputs = int(n_outputs)
        self.categorical = bool(categorical)
        if generator is None:
            generator = torch.Generator()
            generator.manual_seed(int(torch.randint(2**62, (1,)).item()))
        self.generator = generator

    def _validate_params(self, **params):
        """Check constructor arguments against :attr:`_parameter_constraints`.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            A ValueError and TypeError naming the parameter and what it accepts.
        """
        validate_parameter_constraints(
            self._parameter_constraints, params, caller_name=type(self).__name__
        )

    def penalty(self, mu: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Scrubbing loss of a batch, minimised by the encoder.

        Parameters
        ----------
        mu : Tensor of shape (B, D)
            Posterior means, inside the graph.
        v : Tensor of shape (B,) (categorical) or (B, k) (continuous)
            Nuisance variable of the same windows.

        Returns
        -------
        penalty : Tensor of shape ()
            Finite scalar, differentiable with respect to ``mu``.
        """
        raise NotImplementedError

    def update(self, mu: torch.Tensor, v: torch.Tensor) -> None:
        """Learn from a batch after the optimiser step (default: nothing).

        Parameters
        ----------
        mu : Tensor of shape (B, D)
            Detached posterior means.
        v : Tensor of shape (B,) or (B, k)
            Nuisance variable of the same windows.
        """

    def reset(self) -> None:
        """Prepare a new epoch (default: nothing)."""

    def summary(self) -> dict[str, float]:
        """Numbers worth logging once per epoch (default: none).

        Returns
        -------
        summary : dict of str to float
        """
        return {}

    def extra_repr(self):
        return (
            f"n_components={self.n_components}, n_outputs={self.n_outputs}, "
            f"categorical={self.categorical}"
        )

    def _check_inputs(self, mu, v):
        """Validate a batch and return it with ``v`` on ``mu``'s device."""
        if not isinstance(mu, torch.Tensor) or not isinstance(v, torch.Tensor):
            raise TypeError("mu and v must be torch tensors.")
        if mu.ndim != 2 or mu.shape[1] != self.n_components:
            raise ValueError(
                f"mu must have shape (B, {self.n_components}), got {tuple(mu.shape)}."
            )
        if not mu.is_floating_point():
            raise TypeError(f"mu must be a floating point tensor, got {mu.dtype}.")
        if mu.shape[0] == 0:
            raise ValueError("The batch is empty.")
        if self.categorical:
            if v.is_floating_point() or v.is_complex() or v.dtype == torch.bool:
                raise TypeError(
                    "A categorical v must be an integer tensor of class indices, "
                    f"got dtype {v.dtype}."
                )
            if v.ndim != 1:
                raise ValueError(
                    f"A categorical v must have shape (B,), got {tuple(v.shape)}."
                )
            if bool(((v < 0) | (v >= self.n_outputs)).any()):
                raise ValueError(
                    f"Class indices in v must lie in [0, {self.n_outputs})."
                )
            v = v.to(device=mu.device, dtype=torch.long)
        else:
            if v.ndim != 2 or v.shape[1] != self.n_outputs:
                raise ValueError(
                    f"A continuous v must have shape (B, {self.n_outputs}), "
                    f"got {tuple(v.shape)}."
                )
            v = v.to(device=mu.device, dtype=mu.dtype)
        if v.shape[0] != mu.shape[0]:
            raise ValueError(
                f"mu and v hold {mu.shape[0]} and {v.shape[0]} rows; they must match."
            )
        return mu, v

    def _targets(self, v, dtype):
        """``v`` as a float matrix of shape (B, k): one-hot when categorical."""
        if self.categorical:
            return F.one_hot(v, self.n_outputs).to(dtype)
        return v
