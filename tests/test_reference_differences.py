"""Behaviours in which the package deliberately differs from the authors' code.

Each test pins one of the choices described in doc/differences.md.
"""

import numpy as np
import pytest
import torch

from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.pose import MOUSE18, compute_speed, inverse_kinematics
from sklearn_scrubvae.pose import rotation_6d_to_matrix
from sklearn_scrubvae.scrubbers import (
    GradientReversalScrubber,
    MovingAverageLeastSquaresScrubber,
    QuadraticDiscriminantScrubber,
)


def _turn(poses, angle):
    """Poses rotated about the world z axis by ``angle`` (rad)."""
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    return poses @ rotation.T


def _angle_between(a, b):
    """Geodesic angle (rad) between rotation matrices of shape (..., 3, 3)."""
    cos = (np.trace(np.swapaxes(a, -1, -2) @ b, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.arccos(np.clip(cos, -1.0, 1.0))


@pytest.fixture(scope="module")
def mice():
    poses, labels = make_mouse_behavior(2, 300, lesion=False, fps=30, random_state=0)
    return poses, labels


def _facing_plus_x(poses):
    """Each pose turned so that its SpineM -> SpineF vector points along +x."""
    spine = poses[:, 1] - poses[:, 0]
    yaw = np.arctan2(spine[:, 1], spine[:, 0])
    return np.stack([_turn(pose, -angle) for pose, angle in zip(poses, yaw)])


def test_joint_rotations_are_heading_free(mice):
    poses, _ = mice
    rot6d, _, _ = inverse_kinematics(poses)
    turned, _, _ = inverse_kinematics(_turn(poses, 2.0))
    np.testing.assert_allclose(turned[:, 1:], rot6d[:, 1:], atol=1e-9)
    # Only the root's rotation carries the heading.
    root_change = _angle_between(
        rotation_6d_to_matrix(rot6d[:, 0]), rotation_6d_to_matrix(turned[:, 0])
    )
    np.testing.assert_allclose(root_change, 2.0, atol=1e-6)


@pytest.mark.parametrize("heading_deg", [0.0, 90.0, 180.0, -135.0])
def test_root_frame_is_smooth_at_every_heading(mice, heading_deg):
    """A 0.5 degree turn moves the root rotation by 0.5 degree, also when the
    animal faces +x exactly (no singular frame)."""
    poses = _turn(_facing_plus_x(mice[0]), np.radians(heading_deg))
    before = rotation_6d_to_matrix(inverse_kinematics(poses)[0][:, 0])
    after = rotation_6d_to_matrix(inverse_kinematics(_turn(poses, np.radians(0.5)))[0][:, 0])
    np.testing.assert_allclose(np.degrees(_angle_between(before, after)), 0.5, atol=1e-6)


def test_limb_speeds_are_relative_to_the_girdles(mice):
    pose = mice[0][0]
    n_frames = 31
    t = np.arange(n_frames)[:, None]
    poses = np.repeat(pose[None], n_frames, axis=0)
    fore = [MOUSE18.index(k) for k in ("SpineF", "ElbowL", "WristL", "ForepawL",
                                        "ElbowR", "WristR", "ForepawR")]
    hind = [MOUSE18.index(k) for k in ("Tail_base", "KneeL", "AnkleL", "HindpawL",
                                        "KneeR", "AnkleR", "HindpawR")]
    # Each girdle moves sideways with its limbs (the body bends); SpineM stays.
    poses[:, fore, 1] += 0.5 * t
    poses[:, hind, 1] -= 0.5 * t
    speeds = compute_speed(poses, "mouse18", window=5, fps=30)
    assert np.allclose(speeds["speed_limbs"], 0.0, atol=1e-9)
    # Positive control: a limb moving relative to its girdle has a speed.
    poses[:, MOUSE18.index("ForepawL"), 0] += 0.5 * t[:, 0]
    assert (compute_speed(poses, "mouse18", window=5, fps=30)["speed_limbs"] > 1.0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_central_differences_halve_the_speed_noise(seed):
    rng = np.random.default_rng(seed)
    fps, true_speed, n_frames = 30.0, 60.0, 3000
    pose = make_mouse_behavior(1, 2, lesion=False, noise=0.0, random_state=0)[0][0]
    path = np.arange(n_frames)[:, None] * [true_speed / fps, 0.0, 0.0]
    poses = pose[None] + path[:, None] + rng.normal(0.0, 0.5, (n_frames, 18, 3))
    ours = compute_speed(poses, "mouse18", window=1, fps=fps)["speed_root"].to_numpy()
    step = np.linalg.norm(np.diff(poses[:, 0], axis=0), axis=1) * fps  # forward difference
    error_ours = np.std(ours[1:-1] - true_speed)
    error_forward = np.std(step - true_speed)
    assert error_ours < 0.6 * error_forward  # about 1 / 2 in theory


def test_gradient_reversal_ensemble_weighs_every_head_equally():
    generator = torch.Generator().manual_seed(0)
    scrubber = GradientReversalScrubber(4, 2, categorical=False, generator=generator, cap=False)
    mu = torch.randn(32, 4, generator=generator, requires_grad=True)
    v = torch.randn(32, 2, generator=generator)
    scrubber.penalty(mu, v).backward()
    heads = scrubber.adversary.members
    assert len(heads) > 1
    # Each head's own loss enters with weight 1 / n_heads: its gradient equals
    # that of its loss divided by the number of heads.
    for head in heads:
        own = torch.nn.functional.mse_loss(head(mu.detach()), v) / len(heads)
        expected = torch.autograd.grad(own, list(head.parameters()))
        for parameter, gradient in zip(head.parameters(), expected):
            torch.testing.assert_close(parameter.grad, gradient)


def test_qd_weighs_in_class_and_rest_terms_equally():
    """The penalty averages the log-likelihood ratio over each side, not sums
    weighted by counts: three times as many windows of one class leave it
    unchanged, although they change the class balance of the batch."""
    generator = torch.Generator().manual_seed(0)
    v = torch.arange(120) % 2
    mu = torch.randn(120, 2, generator=generator) + 1.5 * v[:, None]
    scrubber = QuadraticDiscriminantScrubber(2, 2, categorical=True, forgetting_factor=0.5)
    scrubber.update(mu, v)
    ones = v == 1
    tripled_mu = torch.cat([mu, mu[ones], mu[ones]])
    tripled_v = torch.cat([v, v[ones], v[ones]])
    penalty = scrubber.penalty(mu, v)
    assert penalty.item() > 0.5  # the classes are separable
    torch.testing.assert_close(scrubber.penalty(tripled_mu, tripled_v), penalty)


def test_mals_starts_from_a_small_ridge_not_an_identity_matrix():
    """After one batch the decoder is the ridge solution with the small
    ``ridge``; a unit prior (identity start) would shrink it visibly."""
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    v = mu @ torch.tensor([[2.0], [-1.0], [0.5]], dtype=torch.float64)
    scrubber = MovingAverageLeastSquaresScrubber(
        3, 1, categorical=False, fit_intercept=False, forgetting_factor=0.9, ridge=1e-3
    )
    scrubber.update(mu.float(), v.float())
    ridge = torch.linalg.solve(mu.T @ mu + 1e-3 * torch.eye(3, dtype=torch.float64), mu.T @ v)
    unit = torch.linalg.solve(mu.T @ mu + torch.eye(3, dtype=torch.float64), mu.T @ v)
    torch.testing.assert_close(scrubber.coef[0].double(), ridge, atol=1e-4, rtol=1e-4)
    assert (unit - ridge).abs().max() > 0.05
