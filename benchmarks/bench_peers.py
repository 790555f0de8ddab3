"""Peers: scrubbed embeddings against the tools labs would otherwise use.

Synthetic mice with known behaviours and identities (``make_mouse_behavior``,
one session per animal) are embedded by every method, and every embedding
is scored the same way:

- behaviour ARI / NMI: KMeans with k = the number of true behaviours on the
  embedding of every frame, against the true behaviour
  (``cluster_agreement``);
- identity: held-out accuracy of logistic and QDA probes of the animal, on
  every ``window``-th frame with five folds that each hold out a contiguous
  fifth of every recording (shuffled folds leak through overlapping
  windows), and chance;
- speed: held-out linear R^2 of the three window-averaged speeds, same
  folds;
- transfer: the method is fitted again on every animal but the last, KMeans
  is fitted on the training animals' embeddings, and ARI is measured on the
  training animals and on the unseen animal;
- fit and embed time of the fit on every animal: wall clock and CPU time
  of the process (all its threads);
- the speed linear R^2 of the true behaviour (one-hot, and the fraction of
  each behaviour in a frame's window), same folds: how much speed an
  embedding that clusters the behaviours lets a linear probe read.

Methods:

- VAE: ``ScrubbedCVAE`` without scrubber or decoder input;
- SC-VAE-QD: conditioned on the animal, identity scrubbed by "qd";
- SC-VAE-QD+MALS: conditioned on the animal and the three speeds, identity
  scrubbed by "qd" and the speeds by "mals" (a dict of scrubbers).

  The scrubbed models use the estimator's default ``lam`` (``--lam``
  overrides it) rather than the other benchmarks' weight: at ``lam = 10``
  the identity-scrubbed model's behaviour ARI fell well below the plain
  VAE's, at the default it did not (``doc/benchmarks.md``, section (g)).
  ``--speed-lam`` gives the speed scrubbers a weight of their own (a
  ``lam`` per column);
- pose PCA: per-frame egocentric poses (``EgocentricAligner``: root at the
  origin, body axis on +x), in mm, projected on their first D principal
  components;
- CEBRA-Time and CEBRA-Behavior (when ``cebra`` is installed): the
  egocentric poses, standardised, embedded in D dimensions by CEBRA's
  ``offset10-model``; CEBRA-Time contrasts frames by time alone,
  CEBRA-Behavior by the three window-averaged speeds (the labels a lab
  measures from keypoints; the true behaviours would be the answer).
  Recordings are concatenated;
- keypoint-MoSeq (when ``keypoint_moseq`` is installed): the AR-HMM stage
  on the raw keypoints of each recording; its syllables are its clusters
  (ARI and NMI of the syllables, not of KMeans) and the probes read the
  one-hot syllable of each frame. Transfer applies the model fitted on the
  training animals to the unseen one.
"""

import tempfile
import time
import warnings

import numpy as np
import pandas as pd
import torch
from scipy.ndimage import uniform_filter1d
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from _common import (
    SPEED_COLUMNS,
    Report,
    bar_panels,
    chunk_folds,
    keep,
    make_model,
    make_synthetic,
    package_lam,
    probe_scores,
    run,
)
from sklearn_scrubvae.metrics import cluster_agreement, cluster_embeddings
from sklearn_scrubvae.pose import MOUSE18, EgocentricAligner

with warnings.catch_warnings():
    # cebra 0.6 decorates its losses with torch.jit.script, deprecated in recent
    # torch; keypoint-moseq 0.8 imports lark-parser, which imports sre_parse.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import cebra
    except ImportError:
        cebra = None
    try:
        import keypoint_moseq as kpms
    except ImportError:
        kpms = None

IDENTITY_SPEED_SCRUBBERS = {"animal": "qd", **dict.fromkeys(SPEED_COLUMNS, "mals")}
# CEBRA iterations per mode (``--cebra-iter`` overrides).
CEBRA_ITERATIONS = {"smoke": 5, "quick": 500, "full": 3000}
# keypoint-MoSeq AR-HMM iterations and stickiness per mode (``--kpms-iter``
# overrides). Its kappa is set for 30 fps; at 90 fps syllables of the same
# duration need a larger one.
KPMS_ITERATIONS = {"smoke": 2, "quick": 25, "full": 50}
KPMS_KAPPA_AT_30_FPS = 1e6
KPMS_LATENT_DIM = 10
METHODS = ["VAE", "SC-VAE-QD", "SC-VAE-QD+MALS", "pose PCA", "CEBRA-Time", "CEBRA-Behavior",
           "keypoint-MoSeq"]
MISSING = {"CEBRA-Time": cebra, "CEBRA-Behavior": cebra, "keypoint-MoSeq": kpms}
INSTALL = {"CEBRA-Time": "pip install cebra", "CEBRA-Behavior": "pip install cebra",
           "keypoint-MoSeq": "pip install keypoint-moseq"}


class FrameEmbedder(BaseEstimator):
    """Per-frame egocentric poses, optionally standardised, through an embedding model.

    Parameters
    ----------
    model : estimator
        Has ``fit(F, *labels)`` and ``transform(F)`` (PCA, CEBRA).
    labels : list of str, default=None
        Columns of the nuisance table passed to ``model.fit`` as auxiliary
        variables; None fits on the poses alone.
    standardise : bool, default=False
        Scale every egocentric coordinate to unit variance first.
    """

    def __init__(self, model, labels=None, standardise=False):
        self.model = model
        self.labels = labels
        self.standardise = standardise

    def fit(self, X, y, groups=None):
        """Fit on poses of shape (n_frames, 18, 3) and the nuisance table ``y``."""
        self.features_ = make_pipeline(
            EgocentricAligner(), *([StandardScaler()] if self.standardise else [])
        )
        F = self.features_.fit_transform(X)
        labels = [] if self.labels is None else [np.array(y[self.labels], dtype=float)]
        self.model.fit(F, *labels)
        return self

    def transform(self, X, groups=None):
        """Embedding of shape (n_frames, n_components)."""
        return self.model.transform(self.features_.transform(X))


class SyllableModel(BaseEstimator):
    """keypoint-MoSeq's AR-HMM on the raw keypoints, one recording per group.

    Parameters
    ----------
    fps : float
        Frame rate; the stickiness kappa scales with it.
    n_iter : int
        AR-HMM Gibbs iterations.
    latent_dim : int
        Pose principal components modelled.
    random_state : int

    Attributes
    ----------
    n_syllables_ : int
        Distinct syllables used on the training data.
    """

    def __init__(self, fps, n_iter, latent_dim, random_state):
        self.fps = fps
        self.n_iter = n_iter
        self.latent_dim = latent_dim
        self.random_state = random_state

    def _recordings(self, X, groups):
        groups = np.asarray(groups)
        names = list(dict.fromkeys(groups))
        coordinates = {str(name): X[groups == name] for name in names}
        confidences = {name: np.ones(c.shape[:2]) for name, c in coordinates.items()}
        return coordinates, confidences, names

    def fit(self, X, y=None, groups=None):
        """Fit on poses of shape (n_frames, 18, 3), one recording per group."""
        coordinates, confidences, _ = self._recordings(X, groups)
        with tempfile.TemporaryDirectory(prefix="kpms-") as project:
            kpms.setup_project(project, overwrite=True)
            kpms.update_config(
                project, bodyparts=list(MOUSE18.keypoint_names),
                use_bodyparts=list(MOUSE18.keypoint_names), skeleton=[],
                anterior_bodyparts=["SpineF"], posterior_bodyparts=["SpineM"],
                fps=self.fps, latent_dim=self.latent_dim, seed=self.random_state,
            )
            self.config_ = kpms.load_config(project)
            data, metadata = kpms.format_data(coordinates, confidences, **self.config_)
            pca = kpms.fit_pca(**data, **self.config_)
            model = kpms.init_model(data, pca=pca, **self.config_)
            model = kpms.update_hypparams(model, kappa=KPMS_KAPPA_AT_30_FPS * self.fps / 30)
            self.model_, _ = kpms.fit_model(
                model, data, metadata, project, ar_only=True, num_iters=self.n_iter,
                generate_progress_plots=False, save_every_n_iters=self.n_iter,
            )
        return self

    def predict(self, X, groups=None):
        """Syllable of each frame, sampled by the fitted AR-HMM on these recordings."""
        coordinates, confidences, names = self._recordings(X, groups)
        data, metadata = kpms.format_data(coordinates, confidences, **self.config_)
        results = kpms.apply_model(
            self.model_, data, metadata,
            num_iters=self.n_iter, ar_only=True, save_results=False, **self.config_,
        )
        return np.concatenate([results[str(name)]["syllable"] for name in names])

    def transform(self, X, groups=None):
        """One-hot syllable of each frame, shape (n_frames, n_states)."""
        syllables = self.predict(X, groups)
        return np.eye(int(self.model_["hypparams"]["trans_hypparams"]["num_states"]))[syllables]


def make_method(name, settings, args):
    """An unfitted embedding method with ``fit(X, table, groups=)`` and ``transform(X, groups=)``.

    Parameters
    ----------
    name : str
        One of :data:`METHODS`.
    settings : Settings
    args : argparse.Namespace

    Returns
    -------
    method : estimator
    """
    if name == "VAE":
        return make_model("VAE", settings, nuisance=[], alignment="midfwd", seed=args.seed,
                          device=args.device)
    lam = package_lam(args)
    if name == "SC-VAE-QD":
        return make_model("SC-VAE-QD", settings, nuisance=["animal"], alignment="midfwd",
                          seed=args.seed, device=args.device, lam=lam)
    if name == "SC-VAE-QD+MALS":
        if args.speed_lam is not None:
            lam = {"animal": lam, **dict.fromkeys(SPEED_COLUMNS, args.speed_lam)}
        return make_model(
            "SC-VAE-QD", settings, nuisance=list(IDENTITY_SPEED_SCRUBBERS), alignment="midfwd",
            seed=args.seed, device=args.device, lam=lam,
        ).set_params(scrubber=IDENTITY_SPEED_SCRUBBERS)
    if name == "pose PCA":
        return FrameEmbedder(PCA(settings.n_components, random_state=args.seed))
    if name == "keypoint-MoSeq":
        iterations = args.kpms_iter or KPMS_ITERATIONS[args.mode]
        return SyllableModel(settings.fps, iterations, KPMS_LATENT_DIM, args.seed)
    iterations = args.cebra_iter or CEBRA_ITERATIONS[args.mode]
    model = cebra.CEBRA(
        model_architecture="offset10-model", output_dimension=settings.n_components,
        conditional="time" if name == "CEBRA-Time" else "time_delta", time_offsets=10,
        batch_size=512, learning_rate=3e-4, temperature=1.0, max_iterations=iterations,
        device="cpu" if args.device == "auto" else args.device, verbose=False,
    )
    labels = SPEED_COLUMNS if name == "CEBRA-Behavior" else None
    return FrameEmbedder(model, labels=labels, standardise=True)


def fit_and_embed(name, X, table, groups, settings, args):
    """Fit a method, embed every frame of ``X`` and time both.

    Returns
    -------
    method : estimator
        Fitted.
    Z : ndarray of shape (n_frames, n_components)
    log : dict
        Frames fitted, optimiser steps (iterations), fit and embed seconds
        (wall clock and CPU time of this process: on a shared machine the
        CPU time is the fairer measure of cost) and device.
    """
    torch.manual_seed(args.seed)
    method = make_method(name, settings, args)
    start = time.perf_counter(), time.process_time()
    method.fit(X, table, groups=groups)
    fitted = time.perf_counter(), time.process_time()
    Z = method.transform(X, groups=groups)
    embedded = time.perf_counter(), time.process_time()
    if hasattr(method, "history_"):
        steps = sum(len(row["batches"]) for row in method.history_)
        device = str(method.device_)
    elif isinstance(method, SyllableModel):
        steps, device = method.n_iter, "cpu"
    else:
        steps, device = getattr(method.model, "max_iterations", 0), "cpu"
    log = {"model": name, "lam": str(getattr(method, "lam", "-")), "frames": len(X),
           "steps": steps,
           "fit_seconds": fitted[0] - start[0], "fit_cpu_seconds": fitted[1] - start[1],
           "embed_seconds": embedded[0] - fitted[0],
           "embed_cpu_seconds": embedded[1] - fitted[1], "device": device}
    return method, Z, log


def behaviour_clusters(Z, Z_labels, n_behaviours, seed, train=None):
    """KMeans clusters of an embedding, or the syllables of keypoint-MoSeq as they are.

    Parameters
    ----------
    Z : ndarray of shape (n_frames, n_components)
    Z_labels : ndarray of shape (n_frames,) or None
        Syllables; when given they are the clusters.
    n_behaviours : int
    seed : int
    train : ndarray of bool of shape (n_frames,), default=None
        Frames KMeans is fitted on; the others are only assigned. None fits
        on every frame.

    Returns
    -------
    labels : ndarray of shape (n_frames,)
        Cluster of each frame, -1 where the embedding is NaN.
    """
    if Z_labels is not None:
        return Z_labels
    if train is None:
        return cluster_embeddings(Z, n_behaviours, method="kmeans", random_state=seed)
    valid = np.isfinite(Z).all(axis=1)
    kmeans = KMeans(n_behaviours, random_state=seed).fit(Z[valid & train])
    labels = np.full(len(Z), -1)
    labels[valid] = kmeans.predict(Z[valid])
    return labels


def syllables_of(method, Z):
    """The syllable of each frame for keypoint-MoSeq (from its one-hot embedding), else None."""
    return Z.argmax(axis=1) if isinstance(method, SyllableModel) else None


def score(method, Z, table, folds, settings, seed):
    """Behaviour agreement, identity and speed decodability of one embedding."""
    behaviour = table["behavior"].to_numpy()
    n_behaviours = table["behavior"].nunique()
    labels = behaviour_clusters(Z, syllables_of(method, Z), n_behaviours, seed)
    agreement = cluster_agreement(labels, behaviour)
    identity = probe_scores(Z, table[["animal"]], ("logistic", "qda"), folds, settings.window,
                            seed)
    speed = probe_scores(Z, table[SPEED_COLUMNS], ("linear",), folds, settings.window, seed)
    return {"behaviour ARI": agreement.adjusted_rand,
            "behaviour NMI": agreement.normalized_mutual_info,
            **identity, "speed linear R2": speed["linear R2"]}


def speed_from_behaviour(table, groups, folds, settings, seed):
    """Linear R^2 of the speeds read from the true behaviour, with the probes of :func:`score`.

    The bound that behaviour puts on scrubbing speed: an embedding whose
    clusters are the behaviours lets a linear probe read about this much
    speed.

    Returns
    -------
    scores : dict
        ``"labels"``: probe on each frame's one-hot behaviour;
        ``"window fractions"``: on the fraction of each behaviour in the
        ``window`` frames around it (within its recording).
    """
    onehot = pd.get_dummies(table["behavior"]).to_numpy(dtype=np.float64)
    fractions = np.empty_like(onehot)
    for recording in pd.unique(groups):
        rows = groups == recording
        fractions[rows] = uniform_filter1d(onehot[rows], settings.window, axis=0, mode="nearest")
    return {
        name: probe_scores(Z, table[SPEED_COLUMNS], ("linear",), folds, settings.window,
                           seed)["linear R2"]
        for name, Z in [("labels", onehot), ("window fractions", fractions)]
    }


def transfer(name, X, table, groups, settings, args):
    """ARI on the training animals and on an unseen one, fitted without the last animal.

    Returns
    -------
    scores : dict
        "transfer ARI train" and "transfer ARI unseen".
    log : dict
        Training-log row of the fit without the last animal.
    """
    animal = table["animal"].to_numpy()
    train = animal != animal.max()
    method, _, log = fit_and_embed(
        name, X[train], table[train], groups[train], settings, args
    )
    Z = method.transform(X, groups=groups)
    behaviour = table["behavior"].to_numpy()
    labels = behaviour_clusters(Z, syllables_of(method, Z), table["behavior"].nunique(),
                                args.seed, train)
    return {
        "transfer ARI train": cluster_agreement(labels[train], behaviour[train]).adjusted_rand,
        "transfer ARI unseen": cluster_agreement(labels[~train], behaviour[~train]).adjusted_rand,
    }, log


def experiment(settings, args):
    poses, table, groups = make_synthetic(settings, lesion=False, seed=args.seed)
    folds = chunk_folds(groups)
    rows, training, notes = [], [], []
    for name in [m for m in METHODS if keep(m, args)]:
        if name in MISSING and MISSING[name] is None:
            notes.append(f"- {name} skipped: not installed (`{INSTALL[name]}`).")
            continue
        method, Z, log = fit_and_embed(name, poses, table, groups, settings, args)
        print(f"{name} fitted in {log['fit_seconds']:.0f} s", flush=True)
        scores = score(method, Z, table, folds, settings, args.seed)
        transfer_scores, transfer_log = transfer(name, poses, table, groups, settings, args)
        training += [{"experiment": "all animals", **log},
                     {"experiment": "all but the last animal", **transfer_log}]
        rows.append({"model": name, **scores, **transfer_scores, "fit s": log["fit_seconds"],
                     "fit CPU s": log["fit_cpu_seconds"], "embed s": log["embed_seconds"],
                     "embed CPU s": log["embed_cpu_seconds"]})
        print(f"  {rows[-1]}", flush=True)
    table_ = pd.DataFrame(rows)
    panels = {
        "behaviour": table_[["model", "behaviour ARI", "transfer ARI train",
                             "transfer ARI unseen"]],
        "identity": table_[["model", "logistic acc", "QDA acc", "chance"]],
        "speed": table_[["model", "speed linear R2"]],
    }
    bound = speed_from_behaviour(table, groups, folds, settings, args.seed)
    tables = {"peers": table_,
              "speed linear R2 from the true behaviour": pd.DataFrame([bound])}
    return Report(tables=tables, figure=bar_panels(panels), training=training, notes=notes)


def add_arguments(parser):
    parser.add_argument("--n-animals", type=int, default=None, help="synthetic animals (>= 2)")
    parser.add_argument("--n-frames", type=int, default=None, help="frames per animal")
    parser.add_argument("--fps", type=float, default=None, help="frame rate of the data")
    parser.add_argument("--window", type=int, default=None, help="frames per window (odd)")
    parser.add_argument("--speed-lam", type=float, default=None,
                        help="weight of the speed scrubbers of SC-VAE-QD+MALS (default: "
                             "the identity scrubber's, --lam)")
    parser.add_argument("--cebra-iter", type=int, default=None,
                        help="CEBRA training iterations (default: 5 / 500 / 3000 by mode)")
    parser.add_argument("--kpms-iter", type=int, default=None,
                        help="keypoint-MoSeq AR-HMM iterations (default: 2 / 25 / 50 by mode)")


def main(argv=None):
    return run("peers", __doc__, experiment, METHODS, argv, add_arguments)


if __name__ == "__main__":
    main()
