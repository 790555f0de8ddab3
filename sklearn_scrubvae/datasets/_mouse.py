"""Synthetic 3D mouse behaviour with ground-truth nuisance variables."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ._behavior import BEHAVIORS, integrate_path, sample_motion
from ._body import place_keypoints, sample_identity

CONDITIONS = ("healthy", "lesioned")


def _track(keypoints, noise, rng):
    """Frame-major poses with Gaussian tracking noise.

    Parameters
    ----------
    keypoints : ndarray of shape (n_keypoints, 3, n_sessions, n_frames)
        True keypoint positions.
    noise : float
        Standard deviation of the noise added to every coordinate.
    rng : numpy.random.Generator
        Source of the noise.

    Returns
    -------
    poses : ndarray of shape (n_sessions * n_frames, n_keypoints, 3)
    """
    n_keypoints, _, n_sessions, n_frames = keypoints.shape
    poses = np.empty((n_sessions, n_frames, n_keypoints, 3))
    frame_major = keypoints.transpose(2, 3, 0, 1)
    if noise > 0:
        rng.standard_normal(out=poses)
        poses *= noise
        poses += frame_major
    else:
        poses[...] = frame_major
    return poses.reshape(-1, n_keypoints, 3)


def _labels(motion, heading, session_animal, session_condition, severity, identity):
    """One row of ground truth per frame; see :func:`make_mouse_behavior`."""
    n_frames = heading.shape[1]
    session_names = [
        f"{animal}-{CONDITIONS[condition]}"
        for animal, condition in zip(session_animal, session_condition)
    ]
    frame_session = np.repeat(np.arange(len(session_animal)), n_frames)
    frame_animal = session_animal[frame_session]
    return pd.DataFrame(
        {
            "animal": pd.Categorical.from_codes(
                frame_animal, range(len(identity.body_size))
            ),
            "session": pd.Categorical.from_codes(frame_session, session_names),
            "condition": pd.Categorical.from_codes(
                session_condition[frame_session], CONDITIONS
            ),
            "behavior": pd.Categorical.from_codes(motion.behavior.ravel(), BEHAVIORS),
            "speed": motion.speed.ravel(),
            "heading_sin": np.sin(heading).ravel(),
            "heading_cos": np.cos(heading).ravel(),
            "lesion_severity": severity[frame_animal],
            "body_size": identity.body_size[frame_animal],
        }
    )


@validate_params(
    {
        "n_animals": [Interval(Integral, 1, None, closed="left")],
        "n_frames": [Interval(Integral, 1, None, closed="left")],
        "lesion": ["boolean"],
        "fps": [Interval(Real, 0, None, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_mouse_behavior(
    n_animals: int = 4,
    n_frames: int = 9000,
    *,
    lesion: bool = True,
    fps: float = 90,
    noise: float = 0.5,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Generate 3D poses of mice performing behaviours, with ground truth.

    Each session is a sequence of behaviour segments (walk, rear, groom,
    turn, still) of 0.5 to 3 s drawn from a Markov chain; each segment draws
    its own parameters, so that for instance the walking speed varies widely
    within "walk" and the stride frequency rises with it. Speed and yaw rate
    are integrated into a heading and a path in an open field without walls
    (the animal wanders freely from a random start). Every keypoint is placed
    relative to its parent in the MOUSE18 kinematic tree with rigid bones:
    SpineM -> SpineF 25 mm, SpineF -> Snout 25 mm, SpineM -> Tail_base
    30 mm, limb segments 7 to 14 mm, body length about 80 mm at size 1.

    Animals differ in body size (scale 0.85 to 1.15), habitual head pitch
    (+-0.3 rad), lateral spread of the limbs (x 0.7 to 1.3), tail-base
    height (+-6 mm), and posture and gait: how bent the limbs are carried
    (+-0.45 rad), stride length (x 0.55 to 1.45) and cadence (stride
    frequency x 0.7 to 1.4). Identity is therefore decodable from raw poses
    and also from joint angles alone, as on real mice, not only from bone
    lengths: a plain VAE's latent code keeps it (held-out accuracy above
    0.9 for four animals). With ``lesion=True`` every animal has a healthy
    session followed by a session after a unilateral (right hemisphere)
    lesion whose effect scales with the animal's ``lesion_severity``: slower
    walking, more time still and turning, turns biased to the right
    (ipsiversive), shorter strides of the left limbs and head and hind body
    bent slightly to the right. The change is subtle per frame but shows in
    session-level statistics.

    Parameters
    ----------
    n_animals : int, default=4
        Number of animals.
    n_frames : int, default=9000
        Frames per session (9000 frames are 100 s at 90 fps).
    lesion : bool, default=True
        If True, each animal has two sessions, "healthy" then "lesioned";
        otherwise one healthy session.
    fps : float, default=90
        Frames per second. Durations and rates are in seconds, so ``fps``
        changes the sampling, not the behaviour.
    noise : float, default=0.5
        Standard deviation of the Gaussian tracking noise added
        independently to every coordinate, mm.
    random_state : int, RandomState instance or None, default=None
        Seeds the generator; an int gives reproducible data.

    Returns
    -------
    poses : ndarray of shape (n_animals * n_sessions * n_frames, 18, 3)
        Keypoints in the MOUSE18 order SpineM (root), SpineF, EarL, EarR,
        Snout, Tail_base, ElbowL, WristL, ForepawL, ElbowR, WristR,
        ForepawR, KneeL, AnkleL, HindpawL, KneeR, AnkleR, HindpawR; world
        frame with z up, mm, float64. Sessions are contiguous, ordered by
        animal and then condition.
    labels : pandas.DataFrame of shape (n_animals * n_sessions * n_frames, 9)
        One row per frame, with columns

        - ``animal`` (categorical, ints 0 to ``n_animals - 1``): identity.
        - ``session`` (categorical, e.g. ``"0-healthy"``): one id per animal
          and session, suitable as ``groups``.
        - ``condition`` (categorical, "healthy" or "lesioned").
        - ``behavior`` (categorical, "walk", "rear", "groom", "turn" or
          "still"): the segment's behaviour. Posture blends over about
          0.2 s around segment boundaries.
        - ``speed`` (float): ground-truth horizontal speed of the root
          (SpineM), mm/s; the root moves by ``speed / fps`` from the previous
          frame. The root's small vertical motion while rearing is not
          included.
        - ``heading_sin``, ``heading_cos`` (float): sine and cosine of the
          ground-truth yaw of the SpineM -> SpineF vector (counterclockwise
          from the x axis, seen from above).
        - ``lesion_severity`` (float in [0, 1]): the animal's lesion severity
          (the dopamine denervation), uniform in [0, 1], the same on all of
          the animal's frames, including its healthy session; 0 when
          ``lesion=False``.
        - ``body_size`` (float): the animal's overall scale.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range.

    Notes
    -----
    At full severity the lesioned session has walking 30 % slower, 95 % of
    turns to the right instead of 50 %, left strides 40 % shorter, head and
    hind body turned 7 degrees to the right, and in the behaviour Markov
    chain the weight of entering "still" and "turn" doubled, that of "walk"
    lowered by 30 % and that of "rear" halved. Every effect is proportional
    to the severity.

    Frames are strongly correlated in time: cross-validate with the
    ``session`` column as ``groups`` or with unshuffled splits.

    References
    ----------
    .. [1] Wu, Koneru, Ravenel, Sabath, Roach, Lim, Tadross, Williams, Dunn,
       "Disentangling 3D Animal Pose Dynamics with Scrubbed Conditional
       Latent Variables", ICLR 2025.

    Examples
    --------
    >>> from sklearn_scrubvae.datasets import make_mouse_behavior
    >>> poses, labels = make_mouse_behavior(n_animals=2, n_frames=900, random_state=0)
    >>> poses.shape
    (3600, 18, 3)
    >>> labels["session"].unique().tolist()
    ['0-healthy', '0-lesioned', '1-healthy', '1-lesioned']
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)

    identity = sample_identity(n_animals, rng)
    severity = rng.uniform(0.0, 1.0, n_animals) if lesion else np.zeros(n_animals)
    n_conditions = 2 if lesion else 1
    session_animal = np.repeat(np.arange(n_animals), n_conditions)
    session_condition = np.tile(np.arange(n_conditions), n_animals)
    session_severity = severity[session_animal] * session_condition

    motion = sample_motion(session_severity, n_frames, fps, rng)
    heading, position = integrate_path(motion.speed, motion.yaw_rate, fps, rng)
    keypoints = place_keypoints(
        motion,
        heading,
        position,
        identity.take(session_animal),
        session_severity[:, None],
        fps,
        rng,
    )
    poses = _track(keypoints, noise, rng)

    labels = _labels(
        motion, heading, session_animal, session_condition, severity, identity
    )
    return poses, labels
