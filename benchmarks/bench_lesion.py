"""(c) Lesion study: detecting a unilateral lesion from the latent code (paper Table 2).

Synthetic mice (``make_mouse_behavior(lesion=True)``) each have a healthy
and a lesioned session; the lesion's effect on behaviour scales with the
animal's ``lesion_severity`` (the dopamine denervation). Models (midfwd
windows): a plain VAE, a C-VAE conditioned on identity, SC-VAE-QD with
identity scrubbed, and the reverse control, SC-VAE-QD with the
healthy/lesioned condition scrubbed instead. Per model:

- d: per-animal effect size, MMD(healthy_i, lesioned_i) over the mean
  MMD(healthy_i, healthy_j) (``effect_size_d``), mean and standard
  deviation over animals;
- k-NN accuracy of whole sessions' condition, leaving each animal out
  (``session_knn_accuracy``);
- Pearson r (and p) between d and lesion severity across animals
  (``severity_correlation``).
"""

import pandas as pd
from matplotlib.figure import Figure

from _common import ModelRunner, Report, keep, make_synthetic, run, used_models
from sklearn_scrubvae.metrics import effect_size_d, session_knn_accuracy, severity_correlation
from sklearn_scrubvae.plotting import plot_lesion_effect

MODELS = [
    ("VAE", ["animal"]),
    ("C-VAE", ["animal"]),
    ("SC-VAE-QD", ["animal"]),
    ("SC-VAE-QD", ["condition"]),
]


def model_label(name, nuisance):
    """Row label: the model and what it conditions on and scrubs."""
    return name if name == "VAE" else f"{name} ({'/'.join(nuisance)})"


def severity_figure(effects, severity):
    """Scatter of each model's effect size d against lesion severity, with r and p.

    Parameters
    ----------
    effects : DataFrame of shape (n_animals, n_models)
        d per animal (rows) and model (columns).
    severity : Series of shape (n_animals,)

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    figure = Figure(figsize=(4 * effects.shape[1], 4), layout="constrained")
    axes = figure.subplots(1, effects.shape[1], squeeze=False, sharey=False)[0]
    for ax, (label, d) in zip(axes, effects.items()):
        plot_lesion_effect(d, severity, ax=ax)
        ax.set_title(f"{label}\n{ax.get_title()}", fontsize=9)
    return figure


def experiment(settings, args):
    poses, table, groups = make_synthetic(settings, lesion=True, seed=args.seed)
    runner = ModelRunner(poses, table, groups, settings, args, "lesion")
    animal, condition = table["animal"].to_numpy(), table["condition"].to_numpy()
    severity = table["lesion_severity"].groupby(animal).first()
    rows, effects = [], {}
    for name, nuisance in [entry for entry in MODELS if keep(entry[0], args)]:
        _, Z = runner.fit(name, nuisance)
        label = model_label(name, nuisance)
        d = effect_size_d(
            Z, animal, condition, max_samples=settings.max_samples, random_state=args.seed
        )
        knn = session_knn_accuracy(
            Z, groups, condition, animal, max_samples=settings.max_samples,
            random_state=args.seed,
        )
        correlation = severity_correlation(d, severity)
        effects[label] = d
        rows.append(
            {
                "model": label,
                "d mean": d.mean(),
                "d sd": d.std(),
                "kNN session acc": knn.accuracy,
                "r(d, severity)": correlation.statistic,
                "p": correlation.pvalue,
            }
        )
    effects = pd.DataFrame(effects)
    per_animal = pd.concat([severity.rename("lesion severity"), effects], axis=1)
    per_animal = per_animal.rename_axis("animal").reset_index()
    figure = severity_figure(effects, severity)
    return Report(
        tables={"lesion": pd.DataFrame(rows), "effect size per animal": per_animal},
        figure=figure,
        training=runner.log,
    )


def main(argv=None):
    return run("lesion", __doc__, experiment, used_models([name for name, _ in MODELS]), argv)


if __name__ == "__main__":
    main()
