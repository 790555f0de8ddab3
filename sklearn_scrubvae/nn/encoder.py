"""Residual 1-D convolutional encoder with a Gaussian posterior head."""

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ResidualDownBlock, level_lengths

_MIN_SCALE = 1e-4


class ConvEncoder(nn.Module):
    """Encode a window of frames into a Gaussian posterior over the latent code.

    Input convolution (``kernel_size`` wide) + PReLU at full resolution, then
    one :class:`ResidualDownBlock` per further entry of ``hidden_channels``,
    flatten, and two linear heads: the posterior mean and the Cholesky factor
    of its covariance (softplus on the diagonal), or its diagonal only.

    A presence mask, when there is one, enters the input convolution through
    weights of its own that start at zero: a freshly initialised encoder
    computes the same function, from the same random draws, with or without
    it, and training learns what the mask adds.

    Parameters
    ----------
    in_features : int
        Features per frame.
    window : int
        Frames per window.
    n_components : int
        Latent dimension D.
    hidden_channels : tuple of int
        Channels per resolution level.
    kernel_size : int
        Odd temporal kernel width.
    covariance : {"full", "diag"}
        Posterior covariance structure.
    n_mask : int, default=0
        Presence-mask channels per frame; 0 for none.
    """

    def __init__(
        self, in_features, window, n_components, hidden_channels, kernel_size, covariance,
        n_mask=0,
    ):
        super().__init__()
        self.n_components = n_components
        self.covariance = covariance
        channels = list(hidden_channels)
        self.stem = nn.Sequential(
            nn.Conv1d(in_features, channels[0], kernel_size, padding=kernel_size // 2),
            nn.PReLU(channels[0]),
        )
        self.blocks = nn.Sequential(
            *[
                ResidualDownBlock(c_in, c_out, kernel_size)
                for c_in, c_out in zip(channels[:-1], channels[1:])
            ]
        )
        flat = channels[-1] * level_lengths(window, len(channels))[-1]
        self.mean_head = nn.Linear(flat, n_components)
        n_scale = (
            n_components * (n_components + 1) // 2 if covariance == "full" else n_components
        )
        self.scale_head = nn.Linear(flat, n_scale)
        self.register_buffer(
            "tril_index", torch.tril_indices(n_components, n_components), persistent=False
        )
        # created last and without random draws: the other weights match an unmasked encoder's
        self.mask_weight = (
            nn.Parameter(torch.zeros(channels[0], n_mask, kernel_size)) if n_mask else None
        )

    def forward(self, x, mask=None):
        """Posterior parameters of a batch of windows.

        Parameters
        ----------
        x : Tensor of shape (B, window, in_features)
        mask : Tensor of shape (B, window, n_mask) or None, default=None
            Presence mask (1 observed, 0 missing); required with ``n_mask``.

        Returns
        -------
        mu : Tensor of shape (B, D)
            Posterior mean.
        scale_tril : Tensor of shape (B, D, D)
            Lower-triangular Cholesky factor of the posterior covariance
            (diagonal when ``covariance="diag"``).
        """
        conv, activation = self.stem
        h = conv(x.transpose(1, 2))
        if self.mask_weight is not None:
            h = h + F.conv1d(mask.transpose(1, 2), self.mask_weight, padding=conv.padding)
        h = self.blocks(activation(h)).flatten(1)
        mu = self.mean_head(h)
        raw = self.scale_head(h)
        D = self.n_components
        if self.covariance == "diag":
            return mu, torch.diag_embed(F.softplus(raw) + _MIN_SCALE)
        L = raw.new_zeros(raw.shape[0], D, D)
        L[:, self.tril_index[0], self.tril_index[1]] = raw
        diag = F.softplus(torch.diagonal(L, dim1=1, dim2=2)) + _MIN_SCALE
        return mu, torch.tril(L, diagonal=-1) + torch.diag_embed(diag)
