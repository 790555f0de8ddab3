"""Per-frame model inputs: how X becomes frames and decoded windows become X again."""

import numpy as np

from .nn.representations import FeatureRepresentation


class FeatureInput:
    """Generic continuous features, standardised per feature.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation learnt in :meth:`fit`.
    """

    def fit(self, X):
        """Learn per-feature mean and scale of ``X`` (n_frames, n_features)."""
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def frames(self, X):
        """Model inputs per frame.

        Parameters
        ----------
        X : ndarray of shape (n_frames, n_features)

        Returns
        -------
        frames : dict
            ``"features"``: float32 array of shape (n_frames, n_features).
        valid : None
            Every frame is usable (generic inputs are checked to be finite).
        """
        return {"features": ((X - self.mean_) / self.scale_).astype(np.float32)}, None

    def representation(self):
        """The torch representation matching these inputs."""
        return FeatureRepresentation(len(self.mean_))

    def log_det_jacobian(self, window):
        """Log-density correction from standardised to original units, per window."""
        return -window * np.log(self.scale_).sum()

    def to_windows(self, decoded, frames=None):
        """Decoded windows in X's units.

        Parameters
        ----------
        decoded : ndarray of shape (n, window, n_features)
        frames : ignored

        Returns
        -------
        windows : ndarray of shape (n, window, n_features)
        """
        return decoded * self.scale_ + self.mean_
