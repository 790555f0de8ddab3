"""Small MLP ensembles for the adversarial scrubbers, and their private optimiser."""

import math

import torch
from torch import nn


class MLPEnsemble(nn.Module):
    """Independent MLPs with the same architecture, evaluated side by side.

    Parameters
    ----------
    n_inputs : int
        Input width.
    n_outputs : int
        Output width.
    hidden : tuple of int
        Widths of the hidden layers (ReLU after each); ``()`` gives linear
        members.
    n_members : int
        Number of MLPs.
    generator : torch.Generator
        Source of the initial weights.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        hidden: tuple[int, ...],
        n_members: int,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        widths = (n_inputs, *hidden, n_outputs)
        self.members = nn.ModuleList()
        for _ in range(n_members):
            layers = []
            for width_in, width_out in zip(widths[:-1], widths[1:]):
                layers += [nn.Linear(width_in, width_out), nn.ReLU()]
            self.members.append(nn.Sequential(*layers[:-1]))
        self.reset_parameters(generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate every member.

        Parameters
        ----------
        x : Tensor of shape (B, n_inputs)

        Returns
        -------
        y : Tensor of shape (n_members, B, n_outputs)
        """
        return torch.stack([member(x) for member in self.members])

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator) -> None:
        """Draw fresh weights, uniform in +-1/sqrt(fan_in) (PyTorch's scheme).

        Parameters
        ----------
        generator : torch.Generator
            Weights are drawn on the generator's device, then copied.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                bound = 1.0 / math.sqrt(module.in_features)
                for param in (module.weight, module.bias):
                    draw = torch.empty(
                        param.shape, dtype=param.dtype, device=generator.device
                    )
                    draw.uniform_(-bound, bound, generator=generator)
                    param.copy_(draw)


class PrivateAdam:
    """An Adam optimiser of one module's parameters, apart from the training loop's.

    It is built on first use and rebuilt when the module has moved to
    another device; it is not pickled (a loaded scrubber starts a fresh
    one, so that it loads anywhere).

    Parameters
    ----------
    module : nn.Module
    learning_rate : float
    """

    def __init__(self, module: nn.Module, learning_rate: float) -> None:
        self.module = module
        self.learning_rate = learning_rate
        self._optimizer, self._device = None, None

    def minimise(self, loss, n_iter: int) -> None:
        """Take ``n_iter`` steps on ``loss()``; no gradient is left on the module.

        Parameters
        ----------
        loss : callable
            ``loss() -> Tensor of shape ()``, a function of the module.
        n_iter : int
        """
        device = next(self.module.parameters()).device
        if self._optimizer is None or self._device != device:
            self._optimizer = torch.optim.Adam(
                self.module.parameters(), lr=self.learning_rate
            )
            self._device = device
        with torch.enable_grad():
            for _ in range(n_iter):
                self._optimizer.zero_grad(set_to_none=True)
                loss().backward()
                self._optimizer.step()
        self._optimizer.zero_grad(set_to_none=True)

    def __getstate__(self):
        return {**self.__dict__, "_optimizer": None, "_device": None}


class RecentBatches:
    """The last few detached batches, for an adversary to fit together.

    Fitted to the current batch alone, a small network overfits it and
    predicts the next batch worse; the last few batches together hold a
    few times more examples of codes that moved little in between.

    Parameters
    ----------
    size : int
        Number of batches kept, the newest included; 0 keeps none.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.batches = []

    def add(self, *tensors: torch.Tensor) -> None:
        """Keep a batch, dropping the oldest beyond ``size``.

        Parameters
        ----------
        *tensors : Tensor
            The parts of one batch (e.g. ``mu`` and ``v``), each with the
            batch along its first dimension.
        """
        self.batches.append(tensors)
        del self.batches[: max(len(self.batches) - self.size, 0)]

    def clear(self) -> None:
        """Forget every kept batch."""
        self.batches = []

    def concatenated(self) -> tuple[torch.Tensor, ...]:
        """The kept batches, one tensor per part, batches along the first dimension."""
        return tuple(torch.cat(parts) for parts in zip(*self.batches))
