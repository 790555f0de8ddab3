"""Reading keypoint tracks from files into arrays."""

import os
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..pose.skeleton import Skeleton, get_skeleton, match_keypoints

_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
_SPATIAL_COORDS = ("x", "y", "z")
_TRACKERS = ("DeepLabCut", "SLEAP", "LightningPose", "Anipose")
_PROBABILITY_CONFIDENCE = ("DeepLabCut", "LightningPose")  # likelihoods in [0, 1]
_JABS_KEYPOINTS = (
    "nose", "left_ear", "right_ear", "base_neck", "left_front_paw",
    "right_front_paw", "center_spine", "left_rear_paw", "right_rear_paw",
    "base_tail", "mid_tail", "tip_tail",
)  # fmt: skip


class _Tracks(NamedTuple):
    """What a reader found in a file.

    ``positions`` has shape (n_frames, n_individuals, n_keypoints, n_dims)
    (or (n_frames, n_keypoints, n_dims) for one animal) and ``confidence``
    the same without the last axis, or None. ``chosen`` is set by readers
    that select the individual themselves (then ``positions`` holds only
    that one).
    """

    positions: np.ndarray
    keypoints: list | None = None
    individuals: list | None = None
    fps: float | None = None
    metadata: dict | None = None
    confidence: np.ndarray | None = None
    chosen: int | None = None


@validate_params(
    {
        "path": [str, os.PathLike],
        "keypoints": [Skeleton, str, "array-like", None],
        "keypoint_names": ["array-like", None],
        "fps": [Interval(Real, 0, None, closed="neither"), None],
        "dataset": [str, None],
        "individual": [str, Integral, None],
        "source_software": [StrOptions(set(_TRACKERS)), None],
        "min_confidence": [Real, None],
    },
    prefer_skip_nested_validation=True,
)
def load_poses(
    path: str | os.PathLike,
    *,
    keypoints: Skeleton | str | Sequence[str] | None = None,
    keypoint_names: Sequence[str] | None = None,
    fps: float | None = None,
    dataset: str | None = None,
    individual: str | int | None = None,
    source_software: str | None = None,
    min_confidence: float | None = None,
) -> tuple[np.ndarray, list[str], float | None, dict]:
    """Load keypoint tracks of one animal from a file.

    Supported inputs, chosen by file extension:

    - ``.npy``: an array of shape (n_frames, n_keypoints, n_dims) or
      (n_frames, n_individuals, n_keypoints, n_dims).
    - ``.npz``: the array named ``dataset`` (default ``"poses"``, or the only
      array); optional arrays ``keypoint_names``, ``fps`` and ``confidence``
      (shaped like the poses without their last axis) are read too.
    - ``.h5``, ``.hdf5``, ``.hdf`` (HDF5, read with h5py): JABS pose files
      (``poseest/points``), a DeepLabCut-style pandas table saved in the
      "fixed" format (read without PyTables), or a dataset shaped like the
      arrays above. ``dataset`` names the table's group or the dataset; by
      default the file's only table, else its only dataset whose last axis
      has size 2 or 3.
    - ``.mat`` (MATLAB up to v7): DANNCE ``label3d`` files (``labelData``
      with ``data_3d`` of shape (n_frames, 3 * n_keypoints)), DANNCE
      predictions (``pred`` of shape (n_frames, 3, n_keypoints)), Qualisys
      motion capture exports (a struct with ``Trajectories.Labeled.Data`` of
      shape (n_keypoints, 4, n_frames), ``Labels`` and ``FrameRate``), or
      the variable named ``dataset``.
    - Any file of DeepLabCut, SLEAP, LightningPose or Anipose when
      ``source_software`` is given, through the optional ``movement``
      package (``movement.io.load_dataset``).

    Tracker confidence (DeepLabCut and LightningPose likelihoods, SLEAP
    point scores, JABS confidences) is returned in ``metadata`` and, with
    ``min_confidence``, points below it become NaN. JABS files are converted
    from their (y, x) pixel order to (x, y), and their padding (points of
    confidence 0) becomes NaN; their individuals are identities (pose
    version 4 and later) or tracks (version 3). A warning is issued when
    the file's frame numbers show that its frames are not consecutive
    (e.g. DANNCE predictions made on every 10th frame).

    Parameters
    ----------
    path : str or path-like
        File to read.
    keypoints : Skeleton, str or sequence of str, default=None
        Keypoints to return, in this order: a skeleton, a registered
        skeleton name or a list of names, matched by
        :func:`~sklearn_scrubvae.pose.match_keypoints` (so ``"Tail(base)"``
        matches ``"Tail_base"``). None returns all keypoints of the file.
    keypoint_names : sequence of str, default=None
        Names of the file's keypoints, for files that store none (DANNCE,
        plain arrays) or to replace the stored ones. Files without names
        otherwise get ``"keypoint_0"``, ``"keypoint_1"``, ...
    fps : float, default=None
        Frame rate; overrides the one stored in the file, if any.
    dataset : str, default=None
        Name of the array, HDF5 dataset, HDF5 table group or MATLAB variable
        to read.
    individual : str or int, default=None
        Animal to return from a multi-animal file, by name or index. May be
        None only when the file holds one animal.
    source_software : {"DeepLabCut", "SLEAP", "LightningPose", "Anipose"}, \
            default=None
        Read the file with ``movement.io.load_dataset`` for that tracker
        (``pip install movement``, version 0.14 or later).
    min_confidence : float, default=None
        Points whose confidence is below this value are set to NaN. The
        scale is the tracker's (a probability for DeepLabCut, LightningPose
        and SLEAP; JABS confidences exceed 1). None keeps every point.
        A value outside [0, 1] for DeepLabCut or LightningPose likelihoods,
        or one that removes every point, raises a ValueError.

    Returns
    -------
    poses : ndarray of shape (n_frames, n_keypoints, n_dims)
        Float64 positions, ``n_dims`` 2 or 3, NaN where missing.
    keypoint_names : list of str
        Name of each keypoint (the target names when ``keypoints`` is set).
    fps : float or None
        Frame rate, if known.
    metadata : dict
        ``path``, ``format``, ``individuals`` (names, or None when the file
        does not name them), ``individual`` (index returned),
        ``confidence`` (ndarray of shape (n_frames, n_keypoints), the
        tracker's confidence of each point as stored, or None when the
        format has none) and format specific entries (e.g. ``sample_ids``
        for DANNCE files, ``cm_per_pixel`` for JABS files that store it).

    Raises
    ------
    ValueError
        For an unsupported extension, an ambiguous file, an unknown
        individual, missing keypoints, or ``min_confidence`` on a file
        without confidence.
    ImportError
        When ``source_software`` is given and ``movement`` (0.14 or later)
        is missing.

    Warns
    -----
    UserWarning
        When the file's frame numbers are not consecutive.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_scrubvae.io import load_poses
    >>> path = os.path.join(tempfile.mkdtemp(), "poses.npz")
    >>> np.savez(path, poses=np.zeros((5, 3, 3)), keypoint_names=["a", "b", "c"],
    ...          fps=30, confidence=np.full((5, 3), 0.9))
    >>> poses, names, fps, metadata = load_poses(path, keypoints=["c", "a"])
    >>> poses.shape, names, fps, metadata["confidence"].shape
    ((5, 2, 3), ['c', 'a'], 30.0, (5, 2))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    if source_software is not None:
        tracks = _read_with_movement(path, source_software, fps)
    else:
        suffix = path.suffix.lower()
        if suffix == ".npy":
            positions = np.load(path, allow_pickle=False)
            tracks = _Tracks(positions, metadata={"format": "npy"})
        elif suffix == ".npz":
            tracks = _read_npz(path, dataset)
        elif suffix in _HDF5_SUFFIXES:
            tracks = _read_hdf5(path, dataset, individual)
        elif suffix == ".mat":
            tracks = _read_mat(path, dataset)
        else:
            raise ValueError(
                f"Unsupported file extension {path.suffix!r}; load_poses reads "
                f".npy, .npz, {', '.join(_HDF5_SUFFIXES)} and .mat files, and "
                f"tracker outputs given source_software (one of {_TRACKERS})."
            )
    positions, confidence = tracks.positions, tracks.confidence
    if positions.ndim == 3:
        positions = positions[:, None]
        confidence = None if confidence is None else confidence[:, None]
    if positions.ndim != 4 or positions.shape[-1] not in (2, 3):
        raise ValueError(
            "Expected tracks of shape (n_frames, [n_individuals,] n_keypoints, "
            f"2 or 3) in {path}, got shape {positions.shape}."
        )
    if confidence is not None and confidence.shape != positions.shape[:-1]:
        raise ValueError(
            f"The confidence in {path} has shape {confidence.shape}; expected "
            f"{positions.shape[:-1]}, the shape of the poses without coordinates."
        )
    if tracks.chosen is None:
        chosen = _individual_index(individual, tracks.individuals, positions.shape[1])
        column = chosen
    else:
        chosen, column = tracks.chosen, 0
    poses = np.array(positions[:, column], dtype=np.float64)
    if confidence is not None:
        confidence = np.array(confidence[:, column], dtype=np.float64)
    names = _keypoint_names(keypoint_names, tracks.keypoints, poses.shape[1])
    if keypoints is not None:
        selection = match_keypoints(names, keypoints)
        poses = poses[:, selection]
        confidence = None if confidence is None else confidence[:, selection]
        names = _target_names(keypoints)
    if min_confidence is not None:
        _check_min_confidence(min_confidence, confidence, tracks.metadata or {}, path)
        poses[confidence < min_confidence] = np.nan
    file_fps = tracks.fps if fps is None else fps
    metadata = {
        "path": str(path),
        "individuals": tracks.individuals,
        "individual": chosen,
        "confidence": confidence,
        **(tracks.metadata or {}),
    }
    _warn_if_not_consecutive(metadata.get("sample_ids"), path)
    return poses, names, None if file_fps is None else float(file_fps), metadata


def _check_min_confidence(min_confidence, confidence, metadata, path):
    """Refuse a confidence cut that cannot mean what was meant."""
    if confidence is None:
        raise ValueError(
            f"min_confidence was given but {path} stores no confidence of its points."
        )
    software = metadata.get("source_software")
    if metadata.get("format") == "pandas-hdf5":
        software = "DeepLabCut"  # a likelihood column
    if software in _PROBABILITY_CONFIDENCE and not 0 <= min_confidence <= 1:
        raise ValueError(
            f"min_confidence={min_confidence!r} is outside [0, 1], but {software} "
            "confidences are probabilities: every point would become NaN. Give a "
            "probability, e.g. min_confidence=0.6."
        )
    seen = np.isfinite(confidence)
    if seen.any() and not (confidence[seen] >= min_confidence).any():
        raise ValueError(
            f"min_confidence={min_confidence!r} removes every point: the confidences in "
            f"{path} range from {confidence[seen].min():.3g} to {confidence[seen].max():.3g}."
        )


def _warn_if_not_consecutive(frame_ids, path):
    """Warn when a file's frame numbers skip frames."""
    if frame_ids is None or len(frame_ids) < 2:
        return
    steps = np.diff(np.asarray(frame_ids, dtype=np.float64))
    if (steps == 1).all():
        return
    if (steps == steps[0]).all() and steps[0] > 1:
        detail = (
            f"every {steps[0]:g}th frame of the recording: the frame rate of "
            f"these poses is the video's divided by {steps[0]:g}"
        )
    else:
        detail = (
            f"frame numbers that skip or repeat at {int((steps != 1).sum())} "
            "places: treat each consecutive run as its own recording (groups=)"
        )
    warnings.warn(
        f"The frames in {path} are not consecutive ({detail}). Features and "
        "windows assume evenly spaced frames; see metadata['sample_ids'].",
        UserWarning,
        stacklevel=3,
    )


def _individual_index(individual, individuals, n_individuals):
    if individual is None:
        if n_individuals > 1:
            raise ValueError(
                f"The file holds {n_individuals} individuals "
                f"({_shorten(individuals) or 'unnamed'}); pass individual= a "
                "name or index."
            )
        return 0
    if isinstance(individual, str):
        if individuals is None or individual not in individuals:
            raise ValueError(
                f"Unknown individual {individual!r}; the file's individuals are "
                f"{_shorten(individuals) or f'unnamed, indices 0-{n_individuals - 1}'}."
            )
        return individuals.index(individual)
    if isinstance(individual, Integral) and not isinstance(individual, bool):
        if not 0 <= individual < n_individuals:
            raise ValueError(
                f"individual {individual} is out of range for "
                f"{n_individuals} individuals."
            )
        return int(individual)
    raise TypeError(f"individual must be a name or an index, got {individual!r}.")


def _shorten(names, limit=10):
    """Names for a message: all of them, or the first ``limit`` and a count."""
    if names is None or len(names) <= limit:
        return names
    return f"{names[:limit]} and {len(names) - limit} more"


def _keypoint_names(given, stored, n_keypoints):
    if given is not None:
        names = [str(name) for name in given]
        if len(names) != n_keypoints:
            raise ValueError(
                f"keypoint_names has {len(names)} names but the file has "
                f"{n_keypoints} keypoints."
            )
        return names
    if stored is not None:
        return list(stored)
    return [f"keypoint_{i}" for i in range(n_keypoints)]


def _target_names(keypoints):
    if isinstance(keypoints, (str, Skeleton)):
        return list(get_skeleton(keypoints).keypoint_names)
    return [str(name) for name in keypoints]


def _text(value):
    """A str from bytes, numpy strings or str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_npz(path, dataset):
    extras = ("keypoint_names", "fps", "confidence")
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        arrays = [k for k in keys if k not in extras]
        if dataset is None:
            if "poses" not in keys and len(arrays) != 1:
                raise ValueError(
                    f"{path} holds arrays {keys}; pass dataset= the one to read."
                )
            dataset = "poses" if "poses" in keys else arrays[0]
        if dataset not in keys:
            raise ValueError(f"No array {dataset!r} in {path}; arrays are {keys}.")
        return _Tracks(
            archive[dataset],
            keypoints=archive["keypoint_names"].tolist()
            if "keypoint_names" in keys
            else None,
            fps=archive["fps"].item() if "fps" in keys else None,
            metadata={"format": "npz"},
            confidence=archive["confidence"] if "confidence" in keys else None,
        )


def _read_hdf5(path, dataset, individual):
    import h5py

    with h5py.File(path, "r") as file:
        if dataset in (None, "poseest/points") and "poseest/points" in file:
            return _read_jabs(file["poseest"], individual)
        if dataset is None:
            tables = [k for k, v in file.items() if _is_pandas_frame(v)]
            arrays = []

            def collect_pose_shaped(name, item):
                if (
                    isinstance(item, h5py.Dataset)
                    and item.ndim in (3, 4)
                    and item.shape[-1] in (2, 3)
                ):
                    arrays.append(name)

            file.visititems(collect_pose_shaped)
            candidates = tables or arrays
            if len(candidates) != 1:
                raise ValueError(
                    f"Cannot tell which data in {path} holds poses (candidates: "
                    f"{candidates}); pass dataset= its name, or source_software= "
                    "for a tracker's output file."
                )
            dataset = candidates[0]
        if dataset not in file:
            raise ValueError(f"No dataset or group {dataset!r} in {path}.")
        item = file[dataset]
        if _is_pandas_frame(item):
            return _read_pandas_frame(item)
        if not isinstance(item, h5py.Dataset):
            raise ValueError(f"{dataset!r} in {path} is neither a dataset nor a table.")
        return _Tracks(item[()], metadata={"format": "hdf5", "dataset": dataset})


def _read_jabs(group, individual):
    """JAX pose estimation file (versions 2 to 6), one individual.

    Points are stored as (y, x) pixels with zeros (and confidence 0) as
    padding. Version 2 holds one mouse; version 3 holds instance slots with
    a track id each; version 4 and later add identities (``instance_embed_id``
    1, 2, ..., valid where ``id_mask`` is False), used when present (the
    version attribute is not always updated). Only the chosen identity or
    track is gathered from the slots.
    """
    version = int(np.atleast_1d(group.attrs.get("version", [2]))[0])
    points = group["points"]
    confidence = group["confidence"][()].astype(np.float64)
    metadata = {"format": "jabs", "jabs_version": version}
    if "cm_per_pixel" in group.attrs:
        metadata["cm_per_pixel"] = float(group.attrs["cm_per_pixel"])
    if points.ndim == 3:
        slots, individuals = None, None
        chosen = _individual_index(individual, None, 1)
        positions, confidence = points[()][:, None], confidence[:, None]
    else:
        positions = points[()]
        present = (confidence > 0).any(axis=-1)
        if "instance_embed_id" in group:
            ids = group["instance_embed_id"][()].astype(np.int64)
            if "id_mask" in group:
                present &= ~group["id_mask"][()]
            present &= ids > 0
            prefix = "identity"
        elif "instance_track_id" in group:
            ids = group["instance_track_id"][()].astype(np.int64)
            prefix = "track"
        else:
            ids = np.broadcast_to(np.arange(positions.shape[1]), present.shape)
            prefix = "slot"
        labels = np.unique(ids[present])
        individuals = [f"{prefix}_{label}" for label in labels]
        chosen = _individual_index(individual, individuals, len(labels))
        frames, slots = np.nonzero(present & (ids == labels[chosen]))
    if slots is None:
        gathered, scores = positions, confidence
    else:
        n_frames, _, n_keypoints, n_dims = positions.shape
        gathered = np.zeros((n_frames, 1, n_keypoints, n_dims), positions.dtype)
        scores = np.zeros((n_frames, 1, n_keypoints))
        gathered[frames, 0] = positions[frames, slots]
        scores[frames, 0] = confidence[frames, slots]
    xy = gathered[..., ::-1].astype(np.float64)
    xy[(scores == 0) | (gathered == 0).all(axis=-1)] = np.nan
    return _Tracks(
        xy,
        keypoints=list(_JABS_KEYPOINTS) if xy.shape[2] == 12 else None,
        individuals=individuals,
        metadata=metadata,
        confidence=scores,
        chosen=chosen,
    )


def _is_pandas_frame(item):
    return _text(item.attrs.get("pandas_type", b"")) == "frame"


def _read_pandas_frame(group):
    """Decode a DataFrame with multi-level columns stored by pandas ("fixed").

    Columns carry the levels ``bodyparts``, ``coords`` (x, y[, z] and
    possibly ``likelihood``, returned as confidence) and optionally
    ``individuals``, as written by DeepLabCut and similar tools.
    """
    columns = {"bodyparts": [], "coords": [], "individuals": []}
    blocks = []
    for block in range(int(group.attrs["nblocks"])):
        prefix = f"block{block}_items"
        if _text(group.attrs.get(f"{prefix}_variety", b"")) != "multi":
            raise ValueError(
                "The pandas table has single-level columns; expected "
                "DeepLabCut-style columns (bodyparts, coords)."
            )
        n_columns = group[f"block{block}_values"].shape[1]
        found = {}
        for level in range(int(group.attrs[f"{prefix}_nlevels"])):
            values = group[f"{prefix}_level{level}"]
            name = _text(values.attrs.get("name", b""))
            if name in columns:
                labels = [_text(v) for v in values[()]]
                found[name] = [labels[c] for c in group[f"{prefix}_label{level}"][()]]
        if "bodyparts" not in found or "coords" not in found:
            raise ValueError(
                "The pandas table lacks a 'bodyparts' or 'coords' column level."
            )
        for name in columns:
            columns[name] += found.get(name, [None] * n_columns)
        blocks.append(group[f"block{block}_values"][()])
    values = np.concatenate(blocks, axis=1)
    keypoints = list(dict.fromkeys(columns["bodyparts"]))
    individuals = list(dict.fromkeys(columns["individuals"]))
    coords = [c for c in _SPATIAL_COORDS if c in columns["coords"]]
    shape = (values.shape[0], len(individuals), len(keypoints))
    positions = np.full((*shape, len(coords)), np.nan)
    confidence = np.full(shape, np.nan) if "likelihood" in columns["coords"] else None
    for i, coord in enumerate(columns["coords"]):
        where = (
            individuals.index(columns["individuals"][i]),
            keypoints.index(columns["bodyparts"][i]),
        )
        if coord in coords:
            positions[:, where[0], where[1], coords.index(coord)] = values[:, i]
        elif coord == "likelihood":
            confidence[:, where[0], where[1]] = values[:, i]
    return _Tracks(
        positions,
        keypoints=keypoints,
        individuals=None if individuals == [None] else individuals,
        metadata={"format": "pandas-hdf5"},
        confidence=confidence,
    )


def _read_mat(path, dataset):
    from scipy.io import loadmat

    try:
        contents = loadmat(path, simplify_cells=True)
    except NotImplementedError as error:
        raise ValueError(
            f"{path} is a MATLAB v7.3 (HDF5) file; save it with -v7 or read "
            "its arrays with h5py."
        ) from error
    variables = {k: v for k, v in contents.items() if not k.startswith("__")}
    if dataset is not None:
        if dataset not in variables:
            raise ValueError(
                f"No variable {dataset!r} in {path}; variables are {list(variables)}."
            )
        return _Tracks(variables[dataset], metadata={"format": "mat"})
    if "labelData" in variables:
        return _read_dannce_labels(variables)
    if "pred" in variables:
        metadata = {"format": "dannce-predictions"}
        if "sampleID" in variables:
            metadata["sample_ids"] = np.atleast_1d(variables["sampleID"])
        return _Tracks(np.swapaxes(variables["pred"], 1, 2), metadata=metadata)
    for value in variables.values():
        if isinstance(value, dict) and "Trajectories" in value:
            return _read_qualisys(value)
    raise ValueError(
        f"{path} is not a known pose file (DANNCE, Qualisys); pass dataset= "
        f"one of its variables {list(variables)}."
    )


def _read_dannce_labels(variables):
    cameras = variables["labelData"]
    labels = cameras[0] if isinstance(cameras, (list, np.ndarray)) else cameras
    data = np.atleast_2d(labels["data_3d"])
    metadata = {
        "format": "dannce-labels",
        "sample_ids": np.atleast_1d(labels["data_sampleID"]),
    }
    return _Tracks(data.reshape(data.shape[0], -1, 3), metadata=metadata)


def _read_qualisys(session):
    labeled = session["Trajectories"]["Labeled"]
    names = [_text(n) for n in np.atleast_1d(labeled["Labels"])]
    data = np.asarray(labeled["Data"], dtype=np.float64)
    data = data.reshape(len(names), data.shape[-2], data.shape[-1])
    return _Tracks(
        np.transpose(data[:, :3, :], (2, 0, 1)),
        keypoints=names,
        fps=session.get("FrameRate"),
        metadata={"format": "qualisys", "start_frame": session.get("StartFrame")},
    )


def _read_with_movement(path, source_software, fps):
    display = warnings.showwarning
    try:
        from movement.io import load_dataset
    except ImportError as error:
        raise ImportError(
            f"Reading {source_software} files needs the optional package "
            "'movement' (0.14 or later): pip install movement (or pip install "
            "'sklearn_scrubvae[io]')."
        ) from error
    finally:
        # Importing movement routes every warning of the process through its
        # logger (warnings.showwarning); reading a file should not change that.
        warnings.showwarning = display
    data = load_dataset(path, source_software=source_software, fps=fps)
    order = ("time", "individuals", "keypoints")
    position = data["position"].transpose(*order, "space")
    return _Tracks(
        position.values,
        keypoints=[_text(k) for k in position.coords["keypoints"].values],
        individuals=[_text(i) for i in position.coords["individuals"].values],
        fps=data.attrs.get("fps"),
        metadata={"format": "movement", "source_software": source_software},
        confidence=data["confidence"].transpose(*order).values,
    )
