import numpy as np
import pytest
import torch

from sklearn_scrubvae.nn.kinematics import forward_kinematics, rotation_6d_to_matrix
from sklearn_scrubvae.pose import MOUSE18, Skeleton, inverse_kinematics
from sklearn_scrubvae.pose import forward_kinematics as numpy_forward_kinematics
from sklearn_scrubvae.pose import rotation_6d_to_matrix as numpy_rotation_6d_to_matrix


def random_inputs(batch_shape=(2, 5), seed=0):
    """IK of random poses with the rotations perturbed (as a decoder emits)."""
    rng = np.random.default_rng(seed)
    poses = rng.normal(size=(*batch_shape, 18, 3)) * 10
    rot6d, root, lengths = inverse_kinematics(poses, MOUSE18)
    return rot6d + 0.3 * rng.normal(size=rot6d.shape), root, lengths


def test_rotation_6d_to_matrix_agrees_with_numpy():
    rot6d = np.random.default_rng(1).normal(size=(3, 4, 6))
    expected = numpy_rotation_6d_to_matrix(rot6d)
    result = rotation_6d_to_matrix(torch.tensor(rot6d, dtype=torch.float32))
    assert result.dtype == torch.float32 and result.shape == (3, 4, 3, 3)
    np.testing.assert_allclose(result.numpy(), expected, atol=1e-6)
    gram = result @ result.transpose(-1, -2)
    torch.testing.assert_close(gram, torch.eye(3).expand_as(gram), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        torch.linalg.det(result), torch.ones(3, 4), atol=1e-5, rtol=0
    )


@pytest.mark.parametrize("batch_shape", [(7,), (2, 5), ()])
def test_forward_kinematics_agrees_with_numpy_in_float32(batch_shape):
    rot6d, root, lengths = random_inputs(batch_shape)
    expected = numpy_forward_kinematics(rot6d, root, lengths, MOUSE18)
    result = forward_kinematics(
        *(torch.tensor(a, dtype=torch.float32) for a in (rot6d, root, lengths)), MOUSE18
    )
    assert result.dtype == torch.float32 and result.shape == (*batch_shape, 18, 3)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(result.numpy() / scale, expected / scale, atol=1e-5)


def test_forward_kinematics_inverts_numpy_ik_in_float64():
    poses = np.random.default_rng(2).normal(size=(4, 18, 3))
    rot6d, root, lengths = inverse_kinematics(poses, MOUSE18)
    result = forward_kinematics(
        *(torch.from_numpy(a) for a in (rot6d, root, lengths)), "mouse18"
    )
    assert result.dtype == torch.float64
    np.testing.assert_allclose(result.numpy(), poses, atol=1e-12)


def test_forward_kinematics_broadcasts_leading_axes():
    rot6d, root, lengths = (torch.tensor(a) for a in random_inputs((3, 4)))
    shared = lengths[0, 0]
    result = forward_kinematics(rot6d, root, shared, MOUSE18)
    expected = forward_kinematics(rot6d, root, shared.expand(3, 4, 18), MOUSE18)
    torch.testing.assert_close(result, expected)


@pytest.mark.parametrize(
    "device",
    [
        "meta",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(
                not torch.cuda.is_available(), reason="no CUDA device"
            ),
        ),
    ],
)
def test_forward_kinematics_stays_on_the_input_device(device):
    rot6d, root, lengths = (
        torch.tensor(a, dtype=torch.float32, device=device) for a in random_inputs()
    )
    poses = forward_kinematics(rot6d, root, lengths, MOUSE18)
    assert poses.device.type == device and poses.shape == (2, 5, 18, 3)


def test_gradcheck_on_a_small_skeleton():
    skeleton = Skeleton(
        ["root", "front", "arm", "hand"],
        [-1, 0, 0, 2],
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
        front="front",
    )
    generator = torch.Generator().manual_seed(0)
    rot6d = torch.randn(2, 4, 6, dtype=torch.float64, generator=generator)
    root = torch.randn(2, 3, dtype=torch.float64, generator=generator)
    lengths = torch.rand(2, 4, dtype=torch.float64, generator=generator) + 0.5
    inputs = tuple(t.requires_grad_() for t in (rot6d, root, lengths))
    assert torch.autograd.gradcheck(
        lambda *args: forward_kinematics(*args, skeleton), inputs
    )


def test_gradients_flow_to_every_input():
    rot6d, root, lengths = (
        torch.tensor(a, dtype=torch.float32, requires_grad=True)
        for a in random_inputs((6,))
    )
    forward_kinematics(rot6d, root, lengths, MOUSE18).square().sum().backward()
    for tensor in (rot6d, root, lengths):
        assert torch.isfinite(tensor.grad).all()
    assert (rot6d.grad[:, 1:].abs().sum(dim=-1) > 0).all()
    assert (lengths.grad[:, 1:] != 0).all()


def test_degenerate_6d_keeps_gradients_finite():
    rot6d = torch.zeros(1, 18, 6, requires_grad=True)
    poses = forward_kinematics(rot6d, torch.zeros(1, 3), torch.ones(1, 18), MOUSE18)
    poses.sum().backward()
    assert torch.isfinite(poses).all() and torch.isfinite(rot6d.grad).all()


def test_shape_errors():
    rot6d, root, lengths = torch.zeros(2, 18, 6), torch.zeros(2, 3), torch.ones(2, 18)
    with pytest.raises(ValueError, match="size 6"):
        rotation_6d_to_matrix(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="rot6d"):
        forward_kinematics(rot6d[:, :17], root, lengths)
    with pytest.raises(ValueError, match="root"):
        forward_kinematics(rot6d, root[:, :2], lengths)
    with pytest.raises(ValueError, match="bone_lengths"):
        forward_kinematics(rot6d, root, lengths[:, :17])
