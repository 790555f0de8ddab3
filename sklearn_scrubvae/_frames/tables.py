"""Validation and encoding of per-frame nuisance tables."""

import numpy as np
import pandas as pd

from .nuisance import _as_frame
from .nuisance import _is_categorical as is_categorical


def check_nuisance_frame(nuisance, n_rows, name="nuisance"):
    """Return a nuisance table as a DataFrame with one row per frame.

    Parameters
    ----------
    nuisance : array-like of shape (n_rows,) or (n_rows, n_columns), \
            Series or DataFrame
        Per-frame nuisance values. Arrays get integer column names
        ``0 .. n_columns - 1``; a Series keeps its name (or ``0``).
    n_rows : int
        Expected number of rows.
    name : str, default="nuisance"
        Name used in error messages.

    Returns
    -------
    frame : DataFrame of shape (n_rows, n_columns)
        With a fresh ``RangeIndex``.

    Raises
    ------
    ValueError
        If the table is missing, not 1-D or 2-D, has no column or has the
        wrong number of rows.
    """
    if nuisance is None:
        raise ValueError(f"{name} is required, got None.")
    frame = _as_frame(nuisance).reset_index(drop=True)
    if frame.shape[1] == 0:
        raise ValueError(f"{name} has no column.")
    if len(frame) != n_rows:
        raise ValueError(
            f"{name} has {len(frame)} rows but the data has {n_rows}; "
            "give one row per frame."
        )
    return frame


def missing_rows(X, frame):
    """Mask of rows with NaN in ``X`` or a missing nuisance value.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    frame : DataFrame of shape (n_rows, n_columns)

    Returns
    -------
    mask : ndarray of shape (n_rows,), dtype bool
    """
    return np.isnan(X).any(axis=1) | frame.isna().any(axis=1).to_numpy()


def encode_nuisance(frame):
    """Numeric matrix of a nuisance table: one-hot labels, raw numbers.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
        Without missing values.

    Returns
    -------
    encoded : ndarray of shape (n_rows, n_encoded)
        Categorical columns become one indicator column per observed
        label; continuous columns are copied as float64.
    """
    blocks = []
    for _, column in frame.items():
        if is_categorical(column):
            codes, labels = pd.factorize(column)
            blocks.append(codes[:, None] == np.arange(len(labels)))
        else:
            blocks.append(column.to_numpy(dtype=np.float64)[:, None])
    return np.hstack(blocks).astype(np.float64)


def check_labels(labels, name, n_rows=None):
    """Return per-frame labels as a 1-D array.

    Parameters
    ----------
    labels : array-like of shape (n_rows,)
    name : str
        Name used in error messages.
    n_rows : int, default=None
        Expected length; None skips the check.

    Returns
    -------
    labels : ndarray of shape (n_rows,)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {labels.shape}.")
    if n_rows is not None and len(labels) != n_rows:
        raise ValueError(f"{name} has {len(labels)} rows but the data has {n_rows}.")
    return labels
