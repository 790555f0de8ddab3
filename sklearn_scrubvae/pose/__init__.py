"""Poses as numpy arrays: skeletons, kinematics, alignment and features.

Poses are float arrays of shape (n_frames, n_keypoints, 3) in a world frame
whose z axis points up, with NaN where a keypoint is missing.
"""

from .alignment import align_egocentric, heading_angle
from .features import (
    compute_body_size,
    compute_heading,
    compute_speed,
    compute_tracking_errors,
)
from .gaps import interpolate_gaps
from .kinematics import forward_kinematics, inverse_kinematics
from .rotations import matrix_to_rotation_6d, rotation_6d_to_matrix
from .skeleton import MOUSE18, Skeleton, get_skeleton, match_keypoints

__all__ = [
    "MOUSE18",
    "Skeleton",
    "align_egocentric",
    "compute_body_size",
    "compute_heading",
    "compute_speed",
    "compute_tracking_errors",
    "forward_kinematics",
    "get_skeleton",
    "heading_angle",
    "interpolate_gaps",
    "inverse_kinematics",
    "match_keypoints",
    "matrix_to_rotation_6d",
    "rotation_6d_to_matrix",
]
