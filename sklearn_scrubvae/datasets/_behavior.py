"""Behaviour sequences and locomotion of the synthetic mouse.

Every array here has one row per recording session and one column per frame,
so that all sessions are generated together and smoothing never crosses a
session boundary.
"""

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

BEHAVIORS = ("walk", "rear", "groom", "turn", "still")
WALK, REAR, GROOM, TURN, STILL = range(len(BEHAVIORS))

# Relative weight of entering each behaviour (order of BEHAVIORS), healthy.
_ENTRY_WEIGHTS = np.array([0.35, 0.15, 0.15, 0.15, 0.20])
# Relative change of those weights per unit of lesion severity.
_LESION_ENTRY_GAIN = np.array([-0.3, -0.5, 0.0, 1.0, 1.0])

_SEGMENT_SECONDS = (0.5, 3.0)
# Standard deviation of the Gaussian that smooths every command over time.
_SMOOTHING_SECONDS = 0.1

_WALK_SPEED = (40.0, 250.0)  # mm/s
_WALK_SLOWING = 0.3  # fraction of walking speed lost at full severity
_WALK_YAW_RATE_STD = 0.4  # rad/s, gentle curvature of walking paths
_TURN_SPEED = (0.0, 30.0)  # mm/s
_TURN_YAW_RATE = (1.5, 4.0)  # rad/s, magnitude
_TURN_BIAS = 0.45  # extra probability of an ipsiversive turn at full severity
_REAR_PITCH = (np.radians(45.0), np.radians(75.0))
_GROOM_FREQUENCY = (4.0, 7.0)  # Hz, forepaw strokes

# Gait: swing amplitude (rad) and stride frequency (Hz) grow with speed.
_GAIT_AMPLITUDE = (0.15, 0.0015)  # intercept, slope per mm/s while walking
_TURN_GAIT_AMPLITUDE = 0.15
_STRIDE_FREQUENCY = (2.0, 1.0 / 60.0)  # intercept, slope per mm/s

_START_POSITION = 150.0  # mm, half side of the square of starting points


@dataclass
class Motion:
    """Per-frame motor program of every session, arrays of shape (n_sessions, n_frames).

    Attributes
    ----------
    behavior : ndarray of int
        Index into ``BEHAVIORS``.
    speed : ndarray
        Forward speed of the root, mm/s.
    yaw_rate : ndarray
        Rate of change of heading, rad/s, positive to the left.
    rear : ndarray
        Body pitch due to rearing, rad.
    groom : ndarray
        Grooming posture weight in [0, 1].
    groom_phase : ndarray
        Phase of the forepaw strokes, rad.
    gait : ndarray
        Limb swing amplitude, rad.
    gait_phase : ndarray
        Phase of the stride cycle, rad.
    """

    behavior: np.ndarray
    speed: np.ndarray
    yaw_rate: np.ndarray
    rear: np.ndarray
    groom: np.ndarray
    groom_phase: np.ndarray
    gait: np.ndarray
    gait_phase: np.ndarray


def smooth(x, fps, seconds=_SMOOTHING_SECONDS):
    """Gaussian smoothing along time (axis 1) without crossing sessions.

    Parameters
    ----------
    x : ndarray of shape (n_sessions, n_frames)
        Signal.
    fps : float
        Frames per second.
    seconds : float, default=0.1
        Standard deviation of the Gaussian, in seconds.

    Returns
    -------
    smoothed : ndarray of shape (n_sessions, n_frames)
    """
    return gaussian_filter1d(x, seconds * fps, axis=1, mode="nearest")


def entry_weights(severity):
    """Weights of entering each behaviour.

    Parameters
    ----------
    severity : ndarray of shape (n_sessions,)
        Lesion severity acting on each session (0 for a healthy session).

    Returns
    -------
    weights : ndarray of shape (n_sessions, n_behaviors)
        Positive, each row sums to 1.
    """
    weights = _ENTRY_WEIGHTS * (1.0 + severity[:, None] * _LESION_ENTRY_GAIN)
    return weights / weights.sum(axis=1, keepdims=True)


def transition_matrices(severity):
    """Markov chain over behaviours: a segment never repeats its predecessor.

    Parameters
    ----------
    severity : ndarray of shape (n_sessions,)
        Lesion severity acting on each session.

    Returns
    -------
    transitions : ndarray of shape (n_sessions, n_behaviors, n_behaviors)
        ``transitions[s, i, j]`` is the probability that behaviour ``j``
        follows behaviour ``i``; it is proportional to the entry weight of
        ``j`` and zero on the diagonal.
    """
    n_behaviors = len(BEHAVIORS)
    transitions = np.repeat(entry_weights(severity)[:, None, :], n_behaviors, axis=1)
    transitions[:, np.arange(n_behaviors), np.arange(n_behaviors)] = 0.0
    return transitions / transitions.sum(axis=2, keepdims=True)


def _inverse_cdf(probabilities, draws):
    """Draw one category per row by inverting the row's cumulative distribution.

    Parameters
    ----------
    probabilities : ndarray of shape (n_rows, n_categories)
        Each row sums to 1.
    draws : ndarray of shape (n_rows,)
        Uniform draws in [0, 1).

    Returns
    -------
    categories : ndarray of shape (n_rows,)
    """
    thresholds = np.cumsum(probabilities, axis=1)[:, :-1]
    return (draws[:, None] >= thresholds).sum(axis=1)


def _sample_segments(severity, n_frames, fps, rng):
    """Behaviour of each segment and the segment of each frame.

    Returns
    -------
    segment_behavior : ndarray of shape (n_sessions, n_segments)
    frame_segment : ndarray of shape (n_sessions, n_frames)
        Column index into ``segment_behavior``.
    """
    n_sessions = len(severity)
    shortest = max(1, round(_SEGMENT_SECONDS[0] * fps))
    max_segments = -(-n_frames // shortest) + 1
    durations = np.maximum(
        1, np.round(rng.uniform(*_SEGMENT_SECONDS, (n_sessions, max_segments)) * fps)
    ).astype(np.intp)
    ends = np.cumsum(durations, axis=1)
    n_segments = int(((ends - durations) < n_frames).sum(axis=1).max())
    ends = np.minimum(ends[:, :n_segments], n_frames)
    lengths = np.diff(ends, axis=1, prepend=0)
    frame_segment = np.repeat(
        np.tile(np.arange(n_segments), n_sessions), lengths.ravel()
    ).reshape(n_sessions, n_frames)

    transitions = transition_matrices(severity)
    draws = rng.uniform(size=(n_sessions, n_segments))
    segment_behavior = np.empty((n_sessions, n_segments), dtype=np.intp)
    segment_behavior[:, 0] = _inverse_cdf(entry_weights(severity), draws[:, 0])
    sessions = np.arange(n_sessions)
    for k in range(1, n_segments):
        previous = segment_behavior[:, k - 1]
        segment_behavior[:, k] = _inverse_cdf(
            transitions[sessions, previous], draws[:, k]
        )
    return segment_behavior, frame_segment


def sample_motion(severity, n_frames, fps, rng):
    """Draw a behaviour sequence and the motor program that realises it.

    Segments last 0.5 to 3 s and follow the Markov chain of
    :func:`transition_matrices`. Each segment draws its own parameters
    (walking speed, turn rate and direction, rearing height, grooming
    frequency); the piecewise constant commands are then smoothed with a
    Gaussian of 0.1 s so that movements blend across segment boundaries.
    A lesion (right hemisphere) slows walking, biases turns to the right
    (ipsiversive, negative yaw rate) and shifts time towards still and turn.

    Parameters
    ----------
    severity : ndarray of shape (n_sessions,)
        Lesion severity acting on each session (0 for a healthy session).
    n_frames : int
        Frames per session.
    fps : float
        Frames per second.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    motion : Motion
        Arrays of shape (n_sessions, n_frames).
    """
    segment_behavior, frame_segment = _sample_segments(severity, n_frames, fps, rng)
    shape = segment_behavior.shape
    severity = severity[:, None]
    walk_speed = rng.uniform(*_WALK_SPEED, shape) * (1.0 - _WALK_SLOWING * severity)
    walk_yaw_rate = rng.normal(0.0, _WALK_YAW_RATE_STD, shape)
    turn_speed = rng.uniform(*_TURN_SPEED, shape)
    turn_ipsiversive = rng.uniform(size=shape) < 0.5 + _TURN_BIAS * severity
    turn_yaw_rate = rng.uniform(*_TURN_YAW_RATE, shape) * np.where(
        turn_ipsiversive, -1.0, 1.0
    )
    rear_pitch = rng.uniform(*_REAR_PITCH, shape)
    groom_frequency = rng.uniform(*_GROOM_FREQUENCY, shape)

    is_walk = segment_behavior == WALK
    is_turn = segment_behavior == TURN
    walk_gait = _GAIT_AMPLITUDE[0] + _GAIT_AMPLITUDE[1] * walk_speed
    commands = {
        "speed": np.select([is_walk, is_turn], [walk_speed, turn_speed]),
        "yaw_rate": np.select([is_walk, is_turn], [walk_yaw_rate, turn_yaw_rate]),
        "rear": np.where(segment_behavior == REAR, rear_pitch, 0.0),
        "groom": (segment_behavior == GROOM).astype(np.float64),
        "gait": np.select([is_walk, is_turn], [walk_gait, _TURN_GAIT_AMPLITUDE]),
    }
    per_frame = {
        name: smooth(np.take_along_axis(value, frame_segment, axis=1), fps)
        for name, value in commands.items()
    }
    stride_frequency = _STRIDE_FREQUENCY[0] + _STRIDE_FREQUENCY[1] * per_frame["speed"]
    groom_frequency = np.take_along_axis(groom_frequency, frame_segment, axis=1)
    return Motion(
        behavior=np.take_along_axis(segment_behavior, frame_segment, axis=1),
        groom_phase=2.0 * np.pi * np.cumsum(groom_frequency, axis=1) / fps,
        gait_phase=2.0 * np.pi * np.cumsum(stride_frequency, axis=1) / fps,
        **per_frame,
    )


def integrate_path(speed, yaw_rate, fps, rng):
    """Heading and horizontal root position from speed and yaw rate.

    The open field has no walls: each session starts at a random point of a
    300 mm square with a random heading and wanders freely from there.

    Parameters
    ----------
    speed : ndarray of shape (n_sessions, n_frames)
        Forward speed, mm/s.
    yaw_rate : ndarray of shape (n_sessions, n_frames)
        Rate of change of heading, rad/s.
    fps : float
        Frames per second.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    heading : ndarray of shape (n_sessions, n_frames)
        Yaw of the body axis, rad (not wrapped).
    position : ndarray of shape (n_sessions, n_frames, 2)
        Horizontal root position, mm. The step into frame ``t`` is
        ``speed[t] / fps`` along ``heading[t]``.
    """
    n_sessions = len(speed)
    start_heading = rng.uniform(-np.pi, np.pi, (n_sessions, 1))
    start_position = rng.uniform(-_START_POSITION, _START_POSITION, (n_sessions, 1, 2))
    heading = start_heading + np.cumsum(yaw_rate, axis=1) / fps
    velocity = speed[..., None] * np.stack([np.cos(heading), np.sin(heading)], axis=-1)
    return heading, start_position + np.cumsum(velocity, axis=1) / fps
