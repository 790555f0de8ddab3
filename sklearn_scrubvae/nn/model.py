"""The conditional VAE with its scrubbers, as one torch module."""

import torch
from torch import nn

from .decoder import ConvDecoder
from .encoder import ConvEncoder
from .losses import gaussian_kl


class ScrubbedVAE(nn.Module):
    """Conditional VAE whose latent code is scrubbed of nuisance variables.

    Parameters
    ----------
    representation : nn.Module
        Maps gathered frames to encoder inputs and scores reconstructions
        (see :mod:`sklearn_scrubvae.nn.representations`).
    window : int
        Frames per window.
    n_components : int
        Latent dimension D.
    nuisance_dim : int
        Width of the encoded nuisance vector v.
    conditional : bool
        Whether the decoder sees ``concat(z, v)`` (C-VAE) or ``z`` alone.
    hidden_channels : tuple of int
        Channels per resolution level.
    kernel_size : int
        Odd temporal kernel width.
    covariance : {"full", "diag"}
        Posterior covariance structure.
    scrubbers : dict of str -> BaseScrubber
        One scrubber per scrubbed nuisance column (may be empty).
    """

    def __init__(
        self,
        representation,
        window,
        n_components,
        nuisance_dim,
        conditional,
        hidden_channels,
        kernel_size,
        covariance,
        scrubbers,
    ):
        super().__init__()
        self.representation = representation
        self.conditional = conditional
        n_channels = representation.n_channels
        self.encoder = ConvEncoder(
            representation.n_inputs,
            window,
            n_components,
            hidden_channels,
            kernel_size,
            covariance,
            n_mask=representation.n_mask,
        )
        decoder_in = n_components + (nuisance_dim if conditional else 0)
        self.decoder = ConvDecoder(
            decoder_in,
            window,
            n_channels,
            hidden_channels,
            kernel_size,
            n_bounded=representation.n_bounded,
        )
        self.scrubbers = nn.ModuleDict(scrubbers)

    def encode(self, frames):
        """Posterior mean (B, D) and Cholesky factor (B, D, D) of gathered windows."""
        mask = frames["present"] if self.representation.masked else None
        return self.encoder(self.representation.inputs(frames), mask)

    def decode(self, z, nuisance):
        """Decode latent codes (B, D) with encoded nuisance (B, nuisance_dim)."""
        if self.conditional:
            z = torch.cat([z, nuisance], dim=1)
        return self.decoder(z)

    def forward(self, frames, nuisance, generator=None, noise_rows=None):
        """Encode, sample with the reparameterisation trick, decode.

        Parameters
        ----------
        frames : dict of str -> Tensor of shape (B, window, ...)
        nuisance : Tensor of shape (B, nuisance_dim)
        generator : torch.Generator, optional
            Source of the posterior sample's noise.
        noise_rows : tuple of (int, int), optional
            ``(offset, n)``: the batch is rows ``offset:offset + B`` of a
            batch of ``n`` windows split across processes; the noise of all
            ``n`` is drawn and these rows used, so that a window's sample
            does not depend on the split.

        Returns
        -------
        mu : Tensor of shape (B, D)
        kl : Tensor of shape (B,)
        decoded : Tensor of shape (B, window, n_channels)
        """
        mu, scale_tril = self.encode(frames)
        offset, n = (0, len(mu)) if noise_rows is None else noise_rows
        noise = torch.randn(
            (n, mu.shape[1]), generator=generator, device=mu.device, dtype=mu.dtype
        )[offset : offset + len(mu)]
        z = mu + (scale_tril @ noise.unsqueeze(-1)).squeeze(-1)
        return mu, gaussian_kl(mu, scale_tril), self.decode(z, nuisance)

    def scrub_penalty(self, mu, targets):
        """Sum of the scrubbers' penalties on ``mu`` (scalar tensor)."""
        total = mu.new_zeros(())
        for name, scrubber in self.scrubbers.items():
            total = total + scrubber.penalty(mu, targets[name])
        return total

    def update_scrubbers(self, mu, targets):
        """Feed a detached batch to every scrubber after an optimiser step."""
        for name, scrubber in self.scrubbers.items():
            scrubber.update(mu, targets[name])

    def reset_scrubbers(self):
        """Start-of-epoch hook of every scrubber."""
        for scrubber in self.scrubbers.values():
            scrubber.reset()

    def scrubber_summary(self):
        """Per-scrubber numbers to log, as ``{"<column>_<key>": value}``."""
        return {
            f"{name}_{key}": value
            for name, scrubber in self.scrubbers.items()
            for key, value in scrubber.summary().items()
        }
