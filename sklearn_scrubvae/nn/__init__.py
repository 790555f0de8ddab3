"""Torch building blocks: encoder, decoder, the scrubbed conditional VAE,
input representations, losses and differentiable kinematics."""

from .decoder import ConvDecoder
from .encoder import ConvEncoder
from .kinematics import forward_kinematics, rotation_6d_to_matrix
from .losses import gaussian_kl, gaussian_nll
from .model import ScrubbedVAE
from .representations import FeatureRepresentation, SkeletonRepresentation

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "FeatureRepresentation",
    "ScrubbedVAE",
    "SkeletonRepresentation",
    "forward_kinematics",
    "gaussian_kl",
    "gaussian_nll",
    "rotation_6d_to_matrix",
]
