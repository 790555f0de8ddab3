"""(a) Decodability of speed, heading and identity from the latent code (paper Fig. 2).

Every model is trained on all frames of synthetic mice
(``make_mouse_behavior``); probes are then cross-validated on the embedding
of every ``window``-th frame (non-overlapping windows) with five folds, each
holding out one contiguous fifth of every session:

- speed (the three window-averaged speeds; midfwd windows): linear and MLP
  R^2, averaged over the three columns;
- heading (sin and cos of the yaw; x360 windows, which keep the heading;
  "VAE Processed" is a plain VAE on midfwd windows, where heading is aligned
  away): linear and MLP R^2;
- identity (the animal; midfwd windows): logistic-regression and QDA
  accuracy, with chance.

"VAE + LEACE" is the plain VAE's embedding after post-hoc linear concept
erasure (``LinearConceptEraser``) of the nuisance, the eraser fitted inside
each cross-validation fold on the training frames only. Identity is also probed on
three real mice (motionmapperpy open field, 2D keypoints minus their
centroid as generic features) when ../shared/data is present.
"""

import pandas as pd

from _common import (
    HEADING_COLUMNS,
    SPEED_COLUMNS,
    ModelRunner,
    Report,
    bar_panels,
    chunk_folds,
    keep,
    load_real_mice,
    make_synthetic,
    probe_scores,
    real_mice_window,
    run,
    used_models,
)
from sklearn_scrubvae import LinearConceptEraser

EXPERIMENTS = {
    "speed": dict(
        columns=SPEED_COLUMNS, alignment="midfwd", probes=("linear", "mlp"),
        models=["VAE", "beta-VAE", "C-VAE", "VAE-GR", "SC-VAE-GR", "SC-VAE-MALS",
                "SC-VAE-MAQS", "SC-VAE-MI"],
    ),
    "heading": dict(
        columns=HEADING_COLUMNS, alignment="x360", probes=("linear", "mlp"),
        models=["VAE Processed", "VAE", "C-VAE", "SC-VAE-GR", "SC-VAE-MALS", "SC-VAE-MAQS",
                "SC-VAE-MI"],
    ),
    "identity": dict(
        columns=["animal"], alignment="midfwd", probes=("logistic", "qda"),
        models=["VAE", "C-VAE", "VAE-QD", "SC-VAE-GR", "SC-VAE-ND", "SC-VAE-MALS",
                "SC-VAE-QD", "SC-VAE-MI"],
    ),
}
REAL_MICE_MODELS = ["VAE", "C-VAE", "VAE-QD", "SC-VAE-MALS", "SC-VAE-QD"]
ERASED = "VAE + LEACE"


def decodability_table(runner, models, columns, alignment, probes, step):
    """One row per model (and the erased VAE) with its probe scores."""
    nuisance = runner.table[columns]
    folds = chunk_folds(runner.groups)
    seed = runner.args.seed
    rows = []
    for name in models:
        _, Z = runner.fit(name, columns, alignment)
        rows.append({"model": name, **probe_scores(Z, nuisance, probes, folds, step, seed)})
        if name == "VAE":
            scores = probe_scores(Z, nuisance, probes, folds, step, seed, LinearConceptEraser())
            rows.append({"model": ERASED, **scores})
    return pd.DataFrame(rows)


def experiment(settings, args):
    poses, table, groups = make_synthetic(settings, lesion=False, seed=args.seed)
    runner = ModelRunner(poses, table, groups, settings, args, "synthetic")
    tables = {}
    for name, spec in EXPERIMENTS.items():
        models = [m for m in spec["models"] if keep(m, args)]
        if models:
            tables[name] = decodability_table(
                runner, models, spec["columns"], spec["alignment"], spec["probes"],
                settings.window,
            )
    training, notes = list(runner.log), []

    real_models = [m for m in REAL_MICE_MODELS if keep(m, args)]
    X, animal = load_real_mice(settings.n_real_frames)
    if X is None:
        notes.append("Real mice skipped: ../shared/data/motionmapperpy_mice is absent.")
    elif real_models:
        real = ModelRunner(
            X, pd.DataFrame({"animal": animal}), animal.astype(str), settings, args,
            "real mice", skeleton=None, window=real_mice_window(settings),
        )
        tables["real mice identity"] = decodability_table(
            real, real_models, ["animal"], "midfwd", EXPERIMENTS["identity"]["probes"],
            real.window,
        )
        training += real.log
    figure = bar_panels(tables)
    return Report(tables=tables, figure=figure, training=training, notes=notes)


def main(argv=None):
    models = used_models(*(spec["models"] for spec in EXPERIMENTS.values()), REAL_MICE_MODELS)
    return run("decodability", __doc__, experiment, models, argv)


if __name__ == "__main__":
    main()
