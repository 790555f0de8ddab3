"""Two-dimensional views of an embedding."""

import importlib

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike
from sklearn.decomposition import PCA
from sklearn.utils import check_array
from sklearn.utils._param_validation import StrOptions, validate_params

from .._frames.tables import is_categorical
from ._axes import get_axes
from ._labels import category_colors, check_valid, encode_labels

def project(Z, method):
    """Two coordinates per row of ``Z`` and their axis labels.

    Parameters
    ----------
    Z : ndarray of shape (n_rows, n_components)
        Finite rows only.
    method : {"pca", "umap", None}
        PCA, UMAP (needs umap-learn), or None to use ``Z`` as it is (two
        columns).

    Returns
    -------
    points : ndarray of shape (n_rows, 2)
    labels : tuple of str
        Axis labels.
    """
    if method is None:
        if Z.shape[1] != 2:
            raise ValueError(f"method=None needs Z with 2 columns, got {Z.shape[1]}.")
        return Z, ("dimension 1", "dimension 2")
    if Z.shape[1] < 2:
        raise ValueError(f"A 2D view needs Z with at least 2 columns, got {Z.shape[1]}.")
    if method == "pca":
        pca = PCA(n_components=2)
        points = pca.fit_transform(Z)
        share = pca.explained_variance_ratio_
        return points, tuple(f"PC {i + 1} ({share[i]:.0%} of variance)" for i in range(2))
    try:
        umap = importlib.import_module("umap")
    except ImportError as error:
        raise ImportError(
            "method='umap' needs the umap-learn package: pip install umap-learn"
        ) from error
    return umap.UMAP(n_components=2).fit_transform(Z), ("UMAP 1", "UMAP 2")


@validate_params(
    {
        "Z": ["array-like"],
        "color": ["array-like", None],
        "valid": ["array-like", None],
        "method": [StrOptions({"pca", "umap"}), None],
        "ax": [Axes, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_embedding(
    Z: ArrayLike,
    color: ArrayLike | None = None,
    *,
    valid: ArrayLike | None = None,
    method: str | None = "pca",
    ax: Axes | None = None,
) -> Axes:
    """Scatter of an embedding in two dimensions, coloured by a variable.

    Colour the embedding of a plain VAE and of a scrubbed model by animal
    to see identity separate before scrubbing and mix after. Rows without
    an embedding of their own (``valid`` False, or NaN) are left out and
    counted in the title: a bridged row repeats a neighbour's point.

    Parameters
    ----------
    Z : array-like of shape (n_frames, n_components)
        Embeddings, one row per frame; NaN rows allowed.
    color : array-like of shape (n_frames,), Series or None, default=None
        Variable per frame. Labels (integers, strings, booleans, categories)
        get one colour each and a legend, drawn in a shuffled order so that
        no category hides the others; floats get a continuous colour map and
        a colour bar. A Series' name titles the legend or colour bar.
        Missing values (and the label -1 of unassigned clusters) are
        skipped like NaN rows.
    valid : array-like of shape (n_frames,) of bool, default=None
        Rows with an embedding of their own, from
        :meth:`~sklearn_scrubvae.ScrubbedCVAE.valid_frames`; the others
        are skipped. None keeps every row without NaN.
    method : {"pca", "umap", None}, default="pca"
        Projection to two dimensions: PCA, UMAP (needs the optional
        umap-learn package), or None when ``Z`` already has two columns.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        Its title counts the rows skipped (no embedding of their own, NaN or
        no colour).

    Raises
    ------
    ImportError
        If ``method="umap"`` and umap-learn is not installed.
    ValueError
        For an unknown method, or when no row is left to draw.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae.plotting import plot_embedding
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(100, 4))
    >>> Z[:5] = np.nan
    >>> ax = plot_embedding(Z, np.repeat(["a", "b"], 50))
    >>> ax.get_title()
    'PCA\\n5 of 100 rows skipped (no own embedding, NaN or no colour)'
    """
    Z = check_array(Z, ensure_all_finite="allow-nan", dtype=np.float64)
    keep = ~np.isnan(Z).any(axis=1) & check_valid(valid, len(Z))
    title = color.name if isinstance(color, pd.Series) else None
    categorical = None
    if color is not None:
        series = color if isinstance(color, pd.Series) else pd.Series(np.asarray(color))
        categorical = is_categorical(series)
        if categorical:
            categories, codes = encode_labels(series, "color", len(Z))
            keep &= codes >= 0
        else:
            values = series.to_numpy(dtype=np.float64)
            if len(values) != len(Z):
                raise ValueError(f"color has {len(values)} rows but Z has {len(Z)}.")
            keep &= np.isfinite(values)
    if not keep.any():
        raise ValueError("No row of Z is left to draw (all have NaN or no colour).")
    points, axis_labels = project(Z[keep], method)
    ax = get_axes(ax)
    style = dict(s=6, linewidths=0, alpha=0.7, rasterized=True)
    if categorical:
        order = np.random.default_rng(0).permutation(len(points))
        colors = category_colors(len(categories))
        drawn = codes[keep][order]
        ax.scatter(*points[order].T, color=colors[drawn], **style)
        handles = [
            Line2D([], [], linestyle="", marker="o", color=colors[i], label=str(category))
            for i, category in enumerate(categories)
        ]
        ax.legend(handles=handles, title=title, fontsize="small", markerscale=1.2)
    elif color is not None:
        drawn = ax.scatter(*points.T, c=values[keep], cmap="viridis", **style)
        ax.figure.colorbar(drawn, ax=ax, label=title)
    else:
        ax.scatter(*points.T, color="0.3", **style)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    name = {"pca": "PCA", "umap": "UMAP", None: "embedding"}[method]
    skipped = len(Z) - keep.sum()
    reason = "no own embedding, NaN or no colour"
    ax.set_title(f"{name}\n{skipped} of {len(Z)} rows skipped ({reason})" if skipped else name,
                 fontsize="small" if skipped else None)
    return ax
