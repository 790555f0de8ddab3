"""Shared machinery of the benchmark scripts.

Command-line options and run modes, the model zoo of the paper (model name
-> :class:`~sklearn_scrubvae.ScrubbedCVAE` parameters), the data sets with
their nuisance tables, the folds of the probes, and the results folder:
markdown tables, CSV files, a PNG figure and ``config.json``.
"""

import argparse
import json
import platform
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from matplotlib.figure import Figure
from scipy.ndimage import gaussian_filter1d
from sklearn.exceptions import ConvergenceWarning

import sklearn_scrubvae
from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.metrics import decodability_score
from sklearn_scrubvae.plotting import plot_decodability
from sklearn_scrubvae.pose import compute_speed

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"

SPEED_COLUMNS = ["speed_root", "speed_spine_head", "speed_limbs"]
HEADING_COLUMNS = ["heading_sin", "heading_cos"]
N_FOLDS = 5
# Probe name of ``decodability_score`` -> column label of the result tables.
PROBES = {"linear": "linear R2", "mlp": "MLP R2", "logistic": "logistic acc", "qda": "QDA acc"}
# Keypoints are smoothed over time with a Gaussian of this standard deviation
# before speeds are measured, on recordings and on decoded windows alike, so
# that tracking noise does not set a speed floor that decoded motion lacks.
# The root moves slowly and gets a wider Gaussian: at the narrow one, 0.5 mm
# of tracking noise still raised the median window-averaged root speed of
# the synthetic mice by 8-21% (seeds 0-2), at 0.1 s by at most 2.5%; the limbs move
# fast, and a wider Gaussian lowers their speed far below the noise-free one.
SPEED_SMOOTHING_SECONDS = 1.0 / 30.0
ROOT_SMOOTHING_SECONDS = 0.1

REAL_MICE = ("OFT_F_5_0_9000", "OFT_F_8_0_9000", "OFT_F_19_0_9000")
REAL_MICE_FPS = 30


@dataclass(frozen=True)
class Settings:
    """Data and model sizes of a run mode.

    Attributes
    ----------
    n_animals : int
        Synthetic animals of the decodability, synthesis and clustering data.
    n_lesion_animals : int
        Animals of the lesion study (a healthy and a lesioned session each).
    n_frames : int
        Frames per synthetic session.
    n_real_frames : int
        Frames used per real mouse (at most 9000).
    fps : float
        Frame rate of the synthetic data.
    window : int
        Frames per window at ``fps`` (odd).
    n_components : int
        Latent dimension D.
    hidden_channels : tuple of int
        Convolution channels per resolution level.
    kernel_size : int
        Temporal kernel width.
    max_iter : int
        Training epochs.
    batch_size : int
        Windows per optimiser step.
    learning_rate : float
        AdamW learning rate.
    lam : float
        Weight of every scrubber's penalty.
    n_clusters : int
        Gaussian mixture components of the clustering benchmark.
    max_samples : int
        Frames per session drawn for the MMD effect size and the k-NN.
    """

    n_animals: int
    n_lesion_animals: int
    n_frames: int
    n_real_frames: int
    fps: float
    window: int
    n_components: int
    hidden_channels: tuple
    kernel_size: int
    max_iter: int
    batch_size: int
    learning_rate: float
    lam: float
    n_clusters: int
    max_samples: int


MODES = {
    # Seconds: proves that a script runs end to end; the numbers mean nothing.
    "smoke": Settings(
        n_animals=3, n_lesion_animals=3, n_frames=300, n_real_frames=300, fps=30,
        window=9, n_components=4, hidden_channels=(8,), kernel_size=3, max_iter=1,
        batch_size=128, learning_rate=1e-3, lam=10.0, n_clusters=3, max_samples=100,
    ),
    # Minutes on two CPU cores: 0.57 s windows at 30 fps (17 frames), small networks.
    "quick": Settings(
        n_animals=4, n_lesion_animals=8, n_frames=1500, n_real_frames=3000, fps=30,
        window=17, n_components=16, hidden_channels=(32, 64), kernel_size=5, max_iter=6,
        batch_size=128, learning_rate=1e-3, lam=10.0, n_clusters=25, max_samples=500,
    ),
    # The paper's sizes (51-frame windows at 90 fps, D = 64, 400 epochs); for a GPU.
    "full": Settings(
        n_animals=4, n_lesion_animals=36, n_frames=36000, n_real_frames=9000, fps=90,
        window=51, n_components=64, hidden_channels=(64, 128, 256), kernel_size=7,
        max_iter=400, batch_size=2048, learning_rate=1e-4, lam=10.0, n_clusters=25,
        max_samples=1000,
    ),
}

# Model name -> ScrubbedCVAE parameters. "alignment" overrides the
# experiment's alignment; "lam_scale" multiplies the mode's ``lam`` (the
# convergence study measured QD, MALS and GR too weak at lam 10 for 564
# steps, and MALS on heading at lam 50, doc/benchmarks.md (e)); models
# without a decoder input or a scrubber ignore the nuisance.
ZOO = {
    "VAE": dict(scrubber=None, conditional=False),
    "VAE Processed": dict(scrubber=None, conditional=False, alignment="midfwd"),
    "beta-VAE": dict(scrubber=None, conditional=False, beta=4.0),
    "C-VAE": dict(scrubber=None, conditional=True),
    "VAE-GR": dict(scrubber="gr", conditional=False),
    "VAE-QD": dict(scrubber="qd", conditional=False),
    "SC-VAE-GR": dict(scrubber="gr", conditional=True, lam_scale=10.0),
    "SC-VAE-ND": dict(scrubber="nd", conditional=True),
    "SC-VAE-MALS": dict(scrubber="mals", conditional=True, lam_scale=10.0),
    "SC-VAE-MAQS": dict(scrubber="mals", conditional=True, poly_order=2),
    # Class models of the current batch alone, inside the graph.
    "SC-VAE-QD": dict(scrubber="qd", conditional=True, lam_scale=10.0,
                      scrubber_params={"qd": {"include_batch": True, "forgetting_factor": 0.0}}),
    "SC-VAE-MI": dict(scrubber="mi", conditional=True),
}


# ------------------------------------------------------------------ options


def parse_args(description, models, argv=None, add_arguments=None):
    """Options shared by every benchmark script.

    Parameters
    ----------
    description : str
        Help text of the script.
    models : list of str
        The zoo models the script can run: the choices of ``--models``.
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.
    add_arguments : callable, default=None
        ``add_arguments(parser)`` adds the script's own options.

    Returns
    -------
    args : argparse.Namespace
        ``mode``, ``seed``, ``out``, ``device``, ``threads``, ``lam``,
        ``max_iter`` and ``models``, and the script's own options.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--smoke", dest="mode", action="store_const", const="smoke",
        help="tiny data and one epoch: only checks that the script runs",
    )
    mode.add_argument(
        "--quick", dest="mode", action="store_const", const="quick",
        help="small models and a few thousand frames: minutes on two CPU cores",
    )
    parser.set_defaults(mode="full")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, models and probes")
    parser.add_argument(
        "--out", type=Path, default=None,
        help="results folder (default: benchmarks/results/<script>/)",
    )
    parser.add_argument("--device", default="auto", help="torch device of the models")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch CPU threads (default: torch's choice; 1 is fastest on a busy machine)",
    )
    parser.add_argument("--lam", type=float, default=None, help="override the scrubber weight")
    parser.add_argument("--max-iter", type=int, default=None,
                        help="override the training epochs of the mode")
    parser.add_argument(
        "--models", nargs="+", default=None, choices=models, metavar="MODEL",
        help=f"run only these models: {', '.join(models)}",
    )
    if add_arguments is not None:
        add_arguments(parser)
    return parser.parse_args(argv)


def settings_for(args):
    """The :class:`Settings` of the chosen mode, with the options that override it applied.

    ``--lam``, ``--max-iter`` and any option of a script whose destination is
    named after a :class:`Settings` attribute (e.g. ``--n-frames``) override
    the mode's value unless left at None.
    """
    overrides = {f.name: getattr(args, f.name, None) for f in fields(Settings)}
    return replace(MODES[args.mode], **{k: v for k, v in overrides.items() if v is not None})


def package_lam(args):
    """``--lam`` when given, else the estimator's default scrubber weight."""
    return ScrubbedCVAE().lam if getattr(args, "lam", None) is None else args.lam


def keep(model, args):
    """Whether ``--models`` (all models when not given) includes ``model``."""
    return args.models is None or model in args.models


def used_models(*lists):
    """The distinct model names of ``lists``, in order of first appearance."""
    return list(dict.fromkeys(name for names in lists for name in names))


# --------------------------------------------------------------------- data


def smooth_motion(sequences, fps, seconds=SPEED_SMOOTHING_SECONDS):
    """Gaussian smoothing of keypoints along time, without slowing the ends down.

    Each sequence is extended at both ends by its point reflection about
    the end frame (``2 x[0] - x[k]``), which continues a steady motion
    through the end, before it is smoothed, and cropped back. Smoothing a
    short decoded window with its end frames repeated instead would stop
    the motion near its ends: with a Gaussian of 0.1 s, 17-frame windows
    of recorded motion at 30 fps measured 0.77-0.81 of the recording's
    root speed.

    Parameters
    ----------
    sequences : ndarray of shape (n_sequences, n_frames, n_keypoints, 3)
        Recordings or decoded windows.
    fps : float
        Frames per second.
    seconds : float, default=SPEED_SMOOTHING_SECONDS
        Standard deviation of the Gaussian.

    Returns
    -------
    smoothed : ndarray of shape (n_sequences, n_frames, n_keypoints, 3)
    """
    sigma = seconds * fps
    n_frames = sequences.shape[1]
    pad = min(int(4.0 * sigma + 0.5), n_frames - 1)  # the Gaussian's radius
    before = 2 * sequences[:, :1] - sequences[:, pad:0:-1]
    after = 2 * sequences[:, -1:] - sequences[:, -2 : -pad - 2 : -1]
    extended = np.concatenate([before, sequences, after], axis=1)
    smoothed = gaussian_filter1d(extended, sigma, axis=1, mode="nearest", truncate=4.0)
    return smoothed[:, pad : pad + n_frames]


def motion_speeds(sequences, fps, speed):
    """The speeds of :data:`SPEED_COLUMNS`, each from keypoints smoothed at its own width.

    The root speed comes from keypoints smoothed over
    :data:`ROOT_SMOOTHING_SECONDS`, the spine, head and limb speeds from
    keypoints smoothed over :data:`SPEED_SMOOTHING_SECONDS`.

    Parameters
    ----------
    sequences : ndarray of shape (n_sequences, n_frames, 18, 3)
        Recordings or decoded windows.
    fps : float
    speed : callable
        ``speed(smoothed)`` -> DataFrame with :data:`SPEED_COLUMNS`:
        ``compute_speed`` of recordings, ``measure_speed`` of windows.

    Returns
    -------
    speeds : DataFrame with the columns of :data:`SPEED_COLUMNS`
    """
    speeds = speed(smooth_motion(sequences, fps))
    speeds["speed_root"] = speed(smooth_motion(sequences, fps, ROOT_SMOOTHING_SECONDS))[
        "speed_root"
    ]
    return speeds[SPEED_COLUMNS]


def make_synthetic(settings, *, lesion, seed):
    """Synthetic mice with their nuisance table.

    Parameters
    ----------
    settings : Settings
    lesion : bool
        Lesion study data (``n_lesion_animals``, two sessions each) or one
        healthy session per animal (``n_animals``).
    seed : int

    Returns
    -------
    poses : ndarray of shape (n_frames_total, 18, 3)
    table : DataFrame of shape (n_frames_total, 12)
        The generator's labels (animal, session, condition, behavior, speed,
        heading_sin, heading_cos, lesion_severity, body_size) and the three
        window-averaged speeds of :data:`SPEED_COLUMNS`, measured from the
        smoothed keypoints (:func:`motion_speeds`).
    groups : ndarray of shape (n_frames_total,)
        Session id per frame.
    """
    n_animals = settings.n_lesion_animals if lesion else settings.n_animals
    poses, labels = make_mouse_behavior(
        n_animals, settings.n_frames, lesion=lesion, fps=settings.fps, random_state=seed
    )
    groups = labels["session"].astype(str).to_numpy()
    n_sessions = len(poses) // settings.n_frames
    sequences = poses.reshape(n_sessions, settings.n_frames, 18, 3)
    speed = motion_speeds(
        sequences, settings.fps,
        lambda smoothed: compute_speed(
            smoothed.reshape(poses.shape), "mouse18", window=settings.window,
            fps=settings.fps, groups=groups,
        ),
    )
    return poses, pd.concat([labels, speed], axis=1), groups


def real_mice_window(settings):
    """Frames per window at 30 fps covering the same time as ``settings.window``."""
    frames = round(settings.window * REAL_MICE_FPS / settings.fps)
    return frames if frames % 2 else frames + 1


def load_real_mice(n_frames):
    """The three motionmapperpy open-field mice as generic features.

    Parameters
    ----------
    n_frames : int
        Frames kept from the start of each recording.

    Returns
    -------
    X : ndarray of shape (3 * n_frames, 34) or None
        Per frame, the 17 2D keypoints minus their centroid, flattened.
        None when the data folder is absent.
    animal : Categorical of shape (3 * n_frames,) or None
        Recording name per frame.
    """
    folder = DATA_DIR / "motionmapperpy_mice"
    if not folder.is_dir():
        return None, None
    recordings = [np.load(folder / f"{name}.npy")[:n_frames] for name in REAL_MICE]
    X = np.concatenate([r - r.mean(axis=1, keepdims=True) for r in recordings])
    animal = pd.Categorical(np.repeat(REAL_MICE, [len(r) for r in recordings]))
    return X.reshape(len(X), -1), animal


def chunk_folds(groups, n_folds=N_FOLDS):
    """Fold of each frame: the k-th of ``n_folds`` equal time chunks of its recording.

    With ``GroupKFold(n_folds)`` these groups give folds that each hold out
    one contiguous chunk of every recording, so every animal appears in
    every training fold and windows of different folds overlap only at
    chunk borders.

    Parameters
    ----------
    groups : array-like of shape (n_frames,)
        Recording id per frame; a recording's frames are contiguous.
    n_folds : int, default=5

    Returns
    -------
    folds : ndarray of shape (n_frames,), dtype int
    """
    groups = pd.Series(np.asarray(groups))
    by_recording = groups.groupby(groups, sort=False)
    return (by_recording.cumcount() * n_folds // by_recording.transform("size")).to_numpy()


# ------------------------------------------------------------------- probes


def probe_scores(Z, nuisance, probes, folds, step, seed, transformer=None):
    """Mean held-out score of each probe, and chance for classification.

    Parameters
    ----------
    Z : ndarray of shape (n_frames, n_components)
    nuisance : DataFrame of shape (n_frames, n_columns)
    probes : tuple of str
        Probe names of ``decodability_score``.
    folds : ndarray of shape (n_frames,)
        Fold of each frame (see ``chunk_folds``).
    step : int
        Keep every ``step``-th frame.
    seed : int
    transformer : transformer or None
        Fitted on each training fold before the probe (see
        ``decodability_score``).

    Returns
    -------
    scores : dict
        Column label -> score.
    """
    results = {
        probe: decodability_score(
            Z, nuisance, probe, groups=folds, step=step, random_state=seed,
            transformer=transformer,
        )
        for probe in probes
    }
    scores = {PROBES[probe]: result.mean for probe, result in results.items()}
    chance = results[probes[0]].chance
    return scores if chance is None else {**scores, "chance": chance}


# ------------------------------------------------------------------- models


def make_model(name, settings, *, nuisance, alignment, seed, device, skeleton="mouse18",
               window=None, lam=None):
    """A zoo model with the sizes of ``settings``.

    Parameters
    ----------
    name : str
        Key of :data:`ZOO`.
    settings : Settings
    nuisance : list of str
        Columns conditioned on and scrubbed (ignored by models that use
        neither).
    alignment : {"midfwd", "x360"}
        Window alignment, unless the zoo entry fixes its own.
    seed : int
    device : str
    skeleton : str or None, default="mouse18"
        None trains on generic features.
    window : int, default=None
        Frames per window; None uses ``settings.window``.
    lam : float, default=None
        Scrubber weight; None uses ``settings.lam`` times the zoo entry's
        ``lam_scale``.

    Returns
    -------
    estimator : ScrubbedCVAE
        Unfitted.
    """
    params = dict(ZOO[name])
    alignment = params.pop("alignment", alignment)
    lam_scale = params.pop("lam_scale", 1.0)
    if lam is None:
        lam = settings.lam * lam_scale
    uses_nuisance = params["conditional"] or params["scrubber"] is not None
    return ScrubbedCVAE(
        **params,
        nuisance=list(nuisance) if uses_nuisance else None,
        skeleton=skeleton,
        alignment=alignment,
        window=settings.window if window is None else window,
        n_components=settings.n_components,
        hidden_channels=settings.hidden_channels,
        kernel_size=settings.kernel_size,
        max_iter=settings.max_iter,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        lam=lam,
        device=device,
        random_state=seed,
    )


class ModelRunner:
    """Fits zoo models on one data set, embeds every frame, remembers both.

    Models with identical parameters (e.g. a plain VAE asked for by several
    experiments) are fitted once.

    Parameters
    ----------
    X : ndarray of shape (n_frames, ...)
        Poses (n_frames, 18, 3) or generic features (n_frames, n_features).
    table : DataFrame of shape (n_frames, n_columns)
        Nuisance table.
    groups : ndarray of shape (n_frames,)
        Recording id per frame.
    settings : Settings
    args : argparse.Namespace
        Supplies ``seed`` and ``device``.
    experiment : str
        Name written to the training log.
    skeleton : str or None, default="mouse18"
    window : int, default=None
    params : dict or None, default=None
        Further estimator parameters of every model (e.g.
        ``root_velocity_weight``).

    Attributes
    ----------
    log : list of dict
        One row per fitted model: experiment, model, nuisance, alignment,
        scrubber weight (empty without a scrubber), epochs, final loss, fit
        seconds, device.
    """

    def __init__(self, X, table, groups, settings, args, experiment, *, skeleton="mouse18",
                 window=None, params=None):
        self.X, self.table, self.groups = X, table, groups
        self.settings, self.args, self.experiment = settings, args, experiment
        self.skeleton, self.window, self.params = skeleton, window, params or {}
        self.log = []
        self._fitted = {}

    def fit(self, name, nuisance, alignment="midfwd", lam=None):
        """Fitted model and embeddings of every frame.

        Parameters
        ----------
        name : str
            Key of :data:`ZOO`.
        nuisance : list of str
        alignment : {"midfwd", "x360"}, default="midfwd"
        lam : float, default=None
            Scrubber weight; None uses the zoo's (see :func:`make_model`).

        Returns
        -------
        estimator : ScrubbedCVAE
            Fitted.
        Z : ndarray of shape (n_frames, n_components)
        """
        estimator = make_model(
            name, self.settings, nuisance=nuisance, alignment=alignment, seed=self.args.seed,
            device=self.args.device, skeleton=self.skeleton, window=self.window, lam=lam,
        ).set_params(**self.params)
        key = repr(sorted(estimator.get_params().items()))
        if key not in self._fitted:
            start = time.perf_counter()
            estimator.fit(self.X, self.table, groups=self.groups)
            Z = estimator.transform(self.X, groups=self.groups)
            seconds = time.perf_counter() - start
            self._fitted[key] = estimator, Z
            self.log.append(
                {
                    "experiment": self.experiment,
                    "model": name,
                    "nuisance": "/".join(estimator.nuisance_columns_) or "-",
                    "alignment": estimator.alignment if self.skeleton else "-",
                    "lam": estimator.lam if estimator.scrubber is not None else None,
                    "epochs": estimator.n_iter_,
                    "final_loss": estimator.loss_curve_[-1],
                    "fit_seconds": seconds,
                    "device": str(estimator.device_),
                }
            )
            print(f"[{self.experiment}] {name} ({self.log[-1]['nuisance']}) fitted in "
                  f"{seconds:.0f} s", flush=True)
        return self._fitted[key]


# ------------------------------------------------------------------ results


@dataclass
class Report:
    """What a benchmark produced.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Titled result tables, in the order they are published; each is
        written as ``<title with underscores>.csv``.
    figure : matplotlib.figure.Figure
        Saved as ``<script>.png``.
    training : list of dict
        Rows of the training log (see :attr:`ModelRunner.log`), written as
        ``training.csv``.
    notes : list of str
        Lines written under the tables (e.g. parts that were skipped).
    """

    tables: dict
    figure: object
    training: list
    notes: list = field(default_factory=list)


def csv_name(title):
    """File name of a table: lower case, words joined by underscores."""
    return "_".join(title.lower().split()) + ".csv"


def markdown_table(table, digits=3):
    """A DataFrame as a GitHub markdown table, floats rounded to ``digits``."""

    def cell(value):
        if isinstance(value, (float, np.floating)):
            return "nan" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join([header, rule, *rows])


def bar_panels(panels, ylabel="score"):
    """One bar chart per table: models on the x axis, a bar per value column.

    Each panel is drawn by :func:`sklearn_scrubvae.plotting.plot_decodability`.

    Parameters
    ----------
    panels : dict of str to DataFrame
        Title -> table with a "model" column, numeric value columns and
        optionally a "chance" column (drawn as chance lines over the bars).
    ylabel : str, default="score"

    Returns
    -------
    figure : matplotlib.figure.Figure
        Drawn without pyplot (Agg canvas).
    """
    figure = Figure(figsize=(6.5 * len(panels), 4.5), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, table) in zip(axes, panels.items()):
        plot_decodability(table, ax=ax)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
    return figure


def run(script, description, experiment, models, argv=None, add_arguments=None):
    """Run a benchmark and write its results.

    Parses the options, runs ``experiment(settings, args) -> Report`` and
    writes into the results folder: ``results.md`` (every table, the
    command and the wall time), one CSV per table, ``training.csv``,
    ``<script>.png`` and ``config.json`` (mode, settings, seed, versions,
    devices, threads, wall time).

    Parameters
    ----------
    script : str
        Short name, e.g. "decodability".
    description : str
        Help text and heading of ``results.md``.
    experiment : callable
    models : list of str
        The zoo models the script can run (see :func:`parse_args`).
    argv : list of str, default=None
    add_arguments : callable, default=None
        Adds the script's own options (see :func:`parse_args`).

    Returns
    -------
    out : Path
        The results folder.
    """
    args = parse_args(description, models, argv, add_arguments)
    settings = settings_for(args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    out = args.out if args.out is not None else RESULTS_DIR / script
    out.mkdir(parents=True, exist_ok=True)
    options = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", f"benchmarks/bench_{script}.py", *map(str, options)])

    start = time.perf_counter()
    with warnings.catch_warnings():
        # Probes and mixtures that stop at their iteration limit are scored as they are.
        warnings.simplefilter("ignore", ConvergenceWarning)
        report = experiment(settings, args)
    wall = time.perf_counter() - start

    training = pd.DataFrame(report.training)
    devices = sorted(set(training["device"])) if len(training) else []
    tables = {**report.tables, "training": training}
    for title, table in tables.items():
        table.to_csv(out / csv_name(title), index=False)
    report.figure.savefig(out / f"{script}.png", dpi=120)

    title = description.strip().splitlines()[0]
    lines = [f"# {title}", "", f"`{command}`", "",
             f"Mode `{args.mode}`, seed {args.seed}, wall time {wall:.0f} s on "
             f"{', '.join(devices) or 'no device'} ({torch.get_num_threads()} torch threads).",
             ""]
    for table_title, table in tables.items():
        lines += [f"## {table_title}", "", markdown_table(table), ""]
    lines += report.notes
    (out / "results.md").write_text("\n".join(lines).rstrip() + "\n")

    config = {
        "script": script,
        "command": command,
        "mode": args.mode,
        "seed": args.seed,
        "settings": asdict(settings),
        "models": args.models,
        "device_requested": args.device,
        "devices": devices,
        "torch_threads": torch.get_num_threads(),
        "wall_seconds": wall,
        "versions": {
            "sklearn_scrubvae": sklearn_scrubvae.__version__,
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "platform": platform.platform(),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"results written to {out} ({wall:.0f} s)", flush=True)
    return out
