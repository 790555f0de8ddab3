"""Reading keypoint tracks from files into arrays."""

from numbers import Integral, Real
from pathlib import Path

import numpy as np

from ..pose.skeleton import Skeleton, get_skeleton, match_keypoints

_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
_SPATIAL_COORDS = ("x", "y", "z")
_TRACKERS = ("DeepLabCut", "SLEAP", "LightningPose", "Anipose")


def load_poses(
    path,
    *,
    keypoints=None,
    keypoint_names=None,
    fps=None,
    dataset=None,
    individual=None,
    source_software=None,
):
    """Load keypoint tracks of one animal from a file.

    Supported inputs, chosen by file extension:

    - ``.npy``: an array of shape (n_frames, n_keypoints, n_dims) or
      (n_frames, n_individuals, n_keypoints, n_dims).
    - ``.npz``: the array named ``dataset`` (default ``"poses"``, or the only
      array); optional arrays ``keypoint_names`` and ``fps`` are read too.
    - ``.h5``, ``.hdf5``, ``.hdf`` (HDF5, read with h5py): a DeepLabCut-style
      pandas table saved in the "fixed" format (read without PyTables), or a
      dataset shaped like the arrays above. ``dataset`` names the table's
      group or the dataset; by default the file's only table, else its only
      dataset whose last axis has size 2 or 3.
    - ``.mat`` (MATLAB up to v7): DANNCE ``label3d`` files (``labelData``
      with ``data_3d`` of shape (n_frames, 3 * n_keypoints)), DANNCE
      predictions (``pred`` of shape (n_frames, 3, n_keypoints)), Qualisys
      motion capture exports (a struct with ``Trajectories.Labeled.Data`` of
      shape (n_keypoints, 4, n_frames), ``Labels`` and ``FrameRate``), or
      the variable named ``dataset``.
    - Any file of DeepLabCut, SLEAP, LightningPose or Anipose when
      ``source_software`` is given, through the optional ``movement``
      package.

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
        Read the file with ``movement.io.load_poses.from_file`` for that
        tracker (``pip install movement``).

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
        does not name them), ``individual`` (index returned) and format
        specific entries (e.g. ``sample_ids`` for DANNCE files).

    Raises
    ------
    ValueError
        For an unsupported extension, an ambiguous file, an unknown
        individual or missing keypoints.
    ImportError
        When ``source_software`` is given and ``movement`` is missing.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_scrubvae.io import load_poses
    >>> path = os.path.join(tempfile.mkdtemp(), "poses.npz")
    >>> np.savez(path, poses=np.zeros((5, 3, 3)), keypoint_names=["a", "b", "c"],
    ...          fps=30)
    >>> poses, names, fps, metadata = load_poses(path, keypoints=["c", "a"])
    >>> poses.shape, names, fps
    ((5, 2, 3), ['c', 'a'], 30.0)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    if source_software is not None:
        tracks = _read_with_movement(path, source_software, fps)
    else:
        suffix = path.suffix.lower()
        if suffix == ".npy":
            tracks = _read_npy(path)
        elif suffix == ".npz":
            tracks = _read_npz(path, dataset)
        elif suffix in _HDF5_SUFFIXES:
            tracks = _read_hdf5(path, dataset)
        elif suffix == ".mat":
            tracks = _read_mat(path, dataset)
        else:
            raise ValueError(
                f"Unsupported file extension {path.suffix!r}; load_poses reads "
                f".npy, .npz, {', '.join(_HDF5_SUFFIXES)} and .mat files, and "
                f"tracker outputs given source_software (one of {_TRACKERS})."
            )
    positions, names, individuals, file_fps, metadata = tracks
    if positions.ndim == 3:
        positions = positions[:, None]
    if positions.ndim != 4 or positions.shape[-1] not in (2, 3):
        raise ValueError(
            "Expected tracks of shape (n_frames, [n_individuals,] n_keypoints, "
            f"2 or 3) in {path}, got shape {positions.shape}."
        )
    chosen = _individual_index(individual, individuals, positions.shape[1])
    poses = np.asarray(positions[:, chosen], dtype=np.float64)
    names = _keypoint_names(keypoint_names, names, poses.shape[1])
    if keypoints is not None:
        poses = poses[:, match_keypoints(names, keypoints)]
        names = _target_names(keypoints)
    if fps is not None:
        if not isinstance(fps, Real) or isinstance(fps, bool) or not fps > 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}.")
        file_fps = fps
    metadata = {
        "path": str(path),
        "individuals": individuals,
        "individual": chosen,
        **metadata,
    }
    return poses, names, None if file_fps is None else float(file_fps), metadata


def _individual_index(individual, individuals, n_individuals):
    if individual is None:
        if n_individuals > 1:
            raise ValueError(
                f"The file holds {n_individuals} individuals "
                f"({individuals or 'unnamed'}); pass individual= a name or index."
            )
        return 0
    if isinstance(individual, str):
        if individuals is None or individual not in individuals:
            raise ValueError(
                f"Unknown individual {individual!r}; the file's individuals "
                f"are {individuals or f'unnamed, indices 0-{n_individuals - 1}'}."
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


def _read_npy(path):
    return np.load(path, allow_pickle=False), None, None, None, {"format": "npy"}


def _read_npz(path, dataset):
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        arrays = [k for k in keys if k not in ("keypoint_names", "fps")]
        if dataset is None:
            if "poses" not in keys and len(arrays) != 1:
                raise ValueError(
                    f"{path} holds arrays {keys}; pass dataset= the one to read."
                )
            dataset = "poses" if "poses" in keys else arrays[0]
        if dataset not in keys:
            raise ValueError(f"No array {dataset!r} in {path}; arrays are {keys}.")
        names = archive["keypoint_names"].tolist() if "keypoint_names" in keys else None
        fps = archive["fps"].item() if "fps" in keys else None
        return archive[dataset], names, None, fps, {"format": "npz"}


def _read_hdf5(path, dataset):
    import h5py

    with h5py.File(path, "r") as file:
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
        return item[()], None, None, None, {"format": "hdf5", "dataset": dataset}


def _is_pandas_frame(item):
    return _text(item.attrs.get("pandas_type", b"")) == "frame"


def _read_pandas_frame(group):
    """Decode a DataFrame with multi-level columns stored by pandas ("fixed").

    Columns carry the levels ``bodyparts``, ``coords`` (x, y[, z] and
    possibly ``likelihood``, dropped) and optionally ``individuals``, as
    written by DeepLabCut and similar tools.
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
    spatial = [i for i, c in enumerate(columns["coords"]) if c in coords]
    positions = np.full(
        (values.shape[0], len(individuals), len(keypoints), len(coords)), np.nan
    )
    positions[
        :,
        [individuals.index(columns["individuals"][i]) for i in spatial],
        [keypoints.index(columns["bodyparts"][i]) for i in spatial],
        [coords.index(columns["coords"][i]) for i in spatial],
    ] = values[:, spatial]
    names = None if individuals == [None] else individuals
    return positions, keypoints, names, None, {"format": "pandas-hdf5"}


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
        return variables[dataset], None, None, None, {"format": "mat"}
    if "labelData" in variables:
        return _read_dannce_labels(variables)
    if "pred" in variables:
        metadata = {"format": "dannce-predictions"}
        if "sampleID" in variables:
            metadata["sample_ids"] = np.atleast_1d(variables["sampleID"])
        return np.swapaxes(variables["pred"], 1, 2), None, None, None, metadata
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
    positions = data.reshape(data.shape[0], -1, 3)
    metadata = {
        "format": "dannce-labels",
        "sample_ids": np.atleast_1d(labels["data_sampleID"]),
    }
    return positions, None, None, None, metadata


def _read_qualisys(session):
    labeled = session["Trajectories"]["Labeled"]
    names = [_text(n) for n in np.atleast_1d(labeled["Labels"])]
    data = np.asarray(labeled["Data"], dtype=np.float64)
    data = data.reshape(len(names), data.shape[-2], data.shape[-1])
    positions = np.transpose(data[:, :3, :], (2, 0, 1))
    metadata = {"format": "qualisys", "start_frame": session.get("StartFrame")}
    return positions, names, None, session.get("FrameRate"), metadata


def _read_with_movement(path, source_software, fps):
    if source_software not in _TRACKERS:
        raise ValueError(
            f"source_software must be one of {_TRACKERS}, got {source_software!r}."
        )
    try:
        from movement.io import load_poses as movement_load_poses
    except ImportError as error:
        raise ImportError(
            f"Reading {source_software} files needs the optional package "
            "'movement': pip install movement (or pip install "
            "'sklearn_scrubvae[io]')."
        ) from error
    data = movement_load_poses.from_file(path, source_software=source_software, fps=fps)
    position = data["position"]
    if "individuals" in position.dims:
        array = position.transpose("time", "individuals", "keypoints", "space").values
        individuals = [_text(i) for i in position.coords["individuals"].values]
    else:
        array = position.transpose("time", "keypoints", "space").values[:, None]
        individuals = None
    keypoints = [_text(k) for k in position.coords["keypoints"].values]
    metadata = {"format": "movement", "source_software": source_software}
    return array, keypoints, individuals, data.attrs.get("fps"), metadata
