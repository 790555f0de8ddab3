"""Torch core: shapes of the encoder/decoder, the KL term, posterior structure."""

import math

import pytest
import torch

from sklearn_scrubvae.nn import ConvDecoder, ConvEncoder, gaussian_kl, gaussian_nll
from sklearn_scrubvae.nn.representations import SkeletonRepresentation, root_step_error


@pytest.mark.parametrize("window", [1, 2, 5, 9, 51])
@pytest.mark.parametrize("channels", [(8,), (8, 16), (8, 16, 32)])
def test_decoder_mirrors_encoder_lengths(window, channels):
    encoder = ConvEncoder(4, window, 3, channels, kernel_size=3, covariance="full")
    decoder = ConvDecoder(3 + 2, window, 4, channels, kernel_size=3)
    mu, scale_tril = encoder(torch.randn(6, window, 4))
    assert mu.shape == (6, 3) and scale_tril.shape == (6, 3, 3)
    assert decoder(torch.randn(6, 5)).shape == (6, window, 4)


def test_a_new_mask_input_leaves_the_encoder_as_it_would_be_without_it():
    torch.manual_seed(0)
    plain = ConvEncoder(4, 9, 3, (8, 16), kernel_size=3, covariance="full")
    torch.manual_seed(0)
    masked = ConvEncoder(4, 9, 3, (8, 16), kernel_size=3, covariance="full", n_mask=2)
    x, mask = torch.randn(5, 9, 4), torch.rand(5, 9, 2).round()
    for got, expected in zip(masked(x, mask), plain(x)):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    mu = masked(x, mask)[0]
    mu.sum().backward()
    assert masked.mask_weight.grad.abs().sum() > 0  # and the mask weights learn


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_posterior_factor_is_lower_triangular_with_positive_diagonal(covariance):
    encoder = ConvEncoder(2, 7, 4, (8, 8), kernel_size=3, covariance=covariance)
    _, L = encoder(torch.randn(5, 7, 2))
    assert torch.equal(L, torch.tril(L))
    assert (torch.diagonal(L, dim1=1, dim2=2) > 0).all()
    if covariance == "diag":
        assert torch.equal(L, torch.diag_embed(torch.diagonal(L, dim1=1, dim2=2)))
    else:
        assert (L[:, 1:, 0].abs() > 0).any()


def test_bounded_outputs_pass_through_tanh():
    decoder = ConvDecoder(3, 5, 6, (8,), kernel_size=3, n_bounded=4)
    with torch.no_grad():
        decoder.head.bias.fill_(100.0)
        out = decoder(torch.zeros(2, 3))
    assert torch.allclose(out[..., :4], torch.ones(1))
    assert (out[..., 4:] > 10).all()


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu = torch.randn(4, 3, dtype=torch.float64)
    A = torch.randn(4, 3, 3, dtype=torch.float64)
    L = torch.linalg.cholesky(A @ A.transpose(1, 2) + torch.eye(3, dtype=torch.float64))
    posterior = torch.distributions.MultivariateNormal(mu, scale_tril=L)
    prior = torch.distributions.MultivariateNormal(
        torch.zeros(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64)
    )
    expected = torch.distributions.kl_divergence(posterior, prior)
    torch.testing.assert_close(gaussian_kl(mu, L), expected)
    assert torch.allclose(gaussian_kl(torch.zeros(2, 3), torch.eye(3).expand(2, 3, 3)), torch.zeros(2))


def test_gaussian_nll_of_exact_prediction_is_the_normalising_constant():
    x = torch.randn(3, 5, 2)
    nll = gaussian_nll(x, x)
    torch.testing.assert_close(nll, torch.full((3,), 5 * math.log(2 * math.pi)))
    assert (gaussian_nll(x + 1, x) > nll).all()


def test_root_step_error_scores_jitter_that_positions_barely_see():
    """Steps are scored in units of T // 2 per step: a root that zigzags by
    0.05 root units per frame costs little as positions but much as steps."""
    t = torch.arange(9, dtype=torch.float64)
    root = torch.stack([t / 4, 0 * t, 0 * t], dim=-1)[None]  # one unit per half window
    jitter = root.clone()
    jitter[:, :, 1] = 0.05 * (-1.0) ** t
    exact = root_step_error(root, root)
    torch.testing.assert_close(exact, torch.full((1,), 8 * 3 * 0.5 * math.log(2 * math.pi),
                                                 dtype=torch.float64))
    # positions: 9 squared errors of 0.05^2; steps: 8 of (4 * 0.1)^2
    assert (gaussian_nll(jitter, root) - gaussian_nll(root, root)).item() == pytest.approx(
        0.5 * 9 * 0.05**2)
    assert (root_step_error(jitter, root) - exact).item() == pytest.approx(0.5 * 8 * 0.4**2)


def test_root_step_error_counts_steps_whose_two_frames_were_seen():
    root = torch.zeros(1, 5, 3)
    shifted = root + torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0])[None, :, None]  # a step at frame 3
    seen = torch.ones(1, 5, 1)
    assert root_step_error(shifted, root, seen) > root_step_error(root, root, seen)
    seen[0, 3] = 0.0  # the step from 2 to 3 is left out; 3 -> 4 is no step
    torch.testing.assert_close(root_step_error(shifted, root, seen),
                               root_step_error(root, root, seen))


@pytest.mark.parametrize("weight", [0.0, 2.0])
def test_skeleton_reconstruction_adds_the_weighted_root_step_term(weight):
    from sklearn_scrubvae.datasets import make_mouse_behavior
    from sklearn_scrubvae.pose import MOUSE18, inverse_kinematics

    poses, _ = make_mouse_behavior(n_animals=1, n_frames=45, lesion=False, random_state=0)
    rot6d, root, bones = inverse_kinematics(poses, MOUSE18)
    frames = {
        "rot6d": torch.as_tensor(rot6d.reshape(5, 9, 18, 6)),
        "root": torch.as_tensor(root.reshape(5, 9, 3)),
        "keypoints": torch.as_tensor((poses - root[:, None]).reshape(5, 9, 18, 3)),
        "bone_lengths": torch.as_tensor(bones.reshape(5, 9, 18)),
    }
    plain = SkeletonRepresentation(MOUSE18, "midfwd", 10.0, 10.0)
    weighted = SkeletonRepresentation(MOUSE18, "midfwd", 10.0, 10.0,
                                      root_velocity_weight=weight)
    rot6d_aligned, root_aligned, _ = plain.aligned(frames)
    decoded = torch.cat([rot6d_aligned.flatten(2), root_aligned.flip(1)], dim=2)
    extra = weighted.reconstruction_error(decoded, frames) - plain.reconstruction_error(
        decoded, frames)
    torch.testing.assert_close(extra, weight * root_step_error(root_aligned.flip(1), root_aligned))
