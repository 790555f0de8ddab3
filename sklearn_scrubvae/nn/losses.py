"""Loss terms of the variational objective."""

import math

import torch


def gaussian_kl(mu, scale_tril):
    """KL divergence of N(mu, L L^T) from the standard normal, per sample.

    Parameters
    ----------
    mu : Tensor of shape (B, D)
    scale_tril : Tensor of shape (B, D, D)
        Lower-triangular Cholesky factor with positive diagonal.

    Returns
    -------
    kl : Tensor of shape (B,)
    """
    trace = scale_tril.pow(2).sum(dim=(1, 2))
    log_det = 2.0 * torch.diagonal(scale_tril, dim1=1, dim2=2).log().sum(dim=1)
    return 0.5 * (trace + mu.pow(2).sum(dim=1) - mu.shape[1] - log_det)


def gaussian_nll(prediction, target, observed=None):
    """Negative log-likelihood of ``target`` under N(prediction, I), per sample.

    Parameters
    ----------
    prediction, target : Tensor of shape (B, ...)
    observed : Tensor broadcastable to (B, ...), default=None
        1 where the target was observed, 0 where it is missing (left out
        of the likelihood); None means everywhere.

    Returns
    -------
    nll : Tensor of shape (B,)
        ``0.5 * squared error + 0.5 * log(2 pi)`` summed over the observed
        values of each sample.
    """
    sq = (prediction - target).pow(2)
    if observed is None:
        sq = sq.flatten(1)
        return 0.5 * sq.sum(dim=1) + 0.5 * math.log(2 * math.pi) * sq.shape[1]
    observed = observed.to(sq.dtype).expand_as(sq).flatten(1)
    return 0.5 * (sq.flatten(1) * observed).sum(dim=1) + 0.5 * math.log(
        2 * math.pi
    ) * observed.sum(dim=1)
