"""Checks of plotting parameters."""

from numbers import Real


def check_fps(fps):
    """A frame rate as a positive float.

    Parameters
    ----------
    fps : float
        Frames per second.

    Returns
    -------
    fps : float

    Raises
    ------
    ValueError
        If ``fps`` is not a positive number.
    """
    if isinstance(fps, bool) or not isinstance(fps, Real) or not fps > 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}.")
    return float(fps)
