"""Body of the synthetic mouse: from a motor program to 3D keypoints.

Every keypoint is its parent in the MOUSE18 kinematic tree plus a rigid bone:
a fixed offset (scaled by the animal's size) rotated by a pitch about the
left axis and then a yaw about the vertical. Bone lengths are therefore
constant per animal, and inverse kinematics is well defined. Lengths in mm.
"""

from dataclasses import dataclass, fields

import numpy as np

from ._behavior import smooth

KEYPOINTS = (
    "SpineM", "SpineF", "EarL", "EarR", "Snout", "Tail_base",
    "ElbowL", "WristL", "ForepawL", "ElbowR", "WristR", "ForepawR",
    "KneeL", "AnkleL", "HindpawL", "KneeR", "AnkleR", "HindpawR",
)  # fmt: skip
(
    SPINE_M, SPINE_F, EAR_L, EAR_R, SNOUT, TAIL_BASE,
    ELBOW_L, WRIST_L, FOREPAW_L, ELBOW_R, WRIST_R, FOREPAW_R,
    KNEE_L, ANKLE_L, HINDPAW_L, KNEE_R, ANKLE_R, HINDPAW_R,
) = range(len(KEYPOINTS))  # fmt: skip

# Rest offsets of each bone in its own frame (x forward, y left, z up), mm at
# body size 1. Limb offsets are given for the left side; y flips on the right.
_SPINE = (25.0, 0.0, 0.0)
_TAIL_LENGTH = 30.0  # SpineM -> Tail_base, straight backwards
_EAR_L = (5.0, 7.0, 4.0)
_EAR_SPAN = (0.0, -14.0, 0.0)
_SNOUT = (20.0, 7.0, -5.0)
_UPPER_ARM = (-3.0, 6.0, -9.0)
_FOREARM = (0.0, 0.0, -10.0)
_FOREPAW = (6.0, 0.0, -3.0)
_THIGH = (9.0, 7.0, -9.0)
_SHIN = (-5.0, 0.0, -10.0)
_HINDPAW = (8.0, 0.0, -3.0)
# Root height when standing: the forepaws then touch the ground.
_STANDING_HEIGHT = -(_UPPER_ARM[2] + _FOREARM[2] + _FOREPAW[2])

# Posture, angles in rad.
_HEAD_PITCH = -0.1  # head slightly lowered
_HIND_PITCH_SHARE = 0.4  # share of the body pitch taken by the hind spine
_REAR_HEAD_PITCH = -0.4  # head pitch per rad of rearing
_REAR_ARM_RAISE = 0.5  # forearm raise per rad of rearing
_GROOM_BODY_PITCH = 0.6
_GROOM_HEAD_PITCH = -1.3
_GROOM_ARM_PITCH = 0.6
_GROOM_ARM_YAW = 0.5  # forearms turned towards the midline
_GROOM_STROKE = 0.35  # amplitude of the forepaw strokes
_PAW_LIFT = 1.5  # paw lift per rad of swing amplitude, in the swing phase
_HEAD_YAW_PER_YAW_RATE = 0.15  # s, head turned into turns
_TAIL_YAW_PER_YAW_RATE = -0.1  # s, hind body swung out of turns
_WANDER_SECONDS = 0.3  # time scale of slow postural fluctuations
_WANDER_PITCH = 0.08
_WANDER_YAW = 0.12
# Left and right limbs: keypoints (fore, hind), side (+1 left) and stride
# phases (fore, hind); diagonal pairs move together (trot).
_LIMB_PAIRS = (
    ((ELBOW_L, WRIST_L, FOREPAW_L), (KNEE_L, ANKLE_L, HINDPAW_L), 1.0, (0.0, np.pi)),
    ((ELBOW_R, WRIST_R, FOREPAW_R), (KNEE_R, ANKLE_R, HINDPAW_R), -1.0, (np.pi, 0.0)),
)

# Lesion of the right hemisphere, per unit of severity.
_LESION_STRIDE_LOSS = 0.4  # left (contralateral) limbs swing less
_LESION_BEND = -0.12  # head and hind body bent to the right (ipsilateral)

# Identity: ranges of the per-animal idiosyncrasies.
_BODY_SIZE = (0.85, 1.15)
_HABITUAL_HEAD_PITCH = (-0.3, 0.3)  # rad
_LIMB_SPREAD = (0.7, 1.3)
_TAIL_HEIGHT = (-6.0, 6.0)  # mm
_LIMB_FLEXION = (-0.45, 0.45)  # rad, habitual pitch of forearms, forepaws and shins
_STRIDE_SCALE = (0.55, 1.45)  # scale of the limb swing amplitude
_CADENCE = (0.7, 1.4)  # scale of the stride frequency


@dataclass
class Identity:
    """Per-animal body parameters, arrays of shape (n_animals,).

    Attributes
    ----------
    body_size : ndarray
        Overall scale of every bone.
    head_pitch : ndarray
        Habitual head pitch offset, rad (head carried higher or lower).
    limb_spread : ndarray
        Scale of the lateral offsets of elbows and knees.
    tail_height : ndarray
        Vertical offset of the tail base, mm; the thighs compensate so that
        the hind paws stay on the ground.
    limb_flexion : ndarray
        Habitual pitch added to forearms, forepaws and shins, rad (limbs
        carried more bent or more stretched).
    stride_scale : ndarray
        Scale of the limb swing amplitude (short or long strides).
    cadence : ndarray
        Scale of the stride frequency (slow or quick steps at a speed).
    """

    body_size: np.ndarray
    head_pitch: np.ndarray
    limb_spread: np.ndarray
    tail_height: np.ndarray
    limb_flexion: np.ndarray
    stride_scale: np.ndarray
    cadence: np.ndarray

    def take(self, indices):
        """Parameters of animals ``indices``, each of shape (len(indices), 1)."""
        return Identity(
            *(getattr(self, field.name)[indices, None] for field in fields(self))
        )


def _stratified(low, high, n_samples, rng):
    """One uniform draw in each of ``n_samples`` equal bins of [low, high), shuffled."""
    bins = rng.permutation(n_samples) + rng.uniform(size=n_samples)
    return low + (high - low) * bins / n_samples


def sample_identity(n_animals, rng):
    """Draw the body parameters of ``n_animals`` animals.

    Each parameter is stratified over its range (one draw per equal-width
    bin, bins shuffled across animals), so that animals always differ.

    Parameters
    ----------
    n_animals : int
        Number of animals.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    identity : Identity
    """
    return Identity(
        body_size=_stratified(*_BODY_SIZE, n_animals, rng),
        head_pitch=_stratified(*_HABITUAL_HEAD_PITCH, n_animals, rng),
        limb_spread=_stratified(*_LIMB_SPREAD, n_animals, rng),
        tail_height=_stratified(*_TAIL_HEIGHT, n_animals, rng),
        limb_flexion=_stratified(*_LIMB_FLEXION, n_animals, rng),
        stride_scale=_stratified(*_STRIDE_SCALE, n_animals, rng),
        cadence=_stratified(*_CADENCE, n_animals, rng),
    )


class _Orientation:
    """A pitch (x towards z) followed by a yaw (x towards y).

    Parameters
    ----------
    pitch, yaw : ndarray of shape (n_sessions, n_frames) or float
        Angles, rad.
    """

    def __init__(self, pitch, yaw=0.0):
        self.cos_pitch, self.sin_pitch = np.cos(pitch), np.sin(pitch)
        self.cos_yaw, self.sin_yaw = np.cos(yaw), np.sin(yaw)

    def rotate(self, x, y, z):
        """Rotate the offset with components ``x``, ``y``, ``z``.

        Parameters
        ----------
        x, y, z : ndarray of shape (n_sessions, 1) or float
            Offset components.

        Returns
        -------
        x, y, z : tuple of 3 ndarrays of shape (n_sessions, n_frames)
            Rotated components.
        """
        forward = x * self.cos_pitch - z * self.sin_pitch
        up = x * self.sin_pitch + z * self.cos_pitch
        return (
            forward * self.cos_yaw - y * self.sin_yaw,
            forward * self.sin_yaw + y * self.cos_yaw,
            up,
        )


def _wander(shape, scale, fps, rng):
    """Slow Gaussian fluctuations with standard deviation about ``scale``."""
    sigma = _WANDER_SECONDS * fps
    # Smoothing white noise with a unit-sum Gaussian of width sigma divides
    # its standard deviation by sqrt(2 sqrt(pi) sigma).
    gain = scale * np.sqrt(2.0 * np.sqrt(np.pi) * sigma)
    return gain * smooth(rng.standard_normal(shape), fps, _WANDER_SECONDS)


def _bone(offset, identity):
    """Rest offset scaled by the body size."""
    return tuple(component * identity.body_size for component in offset)


def _lateral_bone(offset, identity, side):
    """Rest offset of a limb's first bone on ``side`` (+1 left, -1 right).

    Scaled by the body size, with the lateral component scaled by the limb
    spread and mirrored on the right.
    """
    x, y, z = _bone(offset, identity)
    return x, side * identity.limb_spread * y, z


def _attach(keypoints, child, parent, offset, orientation):
    """Place ``child`` at ``parent`` plus the rotated ``offset``, in place."""
    for axis, component in enumerate(orientation.rotate(*offset)):
        np.add(keypoints[parent, axis], component, out=keypoints[child, axis])


def _place_axial(keypoints, motion, identity, body_pitch, hind_yaw, bend, fps, rng):
    """Root, spine, head and tail base in the heading frame, in place."""
    shape = body_pitch.shape
    hind_pitch = _HIND_PITCH_SHARE * body_pitch
    head_pitch = (
        body_pitch
        + identity.head_pitch
        + _HEAD_PITCH
        + _REAR_HEAD_PITCH * motion.rear
        + _GROOM_HEAD_PITCH * motion.groom
        + _wander(shape, _WANDER_PITCH, fps, rng)
    )
    head_yaw = (
        _HEAD_YAW_PER_YAW_RATE * motion.yaw_rate
        + bend
        + _wander(shape, _WANDER_YAW, fps, rng)
    )
    body = _Orientation(body_pitch)
    head = _Orientation(head_pitch, head_yaw)
    hind = _Orientation(hind_pitch, hind_yaw)

    keypoints[SPINE_M, :2] = 0.0
    # The root rises as the hind spine pitches up, so the tail base keeps its
    # height.
    keypoints[SPINE_M, 2] = identity.body_size * (
        _STANDING_HEIGHT + _TAIL_LENGTH * hind.sin_pitch
    )
    tail = (-_TAIL_LENGTH * identity.body_size, 0.0, identity.tail_height)
    _attach(keypoints, TAIL_BASE, SPINE_M, tail, hind)
    _attach(keypoints, SPINE_F, SPINE_M, _bone(_SPINE, identity), body)
    _attach(keypoints, EAR_L, SPINE_F, _bone(_EAR_L, identity), head)
    _attach(keypoints, EAR_R, EAR_L, _bone(_EAR_SPAN, identity), head)
    _attach(keypoints, SNOUT, EAR_R, _bone(_SNOUT, identity), head)


def _stride_angles(stride, phase):
    """Fore-aft swing of a limb and the extra pitch that lifts its paw.

    The paw lifts only in the half of the cycle where it swings forward.
    """
    swing = stride * np.sin(phase)
    lift = _PAW_LIFT * stride * np.maximum(np.cos(phase), 0.0)
    return swing, lift


def _place_limbs(keypoints, motion, identity, body_pitch, hind_yaw, severity):
    """Fore and hind limbs in the heading frame, in place."""
    shoulder = _Orientation(body_pitch)
    hip = _Orientation(0.0, hind_yaw)
    groom_stroke = _GROOM_ARM_PITCH + _GROOM_STROKE * np.sin(motion.groom_phase)
    arm_raise = body_pitch + _REAR_ARM_RAISE * motion.rear + motion.groom * groom_stroke
    # Scaling the accumulated phase scales the stride frequency.
    gait_phase = identity.cadence * motion.gait_phase
    for (elbow, wrist, forepaw), (knee, ankle, hindpaw), side, phases in _LIMB_PAIRS:
        contralateral = side > 0
        stride = (
            identity.stride_scale
            * motion.gait
            * (1.0 - _LESION_STRIDE_LOSS * severity * contralateral)
        )
        fore_swing, fore_lift = _stride_angles(stride, gait_phase + phases[0])
        hind_swing, hind_lift = _stride_angles(stride, gait_phase + phases[1])
        fore_swing = fore_swing + identity.limb_flexion
        hind_swing = hind_swing - identity.limb_flexion
        forearm_yaw = -side * _GROOM_ARM_YAW * motion.groom
        upper_arm = _lateral_bone(_UPPER_ARM, identity, side)
        forearm = _Orientation(arm_raise + fore_swing, forearm_yaw)
        paw = _Orientation(arm_raise + fore_swing + fore_lift, forearm_yaw)
        _attach(keypoints, elbow, SPINE_F, upper_arm, shoulder)
        _attach(keypoints, wrist, elbow, _bone(_FOREARM, identity), forearm)
        _attach(keypoints, forepaw, wrist, _bone(_FOREPAW, identity), paw)

        # The thigh absorbs the tail-base height, so the hind paws stay on
        # the ground.
        x, y, z = _lateral_bone(_THIGH, identity, side)
        thigh = (x, y, z - identity.tail_height)
        shin = _Orientation(hind_swing)
        paw = _Orientation(hind_swing + hind_lift)
        _attach(keypoints, knee, TAIL_BASE, thigh, hip)
        _attach(keypoints, ankle, knee, _bone(_SHIN, identity), shin)
        _attach(keypoints, hindpaw, ankle, _bone(_HINDPAW, identity), paw)


def _to_world(keypoints, heading, position):
    """Rotate heading-frame keypoints by ``heading`` and shift them to ``position``."""
    cos_heading, sin_heading = np.cos(heading), np.sin(heading)
    forward = keypoints[:, 0].copy()
    keypoints[:, 0] *= cos_heading
    keypoints[:, 0] -= sin_heading * keypoints[:, 1]
    keypoints[:, 1] *= cos_heading
    keypoints[:, 1] += sin_heading * forward
    keypoints[:, :2] += np.moveaxis(position, -1, 0)


def place_keypoints(motion, heading, position, identity, severity, fps, rng):
    """Noise-free 3D keypoints of every session.

    The body is built in the heading frame (x along the heading, z up, root
    above the origin), then rotated by the heading and moved to the path.

    Parameters
    ----------
    motion : Motion
        Motor program, arrays of shape (n_sessions, n_frames).
    heading : ndarray of shape (n_sessions, n_frames)
        Yaw of the SpineM -> SpineF axis, rad.
    position : ndarray of shape (n_sessions, n_frames, 2)
        Horizontal root position, mm.
    identity : Identity
        Body parameters of each session's animal, arrays of shape (n_sessions, 1).
    severity : ndarray of shape (n_sessions, 1)
        Lesion severity acting on each session.
    fps : float
        Frames per second.
    rng : numpy.random.Generator
        Source of the postural fluctuations.

    Returns
    -------
    keypoints : ndarray of shape (18, 3, n_sessions, n_frames)
        Keypoints in ``KEYPOINTS`` order, world frame (z up), mm; keypoint
        and coordinate come first so that every time series is contiguous.
    """
    keypoints = np.empty((len(KEYPOINTS), 3) + heading.shape)
    body_pitch = motion.rear + _GROOM_BODY_PITCH * motion.groom
    bend = _LESION_BEND * severity
    hind_yaw = _TAIL_YAW_PER_YAW_RATE * motion.yaw_rate + bend
    _place_axial(keypoints, motion, identity, body_pitch, hind_yaw, bend, fps, rng)
    _place_limbs(keypoints, motion, identity, body_pitch, hind_yaw, severity)
    _to_world(keypoints, heading, position)
    return keypoints
