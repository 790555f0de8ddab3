"""Convergence: held-out decodability of the nuisance against optimiser steps.

How long must each scrubber train before a fresh probe can no longer decode
the nuisance from the latent code, and does the C-VAE alone keep it? Every
model of a track is fitted at each budget of the mode (in epochs; each
budget is a fresh fit with the same seed, so a longer fit repeats the
shorter one's first epochs), embeds every frame, and is probed as in
``bench_decodability.py``: every ``window``-th frame, five folds that each
hold out one contiguous fifth of every session.

- speed (the three window-averaged speeds; midfwd windows): linear and MLP
  R^2;
- heading (sin and cos of the yaw; x360 windows): linear and MLP R^2;
- identity (the animal; midfwd windows): logistic and QDA accuracy, with
  chance.

Two front ends: "pose" (``skeleton="mouse18"``: the encoder sees joint
rotations and the root, as in the paper) and "generic" (the keypoints minus
the root's horizontal position, flattened: heading, body size and speed are
all in plain view), the latter as a control that does not depend on the
kinematic front end. The published targets are listed in doc/benchmarks.md.
"""

from dataclasses import replace

import pandas as pd
from matplotlib.figure import Figure

from _common import (
    HEADING_COLUMNS,
    SPEED_COLUMNS,
    ModelRunner,
    Report,
    chunk_folds,
    keep,
    make_synthetic,
    run,
    used_models,
)
from sklearn_scrubvae.metrics import decodability_score

PROBES = {"linear": "linear R2", "mlp": "MLP R2", "logistic": "logistic acc", "qda": "QDA acc"}
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
        models=["VAE", "C-VAE", "SC-VAE-QD", "SC-VAE-ND", "SC-VAE-MALS", "SC-VAE-GR"],
    ),
}
FRONT_ENDS = ("pose", "generic")
# Training budgets in epochs per mode.
BUDGETS = {"smoke": (1,), "quick": (3, 12, 48), "full": (25, 100, 400)}


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


def probe_row(Z, nuisance, probes, folds, step, seed):
    """Mean held-out score of each probe, and chance for classification."""
    row = {}
    for probe in probes:
        result = decodability_score(
            Z, nuisance, probe, groups=folds, step=step, random_state=seed
        )
        row[PROBES[probe]] = result.mean
        if result.chance is not None:
            row["chance"] = result.chance
    return row


def convergence_table(runners, spec, models, steps_per_epoch, seed):
    """One row per model and budget with the probe scores.

    Parameters
    ----------
    runners : list of ModelRunner
        One per budget, on the same data.
    spec : dict
        Entry of :data:`TRACKS`.
    models : list of str
    steps_per_epoch : int
    seed : int

    Returns
    -------
    table : DataFrame
    """
    rows = []
    for runner in runners:
        nuisance = runner.table[spec["columns"]]
        folds = chunk_folds(runner.groups)
        for name in models:
            estimator, Z = runner.fit(name, spec["columns"], spec["alignment"])
            rows.append(
                {
                    "model": name,
                    "epochs": estimator.n_iter_,
                    "steps": estimator.n_iter_ * steps_per_epoch,
                    "train_penalty": estimator.history_[-1].get("train_penalty", float("nan")),
                    **probe_row(Z, nuisance, spec["probes"], folds, runner.settings.window,
                                seed),
                }
            )
            print(f"  {runner.experiment} {name}: {rows[-1]}", flush=True)
    return pd.DataFrame(rows)


def line_panels(tables, budgets_column="steps"):
    """One panel per table and probe: score against optimiser steps per model."""
    panels = [
        (title, column)
        for title, table in tables.items()
        for column in table.columns
        if column in PROBES.values()
    ]
    figure = Figure(figsize=(4.5 * len(panels), 3.8), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, column) in zip(axes, panels):
        table = tables[title]
        for model, rows in table.groupby("model", sort=False):
            ax.plot(rows[budgets_column], rows[column], marker="o", label=model)
        if "chance" in table:
            ax.axhline(table["chance"].mean(), color="grey", linestyle="--", label="chance")
        ax.set_xscale("log")
        ax.set_xlabel("optimiser steps")
        ax.set_title(f"{title}: {column}", fontsize="small")
        ax.legend(fontsize="x-small")
    return figure


def experiment(settings, args):
    poses, table, groups = make_synthetic(settings, lesion=False, seed=args.seed)
    budgets = BUDGETS[args.mode]
    # Training windows per epoch (stride 1, all frames) over the batch size.
    steps_per_epoch = -(-len(poses) // settings.batch_size)
    tables, training = {}, []
    for front_end in FRONT_ENDS:
        X, skeleton = (poses, "mouse18") if front_end == "pose" else (generic_features(poses), None)
        runners = [
            ModelRunner(X, table, groups, replace(settings, max_iter=budget), args, front_end,
                        skeleton=skeleton)
            for budget in budgets
        ]
        for name, spec in TRACKS.items():
            models = [m for m in spec["models"] if keep(m, args)]
            if models:
                tables[f"{front_end} {name}"] = convergence_table(
                    runners, spec, models, steps_per_epoch, args.seed
                )
        training += [row for runner in runners for row in runner.log]
    notes = [
        f"Budgets {list(budgets)} epochs of about {steps_per_epoch} optimiser steps "
        f"(batch {settings.batch_size}); lam = {settings.lam}; learning rate "
        f"{settings.learning_rate}."
    ]
    return Report(tables=tables, figure=line_panels(tables), training=training, notes=notes)


def main(argv=None):
    models = used_models(*(spec["models"] for spec in TRACKS.values()))
    return run("convergence", __doc__, experiment, models, argv)


if __name__ == "__main__":
    main()
