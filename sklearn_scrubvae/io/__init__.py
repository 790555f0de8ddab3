"""Loading keypoint tracks from files (arrays, HDF5, MATLAB, trackers)."""

from ._load import load_poses

__all__ = ["load_poses"]
