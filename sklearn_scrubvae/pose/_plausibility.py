"""Checks that poses are what a skeleton says they are.

Arrays of keypoints carry no names and no units, so several mistakes run
silently unless the numbers themselves are checked: a ``(n, 3, K)`` array
flattened into ``(n, 3K)``, a world whose vertical axis is not z, keypoints
in another order than at fit, one-frame tracking glitches, 2D poses given to
the kinematic (3D) mode, or no frame with every keypoint. The functions here
raise or warn for each, naming the keypoint or the fix. They look at an
evenly spaced subset of at most :data:`CHECKED_FRAMES` frames, so they stay
cheap on long (or memory-mapped) recordings.
"""

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validation import check_groups
from .missing import count_unusable_frames

CHECKED_FRAMES = 4096
"""Most frames read by a check (evenly spaced over the recording)."""

SCRAMBLED_SPREAD = 0.25
"""Median relative spread of bone lengths across frames above which poses
are compared with the (n_frames, 3, n_keypoints) reading of the same numbers."""

UP_AXIS_MARGIN = 2.0
"""How many times steadier another axis' extremes must be than z's to warn."""

BONE_PROFILE_TOLERANCE = 0.15
"""Typical log ratio of bone lengths to those of fit (after the overall scale
is removed) above which keypoints look reordered; different animals of one
species stay below 0.05."""

BONE_RATIO_TOLERANCE = np.log(2.0)
"""Log ratio of one bone's length to that of fit (after the overall scale is
removed) above which keypoints look swapped."""

GLITCH_FACTOR = 10.0
"""How many times its typical step a keypoint must jump, out and back, to be
a glitch."""

GLITCH_CONTEXT = 5
"""Frames on each side whose steps set a keypoint's typical step around a frame."""

GLITCH_CHUNK = 16_384
"""Frames whose local typical steps are computed at once (bounds the memory)."""


def check_skeleton_shape(shape, skeleton):
    """Refuse frames that cannot be poses of ``skeleton`` in 3D, saying why.

    Parameters
    ----------
    shape : tuple of int
        Shape of X: (n_frames, n_keypoints, n_dims) or (n_frames,
        n_keypoints * n_dims).
    skeleton : Skeleton

    Raises
    ------
    ValueError
        If X does not hold 3D positions of the skeleton's keypoints; for
        2D poses the message points to the generic mode with
        :class:`~sklearn_scrubvae.pose.EgocentricAligner`.
    """
    n_keypoints = skeleton.n_keypoints
    if tuple(shape[1:]) in ((n_keypoints, 3), (3 * n_keypoints,)):
        return
    if tuple(shape[1:]) in ((n_keypoints, 2), (2 * n_keypoints,)):
        raise ValueError(
            f"X of shape {tuple(shape)} holds 2D poses, but the skeleton mode computes "
            "joint rotations and needs 3D poses (n_frames, "
            f"{n_keypoints}, 3). For 2D tracking use the generic mode: "
            "make_pipeline(EgocentricAligner(root=..., front=...), ScrubbedCVAE()) with "
            "sklearn_scrubvae.pose.EgocentricAligner, and skeleton=None."
        )
    found = f"shape {tuple(shape)}" if len(shape) == 3 else f"{shape[1]} features"
    raise ValueError(
        f"X has {found} but the skeleton has {n_keypoints} keypoints: poses must have "
        f"shape (n_frames, {n_keypoints}, 3) or (n_frames, {3 * n_keypoints})."
    )


def check_skeleton_poses(poses, skeleton, reference_bone_lengths=None):
    """Refuse scrambled poses and warn about a wrong up axis or keypoint order.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, 3)
        3D poses of ``skeleton`` (may be a memory map).
    skeleton : Skeleton
    reference_bone_lengths : ndarray of shape (n_keypoints,), default=None
        Median bone lengths learnt at fit (0 for the root). None means
        that these poses are being fitted: the up axis is checked. Given,
        the bone lengths are compared with them instead.

    Raises
    ------
    ValueError
        If the poses look like a (n_frames, 3, n_keypoints) array
        flattened, see :func:`check_layout`.

    Warns
    -----
    UserWarning
        See :func:`warn_up_axis` and :func:`warn_keypoint_order`.
    """
    sample = _sample(poses)
    check_layout(sample, skeleton)
    if reference_bone_lengths is None:
        warn_up_axis(sample, skeleton)
    else:
        warn_keypoint_order(sample, skeleton, reference_bone_lengths)


def bone_lengths(poses, skeleton):
    """Length of every bone in every frame.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, n_dims)
    skeleton : Skeleton

    Returns
    -------
    lengths : ndarray of shape (n_frames, n_keypoints - 1)
        Distance from each non-root keypoint to its parent (NaN where
        either is missing), in keypoint order.
    """
    parents = np.asarray(skeleton.parents)
    children = np.flatnonzero(parents >= 0)
    return np.linalg.norm(poses[:, children] - poses[:, parents[children]], axis=-1)


def check_layout(poses, skeleton):
    """Raise when poses look like a (n_frames, 3, n_keypoints) array flattened.

    Bones are rigid, so each keypoint's distance to its parent varies little
    across frames (a median relative spread of 0.04-0.14 on mocap, DANNCE
    and synthetic mice). Coordinates scrambled by flattening a
    (n_frames, 3, n_keypoints) array to (n_frames, 3 * n_keypoints) make
    "bones" between unrelated numbers whose spread is 0.3-0.5.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, 3)
    skeleton : Skeleton

    Raises
    ------
    ValueError
        If the bone lengths of ``poses`` vary more than
        :data:`SCRAMBLED_SPREAD` across frames and at most half as much
        when the same numbers are read as (n_frames, 3, n_keypoints).
    """
    n_frames, n_keypoints, n_dims = poses.shape
    if n_keypoints < 2:
        return
    given = _bone_spread(poses, skeleton)
    other = _bone_spread(
        np.swapaxes(poses.reshape(n_frames, n_dims, n_keypoints), 1, 2), skeleton
    )
    if given > SCRAMBLED_SPREAD and other < given / 2:
        raise ValueError(
            f"The bones of these poses change length by {given:.0%} from frame to frame "
            f"(median over bones), but by {other:.0%} when the numbers are read as "
            f"(n_frames, 3, {n_keypoints}): X looks like an array of shape "
            f"(n_frames, 3, {n_keypoints}) flattened, which scrambles the coordinates. "
            f"Pass poses of shape (n_frames, {n_keypoints}, 3), e.g. "
            "np.swapaxes(poses, 1, 2) before any reshape."
        )


def warn_up_axis(poses, skeleton):
    """Warn when the world's vertical axis of 3D poses is not z.

    The kinematics and features read z as up (gravity). The vertical axis
    is the one along which the body's lowest or highest keypoint stays
    steadiest across frames: the floor and the back stay at one height
    while the animal moves horizontally. A y-up world (common in motion
    capture and graphics) breaks heading and joint angles without an error.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, 3)
    skeleton : Skeleton
        Its root-to-front distance sets the length scale.

    Warns
    -----
    UserWarning
        If the extremes of another axis are more than
        :data:`UP_AXIS_MARGIN` times steadier than those of z; the message
        gives an axis order that puts the detected vertical axis last.
    """
    enough = np.isfinite(poses).all(axis=-1).mean(axis=1) >= 0.5
    if enough.sum() < 10:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are skipped above
        extremes = np.stack([np.nanmin(poses[enough], axis=1), np.nanmax(poses[enough], axis=1)])
    low, high = np.nanpercentile(extremes, [25, 75], axis=1)
    steadiness = np.min(high - low, axis=0)  # (3,): interquartile range of the steadier extreme
    up = int(np.argmin(steadiness))
    if up == 2 or not steadiness[up] * UP_AXIS_MARGIN < steadiness[2]:
        return
    order = [(up + 1) % 3, (up + 2) % 3, up]
    axis = "xyz"[up]
    warnings.warn(
        f"The {axis} axis looks vertical, not z: the body's lowest and highest keypoints "
        f"stay at one {axis} ({steadiness[up]:.3g} interquartile range, against "
        f"{steadiness[2]:.3g} along z). Kinematics, heading and speed features read z "
        f"as up; reorder the coordinates, e.g. poses[..., {order}] (negate two axes, "
        "e.g. * [-1, 1, -1], if the animal then stands upside down).",
        UserWarning,
        stacklevel=4,
    )


def warn_keypoint_order(poses, skeleton, reference_bone_lengths):
    """Warn when bone lengths say the keypoints are not in the order of fit.

    Without keypoint names, the order of the keypoint axis is checked
    through the bone lengths: scaled to the same overall size, another
    animal of the same species keeps its bone lengths within a few percent,
    while reordered keypoints turn bones into distances between unrelated
    keypoints. Mirror-image swaps (left and right exchanged) keep the bone
    lengths and are not found.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, 3)
    skeleton : Skeleton
    reference_bone_lengths : ndarray of shape (n_keypoints,)
        Median length of the bone to each keypoint at fit (root ignored).

    Warns
    -----
    UserWarning
        If the bone lengths, scaled to the same overall size, differ from
        those of fit by more than :data:`BONE_PROFILE_TOLERANCE` typically
        (log ratio) or one differs by more than a factor 2.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bones never seen give NaN
        lengths = np.nanmedian(bone_lengths(poses, skeleton), axis=0)
    parents = np.asarray(skeleton.parents)
    children = np.flatnonzero(parents >= 0)
    reference = np.asarray(reference_bone_lengths)[children]
    seen = np.isfinite(lengths) & (lengths > 0) & (reference > 0)
    if not seen.any():
        return
    ratio = np.log(lengths[seen] / reference[seen])
    ratio -= np.median(ratio)
    worst = int(np.argmax(np.abs(ratio)))
    if np.median(np.abs(ratio)) <= BONE_PROFILE_TOLERANCE and abs(ratio[worst]) <= BONE_RATIO_TOLERANCE:
        return
    names = skeleton.keypoint_names
    child = children[seen][worst]
    warnings.warn(
        f"These poses do not look like the keypoints of fit in the same order: the bone "
        f"{names[parents[child]]!r} -> {names[child]!r} is {np.exp(ratio[worst]):.2g} times "
        "its length at fit (after scaling to the same body size), and bones differ by "
        f"{np.expm1(np.median(np.abs(ratio))):.0%} typically. Pass the keypoints in the "
        "skeleton's order (sklearn_scrubvae.pose.match_keypoints maps names onto it).",
        UserWarning,
        stacklevel=4,
    )


def find_tracking_glitches(poses, groups=None, factor=GLITCH_FACTOR):
    """Frames where a keypoint jumps far away and straight back.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, n_dims)
    groups : array-like of shape (n_frames,), default=None
        Recording id per frame; steps across recordings are not counted.
    factor : float, default=10.0
        How many times its typical step (the larger of its median step in
        the recording and over the :data:`GLITCH_CONTEXT` frames on each
        side) a keypoint must move into the frame and out of it again.

    Returns
    -------
    frames : ndarray of shape (n_glitches,) of int
        Frames in which some keypoint is at least ``factor`` typical steps
        from where it is in the frames before and after, which lie within
        half that distance of each other.
    """
    run_start, _, _ = check_groups(groups, len(poses))
    steps = np.full(poses.shape[:2], np.nan)
    steps[1:] = np.linalg.norm(np.diff(poses, axis=0), axis=-1)
    steps[run_start == np.arange(len(poses))] = np.nan
    padded = np.pad(steps, ((GLITCH_CONTEXT, GLITCH_CONTEXT + 1), (0, 0)), constant_values=np.nan)
    around = sliding_window_view(padded, 2 * GLITCH_CONTEXT + 2, axis=0)  # steps t-5 .. t+6
    local = np.empty_like(steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # keypoints never seen twice
        for begin in range(0, len(steps), GLITCH_CHUNK):  # medians copy their input
            local[begin : begin + GLITCH_CHUNK] = np.nanmedian(
                around[begin : begin + GLITCH_CHUNK], axis=-1
            )
        typical = np.fmax(np.nanmedian(steps, axis=0), local)
    far = factor * typical[1:-1]
    out, back = steps[1:-1] > far, steps[2:] > far
    shortcut = np.linalg.norm(poses[2:] - poses[:-2], axis=-1)
    returns = shortcut < steps[1:-1] / 2
    return np.flatnonzero((out & back & returns).any(axis=1)) + 1


def warn_tracking_glitches(poses, groups=None):
    """Warn about one-frame glitches when ``max_displacement`` is off.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, n_dims)
    groups : array-like of shape (n_frames,), default=None

    Warns
    -----
    UserWarning
        If :func:`find_tracking_glitches` finds frames; the message
        suggests a ``max_displacement`` (the mean keypoint displacement,
        the quantity ``max_displacement`` bounds) that flags them.
    """
    frames = find_tracking_glitches(poses, groups)
    if len(frames) == 0:
        return
    moved = np.linalg.norm(poses[frames] - poses[frames - 1], axis=-1)
    suggestion = 0.5 * float(np.min(np.nanmean(moved, axis=1)))
    shown = ", ".join(map(str, frames[:5])) + (", ..." if len(frames) > 5 else "")
    warnings.warn(
        f"{len(frames)} frame(s) ({shown}) have a keypoint that jumps more than "
        f"{GLITCH_FACTOR:g} times its typical step and straight back: tracking glitches, "
        "which are embedded as movement. Set max_displacement (e.g. "
        f"max_displacement={suggestion:.3g}, in the units of X) to leave such frames out.",
        UserWarning,
        stacklevel=4,
    )


def no_complete_frame_error(poses, skeleton, max_gap, groups=None, n_required=None):
    """The error for poses in which no frame has enough keypoints.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, n_keypoints, 3)
    skeleton : Skeleton
    max_gap : int
        Longest gap that was interpolated.
    groups : array-like of shape (n_frames,), default=None
    n_required : int or None, default=None
        Keypoints a frame needs; None means every keypoint.

    Returns
    -------
    error : ValueError
        Naming the keypoints missing most often after gap filling.
    """
    counts = count_unusable_frames(poses, skeleton, max_gap=max_gap, groups=groups)
    counts = counts[counts > 0].head(5)
    named = ", ".join(
        f"{name!r} ({count / len(poses):.0%} of frames)" for name, count in counts.items()
    )
    n_keypoints = skeleton.n_keypoints
    if n_required is None or n_required >= n_keypoints:
        needed, remedy = "every keypoint", ""
    else:
        needed, remedy = f"{n_required} of the {n_keypoints} keypoints", ", lower min_keypoints"
    return ValueError(
        f"No frame has {needed} present after filling gaps of up to max_gap={max_gap} "
        f"frames. Missing most often: {named}. Check the skeleton's keypoint order, "
        f"drop these keypoints from the skeleton{remedy} or raise max_gap "
        "(sklearn_scrubvae.pose.missing_report shows the gaps)."
    )


def _sample(poses):
    """At most :data:`CHECKED_FRAMES` evenly spaced frames, as float64."""
    n_frames = len(poses)
    if n_frames > CHECKED_FRAMES:
        poses = poses[np.linspace(0, n_frames - 1, CHECKED_FRAMES).astype(np.intp)]
    return np.asarray(poses, dtype=np.float64)


def _bone_spread(poses, skeleton):
    """Median over bones of the relative spread of their lengths across frames."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bones never seen give NaN
        lengths = bone_lengths(poses, skeleton)
        spread = np.nanstd(lengths, axis=0) / np.nanmean(lengths, axis=0)
        return float(np.nanmedian(spread)) if np.isfinite(spread).any() else 0.0

