"""Validation of per-frame nuisance tables and label arrays."""

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

#: A per-frame nuisance table: a DataFrame with named columns, an array of
#: columns, or None.
Table = pd.DataFrame | ArrayLike | None


def as_frame(table):
    """Nuisance table as a DataFrame (arrays get integer column names)."""
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(table, pd.Series):
        return table.to_frame(name=table.name if table.name is not None else 0)
    array = np.asarray(table)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(
            f"The nuisance table must be 1-D or 2-D (one row per frame), got {array.ndim}-D."
        )
    return pd.DataFrame(array)


def is_categorical(series):
    """Whether a nuisance column holds class labels (category, bool, integer, object, string)."""
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_integer_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


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
    frame = as_frame(nuisance).reset_index(drop=True)
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
