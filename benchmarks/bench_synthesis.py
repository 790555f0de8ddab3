"""(b) Motion-synthesis consistency: does the decoder obey the nuisance? (paper Table 1).

Every model is trained on synthetic mice (``make_mouse_behavior``). Frames
are encoded, the nuisance is replaced by requested values (a random
permutation of the speeds across windows; a uniformly random heading), the
decoder generates windows from the same latent codes, and the variable is
measured on the generated motion: R^2 between requested and measured values
on every ``window``-th frame (``synthesis_consistency_score``). Speed models
condition on the three window-averaged speeds (midfwd windows); heading
models on the sin and cos of the yaw (x360 windows). Speeds are measured as
for the nuisance table: keypoints smoothed over time (the root over a
wider Gaussian than the rest), then the window-averaged speeds of
``compute_speed``.

"speed_root" changes the root speed alone. The "kept" columns request the
original values: the ceiling set by reconstruction and measurement. The
plain VAE has no nuisance input and ignores the request (negative control).

"speed requests": every window of the speed models is also decoded with its
three speeds scaled by 0.5, 1 and 2; the table gives the median measured
root speed of the decoded windows and the median ratio of measured to
requested root speed (1 obeys the request).
"""

from functools import partial

import numpy as np
import pandas as pd

from _common import (
    HEADING_COLUMNS,
    SPEED_COLUMNS,
    ModelRunner,
    Report,
    bar_panels,
    keep,
    make_synthetic,
    motion_speeds,
    run,
)
from sklearn_scrubvae.metrics import measure_heading, measure_speed, synthesis_consistency_score

MODELS = ["VAE", "C-VAE", "SC-VAE-GR", "SC-VAE-MALS", "SC-VAE-MAQS", "SC-VAE-MI"]
SPEED_FACTORS = (0.5, 1.0, 2.0)
# Column label -> (nuisance of the model, variable changed, alignment, requested values).
SCORES = {
    "speed R2": (SPEED_COLUMNS, SPEED_COLUMNS, "midfwd", "new"),
    "speed_root R2": (SPEED_COLUMNS, ["speed_root"], "midfwd", "new"),
    "heading R2": (HEADING_COLUMNS, HEADING_COLUMNS, "x360", "new"),
    "speed R2 kept": (SPEED_COLUMNS, SPEED_COLUMNS, "midfwd", "kept"),
    "heading R2 kept": (HEADING_COLUMNS, HEADING_COLUMNS, "x360", "kept"),
}


def measure(windows, columns, fps):
    """The nuisance ``columns`` measured on decoded windows.

    Parameters
    ----------
    windows : ndarray of shape (n, window, 18, 3)
    columns : list of str
        Heading or speed columns.
    fps : float

    Returns
    -------
    values : ndarray of shape (n, len(columns))
    """
    if columns == HEADING_COLUMNS:
        measured = measure_heading(windows, "mouse18")
    else:
        measured = motion_speeds(windows, fps, partial(measure_speed, skeleton="mouse18", fps=fps))
    return measured[columns].to_numpy()


def speed_requests(estimator, poses, table, groups, settings):
    """Measured root speed of windows decoded with their speeds scaled.

    Parameters
    ----------
    estimator : ScrubbedCVAE
        Fitted on :data:`SPEED_COLUMNS`.
    poses : ndarray of shape (n_frames, 18, 3)
    table : DataFrame
        Nuisance table with :data:`SPEED_COLUMNS`.
    groups : ndarray of shape (n_frames,)
    settings : Settings

    Returns
    -------
    row : dict
        Per factor of :data:`SPEED_FACTORS`: ``"<f>x mm/s"``, the median
        measured root speed, and ``"<f>x ratio"``, the median of measured
        over requested root speed.
    """
    Z = estimator.transform(poses, groups=groups)
    used = np.arange(0, len(poses), settings.window)
    original = table.iloc[used][SPEED_COLUMNS].reset_index(drop=True)
    row = {}
    for factor in SPEED_FACTORS:
        windows = estimator.decode_windows(Z[used], nuisance=factor * original)
        measured = measure(windows, ["speed_root"], settings.fps)[:, 0]
        requested = factor * original["speed_root"].to_numpy()
        moving = requested > 1.0  # ratios of windows at rest mean nothing
        row[f"{factor:g}x mm/s"] = float(np.median(measured))
        row[f"{factor:g}x ratio"] = float(np.median(measured[moving] / requested[moving]))
    return row


def experiment(settings, args):
    poses, table, groups = make_synthetic(settings, lesion=False, seed=args.seed)
    runner = ModelRunner(poses, table, groups, settings, args, "synthetic",
                         params={"root_velocity_weight": args.root_velocity_weight})
    rows, requests = [], []
    for name in [m for m in MODELS if keep(m, args)]:
        row = {"model": name}
        for label in args.scores or SCORES:
            nuisance, variable, alignment, values = SCORES[label]
            estimator, _ = runner.fit(name, nuisance, alignment)
            row[label] = synthesis_consistency_score(
                estimator, poses, table, variable,
                new_values=table[variable] if values == "kept" else None,
                measure=partial(measure, columns=variable, fps=settings.fps),
                groups=groups, step=settings.window, random_state=args.seed,
            )
        rows.append(row)
        if name != "VAE":
            estimator, _ = runner.fit(name, SPEED_COLUMNS, "midfwd")
            requests.append(
                {"model": name, **speed_requests(estimator, poses, table, groups, settings)}
            )
    results = pd.DataFrame(rows)
    figure = bar_panels({"motion-synthesis consistency (R2)": results}, ylabel="R2")
    tables = {"synthesis": results, "speed requests": pd.DataFrame(requests)}
    return Report(tables=tables, figure=figure, training=runner.log)


def add_arguments(parser):
    parser.add_argument("--root-velocity-weight", type=float, default=0.0,
                        help="the models' root_velocity_weight (default 0, as the estimator)")
    parser.add_argument("--scores", nargs="+", choices=list(SCORES), default=None,
                        help="score columns to measure (default: all); the speed requests "
                             "are measured for every conditioned model either way")


def main(argv=None):
    return run("synthesis", __doc__, experiment, MODELS, argv, add_arguments)


if __name__ == "__main__":
    main()
