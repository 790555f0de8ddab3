"""Encoding of the per-frame nuisance table for the decoder and the scrubbers."""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target

from .tables import as_frame, is_categorical


def _scatter(values, missing):
    """Rows of ``values`` placed at the rows where ``missing`` is False; zeros elsewhere."""
    full = np.zeros((len(missing),) + values.shape[1:], dtype=values.dtype)
    full[~missing] = values
    return full


class NuisanceEncoder:
    """Turn a per-frame nuisance table into model inputs.

    Categorical columns (category, object, string, bool and integer dtypes)
    become class codes (for the scrubbers) and one-hot blocks (for the
    decoder); float columns are standardised, except the columns named in
    ``classes`` whose float values are all integers (scikit-learn's
    ``type_of_target`` convention: ``0.0``/``1.0`` are class labels).
    Rows with a missing value (NaN/None) in a used column are left out of
    the statistics and encoded as zeros (see :meth:`missing_rows`).

    Parameters
    ----------
    columns : list of str or int, or None
        Columns to use; None means all.
    classes : dict of column -> str, default=None
        Columns that must hold class labels, mapped to the name of what needs
        them (used in error messages). Such a column may have a float dtype
        if its values are integers; it must hold at least two classes.
    """

    def __init__(self, columns=None, classes=None):
        self.columns = columns
        self.classes = classes

    def fit(self, table, n_frames):
        """Learn categories and standardisation.

        Parameters
        ----------
        table : DataFrame, Series or array-like of shape (n_frames,) or (n_frames, n_columns)
        n_frames : int
            Expected number of rows.

        Returns
        -------
        self
        """
        frame = self._select(table, n_frames)
        self.columns_ = list(frame.columns)
        frame = frame[~self._missing(frame)]
        if self.columns_ and len(frame) == 0:
            raise ValueError("Every row of the nuisance table has a missing value (NaN/None).")
        self.categories_ = {}
        self.mean_ = {}
        self.scale_ = {}
        classes = self.classes or {}
        for name in self.columns_:
            col = frame[name]
            if name in classes:
                self.categories_[name] = self._class_labels(name, col, classes[name])
            elif is_categorical(col):
                values = col.to_numpy()
                self._check_missing(name, pd.isna(values))
                self.categories_[name] = np.unique(values)
            else:
                values = self._float_values(name, col)
                self.mean_[name] = values.mean()
                std = values.std()
                self.scale_[name] = std if std > 0 else 1.0
        return self

    def is_categorical(self, name):
        """Whether column ``name`` was treated as categorical in fit."""
        return name in self.categories_

    def n_outputs(self, name):
        """Number of classes (categorical) or 1 (continuous) for a column."""
        return len(self.categories_[name]) if self.is_categorical(name) else 1

    def describe(self, name):
        """``{"n_outputs": ..., "categorical": ...}`` of column ``name``, for its scrubber."""
        return {"n_outputs": self.n_outputs(name), "categorical": self.is_categorical(name)}

    @property
    def n_decoder_features(self):
        """Width of the decoder's nuisance input."""
        return sum(self.n_outputs(name) for name in self.columns_)

    def transform(self, table, n_frames, dtype=np.float32):
        """Encode a table.

        Parameters
        ----------
        table : DataFrame, Series or array-like of shape (n_frames, ...)
        n_frames : int
            Expected number of rows.
        dtype : floating dtype, default=np.float32
            Of the decoder input and the continuous targets.

        Returns
        -------
        decoder_input : ndarray of shape (n_frames, n_decoder_features), ``dtype``
            One-hot blocks and standardised floats, in column order.
        targets : dict of column -> ndarray
            Class codes of shape (n_frames,), int64, for categorical columns;
            standardised values of shape (n_frames, 1), ``dtype``, otherwise.
        """
        frame = self._select(table, n_frames)
        missing = self._missing(frame)
        frame = frame[~missing]
        blocks, targets = [], {}
        for name in self.columns_:
            col = frame[name]
            if self.is_categorical(name):
                codes = self._codes(name, col.to_numpy())
                targets[name] = _scatter(codes, missing)
                blocks.append(np.eye(self.n_outputs(name), dtype=dtype)[codes])
            else:
                values = (self._float_values(name, col) - self.mean_[name]) / self.scale_[name]
                targets[name] = _scatter(values[:, None].astype(dtype), missing)
                blocks.append(values[:, None].astype(dtype))
        decoder_input = _scatter(
            np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0), dtype),
            missing,
        )
        return decoder_input, targets

    def missing_rows(self, table, n_frames):
        """Rows with a missing value (NaN/None) in a used column.

        :meth:`transform` encodes such rows as zeros; the estimator treats
        their frames as unusable.

        Parameters
        ----------
        table : DataFrame, Series or array-like of shape (n_frames, ...)
        n_frames : int

        Returns
        -------
        missing : ndarray of bool, shape (n_frames,)
        """
        return self._missing(self._select(table, n_frames))

    @staticmethod
    def _missing(frame):
        return frame.isna().to_numpy().any(axis=1)

    def _select(self, table, n_frames):
        frame = as_frame(table)
        if len(frame) != n_frames:
            raise ValueError(
                f"The nuisance table has {len(frame)} rows but X has {n_frames} frames; "
                "they must match (one row per frame)."
            )
        columns = getattr(self, "columns_", self.columns)
        if columns is None:
            return frame
        if isinstance(columns, (str, numbers.Integral)):
            columns = [columns]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"Unknown nuisance column(s) {missing}; the table has columns "
                f"{list(frame.columns)}."
            )
        return frame[list(columns)]

    def _codes(self, name, values):
        categories = self.categories_[name]
        self._check_missing(name, pd.isna(values))
        try:
            codes = np.searchsorted(categories, values)
        except TypeError as exc:
            raise ValueError(
                f"Nuisance column {name!r} holds values that cannot be compared with the "
                f"categories seen in fit {list(categories)}."
            ) from exc
        codes = np.clip(codes, 0, len(categories) - 1)
        unseen = categories[codes] != values
        if np.any(unseen):
            raise ValueError(
                f"Nuisance column {name!r} has categories never seen in fit: "
                f"{sorted(set(np.asarray(values)[unseen].tolist()))[:10]}; "
                f"known categories are {list(categories)}."
            )
        return codes.astype(np.int64)

    def _class_labels(self, name, col, user):
        """Sorted classes of a column that must hold class labels."""
        if is_categorical(col):
            values = col.to_numpy()
            self._check_missing(name, pd.isna(values))
        else:
            values = self._float_values(name, col)
            if type_of_target(values) not in ("binary", "multiclass"):
                raise ValueError(
                    f"Scrubber {user!r} needs a categorical nuisance column, but column "
                    f"{name!r} is continuous (non-integer floats). Use 'mals', 'gr' or "
                    "'mi', or cast the column to a categorical dtype."
                )
        categories = np.unique(values)
        if len(categories) < 2:
            raise ValueError(
                f"Scrubber {user!r} needs at least two classes in nuisance column "
                f"{name!r}, but it holds one class ({categories.tolist()}): there is nothing "
                "to scrub. Drop the column from the scrubber or the nuisance."
            )
        return categories

    @staticmethod
    def _check_missing(name, missing):
        if np.any(missing):
            raise ValueError(f"Nuisance column {name!r} contains missing values (NaN/None).")

    @staticmethod
    def _float_values(name, col):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"Nuisance column {name!r} contains NaN or infinity.")
        return values


def encode_nuisance(frame):
    """Numeric matrix of a nuisance table, as :class:`NuisanceEncoder` encodes it.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
        Without missing values.

    Returns
    -------
    encoded : ndarray of shape (n_rows, n_encoded), float64
        Categorical columns become one indicator column per class, in
        sorted class order; continuous columns are standardised.
    """
    encoder = NuisanceEncoder().fit(frame, len(frame))
    return encoder.transform(frame, len(frame), dtype=np.float64)[0]


def fit_nuisance(table, n_frames, *, columns, scrubber, categorical_only, needed):
    """The fitted nuisance encoding and the scrubber of each scrubbed column.

    Parameters
    ----------
    table : DataFrame, Series, array-like of shape (n_frames, ...) or None
        The nuisance table of fit.
    n_frames : int
    columns : list of str or int, str, int or None
        Nuisance columns (the estimator's ``nuisance``); None means all.
    scrubber : str, dict or None
        The estimator's ``scrubber``: one name for every column, a name per
        column, or None.
    categorical_only : set of str
        Scrubber names that need class labels.
    needed : bool
        Whether the model uses the nuisance at all (conditional or
        scrubbed); when not, the encoding has no column.

    Returns
    -------
    encoder : NuisanceEncoder
        Fitted.
    scrubbers : dict of column -> str
        Scrubber name per scrubbed column.
    """
    if not needed:
        return NuisanceEncoder(columns=[]).fit(np.zeros((n_frames, 0)), n_frames), {}
    if table is None:
        raise ValueError(
            "ScrubbedCVAE requires y to be passed, but the target y is None: a "
            "conditional or scrubbed model needs the nuisance table (pass it as y or "
            "nuisance=...)."
        )
    encoder = NuisanceEncoder(columns).fit(table, n_frames)
    if isinstance(scrubber, dict):
        unknown = [c for c in scrubber if c not in encoder.columns_]
        if unknown:
            raise ValueError(
                f"scrubber names column(s) {unknown} that are not nuisance columns "
                f"{encoder.columns_}."
            )
        scrubbers = dict(scrubber)
    else:
        scrubbers = {} if scrubber is None else dict.fromkeys(encoder.columns_, scrubber)
    classes = {c: name for c, name in scrubbers.items() if name in categorical_only}
    if classes:
        encoder = NuisanceEncoder(columns, classes).fit(table, n_frames)
    return encoder, scrubbers


def scrubber_weights(lam, scrubbers):
    """The penalty weight of each scrubbed column, from a dict ``lam``.

    Parameters
    ----------
    lam : dict of column -> float
        The estimator's ``lam`` as a weight per scrubbed column.
    scrubbers : dict of column -> str
        Scrubber name per scrubbed column (from :func:`fit_nuisance`).

    Returns
    -------
    weights : dict of column -> float
        In the order of ``scrubbers``.

    Raises
    ------
    ValueError
        If ``lam`` does not name exactly the scrubbed columns, or holds a
        weight that is not a non-negative real number.
    """
    unknown = [c for c in lam if c not in scrubbers]
    missing = [c for c in scrubbers if c not in lam]
    if unknown or missing:
        raise ValueError(
            f"A dict lam needs a weight for every scrubbed column {list(scrubbers)}: "
            f"{f'missing {missing}' if missing else ''}"
            f"{'; ' if unknown and missing else ''}"
            f"{f'column(s) {unknown} are not scrubbed' if unknown else ''}."
        )
    bad = {c: w for c, w in lam.items()
           if isinstance(w, bool) or not isinstance(w, numbers.Real) or not w >= 0}
    if bad:
        raise ValueError(f"lam weights must be non-negative real numbers, got {bad}.")
    return {c: float(lam[c]) for c in scrubbers}


def check_conditional(table, task, how):
    """Raise a ValueError when a conditional model must ``task`` without a nuisance table.

    Parameters
    ----------
    table : DataFrame, array-like or None
    task : str
        What needs the table, e.g. "decoding".
    how : str
        How to pass it, e.g. "nuisance=...".
    """
    if table is None:
        raise ValueError(
            f"This model is conditional: {task} needs the nuisance table (pass {how})."
        )


def model_nuisance(encoder, table, n_frames, *, conditional, scrubbed):
    """Decoder input and scrubber targets of a nuisance table.

    Parameters
    ----------
    encoder : NuisanceEncoder
        Fitted.
    table : DataFrame, Series, array-like of shape (n_frames, ...) or None
        None gives an empty decoder input and no targets.
    n_frames : int
    conditional : bool
        Whether the decoder sees the nuisance; if not, its input has width 0.
    scrubbed : iterable of column
        Columns whose targets are returned.

    Returns
    -------
    decoder_input : ndarray of shape (n_frames, n_decoder_features or 0), float32
    targets : dict of column -> ndarray of shape (n_frames,) or (n_frames, 1)
    """
    if table is None or not encoder.columns_:
        return np.zeros((n_frames, 0), np.float32), {}
    encoded, targets = encoder.transform(table, n_frames)
    decoder_input = encoded if conditional else np.zeros((n_frames, 0), np.float32)
    return decoder_input, {column: targets[column] for column in scrubbed}
