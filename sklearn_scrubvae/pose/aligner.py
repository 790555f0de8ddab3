"""Egocentric alignment as a scikit-learn transformer for generic features."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._validation import check_groups, check_poses
from .alignment import _align_to, _yaw
from .features import _nanmean, _velocity

_AXES = ("x", "y", "z")


class EgocentricAligner(TransformerMixin, BaseEstimator):
    """Put every frame in the animal's own frame: root at 0, body axis on +x.

    Each frame is translated so that its root keypoint sits at the origin
    (in x and y; a 3D pose keeps its height z) and, with ``rotate=True``,
    turned about the vertical axis so that its root -> front vector points
    along +x. What is left is posture, free of where the animal is and
    where it faces, as per-frame features for the generic mode of
    :class:`~sklearn_scrubvae.ScrubbedCVAE` or any other estimator.

    Alignment is per frame, so rows stay frames and the transformer fits in
    a :class:`~sklearn.pipeline.Pipeline` before ``ScrubbedCVAE``. Locomotion
    that per-frame alignment removes can be kept as three egocentric motion
    columns (``motion=True``): the root's displacement per frame along the
    body axis (``step_forward``) and across it (``step_lateral``, +90 degrees
    from forward in the input's coordinates: the animal's left for a world
    frame with z up, its right in image coordinates whose y axis points
    down) and the change of heading per frame (``turn``, radians,
    counter-clockwise positive), whether or not the poses are rotated.
    They are central differences within each recording (one-sided at its
    ends), in position units (or radians) per frame, so the same motion at
    another frame rate gives other values.
    Together with the aligned poses they carry what a window aligned on its
    centre frame carries (the skeleton mode's ``alignment="midfwd"``).

    Frames missing the root (or, with ``rotate=True``, the front keypoint)
    come out NaN, and so do the motion columns of frames missing the root
    or front keypoint; fill short gaps first with
    :func:`~sklearn_scrubvae.pose.interpolate_gaps`.

    Parameters
    ----------
    root : int or str, default=0
        Root keypoint, by index or by name (names need ``keypoint_names``).
    front : int or str, default=1
        Keypoint that, seen from the root, gives the body axis.
    keypoint_names : sequence of str, default=None
        Names of the keypoints, in order: resolves names in ``root`` and
        ``front``, names the output features and, for flattened input,
        gives the number of keypoints.
    n_dims : {2, 3}, default=None
        Coordinates per keypoint, needed only for flattened input without
        ``keypoint_names``; 3D input shows it in its last axis.
    rotate : bool, default=True
        Turn each frame so that its heading points along +x; False only
        translates (heading stays in the data).
    motion : bool, default=False
        Append the columns ``step_forward``, ``step_lateral`` and ``turn``.

    Attributes
    ----------
    n_keypoints_ : int
        Number of keypoints.
    keypoint_names_ : list of str
        ``keypoint_names``, or ``keypoint_0``, ``keypoint_1``, ... .
    n_dims_ : int
        Coordinates per keypoint (2 or 3).
    root_ : int
        Index of the root keypoint.
    front_ : int
        Index of the front keypoint.
    n_features_in_ : int
        ``n_keypoints_ * n_dims_``.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Column names of a DataFrame given to ``fit``, if any.

    See Also
    --------
    align_egocentric : Alignment of windows on their centre frame.

    Notes
    -----
    ``X`` is either poses of shape (n_frames, n_keypoints, n_dims) or the
    same flattened keypoint by keypoint, (n_frames, n_keypoints * n_dims)
    with columns ``x0, y0[, z0], x1, y1, ...`` (``poses.reshape(n_frames,
    -1)``). The output is always flattened the same way, so that
    ``Xt[:, :n_keypoints * n_dims].reshape(-1, n_keypoints, n_dims)`` gives
    aligned poses back.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.pose import EgocentricAligner
    >>> poses = np.array([[[10.0, 5.0], [10.0, 7.0], [11.0, 5.0]]])  # faces +y
    >>> aligner = EgocentricAligner(root="body", front="nose",
    ...                             keypoint_names=["body", "nose", "paw"])
    >>> aligner.fit_transform(poses).round(6)
    array([[ 0.,  0.,  2.,  0.,  0., -1.]])
    >>> aligner.get_feature_names_out()[:3].tolist()
    ['body_x', 'body_y', 'nose_x']
    """

    _parameter_constraints = {
        "root": [Interval(Integral, 0, None, closed="left"), str],
        "front": [Interval(Integral, 0, None, closed="left"), str],
        "keypoint_names": ["array-like", None],
        "n_dims": [Interval(Integral, 2, 3, closed="both"), None],
        "rotate": ["boolean"],
        "motion": ["boolean"],
    }

    def __init__(
        self,
        *,
        root: int | str = 0,
        front: int | str = 1,
        keypoint_names: Sequence[str] | None = None,
        n_dims: int | None = None,
        rotate: bool = True,
        motion: bool = False,
    ) -> None:
        self.root = root
        self.front = front
        self.keypoint_names = keypoint_names
        self.n_dims = n_dims
        self.rotate = rotate
        self.motion = motion

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: ArrayLike, y: None = None, groups: ArrayLike | None = None
    ) -> EgocentricAligner:
        """Learn the layout of the keypoints; nothing is estimated.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_keypoints, n_dims) or \
                (n_frames, n_keypoints * n_dims)
            Keypoint positions, NaN where missing.
        y : None
            Ignored.
        groups : array-like of shape (n_frames,), default=None
            Ignored; accepted for symmetry with :meth:`transform`.

        Returns
        -------
        self : EgocentricAligner
        """
        names = None if self.keypoint_names is None else list(self.keypoint_names)
        if np.ndim(X) == 3:
            poses = _check_pose_array(X)
            self.n_keypoints_, self.n_dims_ = poses.shape[1:]
            if names is not None and len(names) != self.n_keypoints_:
                raise ValueError(
                    f"keypoint_names has {len(names)} names but X has "
                    f"{self.n_keypoints_} keypoints."
                )
            if self.n_dims is not None and self.n_dims != self.n_dims_:
                raise ValueError(
                    f"n_dims={self.n_dims} but X has {self.n_dims_} coordinates "
                    "per keypoint."
                )
            self.n_features_in_ = self.n_keypoints_ * self.n_dims_
        else:
            X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
            self.n_keypoints_, self.n_dims_ = self._flat_layout(X.shape[1], names)
        self.keypoint_names_ = names or [
            f"keypoint_{k}" for k in range(self.n_keypoints_)
        ]
        self.root_ = self._keypoint_index(self.root, "root")
        self.front_ = self._keypoint_index(self.front, "front")
        if self.root_ == self.front_:
            raise ValueError("root and front must be different keypoints.")
        return self

    def transform(self, X: ArrayLike, groups: ArrayLike | None = None) -> np.ndarray:
        """Align every frame on its own root and heading.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_keypoints, n_dims) or \
                (n_frames, n_keypoints * n_dims)
            Keypoint positions, NaN where missing.
        groups : array-like of shape (n_frames,), default=None
            Recording id of each frame, so that motion columns never take
            differences across recordings; None for a single recording.
            In a Pipeline, route it with ``set_transform_request(groups=True)``
            (and ``set_fit_request``).

        Returns
        -------
        Xt : ndarray of shape (n_frames, n_keypoints * n_dims [+ 3])
            Aligned keypoints flattened keypoint by keypoint, then the
            motion columns when ``motion=True``.
        """
        check_is_fitted(self)
        poses = self._poses(X)
        aligned = _align_to(
            poses[:, None], poses, self.root_, self.front_, rotate=self.rotate
        )[:, 0]
        missing = np.isnan(poses[:, self.root_]).any(axis=-1)
        if self.rotate:
            missing |= np.isnan(poses[:, self.front_]).any(axis=-1)
        aligned[missing] = np.nan
        Xt = aligned.reshape(len(poses), -1)
        if self.motion:
            Xt = np.column_stack([Xt, self._motion(poses, groups)])
        return Xt

    def fit_transform(
        self, X: ArrayLike, y: None = None, groups: ArrayLike | None = None
    ) -> np.ndarray:
        """Fit to ``X`` and align it; see :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_keypoints, n_dims) or \
                (n_frames, n_keypoints * n_dims)
            Keypoint positions, NaN where missing.
        y : None
            Ignored.
        groups : array-like of shape (n_frames,), default=None
            Recording id of each frame.

        Returns
        -------
        Xt : ndarray of shape (n_frames, n_keypoints * n_dims [+ 3])
        """
        return self.fit(X, y, groups=groups).transform(X, groups=groups)

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Names of the output columns.

        Parameters
        ----------
        input_features : None
            Ignored; names come from ``keypoint_names``.

        Returns
        -------
        feature_names_out : ndarray of str
            ``<keypoint>_x``, ``<keypoint>_y`` (``_z``) per keypoint, then
            ``step_forward``, ``step_lateral`` and ``turn`` with
            ``motion=True``.
        """
        check_is_fitted(self)
        axes = _AXES[: self.n_dims_]
        names = [f"{k}_{a}" for k in self.keypoint_names_ for a in axes]
        if self.motion:
            names += ["step_forward", "step_lateral", "turn"]
        return np.asarray(names, dtype=object)

    def _flat_layout(self, n_features, names):
        """Number of keypoints and of coordinates of flattened input."""
        if names is not None:
            n_dims, rest = divmod(n_features, len(names))
            if rest or n_dims not in (2, 3):
                raise ValueError(
                    f"X has {n_features} features, which is not 2 or 3 "
                    f"coordinates for each of the {len(names)} keypoint_names."
                )
            if self.n_dims is not None and self.n_dims != n_dims:
                raise ValueError(
                    f"n_dims={self.n_dims} but X has {n_dims} coordinates for "
                    f"each of the {len(names)} keypoint_names."
                )
            return len(names), n_dims
        if self.n_dims is None:
            raise ValueError(
                "Flattened X (n_frames, n_keypoints * n_dims) needs keypoint_names= "
                "or n_dims= to be split into keypoints; or pass poses of shape "
                "(n_frames, n_keypoints, n_dims)."
            )
        if n_features % self.n_dims:
            raise ValueError(
                f"X has {n_features} features, not a multiple of n_dims={self.n_dims}."
            )
        return n_features // self.n_dims, self.n_dims

    def _keypoint_index(self, keypoint, what):
        if isinstance(keypoint, str):
            if self.keypoint_names is None or keypoint not in self.keypoint_names_:
                raise ValueError(
                    f"Unknown {what} keypoint {keypoint!r}; keypoint_names are "
                    f"{self.keypoint_names}."
                )
            return self.keypoint_names_.index(keypoint)
        if keypoint >= self.n_keypoints_:
            raise ValueError(
                f"{what} index {keypoint} is out of range for {self.n_keypoints_} "
                "keypoints."
            )
        return int(keypoint)

    def _poses(self, X):
        """Validated poses of shape (n_frames, n_keypoints, n_dims)."""
        if np.ndim(X) == 3:
            poses = _check_pose_array(X)
            if poses.shape[1:] != (self.n_keypoints_, self.n_dims_):
                raise ValueError(
                    f"X has {poses.shape[1]} keypoints of {poses.shape[2]} "
                    f"coordinates; the aligner was fitted on {self.n_keypoints_} "
                    f"of {self.n_dims_}."
                )
            return poses
        X = validate_data(
            self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64
        )
        return check_poses(X.reshape(len(X), self.n_keypoints_, self.n_dims_))

    def _motion(self, poses, groups):
        """Egocentric root displacement and heading change per frame.

        Returns
        -------
        motion : ndarray of shape (n_frames, 3)
            ``step_forward``, ``step_lateral`` and ``turn``.
        """
        run_start, run_stop, _ = check_groups(groups, len(poses))
        root = poses[:, self.root_, :2]
        step = _velocity(root[:, None], run_start, run_stop)[:, 0]
        yaw = _yaw(poses, self.root_, self.front_)
        cos, sin = np.cos(yaw), np.sin(yaw)
        frames = np.arange(len(poses))
        turns = np.full((2, len(poses)), np.nan)
        turns[0, 1:] = turns[1, :-1] = np.angle(np.exp(1j * np.diff(yaw)))
        turns[0, frames == run_start] = np.nan
        turns[1, frames == run_stop - 1] = np.nan
        return np.column_stack(
            [
                cos * step[:, 0] + sin * step[:, 1],
                cos * step[:, 1] - sin * step[:, 0],
                _nanmean(turns, axis=0),
            ]
        )


def _check_pose_array(X):
    """Poses of shape (n_frames, n_keypoints, n_dims) as float64, NaN allowed."""
    return check_poses(check_array(X, allow_nd=True, ensure_all_finite="allow-nan"))
