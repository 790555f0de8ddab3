"""The frames layer: one window plan and one nuisance encoding for every task."""

import numpy as np
import pandas as pd
import pytest

from sklearn_scrubvae._frames.nuisance import NuisanceEncoder, encode_nuisance
from sklearn_scrubvae._frames.windows import WindowPlan


@pytest.mark.parametrize("stride", [1, 3])
def test_window_plan_matches_a_frame_by_frame_rule(stride):
    rng = np.random.default_rng(0)
    groups = np.repeat([4, 7, 9], [20, 3, 31])
    valid = rng.random(len(groups)) > 0.1
    plan = WindowPlan(len(groups), groups, window=5, stride=stride, valid=valid)
    first = {g: np.flatnonzero(groups == g)[0] for g in np.unique(groups)}
    last = {g: np.flatnonzero(groups == g)[-1] for g in np.unique(groups)}
    candidates, centers, own = [], [], []
    for c, g in enumerate(groups):
        lo, hi = c - 2, c + 2
        clipped = range(max(lo, first[g]), min(hi, last[g]) + 1)
        own.append(all(valid[f] for f in clipped))
        if lo >= first[g] and hi <= last[g] and (lo - first[g]) % stride == 0:
            candidates.append(c)
            if own[-1]:
                centers.append(c)
    np.testing.assert_array_equal(plan.candidates, candidates)
    np.testing.assert_array_equal(plan.centers, centers)
    np.testing.assert_array_equal(plan.own(), own)
    assert plan.n_dropped == len(candidates) - len(centers) > 0
    covered = np.zeros(len(groups), bool)
    for c in set(candidates) - set(centers):
        covered[c - 2 : c + 3] = True
    np.testing.assert_array_equal(plan.dropped_frames(), covered)


def test_one_category_order_for_the_model_and_the_metrics():
    table = pd.DataFrame({"animal": ["c", "a", "b", "a"], "speed": [1.0, 2.0, 3.0, 4.0]})
    encoder = NuisanceEncoder().fit(table, 4)
    decoder_input, targets = encoder.transform(table, 4)
    np.testing.assert_array_equal(encoder.categories_["animal"], ["a", "b", "c"])
    np.testing.assert_array_equal(targets["animal"], [2, 0, 1, 0])
    np.testing.assert_allclose(encode_nuisance(table), decoder_input, rtol=1e-6)
    np.testing.assert_array_equal(encode_nuisance(table)[:, :3], np.eye(3)[[2, 0, 1, 0]])
