"""Egocentric alignment of windows of poses."""

from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import StrOptions, validate_params

from ._validation import check_poses
from .skeleton import Skeleton, get_skeleton


@validate_params(
    {"poses": ["array-like"], "skeleton": [Skeleton, str]},
    prefer_skip_nested_validation=True,
)
def heading_angle(poses: ArrayLike, skeleton: Skeleton | str = "mouse18") -> np.ndarray:
    """Yaw of the root -> front vector projected on the xy plane.

    Parameters
    ----------
    poses : array-like of shape (..., n_keypoints, n_dims)
        Keypoint positions, ``n_dims`` 2 or 3.
    skeleton : Skeleton or str, default="mouse18"
        Skeleton giving the root and front keypoints.

    Returns
    -------
    yaw : ndarray of shape (...)
        Angle in radians in [-pi, pi] from the +x axis, counter-clockwise;
        0 when the front keypoint lies straight above the root, NaN where
        either keypoint is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import MOUSE18, heading_angle
    >>> pose = np.zeros((18, 3))
    >>> pose[MOUSE18.index("SpineF")] = [0.0, 1.0, 0.0]  # front keypoint along +y
    >>> print(round(float(np.degrees(heading_angle(pose))), 1))
    90.0
    """
    skeleton = get_skeleton(skeleton)
    return _yaw(np.asarray(poses, dtype=np.float64), skeleton.root, skeleton.front)


def _yaw(poses, root, front):
    """Yaw of ``root -> front`` in the xy plane, see :func:`heading_angle`."""
    forward = poses[..., front, :2] - poses[..., root, :2]
    return np.arctan2(forward[..., 1], forward[..., 0])


def _align_to(poses, reference, root, front, rotate):
    """Translate (and turn) poses into the body frame of reference poses.

    Parameters
    ----------
    poses : ndarray of shape (..., n_frames, n_keypoints, n_dims)
    reference : ndarray of shape (..., n_keypoints, n_dims)
        One pose per leading index; its root goes to the origin in x and y.
    root, front : int
        Keypoint indices defining the body axis.
    rotate : bool
        Also turn about z so that the reference's heading points along +x.

    Returns
    -------
    aligned : ndarray of shape (..., n_frames, n_keypoints, n_dims)
    """
    aligned = poses.copy()
    aligned[..., :2] -= reference[..., None, None, root, :2]
    if rotate:
        yaw = _yaw(reference, root, front)[..., None, None]
        cos, sin = np.cos(yaw), np.sin(yaw)
        x, y = aligned[..., 0].copy(), aligned[..., 1].copy()
        aligned[..., 0] = cos * x + sin * y
        aligned[..., 1] = cos * y - sin * x
    return aligned


@validate_params(
    {
        "poses": ["array-like"],
        "skeleton": [Skeleton, str],
        "center": [Integral, None],
        "mode": [StrOptions({"midfwd", "x360"})],
    },
    prefer_skip_nested_validation=True,
)
def align_egocentric(
    poses: ArrayLike,
    skeleton: Skeleton | str = "mouse18",
    center: int | None = None,
    mode: str = "midfwd",
) -> np.ndarray:
    """Move windows of poses into the frame of their centre frame.

    Each window is translated so that the centre frame's root keypoint sits
    at the origin in x and y (z is kept). With ``mode="midfwd"`` the window
    is also rotated about the z axis so that the centre frame's heading
    (root -> front, projected on xy) points along +x; ``"x360"`` keeps the
    heading.

    Parameters
    ----------
    poses : array-like of shape (..., n_frames, n_keypoints, n_dims)
        One window (or many, on leading axes) of keypoint positions,
        ``n_dims`` 2 or 3.
    skeleton : Skeleton or str, default="mouse18"
        Skeleton giving the root and front keypoints.
    center : int, default=None
        Index of the centre frame on the frame axis; None takes
        ``n_frames // 2``. Negative values count from the end.
    mode : {"midfwd", "x360"}, default="midfwd"
        Translate and rotate, or translate only.

    Returns
    -------
    aligned : ndarray of shape (..., n_frames, n_keypoints, n_dims)
        Aligned copy of ``poses``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import MOUSE18, align_egocentric, heading_angle
    >>> window = np.random.default_rng(0).normal(size=(51, 18, 3))
    >>> aligned = align_egocentric(window, MOUSE18)
    >>> bool(np.allclose(aligned[25, 0, :2], 0.0))
    True
    >>> bool(np.isclose(heading_angle(aligned[25], MOUSE18), 0.0))
    True
    """
    skeleton = get_skeleton(skeleton)
    poses = check_poses(poses, n_keypoints=skeleton.n_keypoints, min_ndim=3)
    n_frames = poses.shape[-3]
    if center is None:
        center = n_frames // 2
    if not -n_frames <= center < n_frames:
        raise ValueError(f"center {center} is out of range for {n_frames} frames.")
    return _align_to(
        poses,
        poses[..., center, :, :],
        skeleton.root,
        skeleton.front,
        rotate=mode == "midfwd",
    )
