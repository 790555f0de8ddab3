"""How frames become encoder inputs and how reconstructions are scored."""

from torch import nn

from .losses import gaussian_nll


class FeatureRepresentation(nn.Module):
    """Generic continuous features, already standardised per feature.

    The encoder sees the window as it is; the reconstruction error is the
    Gaussian negative log-likelihood with unit variance in standardised units.

    Parameters
    ----------
    n_features : int
        Features per frame.
    """

    n_bounded = 0

    def __init__(self, n_features):
        super().__init__()
        self.n_channels = n_features

    def inputs(self, frames):
        """Encoder input of a batch of windows.

        Parameters
        ----------
        frames : dict
            ``frames["features"]`` of shape (B, window, n_features).

        Returns
        -------
        x : Tensor of shape (B, window, n_features)
        """
        return frames["features"]

    def reconstruction_error(self, decoded, frames):
        """Negative log-likelihood of the windows, shape (B,)."""
        return gaussian_nll(decoded, frames["features"])
