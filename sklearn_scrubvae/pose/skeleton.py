"""Kinematic trees of named keypoints."""

import re
from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import validate_params


class Skeleton:
    """A kinematic tree of named keypoints.

    A skeleton says which keypoint hangs from which (``parents``), the rest
    direction of every bone in its parent's frame (``offsets``), which
    keypoint defines the body's heading (``front``) and how keypoints group
    into axial (spine and head) and limb keypoints for speed features.

    Skeletons are immutable, comparable, hashable and picklable.

    Parameters
    ----------
    keypoint_names : sequence of str of length n_keypoints
        Unique keypoint names, in the order of the keypoint axis of poses.
    parents : sequence of int of length n_keypoints
        Index of each keypoint's parent; -1 marks the root (exactly one).
        Parents may come in any order as long as they form a tree.
    offsets : array-like of shape (n_keypoints, 3)
        Rest direction of each bone (keypoint minus parent) in the parent's
        frame; for children of the root this is the body frame (x forward,
        y left, z up). Rows are normalised to unit length; the root's row is
        ignored and stored as zeros.
    front : str or int
        Keypoint whose direction from the root defines the heading and the
        root's frame (x axis).
    limb_girdles : mapping of str or int to sequence of str or int, \
            default=None
        Limb keypoints grouped by the girdle keypoint they are measured from
        in :func:`~sklearn_scrubvae.pose.compute_speed`. All other non-root
        keypoints are axial and are measured from the root.
    chains : sequence of sequence of str or int, default=None
        Paths down the tree (each consecutive pair a parent and its child)
        that together cover every bone once, e.g. for drawing. By default a
        chain starts at the root and at every further child of a branching
        keypoint, and follows first children.
    name : str, default=None
        Short name, e.g. the one the skeleton is registered under.

    Attributes
    ----------
    n_keypoints : int
        Number of keypoints.
    root : int
        Index of the root keypoint.
    levels : tuple of ndarray
        Keypoint indices by depth in the tree: ``levels[0]`` is the root,
        ``levels[d]`` the keypoints ``d`` bones away from it. Kinematics loop
        over levels, never over single keypoints.
    axial : tuple of int
        Non-root keypoints that are not limb keypoints.
    limbs : tuple of int
        Limb keypoints, in index order.
    girdles : tuple of int
        Girdle keypoint of each entry of ``limbs``.

    See Also
    --------
    get_skeleton : Look up a registered skeleton by name.
    match_keypoints : Map another keypoint list onto a skeleton.

    Examples
    --------
    >>> from sklearn_scrubvae.pose import Skeleton
    >>> arm = Skeleton(
    ...     ["body", "head", "hand"], [-1, 0, 0],
    ...     [[0, 0, 0], [1, 0, 0], [0, 1, 0]], front="head",
    ...     limb_girdles={"body": ["hand"]},
    ... )
    >>> arm.chains
    ((0, 1), (0, 2))
    >>> arm.axial, arm.limbs
    ((1,), (2,))
    """

    @validate_params(
        {
            "keypoint_names": ["array-like"],
            "parents": ["array-like"],
            "offsets": ["array-like"],
            "front": [str, Integral],
            "limb_girdles": [Mapping, None],
            "chains": ["array-like", None],
            "name": [str, None],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(
        self,
        keypoint_names: Sequence[str],
        parents: Sequence[int],
        offsets: ArrayLike,
        *,
        front: str | int,
        limb_girdles: Mapping[str | int, Sequence[str | int]] | None = None,
        chains: Sequence[Sequence[str | int]] | None = None,
        name: str | None = None,
    ) -> None:
        names = tuple(keypoint_names)
        if not all(isinstance(n, str) for n in names):
            raise TypeError("keypoint_names must be strings.")
        names = tuple(str(n) for n in names)  # plain str, not numpy strings
        if len(set(names)) != len(names):
            raise ValueError(f"keypoint_names must be unique, got {names}.")
        self._names = names
        self._index = {n: i for i, n in enumerate(names)}
        self._parents = _check_parents(parents, len(names))
        self._root = self._parents.index(-1)
        self._levels = _tree_levels(self._parents, self._root)
        self._offsets = _check_offsets(offsets, len(names), self._root)
        self._front = self._resolve(front, "front")
        if self._front == self._root:
            raise ValueError("front must differ from the root keypoint.")
        self._limbs, self._girdles = self._resolve_limbs(limb_girdles or {})
        self._axial = tuple(
            i for i in range(len(names)) if i != self._root and i not in self._limbs
        )
        self._chains = (
            self._default_chains() if chains is None else self._check_chains(chains)
        )
        self._name = name

    @classmethod
    @validate_params(
        {
            "keypoint_names": ["array-like"],
            "edges": ["array-like"],
            "root": [str, Integral],
            "front": [str, Integral],
            "offsets": ["array-like", None],
            "limb_girdles": [Mapping, None],
            "name": [str, None],
        },
        prefer_skip_nested_validation=True,
    )
    def from_edges(
        cls,
        keypoint_names: Sequence[str],
        edges: Sequence[tuple[str | int, str | int]],
        *,
        root: str | int,
        front: str | int,
        offsets: ArrayLike | None = None,
        limb_girdles: Mapping[str | int, Sequence[str | int]] | None = None,
        name: str | None = None,
    ) -> "Skeleton":
        """Build a skeleton from undirected connections between keypoints.

        Parents are found by a breadth-first walk from ``root``; a connection
        that would close a cycle (drawn skeletons often join ears and snout
        in a triangle) is skipped.

        Parameters
        ----------
        keypoint_names : sequence of str of length n_keypoints
            Unique keypoint names.
        edges : sequence of pairs of str or int
            Connected keypoints, by name or 0-based index.
        root : str or int
            Root keypoint.
        front : str or int
            Heading keypoint, see :class:`Skeleton`.
        offsets : array-like of shape (n_keypoints, 3), default=None
            Rest bone directions. None puts every bone along +x, which is a
            valid (if uninformative) rest pose for the kinematics.
        limb_girdles : mapping, default=None
            See :class:`Skeleton`.
        name : str, default=None
            See :class:`Skeleton`.

        Returns
        -------
        skeleton : Skeleton
            The tree, with default chains.
        """
        names = tuple(keypoint_names)
        lookup = {n: i for i, n in enumerate(names)}

        def index(key):
            if isinstance(key, str):
                if key not in lookup:
                    raise ValueError(f"Unknown keypoint {key!r} in edges.")
                return lookup[key]
            if not 0 <= int(key) < len(names):
                raise ValueError(f"Keypoint index {key} out of range in edges.")
            return int(key)

        neighbours = [[] for _ in names]
        for edge in edges:
            a, b = (index(key) for key in edge)
            neighbours[a].append(b)
            neighbours[b].append(a)
        root_index = index(root)
        parents = [None] * len(names)
        parents[root_index] = -1
        frontier = [root_index]
        while frontier:
            next_frontier = []
            for node in frontier:
                for other in neighbours[node]:
                    if parents[other] is None:
                        parents[other] = node
                        next_frontier.append(other)
            frontier = next_frontier
        unreached = [names[i] for i, p in enumerate(parents) if p is None]
        if unreached:
            raise ValueError(
                f"edges do not connect these keypoints to the root: {unreached}."
            )
        if offsets is None:
            offsets = np.tile([1.0, 0.0, 0.0], (len(names), 1))
        return cls(
            names,
            parents,
            offsets,
            front=front,
            limb_girdles=limb_girdles,
            name=name,
        )

    @property
    def keypoint_names(self):
        """tuple of str: Keypoint names."""
        return self._names

    @property
    def parents(self):
        """tuple of int: Parent index of each keypoint (-1 for the root)."""
        return self._parents

    @property
    def offsets(self):
        """ndarray of shape (n_keypoints, 3): Unit rest bone directions."""
        return self._offsets

    @property
    def root(self):
        """int: Index of the root keypoint."""
        return self._root

    @property
    def front(self):
        """int: Index of the heading keypoint."""
        return self._front

    @property
    def n_keypoints(self):
        """int: Number of keypoints."""
        return len(self._names)

    @property
    def levels(self):
        """tuple of ndarray: Keypoint indices by depth below the root."""
        return self._levels

    @property
    def chains(self):
        """tuple of tuple of int: Paths down the tree covering every bone."""
        return self._chains

    @property
    def axial(self):
        """tuple of int: Non-root keypoints that are not limb keypoints."""
        return self._axial

    @property
    def limbs(self):
        """tuple of int: Limb keypoints, in index order."""
        return self._limbs

    @property
    def girdles(self):
        """tuple of int: Girdle keypoint of each entry of ``limbs``."""
        return self._girdles

    @property
    def limb_girdles(self):
        """dict: Limb keypoint names by girdle keypoint name."""
        grouped = {}
        for limb, girdle in zip(self._limbs, self._girdles, strict=True):
            grouped.setdefault(self._names[girdle], []).append(self._names[limb])
        return {girdle: tuple(limbs) for girdle, limbs in grouped.items()}

    @property
    def name(self):
        """str or None: Short name of the skeleton."""
        return self._name

    def index(self, keypoint):
        """Index of a keypoint given by name (or index, checked).

        Parameters
        ----------
        keypoint : str or int
            Keypoint name or index.

        Returns
        -------
        index : int
            Position of the keypoint on the keypoint axis.
        """
        return self._resolve(keypoint, "keypoint")

    def _resolve(self, keypoint, what):
        if isinstance(keypoint, str):
            if keypoint not in self._index:
                raise ValueError(
                    f"Unknown {what} {keypoint!r}; keypoints are {list(self._names)}."
                )
            return self._index[keypoint]
        if isinstance(keypoint, (int, np.integer)) and not isinstance(keypoint, bool):
            if not 0 <= keypoint < len(self._names):
                raise ValueError(
                    f"{what} index {keypoint} out of range for "
                    f"{len(self._names)} keypoints."
                )
            return int(keypoint)
        raise TypeError(f"{what} must be a name or an index, got {keypoint!r}.")

    def _resolve_limbs(self, limb_girdles):
        girdle_of = {}
        for girdle, limbs in limb_girdles.items():
            girdle = self._resolve(girdle, "girdle")
            if isinstance(limbs, (str, int, np.integer)):
                raise TypeError(
                    "Each value of limb_girdles must be a sequence of keypoints."
                )
            for limb in limbs:
                limb = self._resolve(limb, "limb keypoint")
                if limb in girdle_of or limb in (self._root, girdle):
                    raise ValueError(
                        f"Limb keypoint {self._names[limb]!r} is listed twice, "
                        "is the root or is its own girdle."
                    )
                girdle_of[limb] = girdle
        limbs = tuple(sorted(girdle_of))
        return limbs, tuple(girdle_of[limb] for limb in limbs)

    def _default_chains(self):
        children = [[] for _ in self._names]
        for child, parent in enumerate(self._parents):
            if parent >= 0:
                children[parent].append(child)
        chains = []
        starts = [(self._root,)]
        while starts:
            chain = list(starts.pop(0))
            node = chain[-1]
            while children[node]:
                starts.extend((node, other) for other in children[node][1:])
                node = children[node][0]
                chain.append(node)
            chains.append(tuple(chain))
        return tuple(chain for chain in chains if len(chain) > 1)

    def _check_chains(self, chains):
        resolved = tuple(
            tuple(self._resolve(k, "chain keypoint") for k in chain) for chain in chains
        )
        children = [child for chain in resolved for child in chain[1:]]
        if any(len(chain) < 2 for chain in resolved) or any(
            self._parents[child] != parent
            for chain in resolved
            for parent, child in zip(chain[:-1], chain[1:], strict=True)
        ):
            raise ValueError(
                "Each chain must list at least two keypoints, each the parent "
                "of the next."
            )
        if sorted(children) != [i for i in range(len(self._names)) if i != self._root]:
            raise ValueError("chains must cover every bone exactly once.")
        return resolved

    def _key(self):
        return (
            self._names,
            self._parents,
            self._offsets.tobytes(),
            self._front,
            self._limbs,
            self._girdles,
            self._chains,
            self._name,
        )

    def __eq__(self, other):
        if not isinstance(other, Skeleton):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __reduce__(self):
        return (
            _rebuild_skeleton,
            (
                {
                    "keypoint_names": self._names,
                    "parents": self._parents,
                    "offsets": np.array(self._offsets),
                    "front": self._front,
                    "limb_girdles": dict(self.limb_girdles),
                    "chains": self._chains,
                    "name": self._name,
                },
            ),
        )

    def __repr__(self):
        label = f"name={self._name!r}, " if self._name is not None else ""
        return f"Skeleton({label}n_keypoints={self.n_keypoints})"


def _rebuild_skeleton(kwargs):
    """Recreate a pickled :class:`Skeleton` (validating it again)."""
    return Skeleton(**kwargs)


def _check_parents(parents, n_keypoints):
    parents = tuple(parents)
    if len(parents) != n_keypoints:
        raise ValueError(
            f"parents must have one entry per keypoint ({n_keypoints}), "
            f"got {len(parents)}."
        )
    if not all(
        isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in parents
    ):
        raise TypeError(f"parents must be integers, got {parents}.")
    parents = tuple(int(p) for p in parents)
    if any(not -1 <= p < n_keypoints for p in parents):
        raise ValueError(f"parents must lie in [-1, {n_keypoints}), got {parents}.")
    if parents.count(-1) != 1:
        raise ValueError(
            f"Exactly one keypoint must be the root (parent -1), got "
            f"{parents.count(-1)}."
        )
    return parents


def _tree_levels(parents, root):
    """Group keypoints by depth; fail on cycles (keypoints never reached)."""
    parents = np.asarray(parents)
    depth = np.full(len(parents), -1)
    depth[root] = 0
    for level in range(1, len(parents)):
        reached = (depth == -1) & (depth[parents] == level - 1)
        reached[root] = False
        if not reached.any():
            break
        depth[reached] = level
    if (depth < 0).any():
        raise ValueError(
            "parents do not form a tree: keypoints "
            f"{np.flatnonzero(depth < 0).tolist()} are not below the root."
        )
    levels = tuple(np.flatnonzero(depth == d) for d in range(depth.max() + 1))
    for level in levels:
        level.flags.writeable = False
    return levels


def _check_offsets(offsets, n_keypoints, root):
    offsets = np.array(offsets, dtype=np.float64)
    if offsets.shape != (n_keypoints, 3):
        raise ValueError(
            f"offsets must have shape ({n_keypoints}, 3), got {offsets.shape}."
        )
    offsets[root] = 0.0
    norms = np.linalg.norm(offsets, axis=1)
    bones = np.arange(n_keypoints) != root
    if not np.isfinite(offsets).all() or (norms[bones] == 0).any():
        raise ValueError(
            "offsets must be finite and nonzero for every keypoint but the root."
        )
    offsets[bones] /= norms[bones, None]
    offsets.flags.writeable = False
    return offsets


_NAME_SEPARATORS = re.compile(r"[^0-9a-z]")


def _normalize_name(name):
    """Lower case without separators: 'Tail(base)' and 'Tail_base' agree."""
    return _NAME_SEPARATORS.sub("", name.lower())


@validate_params(
    {
        "keypoint_names": ["array-like"],
        "target": [Skeleton, str, "array-like"],
        "aliases": [Mapping, None],
    },
    prefer_skip_nested_validation=True,
)
def match_keypoints(
    keypoint_names: Sequence[str],
    target: Skeleton | str | Sequence[str],
    *,
    aliases: Mapping[str, str] | None = None,
) -> np.ndarray:
    """Indices that pick and reorder keypoints to match a target list.

    Names match exactly first, then ignoring case and any character other
    than letters and digits (so DANNCE's ``"Tail(base)"`` matches MOUSE18's
    ``"Tail_base"``).

    Parameters
    ----------
    keypoint_names : sequence of str
        Keypoints available, e.g. those of a loaded file.
    target : Skeleton, str or sequence of str
        A skeleton, a registered skeleton name, or the wanted names in order.
    aliases : mapping of str to str, default=None
        Target name -> available name, for names that do not match.

    Returns
    -------
    indices : ndarray of shape (n_target,)
        ``poses[..., indices, :]`` has the target's keypoints in order.

    Raises
    ------
    ValueError
        Naming every target keypoint that is missing or ambiguous.

    Examples
    --------
    >>> from sklearn_scrubvae.pose import match_keypoints
    >>> match_keypoints(["Tail(base)", "SpineM", "Snout"], ["SpineM", "Tail_base"])
    array([1, 0])
    """
    available = list(keypoint_names)
    if isinstance(target, (str, Skeleton)):
        wanted = get_skeleton(target).keypoint_names
    else:
        wanted = tuple(target)
    aliases = dict(aliases or {})
    exact = {name: i for i, name in enumerate(available)}
    loose = {}
    for i, name in enumerate(available):
        loose.setdefault(_normalize_name(name), []).append(i)
    indices, missing = [], []
    for name in wanted:
        source = aliases.get(name, name)
        if source in exact:
            indices.append(exact[source])
            continue
        candidates = loose.get(_normalize_name(source), [])
        if len(candidates) == 1:
            indices.append(candidates[0])
        else:
            missing.append(name)
    if missing:
        raise ValueError(
            f"Keypoints {missing} are missing (or ambiguous) among {available}; "
            "pass aliases={target_name: available_name} to map them."
        )
    return np.asarray(indices, dtype=np.intp)


# fmt: off
MOUSE18 = Skeleton(
    keypoint_names=[
        "SpineM", "SpineF", "EarL", "EarR", "Snout", "Tail_base",
        "ElbowL", "WristL", "ForepawL", "ElbowR", "WristR", "ForepawR",
        "KneeL", "AnkleL", "HindpawL", "KneeR", "AnkleR", "HindpawR",
    ],
    parents=[-1, 0, 1, 2, 3, 0, 1, 6, 7, 1, 9, 10, 5, 12, 13, 5, 15, 16],
    offsets=[
        (0, 0, 0), (1, 0, 0), (1, 0, 0), (1, 0, 0), (1, 0, 0), (-1, 0, 0),
        (0, 1, 0), (0, 1, 0), (0, 1, 0), (0, -1, 0), (0, -1, 0), (0, -1, 0),
        (0, 1, 0), (0, 1, 0), (0, 1, 0), (0, -1, 0), (0, -1, 0), (0, -1, 0),
    ],
    front="SpineF",
    limb_girdles={
        "SpineF": ["ElbowL", "WristL", "ForepawL", "ElbowR", "WristR", "ForepawR"],
        "Tail_base": ["KneeL", "AnkleL", "HindpawL", "KneeR", "AnkleR", "HindpawR"],
    },
    chains=[
        [0, 1, 2, 3, 4], [0, 5], [1, 6, 7, 8], [1, 9, 10, 11],
        [5, 12, 13, 14], [5, 15, 16, 17],
    ],
    name="mouse18",
)
# fmt: on
"""The paper's 18-keypoint mouse skeleton, rooted at SpineM.

Heading comes from SpineM -> SpineF. Forelimbs are measured from SpineF and
hindlimbs from Tail_base; SpineF, the ears, Snout and Tail_base are axial.
"""

_REGISTRY = {"mouse18": MOUSE18}


@validate_params({"skeleton": [Skeleton, str]}, prefer_skip_nested_validation=True)
def get_skeleton(skeleton: Skeleton | str) -> Skeleton:
    """Return a registered skeleton by name, or a given skeleton unchanged.

    Parameters
    ----------
    skeleton : str or Skeleton
        A registered name (case-insensitive; ``"mouse18"``) or a skeleton.

    Returns
    -------
    skeleton : Skeleton

    Examples
    --------
    >>> from sklearn_scrubvae.pose import MOUSE18, get_skeleton
    >>> get_skeleton("MOUSE18") is MOUSE18
    True
    """
    if isinstance(skeleton, Skeleton):
        return skeleton
    if skeleton.lower() not in _REGISTRY:
        raise ValueError(
            f"Unknown skeleton {skeleton!r}; registered skeletons are "
            f"{sorted(_REGISTRY)}."
        )
    return _REGISTRY[skeleton.lower()]
