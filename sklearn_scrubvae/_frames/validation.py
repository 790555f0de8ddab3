"""Checks of the frames, memory-mapped frames and latent codes given to the estimator."""

import numpy as np
from sklearn.utils.validation import validate_data

from ..pose._plausibility import check_skeleton_poses, check_skeleton_shape
from .inputs import iter_chunks


def check_frames(estimator, X, *, skeleton, reset, reference_bone_lengths=None):
    """Checked frames, through ``validate_data`` (which sets ``n_features_in_``).

    Parameters
    ----------
    estimator : BaseEstimator
        Receives ``n_features_in_`` and ``feature_names_in_`` when ``reset``.
    X : array-like of shape (n_frames, n_features) or (n_frames, n_keypoints, 3)
        A memory map (``np.load(..., mmap_mode="r")``) is checked chunk by
        chunk, not copied; float32 stays float32.
    skeleton : Skeleton or None
        Pose mode when given.
    reset : bool
        Whether this is fit.
    reference_bone_lengths : ndarray of shape (n_bones,) or None, default=None
        Bone lengths learned in fit; poses whose bone lengths disagree (for
        instance keypoints given in another order) warn.

    Returns
    -------
    X : ndarray of shape (n_frames, n_features) or, with a skeleton, (n_frames, n_keypoints, 3)
    """
    if skeleton is None:
        if getattr(X, "ndim", None) == 3:
            raise ValueError(
                f"X has shape {X.shape}: keypoints (n_frames, n_keypoints, n_dims) need "
                "skeleton= (e.g. skeleton='mouse18' or a Skeleton) for pose mode; for "
                "generic features flatten them to (n_frames, n_keypoints * n_dims), "
                "ideally after sklearn_scrubvae.pose.EgocentricAligner."
            )
        return _validate_array(estimator, X, reset)
    n_keypoints = skeleton.n_keypoints
    if getattr(X, "ndim", None) == 3:
        X = X if isinstance(X, np.memmap) else np.asarray(X, dtype=np.float64)
        check_skeleton_shape(X.shape, skeleton)
        X = X.reshape(len(X), -1)
    X = _validate_array(estimator, X, reset)
    check_skeleton_shape(X.shape, skeleton)
    if not isinstance(X, np.memmap) and np.isinf(X).any():
        raise ValueError("X contains infinity; mark missing keypoints with NaN.")
    X = X.reshape(len(X), n_keypoints, 3)
    check_skeleton_poses(X, skeleton, reference_bone_lengths)
    return X


def _validate_array(estimator, X, reset):
    """``validate_data``, except that a memory map is checked chunk by chunk."""
    if not isinstance(X, np.memmap):
        return validate_data(
            estimator, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan"
        )
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D memory-mapped X, got shape {X.shape}.")
    validate_data(estimator, X[:1], reset=reset, dtype=None, ensure_all_finite="allow-nan")
    check_frames_chunked(X, allow_nan=True)
    return X


def check_frames_chunked(X, allow_nan):
    """Check every value of a large float array in chunks, without a copy.

    Parameters
    ----------
    X : ndarray of shape (n_frames, ...), floating dtype
        Typically a memory map (``np.load(..., mmap_mode="r")``).
    allow_nan : bool
        Whether NaN marks missing values (pose mode); infinity never passes.

    Raises
    ------
    ValueError
        If X holds infinity, or NaN when ``allow_nan`` is False.
    """
    if X.dtype.kind != "f":
        raise ValueError(f"A memory-mapped X must hold floats, got dtype {X.dtype}.")
    for _, begin, end, _ in iter_chunks(len(X)):
        chunk = X[begin:end]
        if np.isinf(chunk).any():
            raise ValueError(
                "Input X contains infinity"
                + ("; mark missing keypoints with NaN." if allow_nan else ".")
            )
        if not allow_nan and np.isnan(chunk).any():
            raise ValueError("Input X contains NaN.")


def check_latent(Z, n_components):
    """Latent codes as a float64 array of shape (n, n_components); NaN rows allowed."""
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] != n_components:
        raise ValueError(f"Expected latent codes of shape (n, {n_components}), got {Z.shape}.")
    if np.isinf(Z).any():
        raise ValueError("Latent codes contain infinity.")
    return Z
