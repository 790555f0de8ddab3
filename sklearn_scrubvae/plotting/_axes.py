"""Where a figure is drawn: the caller's Axes or a new pyplot figure."""

import matplotlib.pyplot as plt


def get_axes(ax, *, three_d=False, figsize=None):
    """The Axes to draw on.

    Parameters
    ----------
    ax : matplotlib Axes or None
        The caller's Axes; None creates a figure with one Axes.
    three_d : bool, default=False
        Whether the drawing needs a 3D Axes (``projection="3d"``).
    figsize : tuple of float, default=None
        Size of a new figure; None uses matplotlib's default.

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    ValueError
        If a given Axes is 2D but the drawing is 3D, or the reverse.
    """
    if ax is None:
        figure = plt.figure(figsize=figsize, layout="constrained")
        return figure.add_subplot(projection="3d" if three_d else None)
    if is_3d(ax) != three_d:
        wanted = "a 3D Axes (projection='3d')" if three_d else "a 2D Axes"
        raise ValueError(f"This drawing needs {wanted}, got {type(ax).__name__}.")
    return ax


def is_3d(ax):
    """Whether ``ax`` is a 3D Axes."""
    return getattr(ax, "name", None) == "3d"


def new_figure(n_rows, n_cols, *, three_d, panel_size):
    """A pyplot figure with a grid of Axes.

    Parameters
    ----------
    n_rows, n_cols : int
        Grid shape.
    three_d : bool
        3D Axes or 2D Axes.
    panel_size : float
        Width and height of one panel, inches.

    Returns
    -------
    figure : matplotlib Figure
    axes : ndarray of Axes of shape (n_rows, n_cols)
    """
    figure, axes = plt.subplots(
        n_rows, n_cols, squeeze=False, layout="constrained",
        figsize=(panel_size * n_cols, panel_size * n_rows),
        subplot_kw={"projection": "3d"} if three_d else None,
    )
    return figure, axes
