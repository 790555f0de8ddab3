"""The benchmark scripts run end to end and write complete results.

Each script runs in ``--smoke`` mode (tiny data, one epoch) in a fresh
interpreter that, like the test suite, turns FutureWarning and
DeprecationWarning into errors.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import r2_score

pytest.importorskip("matplotlib", reason="the benchmark figures need matplotlib")

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from _common import (  # noqa: E402
    MODES,
    ROOT_SMOOTHING_SECONDS,
    SPEED_COLUMNS,
    SPEED_SMOOTHING_SECONDS,
    chunk_folds,
    make_synthetic,
    motion_speeds,
    parse_args,
    settings_for,
    smooth_motion,
)

from sklearn_scrubvae import ScrubbedCVAE  # noqa: E402
from sklearn_scrubvae.datasets import make_mouse_behavior  # noqa: E402
from sklearn_scrubvae.metrics import measure_speed  # noqa: E402
from sklearn_scrubvae.pose import compute_speed  # noqa: E402

REAL_MICE = REPO.parent / "shared" / "data" / "motionmapperpy_mice"

SPEED_MODELS = ["VAE", "VAE + LEACE", "beta-VAE", "C-VAE", "VAE-GR", "SC-VAE-GR", "SC-VAE-MALS",
                "SC-VAE-MAQS", "SC-VAE-MI"]
HEADING_MODELS = ["VAE Processed", "VAE", "VAE + LEACE", "C-VAE", "SC-VAE-GR", "SC-VAE-MALS",
                  "SC-VAE-MAQS", "SC-VAE-MI"]
IDENTITY_MODELS = ["VAE", "VAE + LEACE", "C-VAE", "VAE-QD", "SC-VAE-GR", "SC-VAE-ND",
                   "SC-VAE-MALS", "SC-VAE-QD", "SC-VAE-MI"]
REAL_MICE_MODELS = ["VAE", "VAE + LEACE", "C-VAE", "VAE-QD", "SC-VAE-MALS", "SC-VAE-QD"]
CONDITIONAL_MODELS = ["VAE", "C-VAE", "SC-VAE-GR", "SC-VAE-MALS", "SC-VAE-MAQS", "SC-VAE-MI"]
CLUSTERING_MODELS = ["VAE", "C-VAE", "SC-VAE-MALS", "SC-VAE-MAQS", "SC-VAE-MI"]
LESION_MODELS = ["VAE", "C-VAE (animal)", "SC-VAE-QD (animal)", "SC-VAE-QD (condition)"]

R2 = ["linear R2", "MLP R2"]
ACCURACY = ["logistic acc", "QDA acc", "chance"]
CLUSTER_SCORES = ["walk speed eta2", "heading circ var", "heading circ var ratio", "ARI", "NMI"]

# script -> {csv file: (row labels, value columns)}
EXPECTED = {
    "decodability": {
        "speed.csv": (SPEED_MODELS, R2),
        "heading.csv": (HEADING_MODELS, R2),
        "identity.csv": (IDENTITY_MODELS, ACCURACY),
        **({"real_mice_identity.csv": (REAL_MICE_MODELS, ACCURACY)} if REAL_MICE.is_dir() else {}),
    },
    "synthesis": {
        "synthesis.csv": (
            CONDITIONAL_MODELS,
            ["speed R2", "speed_root R2", "heading R2", "speed R2 kept", "heading R2 kept"],
        ),
    },
    "lesion": {
        "lesion.csv": (
            LESION_MODELS, ["d mean", "d sd", "kNN session acc", "r(d, severity)", "p"]
        ),
    },
    "clustering": {
        "speed.csv": (CLUSTERING_MODELS, CLUSTER_SCORES),
        "heading.csv": (CLUSTERING_MODELS, CLUSTER_SCORES),
    },
    "missing": {  # one row per model and data set (the "data" column)
        "clusters_and_identity.csv": (
            ["SC-VAE-QD"] * 3 + ["VAE"] * 3,
            ["frames missing a keypoint", "own embedding", "ARI (all frames)",
             "ARI (30% missing frames)", "ARI (60% missing frames)", *ACCURACY],
        ),
        "embedding_distances.csv": (
            ["SC-VAE-QD"] * 2 + ["VAE"] * 2,
            ["same frame", "random pairs", "consecutive frames", "same / random",
             "same / consecutive"],
        ),
    },
}


def run_smoke(script, out, *options):
    command = [
        sys.executable, "-W", "error::FutureWarning", "-W", "error::DeprecationWarning",
        str(BENCHMARKS / f"bench_{script}.py"), "--smoke", "--out", str(out), "--threads", "1",
        *options,
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_smoke_run_writes_complete_results(script, tmp_path):
    run_smoke(script, tmp_path)

    for name, (models, columns) in EXPECTED[script].items():
        table = pd.read_csv(tmp_path / name)
        keys = ["model", "data"] if "data" in table else ["model"]
        assert list(table.columns) == [*keys, *columns], name
        assert table["model"].tolist() == models, name
        assert np.isfinite(table[columns].to_numpy()).all(), name
    training = pd.read_csv(tmp_path / "training.csv")
    assert (training["epochs"] == 1).all()
    if script == "missing":  # identity scrubbed at the estimator's default weight
        scrubbed = training.set_index("model")["lam"].dropna()
        assert (scrubbed.index == "SC-VAE-QD").all() and len(scrubbed) == 3
        assert (scrubbed == ScrubbedCVAE().lam).all()
    assert (training["device"] == "cpu").all()

    markdown = (tmp_path / "results.md").read_text()
    assert f"--smoke --out {tmp_path}" in markdown
    for name in [*EXPECTED[script], "training.csv"]:
        assert f"## {name[:-4].replace('_', ' ')}\n" in markdown
    assert (tmp_path / f"{script}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["mode"] == "smoke"
    assert config["seed"] == 0
    assert config["settings"]["max_iter"] == 1
    assert config["devices"] == ["cpu"]
    assert config["wall_seconds"] > 0
    assert {"sklearn_scrubvae", "torch", "scikit-learn"} <= set(config["versions"])


def test_scores_lie_in_their_ranges(tmp_path):
    """Accuracies, R^2, cluster agreement and correlations stay in their bounds."""
    run_smoke("lesion", tmp_path, "--models", "VAE", "SC-VAE-QD", "--seed", "3")
    lesion = pd.read_csv(tmp_path / "lesion.csv")
    assert lesion["model"].tolist() == ["VAE", "SC-VAE-QD (animal)", "SC-VAE-QD (condition)"]
    assert lesion["kNN session acc"].between(0, 1).all()
    assert lesion["r(d, severity)"].between(-1, 1).all()
    assert lesion["p"].between(0, 1).all()
    per_animal = pd.read_csv(tmp_path / "effect_size_per_animal.csv")
    assert per_animal["animal"].tolist() == [0, 1, 2]
    assert per_animal["lesion severity"].between(0, 1).all()
    assert np.allclose(per_animal[lesion["model"]].mean().to_numpy(), lesion["d mean"])
    assert json.loads((tmp_path / "config.json").read_text())["seed"] == 3


def test_chunk_folds_hold_out_a_contiguous_fifth_of_every_recording():
    groups = np.repeat(["a", "b"], [10, 25])
    folds = chunk_folds(groups)
    assert folds[:10].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert folds[10:].tolist() == np.repeat(np.arange(5), 5).tolist()


def test_command_line_overrides_reach_the_settings():
    default = settings_for(parse_args("", ["VAE"], ["--quick"]))
    assert default == MODES["quick"]
    changed = settings_for(parse_args("", ["VAE"], ["--quick", "--lam", "3", "--max-iter", "24"]))
    assert (changed.lam, changed.max_iter) == (3.0, 24)
    assert changed.n_components == MODES["quick"].n_components


def test_script_options_are_added_to_the_shared_ones():
    def add_arguments(parser):
        parser.add_argument("--seeds", type=int, default=1)

    args = parse_args("", ["VAE"], ["--seeds", "3", "--seed", "2"], add_arguments)
    assert (args.seeds, args.seed, args.mode) == (3, 2, "full")


def _root_speed(sequences, fps, window, seconds=None):
    """Window-averaged root speed of recordings; None smooths as the benchmarks do."""
    n, length = sequences.shape[:2]
    groups = np.repeat(np.arange(n), length)

    def speed(smoothed):
        return compute_speed(smoothed.reshape(n * length, 18, 3), "mouse18", window=window,
                             fps=fps, groups=groups)

    if seconds is None:
        return motion_speeds(sequences, fps, speed)["speed_root"].to_numpy()
    return speed(smooth_motion(sequences, fps, seconds))["speed_root"].to_numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_root_speed_feature_has_no_tracking_noise_floor(seed):
    # Median noise-free / noisy root speed over the benchmarks' windows:
    # 0.976-0.993 with the root's own smoothing, 0.829-0.924 with the limbs' one
    # (tracking noise raises a slow root's measured speed).
    settings = MODES["quick"]
    sequences = {
        noise: make_mouse_behavior(settings.n_animals, settings.n_frames, lesion=False,
                                   fps=settings.fps, noise=noise, random_state=seed)[0]
        .reshape(settings.n_animals, settings.n_frames, 18, 3)
        for noise in (0.5, 0.0)
    }
    used = slice(0, None, settings.window)

    def ratio(seconds):
        noisy, clean = (_root_speed(sequences[noise], settings.fps, settings.window, seconds)[used]
                        for noise in (0.5, 0.0))
        return np.median(clean / noisy)

    assert ratio(None) == pytest.approx(ratio(ROOT_SMOOTHING_SECONDS))
    assert ratio(ROOT_SMOOTHING_SECONDS) > 0.97
    assert ratio(SPEED_SMOOTHING_SECONDS) < 0.95



@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recorded_windows_measure_the_recorded_root_speed(seed):
    # A decoder that reproduced the noise-free motion exactly, measured as
    # bench_synthesis measures decoded windows, against the nuisance table
    # of the (noisy) recordings: median ratio 0.96-0.99 on seeds 0-2;
    # 0.77-0.81 when the window's end frames are repeated for smoothing.
    import bench_synthesis

    settings = MODES["quick"]
    half = settings.window // 2
    _, table, _ = make_synthetic(settings, lesion=False, seed=seed)
    clean = make_mouse_behavior(settings.n_animals, settings.n_frames, lesion=False,
                                fps=settings.fps, noise=0.0, random_state=seed)[0]
    centres = np.arange(half, len(clean), settings.window)
    position = centres % settings.n_frames
    centres = centres[(position >= half) & (position < settings.n_frames - half)]
    windows = clean[centres[:, None] + np.arange(-half, half + 1)]
    recorded = table["speed_root"].to_numpy()[centres]
    moving = recorded > 1.0

    measured = bench_synthesis.measure(windows, ["speed_root"], settings.fps)[:, 0]
    assert 0.93 < np.median(measured[moving] / recorded[moving]) < 1.07
    repeated_ends = gaussian_filter1d(windows, ROOT_SMOOTHING_SECONDS * settings.fps, axis=1,
                                      mode="nearest")
    measured = measure_speed(repeated_ends, "mouse18", settings.fps)["speed_root"].to_numpy()
    assert np.median(measured[moving] / recorded[moving]) < 0.85


def _kept_scores_of_exact_windows(settings, seed):
    """bench_synthesis's "speed R2 kept" per speed for a decoder that
    reproduced every window exactly: {tracking noise: R^2 per column}."""
    import bench_synthesis

    half = settings.window // 2
    _, table, _ = make_synthetic(settings, lesion=False, seed=seed)
    centres = np.arange(half, len(table), settings.window)
    position = centres % settings.n_frames
    centres = centres[(position >= half) & (position < settings.n_frames - half)]
    recorded = table[SPEED_COLUMNS].to_numpy()[centres]
    scores = {}
    for noise in (0.5, 0.0):
        poses = make_mouse_behavior(settings.n_animals, settings.n_frames, lesion=False,
                                    fps=settings.fps, noise=noise, random_state=seed)[0]
        windows = poses[centres[:, None] + np.arange(-half, half + 1)]
        measured = bench_synthesis.measure(windows, SPEED_COLUMNS, settings.fps)
        scores[noise] = r2_score(recorded, measured, multioutput="raw_values")
    return scores


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_speed_kept_ceiling_is_set_by_tracking_noise(seed):
    # At the quick sizes (17 frames at 30 fps): 0.93-0.96 reproducing the
    # recorded (noisy) windows, 0.82-0.88 reproducing the noise-free motion,
    # whose limb speed alone scores 0.52-0.66: 0.5 mm of tracking noise is a
    # large part of a limb's speed relative to its girdle.
    scores = _kept_scores_of_exact_windows(MODES["quick"], seed)
    assert scores[0.5].mean() > 0.9
    assert 0.75 < scores[0.0].mean() < 0.9
    assert scores[0.0][SPEED_COLUMNS.index("speed_limbs")] < 0.7


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_speed_kept_ceiling_at_the_paper_sizes(seed):
    # 51 frames at 90 fps: the noise-free motion scores 0.95 (limbs 0.88-0.89).
    scores = _kept_scores_of_exact_windows(MODES["full"], seed)
    assert scores[0.0].mean() > 0.93
    assert scores[0.0][SPEED_COLUMNS.index("speed_limbs")] > 0.85
