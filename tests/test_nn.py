"""Torch core: shapes of the encoder/decoder, the KL term, posterior structure."""

import math

import pytest
import torch

from sklearn_scrubvae.nn import ConvDecoder, ConvEncoder, gaussian_kl, gaussian_nll


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
