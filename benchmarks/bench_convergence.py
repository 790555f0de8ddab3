"""Convergence: held-out decodability of the nuisance against optimiser steps.

How long must each scrubber train before a fresh probe can no longer decode
the nuisance from the latent code, and does the C-VAE alone keep it? Every
model of a track is trained once per seed; at each budget of the mode (in
epochs) training pauses, every frame is embedded and probed as in
``bench_decodability.py`` (every ``window``-th frame, five folds that each
hold out one contiguous fifth of every session), and training continues
from where it stopped (``warm_start``).

- speed (the three window-averaged speeds; midfwd windows): linear and MLP
  R^2;
- heading (sin and cos of the yaw; x360 windows): linear and MLP R^2;
- identity (the animal; midfwd windows): logistic and QDA accuracy, with
  chance.

Two front ends: "pose" (``skeleton="mouse18"``: the encoder sees joint
rotations and the root, as in the paper) and "generic" (the keypoints minus
the root's horizontal position, flattened: heading, body size and speed are
all in plain view), the latter as a control that does not depend on the
kinematic front end. Scores are reported per seed and as the mean, minimum
and maximum over seeds; the targets table gives, for each claim, the
budgets at which every seed meets it.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import pandas as pd
import torch
from matplotlib.figure import Figure

from _common import (
    HEADING_COLUMNS,
    PROBES,
    SPEED_COLUMNS,
    ZOO,
    Report,
    chunk_folds,
    keep,
    make_model,
    make_synthetic,
    probe_scores,
    run,
    used_models,
)

TRACKS = {
    "speed": dict(
        columns=SPEED_COLUMNS, alignment="midfwd", probes=("linear", "mlp"),
        models=["C-VAE", "SC-VAE-MALS", "SC-VAE-GR", "SC-VAE-MI"],
    ),
    "heading": dict(
        columns=HEADING_COLUMNS, alignment="x360", probes=("linear", "mlp"),
        models=["C-VAE", "SC-VAE-MALS", "SC-VAE-GR", "SC-VAE-MI"],
    ),
    "identity": dict(
        columns=["animal"], alignment="midfwd", probes=("logistic", "qda"),
        models=["VAE", "C-VAE", "SC-VAE-QD", "SC-VAE-ND"],
    ),
}
FRONT_ENDS = ("pose", "generic")
# Training budgets in epochs per mode (``--max-iter`` sets the longest).
BUDGETS = {"smoke": (1, 2), "quick": (3, 12, 48), "full": (25, 100, 400)}
# The paper's claims as held-out targets (pose mode): (track, model, score,
# "<=" or ">=", bound, whether the bound is added to chance).
TARGETS = [
    ("speed", "C-VAE", "linear R2", ">=", 0.5, False),
    ("speed", "SC-VAE-MALS", "linear R2", "<=", 0.05, False),
    ("heading", "C-VAE", "linear R2", ">=", 0.5, False),
    ("heading", "SC-VAE-MALS", "linear R2", "<=", 0.05, False),
    ("identity", "VAE", "logistic acc", ">=", 0.8, False),
    ("identity", "VAE", "QDA acc", ">=", 0.8, False),
    ("identity", "SC-VAE-QD", "logistic acc", "<=", 0.05, True),
    ("identity", "SC-VAE-QD", "QDA acc", "<=", 0.05, True),
]


def generic_features(poses):
    """Keypoints minus the root's horizontal position, flattened.

    Parameters
    ----------
    poses : ndarray of shape (n_frames, 18, 3)

    Returns
    -------
    X : ndarray of shape (n_frames, 54)
    """
    centred = poses.copy()
    centred[..., :2] -= poses[:, :1, :2]
    return centred.reshape(len(poses), -1)


def adversary_check(epoch):
    """Mean over columns of GR's adversary loss and fresh-probe loss of an epoch.

    Parameters
    ----------
    epoch : dict
        A row of ``history_``.

    Returns
    -------
    losses : dict
        ``adversary loss`` and ``probe loss``; empty for models without them.
    """
    losses = {}
    for key, label in [("_adversary_loss", "adversary loss"), ("_probe_loss", "probe loss")]:
        values = [value for name, value in epoch.items() if name.endswith(key)]
        if values:
            losses[label] = sum(values) / len(values)
    return losses


def adversary_curve(history, seed, model):
    """GR's adversary and fresh-probe loss after every epoch of a fit.

    Parameters
    ----------
    history : list of dict
        ``history_`` of the fitted estimator.
    seed : int
    model : str

    Returns
    -------
    rows : list of dict
        One per epoch with a check (see :func:`adversary_check`): seed,
        model, epoch, steps so far, ``adversary loss`` and ``probe loss``;
        empty for models without an adversary.
    """
    rows, steps = [], 0
    for epoch in history:
        steps += len(epoch["batches"])
        losses = adversary_check(epoch)
        if losses:
            rows.append({"seed": seed, "model": model, "epoch": epoch["epoch"],
                         "steps": steps, **losses})
    return rows


@lru_cache(maxsize=2)
def front_end_data(settings, seed, front_end):
    """Features, skeleton, nuisance table and recordings of one seed's mice."""
    poses, table, groups = make_synthetic(settings, lesion=False, seed=seed)
    if front_end == "pose":
        return poses, "mouse18", table, groups
    return generic_features(poses), None, table, groups


def train_and_probe(task):
    """Train one model of a track, probing it at every budget.

    Parameters
    ----------
    task : tuple
        ``(settings, budgets, seed, front_end, track, model, device, threads)``.

    Returns
    -------
    rows : list of dict
        One per budget: seed, model, epochs, steps, the last epoch's mean
        ``train_penalty``, GR's adversary and fresh-probe losses (see
        :func:`adversary_check`) and the probe scores.
    log : dict
        Training-log row of the model.
    curve : list of dict
        :func:`adversary_curve` of the whole fit.
    """
    settings, budgets, seed, front_end, track, model, device, threads = task
    if threads is not None:
        torch.set_num_threads(threads)
    X, skeleton, table, groups = front_end_data(settings, seed, front_end)
    spec = TRACKS[track]
    estimator = make_model(
        model, settings, nuisance=spec["columns"], alignment=spec["alignment"], seed=seed,
        device=device, skeleton=skeleton,
    ).set_params(warm_start=True)
    folds = chunk_folds(groups)
    rows, trained = [], 0
    for budget in budgets:
        estimator.set_params(max_iter=budget - trained).fit(X, table, groups=groups)
        trained = budget
        Z = estimator.transform(X, groups=groups)
        rows.append(
            {
                "seed": seed,
                "model": model,
                "epochs": estimator.n_iter_,
                "steps": sum(len(row["batches"]) for row in estimator.history_),
                "train_penalty": estimator.history_[-1].get("train_penalty", float("nan")),
                **adversary_check(estimator.history_[-1]),
                **probe_scores(Z, table[spec["columns"]], spec["probes"], folds,
                                settings.window, seed),
            }
        )
        print(f"  {front_end} {track} seed {seed}: {rows[-1]}", flush=True)
    log = {
        "experiment": f"{front_end} {track}",
        "model": model,
        "nuisance": "/".join(estimator.nuisance_columns_) or "-",
        "alignment": estimator.alignment if skeleton else "-",
        "seed": seed,
        "epochs": estimator.n_iter_,
        "final_loss": estimator.loss_curve_[-1],
        "fit_seconds": sum(row["dur"] for row in estimator.history_),
        "device": str(estimator.device_),
    }
    return rows, log, adversary_curve(estimator.history_, seed, model)


def summarise(per_seed):
    """Mean, minimum and maximum over seeds of every score, per model and budget.

    Parameters
    ----------
    per_seed : DataFrame
        Rows of :func:`train_and_probe` for one track.

    Returns
    -------
    summary : DataFrame
        One row per model and budget: ``model``, ``steps``, ``seeds``, the
        mean ``train_penalty`` and, per score, its mean and ``<score> min`` /
        ``<score> max``.
    """
    scores = [c for c in per_seed.columns if c in PROBES.values()]
    grouped = per_seed.groupby(["model", "steps"], sort=False)
    summary = grouped[["train_penalty", *scores]].mean()
    summary.insert(0, "seeds", grouped["seed"].nunique())
    for score in scores:
        summary[f"{score} min"] = grouped[score].min()
        summary[f"{score} max"] = grouped[score].max()
    if "chance" in per_seed:
        summary["chance"] = grouped["chance"].mean()
    return summary.reset_index()


def check_targets(per_seed_tables, front_end):
    """For each claim of :data:`TARGETS`, the budgets at which every seed meets it.

    Parameters
    ----------
    per_seed_tables : dict of str to DataFrame
        Per-seed rows keyed by ``"<front end> <track>"``.
    front_end : str

    Returns
    -------
    targets : DataFrame
        One row per target whose model was run: the claim, the score at the
        last budget (mean and the worst seed) and ``steps met by every
        seed``: the budgets (in optimiser steps) at which every seed meets
        the bound ("none" when no budget does).
    """
    rows = []
    for track, model, score, sense, bound, above_chance in TARGETS:
        table = per_seed_tables.get(f"{front_end} {track}")
        if table is None or model not in set(table["model"]):
            continue
        runs = table[table["model"] == model]
        limit = runs["chance"].mean() + bound if above_chance else bound
        met = runs[score] <= limit if sense == "<=" else runs[score] >= limit
        met_by_budget = met.groupby(runs["steps"]).all()
        final = runs[runs["steps"] == runs["steps"].max()][score]
        rows.append(
            {
                "front end": front_end,
                "track": track,
                "model": model,
                "score": score,
                "target": f"{sense} {limit:.3f}",
                "last steps": runs["steps"].max(),
                "mean at last": final.mean(),
                "worst seed at last": final.max() if sense == "<=" else final.min(),
                "steps met by every seed": ", ".join(
                    str(steps) for steps, ok in met_by_budget.items() if ok
                ) or "none",
            }
        )
    return pd.DataFrame(rows)


def line_panels(summaries):
    """A row of panels per track, one per probe: mean score against steps, band over seeds."""
    rows = [
        [score for score in PROBES.values() if score in table.columns]
        for table in summaries.values()
    ]
    n_columns = max(map(len, rows))
    figure = Figure(figsize=(4.5 * n_columns, 3.4 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), n_columns, squeeze=False)
    for axes_row, (title, table), scores in zip(axes, summaries.items(), rows):
        for ax, score in zip(axes_row, scores):
            for model, runs in table.groupby("model", sort=False):
                line = ax.plot(runs["steps"], runs[score], marker="o", label=model)[0]
                ax.fill_between(runs["steps"], runs[f"{score} min"], runs[f"{score} max"],
                                color=line.get_color(), alpha=0.15)
            if "chance" in table:
                ax.axhline(table["chance"].mean(), color="grey", linestyle="--",
                           label="chance")
            ax.set_xscale("log")
            ax.minorticks_off()
            budgets = sorted(table["steps"].unique())
            ax.set_xticks(budgets, labels=[str(steps) for steps in budgets])
            ax.set_xlabel("optimiser steps")
            ax.set_title(f"{title}: {score}", fontsize="small")
            ax.legend(fontsize="x-small")
        for ax in axes_row[len(scores):]:
            ax.set_visible(False)
    return figure


def add_arguments(parser):
    parser.add_argument("--seeds", type=int, default=1,
                        help="repeat every model with seeds seed, seed + 1, ... (default 1)")
    parser.add_argument("--front-ends", nargs="+", default=list(FRONT_ENDS),
                        choices=FRONT_ENDS, help="front ends to run (default both)")
    parser.add_argument("--tracks", nargs="+", default=list(TRACKS), choices=list(TRACKS),
                        help="nuisance tracks to run (default all)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="models trained at once in worker processes (default 1)")


def experiment(settings, args):
    budgets = BUDGETS[args.mode]
    if args.max_iter is not None:  # the longest budget
        budgets = (*(b for b in budgets if b < args.max_iter), args.max_iter)
    seeds = range(args.seed, args.seed + args.seeds)
    tasks = [
        (settings, budgets, seed, front_end, track, model, args.device, args.threads)
        for front_end in args.front_ends
        for track, spec in TRACKS.items()
        if track in args.tracks
        for model in spec["models"]
        if keep(model, args)
        for seed in seeds
    ]
    if args.jobs == 1:
        results = list(map(train_and_probe, tasks))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            results = list(pool.map(train_and_probe, tasks))

    per_seed = {}
    curves = {}
    for task, (rows, _, curve) in zip(tasks, results):
        title = f"{task[3]} {task[4]}"
        per_seed.setdefault(title, []).extend(rows)
        curves.setdefault(f"{title} adversary curve", []).extend(curve)
    per_seed = {title: pd.DataFrame(rows) for title, rows in per_seed.items()}
    summaries = {title: summarise(table) for title, table in per_seed.items()}
    targets = pd.concat([check_targets(per_seed, f) for f in args.front_ends],
                        ignore_index=True)
    tables = {"targets": targets, **summaries,
              **{f"{title} per seed": table for title, table in per_seed.items()},
              **{title: pd.DataFrame(rows) for title, rows in curves.items() if rows}}
    scaled = {m: ZOO[m]["lam_scale"] for m in used_models(*(s["models"] for s in TRACKS.values()))
              if "lam_scale" in ZOO[m]}
    notes = [
        f"Seeds {list(seeds)}; budgets {list(budgets)} epochs of batch "
        f"{settings.batch_size}; lam = {settings.lam}"
        + "".join(f", x{scale:g} for {m}" for m, scale in scaled.items())
        + f"; learning rate {settings.learning_rate}."
    ]
    return Report(tables=tables, figure=line_panels(summaries),
                  training=[log for _, log, _ in results], notes=notes)


def main(argv=None):
    models = used_models(*(spec["models"] for spec in TRACKS.values()))
    return run("convergence", __doc__, experiment, models, argv, add_arguments)


if __name__ == "__main__":
    main()
