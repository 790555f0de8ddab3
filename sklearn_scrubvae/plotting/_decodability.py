"""Grouped bars of probe scores per model, with chance levels."""

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from sklearn.utils._param_validation import validate_params

from ..metrics import DecodabilityResult
from ._axes import get_axes
from ._labels import category_colors

METRIC_NAMES = {"r2": "R²", "accuracy": "accuracy"}


def _from_results(results):
    """Scores, chance levels, fold spread and metric name of decodability results."""
    nested = {
        model: entry if isinstance(entry, Mapping) else {"score": entry}
        for model, entry in results.items()
    }
    cells = [result for entry in nested.values() for result in entry.values()]
    if not cells or not all(isinstance(result, DecodabilityResult) for result in cells):
        raise TypeError(
            "A mapping table must hold DecodabilityResult values: "
            "{model: result} or {model: {nuisance: result}}."
        )

    def frame(value):
        return pd.DataFrame(
            {model: {name: value(r) for name, r in entry.items()} for model, entry in nested.items()}
        ).T

    scores = frame(lambda r: r.mean)
    chance = frame(lambda r: 0.0 if r.chance is None else r.chance)
    spread = frame(lambda r: float(np.std(r.scores)))
    metrics = frame(lambda r: METRIC_NAMES[r.metric])
    if metrics.stack().nunique() == 1:
        return scores, chance, spread, metrics.stack().iloc[0]
    # Several metrics: each bar's legend entry names its own.
    names = {
        column: f"{column} ({' / '.join(metrics[column].dropna().unique())})"
        for column in scores.columns
    }
    return (
        scores.rename(columns=names), chance.rename(columns=names),
        spread.rename(columns=names), "score (metric per bar in the legend)",
    )


def _from_frame(table):
    """Scores and chance levels of a benchmark-style table."""
    table = table.set_index("model") if "model" in table.columns else table
    scores = table.drop(columns="chance", errors="ignore").select_dtypes("number")
    if scores.shape[1] == 0:
        raise ValueError("The table has no numeric score column.")
    if "chance" in table.columns:
        chance = pd.DataFrame(
            np.repeat(table[["chance"]].to_numpy(float), scores.shape[1], axis=1),
            index=scores.index, columns=scores.columns,
        )
    else:
        chance = pd.DataFrame(np.nan, index=scores.index, columns=scores.columns)
    return scores, chance, None, "score"


@validate_params(
    {"table": [pd.DataFrame, Mapping], "ax": [Axes, None]}, prefer_skip_nested_validation=True
)
def plot_decodability(table: pd.DataFrame | Mapping, ax: Axes | None = None) -> Axes:
    """Grouped bars of how well probes decode nuisance variables, per model.

    Models are on the x axis with one bar per score column (a nuisance or a
    probe); a short black line over each bar marks its chance level, and a
    thin line marks zero.

    Parameters
    ----------
    table : DataFrame or mapping
        - A DataFrame shaped like the benchmark tables: a "model" column (or
          the index) naming the rows, numeric score columns (e.g.
          "logistic acc", "QDA acc") and optionally a "chance" column whose
          value is the chance level of every score of that row.
        - A mapping ``{model: {nuisance: result}}`` or ``{model: result}``
          of :class:`~sklearn_scrubvae.metrics.DecodabilityResult` from
          :func:`~sklearn_scrubvae.metrics.decodability_score`: bars show the
          mean over folds with the standard deviation over folds as error
          bars; chance is the result's ``chance`` for accuracies and 0 for
          R². When results mix accuracies and R², each bar's legend entry
          names its metric, e.g. "speed (R²)", "animal (accuracy)".
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    ax : matplotlib Axes
        One ``BarContainer`` per score column in ``ax.containers`` (with
        an ``ErrorbarContainer`` each for results); the chance lines are
        the collection labelled "chance".

    Raises
    ------
    TypeError
        If a mapping holds something other than DecodabilityResult.
    ValueError
        If a DataFrame has no numeric score column.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_scrubvae.plotting import plot_decodability
    >>> table = pd.DataFrame({"model": ["VAE", "SC-VAE-QD"],
    ...                       "logistic acc": [0.9, 0.3], "chance": [0.25, 0.25]})
    >>> ax = plot_decodability(table)
    >>> [float(bar.get_height()) for bar in ax.containers[0]]
    [0.9, 0.3]
    """
    if isinstance(table, pd.DataFrame):
        scores, chance, spread, ylabel = _from_frame(table)
    else:
        scores, chance, spread, ylabel = _from_results(table)
    ax = get_axes(ax)
    n_models, n_columns = scores.shape
    width = 0.8 / n_columns
    positions = np.arange(n_models)
    colors = category_colors(n_columns)
    segments = []
    for j, column in enumerate(scores.columns):
        x = positions - 0.4 + width * (j + 0.5)
        ax.bar(
            x, scores[column].to_numpy(float), width, label=str(column), color=colors[j],
            yerr=None if spread is None else spread[column].to_numpy(float),
        )
        level = chance[column].to_numpy(float)
        segments += [(xi, yi) for xi, yi in zip(x, level) if np.isfinite(yi)]
    if segments:
        x, y = np.array(segments).T
        ax.hlines(y, x - width / 2, x + width / 2, colors="black", linewidth=2, label="chance")
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xticks(positions, [str(model) for model in scores.index], rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax
