import copy
import pickle

import numpy as np
import pytest

from sklearn_scrubvae.pose import MOUSE18, Skeleton, get_skeleton, match_keypoints
from conftest import require


DANNCE22_NAMES = [
    "EarL", "EarR", "Snout", "SpineF", "SpineM", "Tail(base)", "Tail(mid)",
    "Tail(end)", "ForepawL", "WristL", "ElbowL", "ShoulderL", "ForepawR",
    "WristR", "ElbowR", "ShoulderR", "HindpawL", "AnkleL", "KneeL", "HindpawR",
    "AnkleR", "KneeR",
]  # fmt: skip


def small_skeleton(**kwargs):
    params = dict(
        keypoint_names=["body", "head", "hand"],
        parents=[-1, 0, 0],
        offsets=[[0, 0, 0], [2, 0, 0], [0, 1, 0]],
        front="head",
    )
    params.update(kwargs)
    return Skeleton(**params)


def test_mouse18_matches_the_paper():
    assert MOUSE18.n_keypoints == 18
    assert MOUSE18.keypoint_names[:6] == (
        "SpineM", "SpineF", "EarL", "EarR", "Snout", "Tail_base",
    )  # fmt: skip
    parents = (-1, 0, 1, 2, 3, 0, 1, 6, 7, 1, 9, 10, 5, 12, 13, 5, 15, 16)
    assert MOUSE18.parents == parents
    assert MOUSE18.root == 0
    assert MOUSE18.front == 1
    assert MOUSE18.chains == (
        (0, 1, 2, 3, 4), (0, 5), (1, 6, 7, 8), (1, 9, 10, 11),
        (5, 12, 13, 14), (5, 15, 16, 17),
    )  # fmt: skip
    expected = np.zeros((18, 3))
    expected[1:5, 0] = 1
    expected[5, 0] = -1
    expected[[6, 7, 8, 12, 13, 14], 1] = 1
    expected[[9, 10, 11, 15, 16, 17], 1] = -1
    np.testing.assert_array_equal(MOUSE18.offsets, expected)
    assert MOUSE18.axial == (1, 2, 3, 4, 5)
    assert MOUSE18.limbs == tuple(range(6, 18))
    assert MOUSE18.girdles == (1,) * 6 + (5,) * 6


def test_levels_follow_the_tree():
    levels = MOUSE18.levels
    assert [level.tolist() for level in levels[:2]] == [[0], [1, 5]]
    assert sorted(np.concatenate(levels).tolist()) == list(range(18))
    for depth in range(1, len(levels)):
        parents = np.asarray(MOUSE18.parents)[levels[depth]]
        assert set(parents) <= set(levels[depth - 1])


def test_parents_may_follow_children():
    skeleton = Skeleton(["hand", "head", "body"], [2, 2, -1], np.eye(3), front="head")
    assert skeleton.root == 2
    assert [level.tolist() for level in skeleton.levels] == [[2], [0, 1]]


def test_offsets_are_normalised_and_read_only():
    skeleton = small_skeleton()
    np.testing.assert_allclose(skeleton.offsets[1], [1, 0, 0])
    with pytest.raises(ValueError):
        skeleton.offsets[1, 0] = 3.0


def test_pickle_copy_equality_and_hash():
    for skeleton in (MOUSE18, small_skeleton(limb_girdles={"body": ["hand"]})):
        restored = pickle.loads(pickle.dumps(skeleton))
        assert restored == skeleton
        assert hash(restored) == hash(skeleton)
        assert copy.deepcopy(skeleton) == skeleton
    assert small_skeleton() != small_skeleton(offsets=[[0, 0, 0], [1, 0, 0], [0, 0, 1]])
    assert small_skeleton() != MOUSE18
    assert small_skeleton() != "not a skeleton"


def test_default_chains_cover_every_bone_once():
    skeleton = Skeleton(
        MOUSE18.keypoint_names, MOUSE18.parents, MOUSE18.offsets, front="SpineF"
    )
    assert skeleton.chains == (
        (0, 1, 2, 3, 4), (0, 5, 12, 13, 14), (1, 6, 7, 8), (1, 9, 10, 11),
        (5, 15, 16, 17),
    )  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"parents": [-1, -1, 0]}, "Exactly one"),
        ({"parents": [-1, 2, 1]}, "tree"),
        ({"parents": [-1, 0, 5]}, r"\[-1, 3\)"),
        ({"parents": [-1, 0]}, "one entry per keypoint"),
        ({"offsets": np.ones((3, 2))}, "shape"),
        ({"offsets": [[0, 0, 0], [0, 0, 0], [0, 1, 0]]}, "nonzero"),
        ({"offsets": [[0, 0, 0], [np.nan, 0, 0], [0, 1, 0]]}, "finite"),
        ({"front": "tail"}, "Unknown front 'tail'"),
        ({"front": "body"}, "differ from the root"),
        ({"front": 7}, "out of range"),
        ({"keypoint_names": ["a", "a", "b"]}, "unique"),
        ({"limb_girdles": {"body": ["hand", "hand"]}}, "twice"),
        ({"limb_girdles": {"hand": ["hand"]}}, "own girdle"),
        ({"chains": [[0, 1], [1, 2]]}, "parent"),
        ({"chains": [[0, 1]]}, "every bone"),
    ],
)
def test_invalid_skeletons_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_skeleton(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"parents": [-1, 0, 0.5]},
        {"keypoint_names": ["a", "b", 3]},
        {"limb_girdles": {"body": "hand"}},
        {"limb_girdles": ["hand"]},
        {"name": 3},
    ],
)
def test_wrong_types_are_rejected(kwargs):
    with pytest.raises(TypeError):
        small_skeleton(**kwargs)


def test_from_edges_skips_cycles_and_finds_parents():
    names = ["Snout", "EarL", "EarR", "SpineF", "SpineM", "Tail"]
    edges = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (3, 4), ("SpineM", "Tail")]
    skeleton = Skeleton.from_edges(names, edges, root="SpineM", front="SpineF")
    assert skeleton.parents == (1, 3, 3, 4, -1, 4)
    np.testing.assert_array_equal(skeleton.offsets[:4], np.tile([1.0, 0, 0], (4, 1)))
    with pytest.raises(ValueError, match="Tail"):
        Skeleton.from_edges(names, edges[:-1], root="SpineM", front="SpineF")


def test_get_skeleton():
    assert get_skeleton("Mouse18") is MOUSE18
    skeleton = small_skeleton()
    assert get_skeleton(skeleton) is skeleton
    with pytest.raises(ValueError, match="mouse18"):
        get_skeleton("rat99")
    with pytest.raises(TypeError):
        get_skeleton(18)


def test_match_keypoints_maps_dannce22_to_mouse18():
    indices = match_keypoints(DANNCE22_NAMES, MOUSE18)
    assert [DANNCE22_NAMES[i] for i in indices] == [
        "SpineM", "SpineF", "EarL", "EarR", "Snout", "Tail(base)", "ElbowL",
        "WristL", "ForepawL", "ElbowR", "WristR", "ForepawR", "KneeL", "AnkleL",
        "HindpawL", "KneeR", "AnkleR", "HindpawR",
    ]  # fmt: skip
    np.testing.assert_array_equal(match_keypoints(DANNCE22_NAMES, "mouse18"), indices)


def test_match_keypoints_names_missing_and_uses_aliases():
    names = ["SpineM", "SpineF", "nose"]
    with pytest.raises(ValueError, match=r"\['Snout', 'Tail'\]"):
        match_keypoints(names, ["SpineM", "Snout", "Tail"])
    indices = match_keypoints(names, ["Snout", "SpineM"], aliases={"Snout": "nose"})
    np.testing.assert_array_equal(indices, [2, 0])
    with pytest.raises(ValueError, match="ambiguous"):
        match_keypoints(["Ear_L", "EarL ", "x"], ["earl"])


def test_dannce_skeleton_file_maps_to_mouse18():
    path = require("dannce_demo", "configs_mouse22_skeleton.mat")
    from scipy.io import loadmat

    names = list(loadmat(path, simplify_cells=True)["joint_names"])
    assert names == DANNCE22_NAMES
    dropped = set(names) - {names[i] for i in match_keypoints(names, MOUSE18)}
    assert dropped == {"Tail(mid)", "Tail(end)", "ShoulderL", "ShoulderR"}
