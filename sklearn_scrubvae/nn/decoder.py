"""Residual transposed-convolution decoder."""

import torch
from torch import nn

from .blocks import ResidualUpBlock, level_lengths


class ConvDecoder(nn.Module):
    """Decode a latent code (and nuisance) into a window of frames.

    Linear map to the flattened coarsest level, one :class:`ResidualUpBlock`
    per level back to the full window, and a final ``kernel_size`` convolution
    to the output features. The first ``n_bounded`` output features pass
    through tanh (6D rotations in skeleton mode); the rest are linear.

    Parameters
    ----------
    in_features : int
        Size of the decoder input, ``D + nuisance_dim``.
    window : int
        Frames per window.
    out_features : int
        Features per output frame.
    hidden_channels : tuple of int
        Channels per resolution level, finest first (as in the encoder).
    kernel_size : int
        Odd temporal kernel width.
    n_bounded : int, default=0
        Number of leading output features squashed by tanh.
    """

    def __init__(
        self, in_features, window, out_features, hidden_channels, kernel_size, n_bounded=0
    ):
        super().__init__()
        channels = list(hidden_channels)[::-1]
        lengths = level_lengths(window, len(channels))[::-1]
        self.coarse_shape = (channels[0], lengths[0])
        self.project = nn.Linear(in_features, channels[0] * lengths[0])
        self.blocks = nn.Sequential(
            *[
                ResidualUpBlock(c_in, c_out, kernel_size, l_out - (2 * l_in - 1))
                for c_in, c_out, l_in, l_out in zip(
                    channels[:-1], channels[1:], lengths[:-1], lengths[1:]
                )
            ]
        )
        self.head = nn.Conv1d(channels[-1], out_features, kernel_size, padding=kernel_size // 2)
        self.n_bounded = n_bounded

    def forward(self, z):
        """Decode.

        Parameters
        ----------
        z : Tensor of shape (B, in_features)

        Returns
        -------
        windows : Tensor of shape (B, window, out_features)
        """
        h = self.project(z).view(z.shape[0], *self.coarse_shape)
        out = self.head(self.blocks(h)).transpose(1, 2)
        if self.n_bounded == 0:
            return out
        bounded = torch.tanh(out[..., : self.n_bounded])
        return torch.cat([bounded, out[..., self.n_bounded :]], dim=-1)
