"""Gradient reversal: identity on the way forward, -alpha * gradient back."""

import torch


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return -ctx.alpha * grad_output, None


def reverse_gradient(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Pass ``x`` through unchanged but multiply its gradient by ``-alpha``.

    Placed between the encoder output and an adversary, a single backward pass
    trains the adversary to minimise its loss while pushing the encoder to
    maximise it.

    Parameters
    ----------
    x : Tensor of any shape
    alpha : float, default=1.0
        Scale of the reversed gradient.

    Returns
    -------
    y : Tensor of the same shape as ``x``
        Equal to ``x``.
    """
    return _GradientReversal.apply(x, float(alpha))
