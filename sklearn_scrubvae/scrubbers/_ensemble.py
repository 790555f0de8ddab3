"""A small ensemble of multilayer perceptrons used by the adversarial scrubbers."""

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

    def __init__(self, n_inputs, n_outputs, hidden, n_members, generator):
        super().__init__()
        widths = (n_inputs, *hidden, n_outputs)
        self.members = nn.ModuleList()
        for _ in range(n_members):
            layers = []
            for width_in, width_out in zip(widths[:-1], widths[1:]):
                layers += [nn.Linear(width_in, width_out), nn.ReLU()]
            self.members.append(nn.Sequential(*layers[:-1]))
        self.reset_parameters(generator)

    def forward(self, x):
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
    def reset_parameters(self, generator):
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
