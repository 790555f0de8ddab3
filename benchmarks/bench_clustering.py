"""(d) Clustering of the latent code: behaviour or nuisance? (paper Section 5).

A Gaussian mixture (``n_clusters`` components, full covariances) is fitted
on each model's embedding of every frame of synthetic mice
(``make_mouse_behavior``). Speed models condition on the three
window-averaged speeds (midfwd windows), heading models on the sin and cos
of the yaw (x360 windows, which keep the heading). Per model:

- walk speed eta2: fraction of the variance of the ground-truth root speed
  of walking frames explained by their clusters
  (``cluster_variance_explained``); high when walking splits into
  speed-specific clusters;
- heading circ var: circular variance of the heading within clusters,
  weighted by cluster size, and its ratio to the circular variance of all
  frames (``cluster_nuisance_spread``); a ratio near 1 means clusters
  ignore the heading;
- ARI and NMI between clusters and the ground-truth behaviour
  (``cluster_agreement``).
"""

import pandas as pd

from _common import (
    HEADING_COLUMNS,
    SPEED_COLUMNS,
    ModelRunner,
    Report,
    bar_panels,
    keep,
    make_synthetic,
    run,
)
from sklearn_scrubvae.metrics import (
    cluster_agreement,
    cluster_embeddings,
    cluster_nuisance_spread,
    cluster_variance_explained,
)

MODELS = ["VAE", "C-VAE", "SC-VAE-MALS", "SC-VAE-MAQS", "SC-VAE-MI"]
EXPERIMENTS = {"speed": (SPEED_COLUMNS, "midfwd"), "heading": (HEADING_COLUMNS, "x360")}


def cluster_scores(labels, table):
    """Speed split of walking, heading spread and behaviour agreement of clusters.

    Parameters
    ----------
    labels : ndarray of shape (n_frames,)
        Cluster of each frame, -1 where unassigned.
    table : DataFrame of shape (n_frames, n_columns)
        The synthetic data's labels (behavior, speed, heading_sin, heading_cos).

    Returns
    -------
    scores : dict
    """
    spread = cluster_nuisance_spread(labels, table[HEADING_COLUMNS], kind="circular")
    agreement = cluster_agreement(labels, table["behavior"].to_numpy())
    return {
        "walk speed eta2": cluster_variance_explained(
            labels, table["speed"], behavior=table["behavior"].to_numpy(), target="walk"
        ),
        "heading circ var": spread.weighted_mean,
        "heading circ var ratio": spread.ratio,
        "ARI": agreement.adjusted_rand,
        "NMI": agreement.normalized_mutual_info,
    }


def experiment(settings, args):
    poses, table, groups = make_synthetic(settings, lesion=False, seed=args.seed)
    runner = ModelRunner(poses, table, groups, settings, args, "synthetic")
    tables = {}
    for title, (nuisance, alignment) in EXPERIMENTS.items():
        rows = []
        for name in [m for m in MODELS if keep(m, args)]:
            _, Z = runner.fit(name, nuisance, alignment)
            labels = cluster_embeddings(Z, settings.n_clusters, random_state=args.seed)
            rows.append({"model": name, **cluster_scores(labels, table)})
        tables[title] = pd.DataFrame(rows)
    figure = bar_panels(tables)
    return Report(tables=tables, figure=figure, training=runner.log)


def main(argv=None):
    return run("clustering", __doc__, experiment, MODELS, argv)


if __name__ == "__main__":
    main()
