"""Synthesis obeys a requested speed: a positive control over seeds.

A C-VAE conditioned on the three window-averaged speeds of synthetic mice
decodes every window again with its speeds scaled by 0.5 and by 2; the
measured root speed of the decoded windows must follow the request.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter1d

from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.datasets import make_mouse_behavior
from sklearn_scrubvae.metrics import measure_speed
from sklearn_scrubvae.pose import compute_speed

FPS, WINDOW, N_FRAMES = 30, 17, 1500
SPEEDS = ["speed_root", "speed_spine_head", "speed_limbs"]


def smooth(poses):
    """Keypoints smoothed over time by a Gaussian of one frame, along axis -3."""
    return gaussian_filter1d(poses, 1.0, axis=-3, mode="nearest")


def speed_requests(seed, **params):
    """Median measured / requested root speed of windows decoded at 0.5x and 2x."""
    poses, labels = make_mouse_behavior(4, N_FRAMES, lesion=False, fps=FPS, random_state=seed)
    groups = labels["session"].astype(str).to_numpy()
    smoothed = smooth(poses.reshape(4, N_FRAMES, 18, 3)).reshape(poses.shape)
    table = compute_speed(smoothed, "mouse18", window=WINDOW, fps=FPS, groups=groups)
    model = ScrubbedCVAE(
        scrubber=None, nuisance=SPEEDS, skeleton="mouse18", window=WINDOW, n_components=16,
        hidden_channels=(32, 64), kernel_size=5, batch_size=128, learning_rate=1e-3,
        max_iter=12, min_keypoints=1.0, random_state=seed, **params,
    )
    Z = model.fit(poses, table, groups=groups).transform(poses, groups=groups)
    used = np.arange(0, len(poses), WINDOW)
    recorded = table.iloc[used].reset_index(drop=True)
    moving = recorded["speed_root"].to_numpy() > 1.0
    ratios = {}
    for factor in (0.5, 2.0):
        windows = model.decode_windows(Z[used], nuisance=factor * recorded)
        measured = measure_speed(smooth(windows), "mouse18", FPS)["speed_root"].to_numpy()
        requested = factor * recorded["speed_root"].to_numpy()
        ratios[factor] = np.median(measured[moving] / requested[moving])
    return ratios


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_decoded_root_speed_follows_a_requested_speed(seed):
    """At 564 steps the root of windows decoded at half and at twice their
    recorded speeds moves within 40% of the request (4x apart), on every seed.

    Medians of measured / requested at 0.5x and 2x: within 0.75-1.25 on
    seeds 0 and 2, 1.18 and 0.68 on seed 1. A decoder that ignores its
    nuisance input gives 1.58 and 0.40 (seed 0).
    """
    ratios = speed_requests(seed, root_velocity_weight=4.0)
    assert 0.6 <= ratios[0.5] <= 1.4, ratios
    assert 0.6 <= ratios[2.0] <= 1.4, ratios
