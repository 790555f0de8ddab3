"""Residual 1-D convolution blocks shared by the encoder and the decoder."""

from torch import nn


def _same_padding(kernel_size):
    return kernel_size // 2


class ResidualDownBlock(nn.Module):
    """Residual block that halves the time axis.

    Main path: strided convolution -> BatchNorm -> PReLU -> convolution.
    Skip path: strided 1-wide convolution. The two are summed, then
    BatchNorm and PReLU.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts of the input ``(B, in_channels, T)`` and output
        ``(B, out_channels, ceil(T / 2))``.
    kernel_size : int
        Odd temporal kernel width.
    """

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        pad = _same_padding(kernel_size)
        self.main = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, kernel_size, stride=2, padding=pad),
            nn.BatchNorm1d(out_channels),
            nn.PReLU(out_channels),
            nn.Conv1d(out_channels, out_channels, kernel_size, padding=pad),
        )
        self.skip = nn.Conv1d(in_channels, out_channels, 1, stride=2)
        self.post = nn.Sequential(nn.BatchNorm1d(out_channels), nn.PReLU(out_channels))

    def forward(self, x):
        return self.post(self.main(x) + self.skip(x))


class ResidualUpBlock(nn.Module):
    """Residual block that doubles the time axis (transposed convolutions).

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts of the input ``(B, in_channels, T)`` and output
        ``(B, out_channels, 2 * T - 1 + output_padding)``.
    kernel_size : int
        Odd temporal kernel width.
    output_padding : {0, 1}
        Extra frame so the output length matches the encoder level it mirrors.
    """

    def __init__(self, in_channels, out_channels, kernel_size, output_padding):
        super().__init__()
        pad = _same_padding(kernel_size)
        self.main = nn.Sequential(
            nn.ConvTranspose1d(
                in_channels,
                out_channels,
                kernel_size,
                stride=2,
                padding=pad,
                output_padding=output_padding,
            ),
            nn.BatchNorm1d(out_channels),
            nn.PReLU(out_channels),
            nn.Conv1d(out_channels, out_channels, kernel_size, padding=pad),
        )
        self.skip = nn.ConvTranspose1d(
            in_channels,
            out_channels,
            kernel_size,
            stride=2,
            padding=pad,
            output_padding=output_padding,
        )
        self.post = nn.Sequential(nn.BatchNorm1d(out_channels), nn.PReLU(out_channels))

    def forward(self, x):
        return self.post(self.main(x) + self.skip(x))


def level_lengths(window, n_levels):
    """Time-axis length at each resolution level.

    Parameters
    ----------
    window : int
        Frames per window (level 0).
    n_levels : int
        Number of levels; each after the first halves the length (rounding up).

    Returns
    -------
    lengths : list of int, length ``n_levels``
    """
    lengths = [window]
    for _ in range(n_levels - 1):
        lengths.append((lengths[-1] + 1) // 2)
    return lengths
