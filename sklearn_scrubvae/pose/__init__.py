"""Poses as numpy arrays: skeletons, kinematics, alignment, features, gaps.

Poses are float arrays of shape (n_frames, n_keypoints, n_dims) with NaN
where a keypoint is missing: 3D poses (``n_dims=3``) in a world frame whose
z axis points up, or 2D poses (``n_dims=2``) in image coordinates. Kinematics
(``inverse_kinematics``, ``forward_kinematics``) need 3D; the features, gap
tools and ``EgocentricAligner`` take both.
"""

from .aligner import EgocentricAligner
from .alignment import align_egocentric, heading_angle
from .breaks import find_recording_breaks
from .features import (
    compute_body_size,
    compute_heading,
    compute_speed,
    compute_tracking_errors,
)
from .gaps import interpolate_gaps
from .kinematics import forward_kinematics, inverse_kinematics
from .missing import (
    compute_mean_pose,
    compute_pose_covariance,
    count_unusable_frames,
    impute_keypoints,
    missing_report,
)
from .resample import resample_poses
from .rotations import matrix_to_rotation_6d, rotation_6d_to_matrix
from .skeleton import MOUSE18, Skeleton, get_skeleton, match_keypoints

__all__ = [
    "MOUSE18",
    "EgocentricAligner",
    "Skeleton",
    "align_egocentric",
    "compute_body_size",
    "compute_heading",
    "compute_mean_pose",
    "compute_pose_covariance",
    "compute_speed",
    "compute_tracking_errors",
    "count_unusable_frames",
    "find_recording_breaks",
    "forward_kinematics",
    "get_skeleton",
    "heading_angle",
    "impute_keypoints",
    "interpolate_gaps",
    "inverse_kinematics",
    "match_keypoints",
    "matrix_to_rotation_6d",
    "missing_report",
    "resample_poses",
    "rotation_6d_to_matrix",
]
