"""Figures and animations draw what they are given.

Every test renders with Agg and checks what was drawn (points, bars, lines,
colours, chance levels, frames) against the input.
"""

import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.animation  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from PIL import Image  # noqa: E402

from conftest import require  # noqa: E402
from sklearn_scrubvae import ScrubbedCVAE  # noqa: E402
from sklearn_scrubvae.datasets import make_mouse_behavior  # noqa: E402
from sklearn_scrubvae.metrics import decodability_score, severity_correlation  # noqa: E402
from sklearn_scrubvae.plotting import (  # noqa: E402
    animate_clusters,
    animate_windows,
    plot_cluster_usage,
    plot_decodability,
    plot_embedding,
    plot_ethogram,
    plot_history,
    plot_lesion_effect,
    plot_pose,
)
from sklearn_scrubvae.plotting._animation import choose_examples  # noqa: E402
from sklearn_scrubvae.plotting._labels import encode_labels, recordings  # noqa: E402
from sklearn_scrubvae.pose import MOUSE18, Skeleton  # noqa: E402

BASELINE = Path(__file__).resolve().parent / "baseline" / "ethogram.png"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    """A two-epoch model with a QD and a MALS scrubber and a validation split."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4))
    table = pd.DataFrame(
        {"animal": np.repeat([0, 1], 120), "speed": rng.normal(size=240)}
    )
    est = ScrubbedCVAE(
        scrubber={"animal": "qd", "speed": "mals"}, nuisance=["animal", "speed"],
        n_components=2, window=5,
        hidden_channels=(8,), kernel_size=3, max_iter=2, batch_size=64,
        early_stopping=True, validation_fraction=0.25, random_state=0,
    )
    return est.fit(X, table, groups=table["animal"])


# ---------------------------------------------------------------- import


def test_import_without_matplotlib_names_the_extra(monkeypatch):
    for name in [n for n in sys.modules if n.startswith("sklearn_scrubvae.plotting")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=re.escape("pip install sklearn_scrubvae[plot]")):
        importlib.import_module("sklearn_scrubvae.plotting")


# --------------------------------------------------------------- history


def test_history_of_a_fitted_model(fitted):
    ax = plot_history(fitted)
    lines = {line.get_label(): line for line in ax.get_lines()}
    for term in ("loss", "reconstruction", "kl", "penalty"):
        for prefix in ("train", "valid"):
            name = f"{prefix}_{term}"
            np.testing.assert_allclose(lines[name].get_ydata(), fitted.history_[:, name])
        train, valid = lines[f"train_{term}"], lines[f"valid_{term}"]
        assert to_rgba(train.get_color()) == to_rgba(valid.get_color())
        assert (train.get_linestyle(), valid.get_linestyle()) == ("-", "--")
    assert set(lines) <= set(fitted.history_[-1])
    factors = {line.get_label() for line in ax.right_ax.get_lines()}
    assert factors == {
        f"{column}_forgetting_factor_{copy}" for column in ("animal", "speed") for copy in "ab"
    }
    # A MALS penalty is negative: the loss axis switches to a symmetric log scale.
    assert ax.get_yscale() == "symlog"


def history_rows(penalty):
    return [
        {"epoch": epoch, "batches": [{"train_loss": 9.0}], "dur": 0.1,
         "train_loss": 10.0 / epoch, "train_loss_best": True, "valid_loss": 12.0 / epoch,
         "train_reconstruction": 9.0 / epoch, "train_kl": 0.5 * epoch,
         "train_penalty": 0.0, "train_penalty_speed": penalty * epoch,
         "train_batch_count": 4, "speed_forgetting_factor_a": 0.9 - 0.01 * epoch,
         "speed_forgetting_factor_b": 1.0}
        for epoch in (1, 2, 3)
    ]


@pytest.mark.parametrize("penalty, scale", [(-0.5, "symlog"), (0.5, "log")])
def test_history_draws_every_term_by_prefix(penalty, scale):
    fig, ax = plt.subplots()
    assert plot_history(history_rows(penalty), ax=ax) is ax
    # train_penalty is zero at every epoch; bookkeeping entries are no terms.
    assert sorted(line.get_label() for line in ax.get_lines()) == [
        "train_kl", "train_loss", "train_penalty_speed", "train_reconstruction", "valid_loss",
    ]
    (line,) = [line for line in ax.get_lines() if line.get_label() == "train_penalty_speed"]
    np.testing.assert_allclose(line.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(line.get_ydata(), [penalty, 2 * penalty, 3 * penalty])
    assert ax.get_yscale() == scale
    assert len(ax.right_ax.get_lines()) == 2
    assert ax.right_ax.get_ylim()[0] <= 0 and ax.right_ax.get_ylim()[1] >= 1


def test_history_errors():
    with pytest.raises(ValueError, match="empty"):
        plot_history([])
    with pytest.raises(ValueError, match="no train_"):
        plot_history([{"epoch": 1, "dur": 0.1}])


# ------------------------------------------------------------- embedding


def scatter_points(ax):
    (points,) = ax.collections
    return points.get_offsets(), points.get_facecolors()


def test_embedding_categories_and_nan_rows():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(60, 2))
    Z[[3, 10, 41], 1] = np.nan
    animal = np.repeat(["b", "a", "c"], 20)
    ax = plot_embedding(Z, animal, method=None)
    offsets, colors = scatter_points(ax)
    assert len(offsets) == 57
    assert "3 of 60 rows skipped" in ax.get_title()
    row_of = {tuple(z): i for i, z in enumerate(Z)}
    category = animal[[row_of[tuple(point)] for point in np.asarray(offsets)]]
    by_category = {c: {tuple(color) for color in colors[category == c]} for c in "abc"}
    assert all(len(found) == 1 for found in by_category.values())
    assert len(set.union(*by_category.values())) == 3
    legend = ax.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["a", "b", "c"]
    for handle, text in zip(legend.legend_handles, legend.get_texts()):
        (color,) = by_category[text.get_text()]
        assert color[:3] == to_rgba(handle.get_color())[:3]


def test_embedding_continuous_colour_bar_and_missing_colours():
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(50, 5))
    speed = pd.Series(rng.uniform(size=50), name="speed")
    speed[:4] = np.nan
    ax = plot_embedding(Z, speed)
    offsets, _ = scatter_points(ax)
    assert len(offsets) == 46
    np.testing.assert_allclose(np.sort(ax.collections[0].get_array()), np.sort(speed[4:]))
    colorbar_axes = [other for other in ax.figure.axes if other is not ax]
    assert len(colorbar_axes) == 1 and colorbar_axes[0].get_ylabel() == "speed"
    assert "4 of 50 rows skipped" in ax.get_title()
    assert "PC 1" in ax.get_xlabel()


def test_embedding_without_colour_uses_pca():
    Z = np.random.default_rng(3).normal(size=(40, 3)) * [5.0, 1.0, 0.1]
    ax = plot_embedding(Z)
    offsets, _ = scatter_points(ax)
    assert len(offsets) == 40 and ax.get_title() == "PCA"
    # The first principal axis is the high-variance column.
    assert np.abs(np.corrcoef(np.asarray(offsets)[:, 0], Z[:, 0])[0, 1]) > 0.99


def test_embedding_errors():
    Z = np.zeros((10, 3))
    with pytest.raises(ValueError, match="'method' parameter"):
        plot_embedding(Z, method="tsne")
    with pytest.raises(ValueError, match="2 columns"):
        plot_embedding(Z, method=None)
    with pytest.raises(ValueError, match="rows but Z has"):
        plot_embedding(Z, np.zeros(9))
    with pytest.raises(ValueError, match="No row"):
        plot_embedding(np.full((4, 2), np.nan))
    if importlib.util.find_spec("umap") is None:
        with pytest.raises(ImportError, match="pip install umap-learn"):
            plot_embedding(Z, method="umap")


# ---------------------------------------------------------- decodability


def chance_segments(ax):
    (chance,) = [c for c in ax.collections if c.get_label() == "chance"]
    return np.array(chance.get_segments())


def test_decodability_from_a_benchmark_table():
    table = pd.DataFrame(
        {"model": ["VAE", "C-VAE", "SC-VAE-QD"], "logistic acc": [0.9, 0.7, 0.3],
         "QDA acc": [0.95, 0.8, 0.35], "chance": [0.25, 0.25, 0.25]}
    )
    ax = plot_decodability(table)
    assert [c.get_label() for c in ax.containers] == ["logistic acc", "QDA acc"]
    for container, column in zip(ax.containers, ["logistic acc", "QDA acc"]):
        assert [bar.get_height() for bar in container] == table[column].tolist()
    segments = chance_segments(ax)
    assert len(segments) == 6
    np.testing.assert_allclose(segments[:, :, 1], 0.25)
    bars = [bar for container in ax.containers for bar in container]
    for bar, segment in zip(bars, segments):
        np.testing.assert_allclose(segment[:, 0], [bar.get_x(), bar.get_x() + bar.get_width()])
    assert [t.get_text() for t in ax.get_xticklabels()] == table["model"].tolist()


def test_decodability_without_chance_column_draws_no_chance_line():
    table = pd.DataFrame({"model": ["VAE", "SC-VAE"], "linear R2": [0.8, 0.1]})
    ax = plot_decodability(table)
    assert not [c for c in ax.collections if c.get_label() == "chance"]
    assert [bar.get_height() for bar in ax.containers[0]] == [0.8, 0.1]


def test_decodability_from_results():
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(200, 3))
    animal = np.repeat([0, 1, 2, 3], 50)
    speed = Z[:, 0] + 0.1 * rng.normal(size=200)
    results = {
        model: {
            "animal": decodability_score(Z, animal, "logistic", step=1),
            "speed": decodability_score(Z, speed, step=1),
        }
        for model in ("A", "B")
    }
    ax = plot_decodability(results)
    animal_bars, speed_bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert speed_bars[0].get_height() == pytest.approx(results["A"]["speed"].mean)
    assert animal_bars[1].get_height() == pytest.approx(results["B"]["animal"].mean)
    # Error bars span the standard deviation over folds.
    (caps,) = [line for line in animal_bars.errorbar.lines[2]]
    spread = np.diff(caps.get_segments()[0][:, 1])[0] / 2
    assert spread == pytest.approx(np.std(results["A"]["animal"].scores))
    segments = chance_segments(ax)
    levels = segments[:, 0, 1]
    np.testing.assert_allclose(levels[:2], [results[m]["animal"].chance for m in "AB"])
    np.testing.assert_allclose(levels[2:], 0.0)
    # Accuracy and R^2 share the axis: each bar names its metric.
    assert ax.get_ylabel() == "score (metric per bar in the legend)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"animal (accuracy)", "speed (R²)"} <= set(legend)
    with pytest.raises(TypeError, match="DecodabilityResult"):
        plot_decodability({"A": {"speed": 0.3}})


# ------------------------------------------------------------------ pose


def test_pose_3d_lines_follow_the_chains():
    pose = np.random.default_rng(5).normal(size=(18, 3))
    ax = plot_pose(pose, "mouse18")
    assert ax.name == "3d"
    lines = ax.get_lines()
    assert len(lines) == len(MOUSE18.chains)
    for line, chain in zip(lines, MOUSE18.chains):
        x, y, z = line.get_data_3d()
        np.testing.assert_allclose(np.c_[x, y, z], pose[list(chain)])


def test_pose_window_overlays_frames_fading_in():
    window = np.random.default_rng(6).normal(size=(4, 18, 3))
    ax = plot_pose(window, MOUSE18)
    lines = ax.get_lines()
    assert len(lines) == 4 * len(MOUSE18.chains)
    alphas = [line.get_alpha() for line in lines[:: len(MOUSE18.chains)]]
    assert alphas == sorted(alphas) and alphas[-1] == 1.0


def test_pose_2d_on_a_given_axes():
    skeleton = Skeleton.from_edges(["a", "b", "c"], [("a", "b"), ("b", "c")], root="a", front="b")
    fig, ax = plt.subplots()
    pose = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    assert plot_pose(pose, skeleton, ax=ax) is ax
    (line,) = ax.get_lines()
    np.testing.assert_allclose(np.c_[line.get_xdata(), line.get_ydata()], pose)
    assert ax.get_aspect() == 1.0


def test_pose_errors():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="3D Axes"):
        plot_pose(np.zeros((18, 3)), "mouse18", ax=ax)
    with pytest.raises(ValueError, match="keypoints"):
        plot_pose(np.zeros((17, 3)), "mouse18")


# ------------------------------------------------------------ animations


def gif_frames(path):
    with Image.open(path) as image:
        return image.n_frames, image.size, image.info["duration"]


@pytest.fixture(scope="module")
def mouse():
    poses, table = make_mouse_behavior(2, 150, lesion=False, fps=30, random_state=0)
    return poses, table


def test_animate_windows_saves_a_gif_with_every_frame(mouse, tmp_path):
    poses, _ = mouse
    windows = [poses[10:17], poses[40:47]]
    animation = animate_windows(windows, "mouse18", titles=["original", "faster"], fps=10)
    assert isinstance(animation, FuncAnimation)
    figure = plt.gcf()
    assert [ax.get_title() for ax in figure.axes] == ["original", "faster"]
    animation.save(tmp_path / "windows.gif", writer="pillow", dpi=20)
    n_frames, size, duration = gif_frames(tmp_path / "windows.gif")
    assert n_frames == 7
    assert size == tuple(np.round(figure.get_size_inches() * 20).astype(int))
    assert duration == 100
    # After saving, each panel shows the last frame of its own window.
    for ax, window in zip(figure.axes, windows):
        x, y, z = ax.get_lines()[0].get_data_3d()
        np.testing.assert_allclose(np.c_[x, y, z], window[-1][list(MOUSE18.chains[0])])


@pytest.mark.skipif(
    not matplotlib.animation.writers.is_available("ffmpeg"), reason="ffmpeg is not installed"
)
def test_animate_windows_saves_mp4_with_ffmpeg(mouse, tmp_path):
    poses, _ = mouse
    animation = animate_windows(poses[:6], "mouse18", fps=10)
    animation.save(tmp_path / "window.mp4", writer="ffmpeg", dpi=20)
    assert (tmp_path / "window.mp4").stat().st_size > 0


def test_animate_windows_checks_input(mouse):
    poses, _ = mouse
    with pytest.raises(ValueError, match="titles"):
        animate_windows(poses[:5], "mouse18", titles=["a", "b"])
    with pytest.raises(ValueError, match="fps"):
        animate_windows(poses[:5], "mouse18", fps=0)
    with pytest.raises(ValueError, match="keypoints"):
        animate_windows(poses[:5, :10], "mouse18")


def test_cluster_examples_lie_inside_their_cluster_and_recording():
    labels = np.array([0] * 5 + [1] * 3 + [0] * 4 + [1] * 6 + [0] * 2 + [1] * 5 + [-1] * 3)
    groups = np.repeat(["r1", "r2"], [12, 16])
    _, codes = encode_labels(labels, "labels")
    _, frames = recordings(groups, len(labels))
    for seed in range(5):
        rng = np.random.default_rng(seed)
        centres = choose_examples(codes, frames, 1, 10, 3, rng)
        # Bouts of cluster 1: frames 5-7, 12-17 and 20-24, each with room for a window of 3.
        assert sorted(centres) == [6, 14, 22]
        assert (labels[centres] == 1).all()
        # Cluster 0 with windows of 7: bout 0-4 (centre 2) starts too close to the
        # recording's start, 8-11 (centre 9) would run into r2; only 18-19 has room.
        assert choose_examples(codes, frames, 0, 10, 7, rng).tolist() == [18]
        assert len(choose_examples(codes, frames, 1, 2, 3, rng)) == 2


def test_animate_clusters_grid(mouse, tmp_path):
    poses, table = mouse
    labels = table["behavior"]
    animation = animate_clusters(
        poses[:, :, :2], labels, "mouse18", n_examples=3, window=5,
        clusters=["walk", "groom"], groups=table["session"], random_state=0,
    )
    figure = plt.gcf()
    axes = np.array(figure.axes).reshape(2, 3)
    assert axes[0, 0].get_title(loc="left").startswith("walk: ")
    assert axes[1, 0].get_title(loc="left").startswith("groom: ")
    drawn = [len(ax.get_lines()) for ax in axes.ravel()]
    assert set(drawn) <= {0, len(MOUSE18.chains)} and drawn[0] == len(MOUSE18.chains)
    animation.save(tmp_path / "clusters.gif", writer="pillow", dpi=15)
    assert gif_frames(tmp_path / "clusters.gif")[0] == 5
    with pytest.raises(ValueError, match="do not occur"):
        animate_clusters(poses, labels, "mouse18", clusters=["fly"])
    with pytest.raises(ValueError, match="odd"):
        animate_clusters(poses, labels, "mouse18", window=4)


# ------------------------------------------------------------- behaviour


def test_ethogram_draws_one_bar_per_bout():
    labels = np.array(["walk"] * 3 + ["rear"] * 2 + ["walk"] * 2 + [None] * 2 + ["rear"] * 4)
    groups = np.repeat(["m2", "m1"], [7, 6])
    ax = plot_ethogram(labels, fps=2.0, groups=groups)
    rear, walk = ax.containers
    assert (rear.get_label(), walk.get_label()) == ("rear", "walk")
    # m2 (row 0): walk 0-2, rear 3-4, walk 5-6; m1 (row 1): unlabelled 0-1, rear 2-5.
    assert [(bar.get_x(), bar.get_width()) for bar in walk] == [(0.0, 1.5), (2.5, 1.0)]
    assert [(bar.get_x(), bar.get_width()) for bar in rear] == [(1.5, 1.0), (1.0, 2.0)]
    assert [bar.get_y() + bar.get_height() / 2 for bar in walk] == [0, 0]
    assert [bar.get_y() + bar.get_height() / 2 for bar in rear] == [0, 1]
    assert len({tuple(bar.get_facecolor()) for bar in walk}) == 1
    assert walk[0].get_facecolor() != rear[0].get_facecolor()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["m2", "m1"]
    assert ax.get_xlabel() == "time (s)"


def test_ethogram_of_one_recording_counts_frames():
    ax = plot_ethogram(np.array([3, 3, -1, 1, 1, 1]))
    one, three = ax.containers
    assert (one.get_label(), three.get_label()) == ("1", "3")
    assert [(bar.get_x(), bar.get_width()) for bar in three] == [(0, 2)]
    assert [(bar.get_x(), bar.get_width()) for bar in one] == [(3, 3)]
    assert ax.get_xlabel() == "frame" and ax.get_xlim() == (0, 6)
    with pytest.raises(ValueError, match="fps"):
        plot_ethogram([1, 2], fps=0)


def test_cluster_usage_per_unit():
    labels = np.array([0, 0, 0, 1, 0, 1, 1, 1, 2, 2, -1, -1])
    animal = np.repeat(["a", "b", "c"], 4)
    ax = plot_cluster_usage(labels, animal)
    (bars,) = ax.containers
    # Usage per animal: a = (3/4, 1/4, 0), b = (1/4, 3/4, 0), c = (0, 0, 1) of assigned frames.
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    np.testing.assert_allclose([bar.get_height() for bar in bars], [1 / 3, 1 / 3, 1 / 3])
    (points,) = ax.collections
    values = np.asarray(points.get_offsets())[:, 1]
    np.testing.assert_allclose(np.sort(values), np.sort([0.75, 0.25, 0, 0.25, 0.75, 0, 0, 0, 1]))


def test_cluster_usage_by_condition_orders_clusters_by_usage():
    labels = np.array([1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1])
    by = pd.DataFrame({"condition": np.repeat(["healthy", "lesioned"], 6),
                       "session": np.repeat(["s1", "s2", "s3", "s4"], 3)})
    ax = plot_cluster_usage(labels, by)
    healthy, lesioned = ax.containers
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "0"]
    np.testing.assert_allclose([bar.get_height() for bar in healthy], [5 / 6, 1 / 6])
    np.testing.assert_allclose([bar.get_height() for bar in lesioned], [4 / 6, 2 / 6])
    assert [len(points.get_offsets()) for points in ax.collections] == [4, 4]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == ["healthy", "lesioned", "one session"]
    by.loc[0, "condition"] = "lesioned"
    with pytest.raises(ValueError, match="one condition"):
        plot_cluster_usage(labels, by)


def test_lesion_effect():
    severity = pd.Series([0.1, 0.5, 0.2, 0.9, 0.7], index=list("abcde"))
    effect = pd.Series([1.0, 2.2, np.nan, 3.1, 2.0], index=list("edcba"))
    ax = plot_lesion_effect(effect, severity)
    (points,) = ax.collections
    aligned = effect.reindex(severity.index)
    finite = aligned.notna()
    drawn = sorted(map(tuple, np.asarray(points.get_offsets())))
    assert drawn == sorted(zip(severity[finite], aligned[finite]))
    r = severity_correlation(effect, severity).statistic
    assert ax.get_title().startswith(f"r = {r:.2f}")
    (line,) = ax.get_lines()
    slope = np.polyfit(severity[finite], aligned[finite], 1)[0]
    assert np.diff(line.get_ydata())[0] / np.diff(line.get_xdata())[0] == pytest.approx(slope)
    ax = plot_lesion_effect([1.0, 2.0], [0.1, 0.2])
    assert "too few" in ax.get_title() and not ax.get_lines()


# -------------------------------------------------------- image and data


def draw_reference_ethogram():
    """The baseline image: regenerate it with
    ``python -c "import sys; sys.path.insert(0, 'tests'); import test_plotting as t;
    t.draw_reference_ethogram().savefig(t.BASELINE, dpi=50)"``."""
    labels = np.repeat(["walk", "rear", "groom", "walk", "still", "rear"], [8, 5, 6, 4, 7, 10])
    groups = np.repeat(["mouse 1", "mouse 2"], 20)
    with matplotlib.style.context("default"):
        fig, ax = plt.subplots(figsize=(4, 2), layout="constrained")
        plot_ethogram(labels, fps=10, groups=groups, ax=ax)
    return fig


def test_ethogram_matches_the_stored_image(tmp_path):
    actual = tmp_path / "ethogram.png"
    draw_reference_ethogram().savefig(actual, dpi=50)
    assert compare_images(str(BASELINE), str(actual), tol=5) is None


def test_real_mouse_2d_pose_and_animation(tmp_path):
    poses = np.load(require("motionmapperpy_mice", "OFT_F_5_0_9000.npy"))[:40]
    # Snout, four rows of (left, middle, right) body points, four tail points.
    edges = [(0, 2), (1, 2), (2, 3), (2, 5), (4, 5), (5, 6), (5, 8), (7, 8), (8, 9),
             (8, 11), (10, 11), (11, 12), (11, 13), (13, 14), (14, 15), (15, 16)]
    skeleton = Skeleton.from_edges([f"k{i}" for i in range(17)], edges, root=8, front=5)
    ax = plot_pose(poses[0], skeleton)
    assert ax.name != "3d" and len(ax.get_lines()) == len(skeleton.chains)
    animation = animate_windows([poses[:9], poses[20:29]], skeleton, fps=30)
    animation.save(tmp_path / "real.gif", writer="pillow", dpi=15)
    assert gif_frames(tmp_path / "real.gif")[0] == 9


# ------------------------------------------- frames without their own embedding


def test_ethogram_draws_invalid_frames_as_missing_whatever_their_label():
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 0])
    valid = np.array([1, 1, 0, 0, 0, 1, 1, 1, 1, 1], bool)  # 2-4 carry bridged labels
    ax = plot_ethogram(labels, valid=valid)
    zero, one, missing = ax.containers
    assert [(bar.get_x(), bar.get_width()) for bar in zero] == [(0, 2), (7, 3)]
    assert [(bar.get_x(), bar.get_width()) for bar in one] == [(5, 2)]
    assert [(bar.get_x(), bar.get_width()) for bar in missing] == [(2, 3)]
    assert missing[0].get_hatch() and missing.get_label() == "no own embedding (3 frames)"
    assert "3 of 10 frames (30%) without an embedding of their own" in ax.get_title()


def test_cluster_usage_counts_only_valid_frames():
    labels = np.array([0, 0, 0, 0, 1, 1, 0, 1, 1, 1])
    animal = np.repeat(["a", "b"], 5)
    valid = np.array([1, 1, 0, 0, 1, 1, 1, 1, 0, 0], bool)  # bridged copies of cluster 0 and 1
    ax = plot_cluster_usage(labels, animal, valid=valid)
    (bars,) = ax.containers
    # a: valid frames 0, 1, 4 -> (2/3, 1/3); b: 5, 6, 7 -> (1/3, 2/3) of cluster (0, 1).
    np.testing.assert_allclose([bar.get_height() for bar in bars], [0.5, 0.5])
    values = np.sort(np.asarray(ax.collections[0].get_offsets())[:, 1])
    np.testing.assert_allclose(values, [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert "4 of 10 frames (40%) without an embedding of their own left out" in ax.get_title()
    assert "one unit" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_embedding_leaves_out_rows_without_their_own_embedding():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(50, 3))
    valid = np.ones(50, bool)
    valid[10:20] = False
    Z[10:20] = Z[9]  # bridged: copies of frame 9
    ax = plot_embedding(Z, valid=valid)
    assert len(ax.collections[0].get_offsets()) == 40
    assert ax.get_title() == "PCA\n10 of 50 rows skipped (no own embedding, NaN or no colour)"


def gappy_mouse(mouse):
    """Poses whose root and front keypoints vanish in many frames, and labels there."""
    poses, table = mouse
    gappy = poses.copy()
    rng = np.random.default_rng(1)
    for start in rng.choice(len(poses) - 20, 12, replace=False):
        gappy[start:start + 15, rng.choice([MOUSE18.root, MOUSE18.front])] = np.nan
    gappy[40:60] = np.nan  # a whole stretch lost
    return gappy, table


def test_animate_clusters_on_gappy_poses_draws_tracked_examples(mouse, tmp_path):
    gappy, table = gappy_mouse(mouse)
    labels = table["behavior"].to_numpy()
    for seed in range(3):  # examples centred on untracked frames used to crash (NaN limits)
        animation = animate_clusters(gappy, labels, "mouse18", n_examples=6, window=7,
                                     groups=table["session"], random_state=seed)
        animation.save(tmp_path / "gappy.gif", writer="pillow", dpi=10)
        plt.close("all")
    valid = np.isfinite(gappy).all(axis=(1, 2))
    animate_clusters(gappy, labels, "mouse18", valid=valid, n_examples=2, window=7,
                     clusters=["walk"], random_state=0)
    share = (labels[valid] == "walk").mean()
    assert plt.gcf().axes[0].get_title(loc="left").startswith(f"walk: {share:.0%}")


def test_animation_time_label_follows_the_data_not_the_playback(mouse, tmp_path):
    poses, _ = mouse
    animation = animate_windows(poses[:10], "mouse18", fps=90, playback_fps=10)
    animation.save(tmp_path / "slow.gif", writer="pillow", dpi=10)
    assert gif_frames(tmp_path / "slow.gif")[2] == 100  # ms per frame: 10 shown per second
    assert plt.gcf()._suptitle.get_text() == "t = +0.10 s"  # frame 9 of a 90 fps recording


def test_pose_axes_are_labelled_with_units_and_chains():
    poses, _ = make_mouse_behavior(1, 5, random_state=0)
    ax = plot_pose(poses[0], "mouse18", units="mm")
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("x (mm)", "y (mm)", "z, up (mm)")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    names = MOUSE18.keypoint_names
    assert legend == [f"{names[c[0]]} - {names[c[-1]]}" for c in MOUSE18.chains]
