"""Every public pose function and constructor validates its parameters."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError
from conftest import assert_parameters_validated

from sklearn_scrubvae import pose
from sklearn_scrubvae.pose import EgocentricAligner, Skeleton

POSES = np.random.default_rng(0).normal(size=(6, 18, 3))
TWO_KEYPOINTS = {"keypoint_names": ["body", "head"], "front": "head"}

CASES = {
    "heading_angle": (pose.heading_angle, {"poses": POSES}),
    "align_egocentric": (pose.align_egocentric, {"poses": POSES}),
    "find_recording_breaks": (pose.find_recording_breaks, {"poses": POSES}),
    "interpolate_gaps": (pose.interpolate_gaps, {"poses": POSES}),
    "resample_poses": (pose.resample_poses, {"poses": POSES, "fps": 30, "new_fps": 15}),
    "compute_speed": (pose.compute_speed, {"poses": POSES, "fps": 30}),
    "compute_heading": (pose.compute_heading, {"poses": POSES}),
    "compute_body_size": (pose.compute_body_size, {"poses": POSES}),
    "compute_tracking_errors": (
        pose.compute_tracking_errors, {"poses": POSES, "threshold": 1.0}
    ),
    "count_unusable_frames": (
        pose.count_unusable_frames, {"poses": POSES, "skeleton": "mouse18"}
    ),
    "missing_report": (pose.missing_report, {"poses": POSES, "skeleton": "mouse18"}),
    "compute_mean_pose": (pose.compute_mean_pose, {"poses": POSES, "skeleton": "mouse18"}),
    "impute_keypoints": (pose.impute_keypoints, {"poses": POSES, "mean_pose": POSES[0]}),
    "compute_pose_covariance": (
        pose.compute_pose_covariance, {"poses": POSES, "mean_pose": POSES[0]}
    ),
    "inverse_kinematics": (pose.inverse_kinematics, {"poses": POSES}),
    "forward_kinematics": (
        pose.forward_kinematics,
        {"rot6d": np.zeros((18, 6)), "root": np.zeros(3), "bone_lengths": np.ones(18)},
    ),
    "rotation_6d_to_matrix": (pose.rotation_6d_to_matrix, {}),
    "matrix_to_rotation_6d": (pose.matrix_to_rotation_6d, {}),
    "get_skeleton": (pose.get_skeleton, {}),
    "match_keypoints": (pose.match_keypoints, {"keypoint_names": ["a"], "target": ["a"]}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_functions_refuse_bad_parameters(name):
    func, required = CASES[name]
    assert_parameters_validated(func, name, required)


def test_skeleton_refuses_bad_parameters():
    required = {**TWO_KEYPOINTS, "parents": [-1, 0], "offsets": [[0, 0, 0], [1, 0, 0]]}
    assert_parameters_validated(Skeleton.__init__, "Skeleton.__init__", required, Skeleton)
    required = {**TWO_KEYPOINTS, "edges": [(0, 1)], "root": "body"}
    assert_parameters_validated(Skeleton.from_edges, "Skeleton.from_edges", required)


def test_aligner_refuses_bad_parameters():
    assert_parameters_validated(
        EgocentricAligner,
        "EgocentricAligner",
        call=lambda **params: EgocentricAligner(**params).fit(POSES),
    )


def test_every_public_callable_is_covered():
    covered = {*CASES, "Skeleton", "EgocentricAligner"}
    assert covered == set(pose.__all__) - {"MOUSE18"}


@pytest.mark.parametrize(
    "func, params, name",
    [
        (pose.align_egocentric, {"mode": "forward"}, "mode"),
        (pose.align_egocentric, {"center": 2.0}, "center"),
        (pose.find_recording_breaks, {"factor": 0}, "factor"),
        (pose.find_recording_breaks, {"context": 0}, "context"),
        (pose.interpolate_gaps, {"max_gap": -1}, "max_gap"),
        (pose.resample_poses, {"fps": 30, "new_fps": np.inf}, "new_fps"),
        (pose.compute_speed, {"fps": 0}, "fps"),
        (pose.compute_speed, {"fps": 30, "window": 0}, "window"),
        (pose.compute_tracking_errors, {"threshold": "2"}, "threshold"),
        (pose.missing_report, {"skeleton": "mouse18", "max_gap": 2.5}, "max_gap"),
        (pose.count_unusable_frames, {"skeleton": "mouse18", "max_gap": -1}, "max_gap"),
        (pose.inverse_kinematics, {"skeleton": 18}, "skeleton"),
    ],
)
def test_values_outside_the_documented_range_are_refused(func, params, name):
    """The ranges the docstrings give, independent of the declared constraints."""
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of {func.__name__}"):
        func(POSES, **params)
