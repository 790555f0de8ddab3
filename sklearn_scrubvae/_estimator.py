"""ScrubbedCVAE: the scikit-learn estimator."""

import numbers
import os

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _distributed
from ._coverage import (
    bridge_embeddings,
    warn_all_columns,
    warn_bridged,
    warn_dropped_windows,
    warn_joined_recordings,
    warn_unordered_index,
)
from ._dataset import LatentDataset, WindowDataset
from ._device import (
    frames_fit_on_device,
    PRECISIONS,
    check_precision,
    draw_seed,
    make_generator,
    resolve_device,
    seeded,
)
from ._inputs import (
    FeatureInput,
    SkeletonInput,
    check_frames_chunked,
    frames_as_tensors,
    iter_chunks,
)
from ._nuisance import NuisanceEncoder
from ._persistence import load_estimator, save_estimator
from ._run import continue_from, run_epochs, training_callbacks
from ._training import RecordingChunkSplit, ScrubbedVAENet, make_callbacks
from ._windows import clean_windows, compute_segments, full_window_centers
from .nn.model import ScrubbedVAE
from .pose import Skeleton, get_skeleton
from .scrubbers import CATEGORICAL_ONLY, SCRUBBERS, make_scrubber


class ScrubbedCVAE(TransformerMixin, BaseEstimator):
    """Scrubbed conditional variational autoencoder of frame sequences.

    Learns a latent code of short windows of frames (pose dynamics) that
    describes behaviour while carrying as little information as possible
    about user-given nuisance variables (speed, heading, animal identity...).
    The decoder receives the nuisance next to the latent code (conditional
    VAE), and a *scrubber* penalises whatever nuisance information remains
    decodable from the posterior mean.

    Rows of ``X`` are frames. Each frame is embedded through the window of
    ``window`` frames centred on it; ``groups`` (one recording id per frame)
    keeps windows inside a recording, and windows at a recording edge repeat
    the edge frame. Cross-validate on frames with ``GroupKFold`` or unshuffled
    folds: neighbouring frames share windows.

    Parameters
    ----------
    scrubber : {"gr", "nd", "mals", "qd", "mi"}, dict or None, default="mals"
        How nuisance information is removed from the latent code: gradient
        reversal, neural discriminator, moving-average least squares,
        quadratic discriminant filter or kernel mutual information. A dict
        maps nuisance columns to scrubber names (columns left out are only
        conditioned on). None trains without scrubbing. "qd" and "nd" need
        categorical columns.
    nuisance : list of str or int, str, int or None, default=None
        Columns of the nuisance table to condition on and scrub. None means
        all columns.
    n_components : int, default=64
        Latent dimension.
    conditional : bool, default=True
        Whether the decoder sees the nuisance (C-VAE). ``False`` with a
        scrubber gives the VAE-QD / VAE-GR baselines; ``False`` without one a
        plain VAE.
    lam : float, default=2.5
        Weight of the scrubber penalty in the encoder's loss. The default is
        the paper's QD and MALS weight translated to this package's unit-free
        reconstruction term for mouse-sized data (see the user guide, "The
        paper's loss weights in our units").
    alpha : float, default=1.0
        Gradient-reversal scale of the "gr" and "nd" adversaries.
    beta : float, default=1.0
        Weight of the KL divergence; 1 is the plain ELBO, as in the paper
        (the reference code's KL weight ``w`` is about ``w / 8.3`` here for
        mice with 15 mm bones).
    poly_order : {1, 2, 3}, default=1
        Polynomial order of the "mals" features (MALS, MAQS, MACS).
    forgetting_factor : "auto" or float, default="auto"
        Forgetting factor of the moving-average scrubbers ("mals", "qd"): the
        weight of their old statistics when a batch is added, the same
        meaning for both (1 never forgets, 0 keeps only the latest batch; a
        fixed ``f`` remembers about ``1 / (1 - f)`` batches). "auto" tunes it
        during training (self-tuning forgetting factor).
    scrubber_params : dict or None, default=None
        Further options per scrubber name, e.g. ``{"nd": {"n_iter": 5}}``.
    skeleton : str, Skeleton or None, default=None
        Pose mode: X holds keypoints of this skeleton (a registered name such
        as ``"mouse18"`` or a :class:`~sklearn_scrubvae.pose.Skeleton`), as
        (n_frames, n_keypoints, 3) or flattened (n_frames, 3 * n_keypoints).
        Frames become joint rotations (6D), root trajectory and bone lengths
        (inverse kinematics); the loss scores keypoints through forward
        kinematics. NaN marks missing keypoints. None: generic features.
    alignment : {"midfwd", "x360"}, default="midfwd"
        Pose mode: egocentric alignment of each window on its centre frame;
        "midfwd" translates the root to the origin (x, y) and turns the
        centre frame to face +x, "x360" only translates (keeps heading).
    max_gap : int, default=10
        Pose mode: gaps of at most this many frames are linearly
        interpolated; windows touching longer gaps are left out of training
        and get NaN embeddings.
    max_displacement : float or None, default=None
        Pose mode: frames whose mean keypoint displacement since the
        previous frame exceeds it are treated as tracking errors (left out
        like gaps). None keeps all frames.
    unusable_frames : {"nearest", "nan"}, default="nearest"
        What :meth:`transform` returns for a frame whose window touches
        unusable frames (long gaps, tracking errors): "nearest" gives it the
        embedding of the nearest usable frame of its recording, with a
        warning saying how many, so a Pipeline (e.g. with KMeans) runs on
        gappy recordings; "nan" gives NaN rows. :meth:`valid_frames` marks
        the frames with an embedding of their own either way.
    window : int, default=51
        Frames per window (odd).
    stride : int, default=1
        Step between the centres of training windows.
    hidden_channels : tuple of int, default=(64, 128, 256)
        Convolution channels per resolution level; each level after the
        first halves the time axis with a residual block.
    kernel_size : int, default=7
        Temporal kernel width (odd).
    covariance : {"full", "diag"}, default="full"
        Posterior covariance: full (Cholesky factor) or diagonal.
    max_iter : int, default=400
        Passes over the training windows (epochs).
    batch_size : int, default=2048
        Windows per optimiser step.
    learning_rate : float, default=1e-4
        AdamW learning rate.
    weight_decay : float, default=0.01
        AdamW weight decay.
    gradient_clip : float or None, default=1e4
        Maximum gradient norm.
    early_stopping : bool, default=False
        Hold out the last ``validation_fraction`` of the windows of every
        recording and stop when the validation loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs; the best weights are kept.
    validation_fraction : float, default=0.1
        Share of each recording's windows held out for early stopping
        (rounded per recording; at least one window of every recording with
        two or more).
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    warm_start : bool, default=False
        When fitted already, continue training from the fitted weights,
        optimiser and scrubber state for ``max_iter`` more epochs instead of
        starting afresh (as scikit-learn's MLP does); ``n_iter_``,
        ``loss_curve_`` and ``history_`` accumulate. The input
        standardisation and nuisance encoding of the first fit are kept.
    checkpoint_dir : str, path-like or None, default=None
        Directory where the whole training state (weights, optimiser,
        scrubber state, random generators, history) is written atomically
        every ``checkpoint_every`` epochs. Fitting again with the same
        directory, parameters and data resumes from the last checkpoint and
        runs the epochs left up to ``max_iter``. A checkpoint of another run
        is refused with an error.
    checkpoint_every : int, default=10
        Epochs between checkpoints; at most this many are lost in a crash.
    on_divergence : {"raise", "warn"}, default="raise"
        What a non-finite training loss does. Training stops at the end of
        that epoch and the model of the last epoch with a finite loss is
        restored; then "raise" raises a FloatingPointError naming the epoch
        and likely causes, "warn" keeps that model with a warning.
    device : str, default="auto"
        Torch device; "auto" picks CUDA, then MPS, then the CPU.
    precision : {"32", "bf16"}, default="32"
        Arithmetic of the network: "32" is float32 (with TF32 matrix
        products on CUDA); "bf16" runs its forward pass under bfloat16
        autocast where the device supports it (fastest on recent GPUs;
        slow on CPUs without bf16 instructions). Losses and scrubbers
        always compute in float32.
    compile : bool, default=False
        Compile the network with ``torch.compile`` (slower first epoch,
        faster later ones on GPUs).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and posterior sampling
        through private torch generators (the global torch seed is left
        alone).
    verbose : int, default=0
        0 silent, 1 a line per epoch, 2 also a progress bar.

    Attributes
    ----------
    n_features_in_ : int
        Features per frame seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has string column names.
    module_ : ScrubbedVAE
        The trained torch module.
    net_ : ScrubbedVAENet
        The skorch net that trained it.
    history_ : skorch.History
        Per-epoch means over windows (batches weighted by their size) of
        the loss and its terms: ``train_loss``, ``train_reconstruction``,
        ``train_kl``, ``train_penalty`` (all scrubbers) and
        ``train_<column>_penalty`` (each scrubber), their ``valid_``
        counterparts with early stopping, per-batch values under
        ``"batches"``, and scrubber state such as
        ``<column>_forgetting_factor_a``, or for "gr" the adversary's and a
        freshly fitted probe's loss, ``<column>_adversary_loss`` and
        ``<column>_probe_loss`` (an adversary far above the probe is fooled).
    loss_curve_ : list of float
        Training loss per epoch.
    n_iter_ : int
        Epochs run.
    nuisance_columns_ : list
        Nuisance columns used.
    scrubbers_ : dict
        Scrubber name per scrubbed column.
    device_ : torch.device
        Device the model was trained on.
    n_windows_ : int
        Training windows.
    n_windows_dropped_ : int
        Windows left out of training because they touch unusable frames
        (long gaps, tracking errors).
    skeleton_ : Skeleton or None
        Resolved skeleton (pose mode).

    References
    ----------
    .. [1] Wu, Koneru, Ravenel, Sabath, Roach, Lim, Tadross, Williams, Dunn,
       "Disentangling 3D Animal Pose Dynamics with Scrubbed Conditional
       Latent Variables", ICLR 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_scrubvae import ScrubbedCVAE
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> animal = np.repeat([0, 1, 2], 100)
    >>> est = ScrubbedCVAE(scrubber="qd", n_components=2, window=5,
    ...                    hidden_channels=(8, 16), max_iter=2, batch_size=64,
    ...                    random_state=0)
    >>> Z = est.fit_transform(X, animal, groups=animal)
    >>> Z.shape
    (300, 2)
    """

    _parameter_constraints = {
        "scrubber": [StrOptions(set(SCRUBBERS)), dict, None],
        "nuisance": [list, tuple, str, numbers.Integral, None],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "conditional": ["boolean"],
        "lam": [Interval(numbers.Real, 0, None, closed="left")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "poly_order": [Interval(numbers.Integral, 1, 3, closed="both")],
        "forgetting_factor": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1, closed="both")],
        "scrubber_params": [dict, None],
        "skeleton": [str, Skeleton, None],
        "alignment": [StrOptions({"midfwd", "x360"})],
        "max_gap": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_displacement": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "unusable_frames": [StrOptions({"nearest", "nan"})],
        "window": [Interval(numbers.Integral, 1, None, closed="left")],
        "stride": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_channels": [tuple, list],
        "kernel_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "covariance": [StrOptions({"full", "diag"})],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "gradient_clip": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 0.5, closed="right")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
        "on_divergence": [StrOptions({"raise", "warn"})],
        "device": [str, torch.device],
        "precision": [StrOptions(set(PRECISIONS))],
        "compile": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        scrubber="mals",
        nuisance=None,
        n_components=64,
        conditional=True,
        lam=2.5,
        alpha=1.0,
        beta=1.0,
        poly_order=1,
        forgetting_factor="auto",
        scrubber_params=None,
        skeleton=None,
        alignment="midfwd",
        max_gap=10,
        max_displacement=None,
        unusable_frames="nearest",
        window=51,
        stride=1,
        hidden_channels=(64, 128, 256),
        kernel_size=7,
        covariance="full",
        max_iter=400,
        batch_size=2048,
        learning_rate=1e-4,
        weight_decay=0.01,
        gradient_clip=1e4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        checkpoint_dir=None,
        checkpoint_every=10,
        on_divergence="raise",
        device="auto",
        precision="32",
        compile=False,
        random_state=None,
        verbose=0,
    ):
        self.scrubber = scrubber
        self.nuisance = nuisance
        self.n_components = n_components
        self.conditional = conditional
        self.lam = lam
        self.alpha = alpha
        self.beta = beta
        self.poly_order = poly_order
        self.forgetting_factor = forgetting_factor
        self.scrubber_params = scrubber_params
        self.skeleton = skeleton
        self.alignment = alignment
        self.max_gap = max_gap
        self.max_displacement = max_displacement
        self.unusable_frames = unusable_frames
        self.window = window
        self.stride = stride
        self.hidden_channels = hidden_channels
        self.kernel_size = kernel_size
        self.covariance = covariance
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.gradient_clip = gradient_clip
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.on_divergence = on_divergence
        self.device = device
        self.precision = precision
        self.compile = compile
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, nuisance=None, groups=None):
        """Train the model.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
            One row per frame, frames of a recording in time order.
        y : DataFrame, Series or array-like of shape (n_frames,) or (n_frames, n_columns), default=None
            Nuisance table, one row per frame. Categorical columns
            (category, object, string, bool, integer dtypes) are one-hot
            encoded for the decoder; float columns are standardised.
        nuisance : same as y, default=None
            Nuisance table given by keyword (e.g. through metadata routing);
            it wins over ``y``, which may then carry class labels for a later
            Pipeline step.
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame; windows never cross recordings.

        Returns
        -------
        self : ScrubbedCVAE
        """
        self._check_params()
        warm = self.warm_start and hasattr(self, "net_")
        X = self._validate_frames(X, reset=not warm)
        n_frames = X.shape[0]
        table = nuisance if nuisance is not None else y
        warn_unordered_index(table)
        if not warm:  # a warm start keeps the encodings its weights were trained on
            self._fit_nuisance(table, n_frames)
            self.input_ = self._make_input().fit(X, groups=groups, window=self.window)
        if self.skeleton_ is not None and not isinstance(X, np.memmap):
            warn_joined_recordings(X, groups)
        frames, valid = self.input_.frames(X, groups)
        valid, nuisance_missing = self._exclude_missing_nuisance(valid, table, n_frames)
        start, stop = compute_segments(n_frames, groups)
        centers = full_window_centers(start, stop, self.window, self.stride, valid)
        all_centers = full_window_centers(start, stop, self.window, self.stride)
        self.n_windows_dropped_ = len(all_centers) - len(centers)
        self._warn_dropped_windows(X, groups, start, stop, all_centers, centers, nuisance_missing)
        if len(centers) == 0:
            raise ValueError(
                f"X has n_samples={n_frames} frames but no recording holds a full window of "
                f"window={self.window} frames; pass more frames or a smaller window."
            )
        self.n_windows_ = len(centers)
        self.device_ = resolve_device(self.device)
        seed = draw_seed(self.random_state)
        if _distributed.is_distributed():
            self.device_ = _distributed.setup_process_group(self.device_)
            seed = _distributed.broadcast_seed(seed, self.device_)
        check_precision(self.precision, self.device_)
        generator = make_generator(seed, self.device_)
        previous = self.net_ if warm else None
        if warm:
            module = self.module_
        else:
            with seeded(seed):
                module = self._build_module(generator)
        self.net_ = self._make_net(module, generator)
        self.net_.initialize()
        if warm:
            continue_from(self.net_, previous)
        dataset = self._window_dataset(frames, start, stop, centers, table, with_targets=True)
        try:
            run_epochs(self, self.net_, dataset, warm=warm)
        finally:
            # Generators stay out of the fitted model (a CUDA generator could
            # not be unpickled on a CPU-only machine).
            self.net_.generator = None
            self.net_.iterator_train__generator = None
            # Also after a divergence error: the restored model stays usable.
            self.loss_curve_ = [float(row["train_loss"]) for row in self.history_]
            self.n_iter_ = len(self.history_)
        return self

    def fit_transform(self, X, y=None, *, nuisance=None, groups=None):
        """Fit, then embed every frame of ``X`` (see :meth:`fit`, :meth:`transform`).

        Returns
        -------
        Z : ndarray of shape (n_frames, n_components)
        """
        return self.fit(X, y, nuisance=nuisance, groups=groups).transform(X, groups=groups)

    # ------------------------------------------------------------ transform

    def transform(self, X, *, groups=None):
        """Embed each frame: the posterior mean of the window centred on it.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame.

        Returns
        -------
        Z : ndarray of shape (n_frames, n_components)
            Posterior means. A frame whose window touches unusable frames
            gets the embedding of the nearest usable frame of its recording
            or a NaN row, as ``unusable_frames`` says; :meth:`valid_frames`
            marks the frames with an embedding of their own.
        """
        check_is_fitted(self)
        X = self._validate_frames(X, reset=False)
        n_frames = X.shape[0]
        Z = np.full((n_frames, self.n_components), np.nan)
        usable = np.zeros(n_frames, dtype=bool)
        for begin, end, dataset, chunk_usable in self._usable_chunks(X, groups, embed=True):
            usable[begin:end] = chunk_usable
            if chunk_usable.any():
                Z[begin:end][chunk_usable] = self._predict(dataset)
        if self.unusable_frames == "nearest" and not usable.all():
            start, stop = compute_segments(n_frames, groups)
            Z = bridge_embeddings(Z, usable, start, stop)
            n_left = int(np.isnan(Z[:, 0]).sum())
            warn_bridged(int((~usable).sum()) - n_left, n_frames, n_left)
        return Z

    def valid_frames(self, X, *, groups=None):
        """Which frames have an embedding of their own.

        A frame's embedding is its own when its window, clipped to its
        recording, touches no unusable frame (a keypoint still missing after
        gap filling, a tracking error). Other frames get a bridged embedding
        or NaN from :meth:`transform` (see ``unusable_frames``); leave them
        out of statistics that must not mix in their neighbours.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame.

        Returns
        -------
        valid : ndarray of bool, shape (n_frames,)
        """
        check_is_fitted(self)
        X = self._validate_frames(X, reset=False)
        valid = np.zeros(X.shape[0], dtype=bool)
        for begin, end, _, chunk_usable in self._usable_chunks(X, groups, embed=False):
            valid[begin:end] = chunk_usable
        return valid

    def _usable_chunks(self, X, groups, embed):
        """Chunks of frames with the usability of their windows.

        Frames are read chunk by chunk, each with the context its windows
        need, so X may be far larger than memory.

        Yields
        ------
        begin, end : int
            Frames ``begin:end`` of X.
        dataset : WindowDataset or None
            Their usable windows (when ``embed``).
        usable : ndarray of bool, shape (end - begin,)
        """
        n_frames = X.shape[0]
        compute_segments(n_frames, groups)  # checks groups
        groups = None if groups is None else np.asarray(groups)
        for lo, begin, end, hi in iter_chunks(n_frames, pad=self.window // 2 + self.input_.context):
            part = None if groups is None else groups[lo:hi]
            frames, valid = self.input_.frames(X[lo:hi], part)
            start, stop = compute_segments(hi - lo, part)
            centers = np.arange(begin - lo, end - lo)
            usable = clean_windows(centers, start, stop, self.window, valid)
            dataset = None
            if embed and usable.any():
                dataset = self._window_dataset(frames, start, stop, centers[usable], nuisance=False)
            yield begin, end, dataset, usable

    def inverse_transform(self, X, *, nuisance=None):
        """Decode embeddings back to frames (the centre frame of each window).

        Parameters
        ----------
        X : array-like of shape (n, n_components)
            Latent codes, e.g. from :meth:`transform`. NaN rows stay NaN.
        nuisance : DataFrame or array-like with n rows, default=None
            Nuisance values to decode with; required when ``conditional``.

        Returns
        -------
        X_original : ndarray of shape (n, n_features_in_)
            In pose mode, keypoints of the egocentric centre frame, shaped
            like the X given to fit: (n, n_keypoints, 3) or flattened.
        """
        windows = self.decode_windows(X, nuisance=nuisance)
        centre = windows[:, self.window // 2]
        return centre if self._poses_3d_ else centre.reshape(len(centre), -1)

    def decode_windows(self, Z, *, nuisance=None):
        """Decode embeddings into whole windows (motion synthesis).

        Parameters
        ----------
        Z : array-like of shape (n, n_components)
            Latent codes. NaN rows give NaN windows.
        nuisance : DataFrame or array-like with n rows, default=None
            Nuisance values to decode with; required when ``conditional``.
            Change them to synthesise the same behaviour at another speed,
            heading or identity.

        Returns
        -------
        windows : ndarray of shape (n, window, n_features_in_)
            In pose mode (n, window, n_keypoints, 3): egocentric keypoints,
            posed with the median bone lengths seen in fit.
        """
        check_is_fitted(self)
        Z = self._check_latent(Z)
        n = Z.shape[0]
        if self.conditional:
            if nuisance is None:
                raise ValueError(
                    "This model is conditional: decoding needs the nuisance table "
                    "(pass nuisance=...)."
                )
            decoder_v, _ = self.nuisance_encoder_.transform(nuisance, n)
        else:
            decoder_v = np.zeros((n, 0), np.float32)
        ok = ~np.isnan(Z).any(axis=1)
        if self.conditional:
            ok &= ~self.nuisance_encoder_.missing_rows(nuisance, n)
        windows = np.full((n, self.window) + self._window_frame_shape(), np.nan)
        if ok.any():
            dataset = LatentDataset(
                torch.as_tensor(Z[ok], dtype=torch.float32, device=self.device_),
                torch.as_tensor(decoder_v[ok], device=self.device_),
            )
            windows[ok] = self.input_.to_windows(self._predict(dataset))
        return windows

    def score(self, X, y=None, *, nuisance=None, groups=None):
        """Mean evidence lower bound (ELBO) per window, higher is better.

        Every window lying fully inside a recording is scored with one
        posterior sample (seeded by ``random_state``), as the log-likelihood
        of its frames in X's units (unit-variance Gaussian in standardised
        units, with the standardisation's Jacobian) minus the KL divergence.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        y, nuisance, groups : see :meth:`fit`

        Returns
        -------
        elbo : float
        """
        check_is_fitted(self)
        X = self._validate_frames(X, reset=False)
        n_frames = X.shape[0]
        table = nuisance if nuisance is not None else y
        frames, valid = self.input_.frames(X, groups)
        if table is not None:
            valid, _ = self._exclude_missing_nuisance(valid, table, n_frames)
        start, stop = compute_segments(n_frames, groups)
        centers = full_window_centers(start, stop, self.window, 1, valid)
        if len(centers) == 0:
            raise ValueError(
                f"X has n_samples={n_frames} frames and no full window of {self.window} frames."
            )
        if self.conditional and table is None:
            raise ValueError(
                "This model is conditional: scoring needs the nuisance table (pass y or "
                "nuisance=...)."
            )
        dataset = self._window_dataset(frames, start, stop, centers, table)
        self.net_.generator = make_generator(draw_seed(self.random_state), self.device_)
        try:
            elbo = torch.cat(
                [
                    -(out["reconstruction"] + out["kl"]).double()
                    for out in self.net_.forward_iter(dataset, device=self.device_)
                ]
            )
        finally:
            self.net_.generator = None
        return float(elbo.mean().cpu()) + float(self.input_.log_det_jacobian(self.window))

    @property
    def module_(self):
        """The trained :class:`~sklearn_scrubvae.nn.ScrubbedVAE` (held by ``net_``)."""
        return self.net_.module_

    @property
    def history_(self):
        """Per-epoch training history (skorch ``History``, held by ``net_``)."""
        return self.net_.history

    def __setstate__(self, state):
        # skorch maps the module to the CPU when CUDA is missing on load;
        # follow it, so a model trained on a GPU runs on a CPU-only machine.
        super().__setstate__(state)
        if "net_" in state:
            self.device_ = torch.device(self.net_.device)

    # -------------------------------------------------------------- helpers

    def _check_params(self):
        if self.window % 2 == 0:
            raise ValueError(f"window must be odd so windows have a centre frame, got {self.window}.")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}.")
        if len(self.hidden_channels) == 0 or any(
            not isinstance(c, numbers.Integral) or c < 1 for c in self.hidden_channels
        ):
            raise ValueError(
                f"hidden_channels must be a non-empty tuple of positive ints, got "
                f"{self.hidden_channels!r}."
            )
        if isinstance(self.scrubber, dict):
            unknown = {name for name in self.scrubber.values() if name not in SCRUBBERS}
            if unknown:
                raise ValueError(
                    f"Unknown scrubber name(s) {sorted(unknown)}; choose from {sorted(SCRUBBERS)}."
                )

    def _needs_nuisance(self):
        return self.conditional or bool(self.scrubber)

    def _exclude_missing_nuisance(self, valid, table, n_frames):
        """Frames usable once those with a NaN nuisance row are left out too."""
        if not self._needs_nuisance():
            return valid, np.zeros(n_frames, dtype=bool)
        missing = self.nuisance_encoder_.missing_rows(table, n_frames)
        if not missing.any():
            return valid, missing
        return (~missing if valid is None else valid & ~missing), missing

    def _warn_dropped_windows(self, X, groups, start, stop, all_centers, centers, nuisance_missing):
        """Warn, naming the keypoints responsible, when many windows are left out."""
        dropped = np.setdiff1d(all_centers, centers)
        dropped_frames = None
        if self.skeleton_ is not None and len(dropped):
            covered = np.zeros(len(start) + 1, dtype=np.int64)
            half = self.window // 2
            np.add.at(covered, dropped - half, 1)
            np.add.at(covered, dropped + half + 1, -1)
            dropped_frames = np.cumsum(covered[:-1]) > 0
        warn_dropped_windows(
            len(dropped),
            len(all_centers),
            poses=None if self.skeleton_ is None or isinstance(X, np.memmap) else X,
            skeleton=self.skeleton_,
            max_gap=self.max_gap,
            groups=groups,
            dropped_frames=dropped_frames,
            n_nuisance_missing=int(nuisance_missing.sum()),
        )

    def _make_input(self):
        if self.skeleton_ is None:
            return FeatureInput()
        return SkeletonInput(
            self.skeleton_, self.alignment, self.max_gap, self.max_displacement
        )

    def _window_frame_shape(self):
        if self.skeleton_ is None:
            return (self.n_features_in_,)
        return (self.skeleton_.n_keypoints, 3)

    def _validate_frames(self, X, reset):
        """Checked frames: (n, n_features) generic, (n, n_keypoints, 3) poses."""
        poses_3d = getattr(X, "ndim", None) == 3
        if reset:
            self.skeleton_ = None if self.skeleton is None else get_skeleton(self.skeleton)
            self._poses_3d_ = poses_3d
        if self.skeleton_ is None:
            if poses_3d:
                raise ValueError(
                    f"X has shape {X.shape}: keypoints (n_frames, n_keypoints, n_dims) need "
                    "skeleton= (e.g. skeleton='mouse18' or a Skeleton) for pose mode; for "
                    "generic features flatten them to (n_frames, n_keypoints * n_dims), "
                    "ideally after sklearn_scrubvae.pose.EgocentricAligner."
                )
            return self._validate_array(X, reset, allow_nan=True)
        if poses_3d:
            X = X if isinstance(X, np.memmap) else np.asarray(X, dtype=np.float64)
            if X.shape[1:] != (self.skeleton_.n_keypoints, 3):
                raise ValueError(
                    f"Poses must have shape (n_frames, {self.skeleton_.n_keypoints}, 3) for "
                    f"this skeleton, got {X.shape}."
                )
            X = X.reshape(len(X), -1)
        X = self._validate_array(X, reset, allow_nan=True)
        if X.shape[1] != 3 * self.skeleton_.n_keypoints:
            raise ValueError(
                f"X has {X.shape[1]} features but the skeleton has "
                f"{self.skeleton_.n_keypoints} keypoints: expected "
                f"(n_frames, {self.skeleton_.n_keypoints}, 3) or "
                f"(n_frames, {3 * self.skeleton_.n_keypoints})."
            )
        if not isinstance(X, np.memmap) and np.isinf(X).any():
            raise ValueError("X contains infinity; mark missing keypoints with NaN.")
        return X.reshape(len(X), self.skeleton_.n_keypoints, 3)

    def _validate_array(self, X, reset, allow_nan):
        """``validate_data``, except that a memory map is checked chunk by chunk.

        A memory-mapped X (``np.load(..., mmap_mode="r")``) is not copied:
        its first row goes through ``validate_data`` (shape, feature count),
        then every value is checked in chunks; float32 stays float32.
        """
        finite = "allow-nan" if allow_nan else True
        if not isinstance(X, np.memmap):
            return validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite=finite)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D memory-mapped X, got shape {X.shape}.")
        validate_data(self, X[:1], reset=reset, dtype=None, ensure_all_finite=finite)
        check_frames_chunked(X, allow_nan)
        return X

    def _fit_nuisance(self, table, n_frames):
        if not self._needs_nuisance():
            self.nuisance_encoder_ = NuisanceEncoder(columns=[]).fit(np.zeros((n_frames, 0)), n_frames)
            self.nuisance_columns_, self.scrubbers_ = [], {}
            return
        if table is None:
            raise ValueError(
                "ScrubbedCVAE requires y to be passed, but the target y is None: a "
                "conditional or scrubbed model needs the nuisance table (pass it as y or "
                "nuisance=...)."
            )
        self.nuisance_encoder_ = NuisanceEncoder(self.nuisance).fit(table, n_frames)
        self.nuisance_columns_ = self.nuisance_encoder_.columns_
        if isinstance(self.scrubber, dict):
            unknown = [c for c in self.scrubber if c not in self.nuisance_columns_]
            if unknown:
                raise ValueError(
                    f"scrubber names column(s) {unknown} that are not nuisance columns "
                    f"{self.nuisance_columns_}."
                )
            self.scrubbers_ = dict(self.scrubber)
        elif self.scrubber is None:
            self.scrubbers_ = {}
        else:
            self.scrubbers_ = {column: self.scrubber for column in self.nuisance_columns_}
        classes = {c: name for c, name in self.scrubbers_.items() if name in CATEGORICAL_ONLY}
        if classes:
            self.nuisance_encoder_ = NuisanceEncoder(self.nuisance, classes).fit(table, n_frames)
        if self.nuisance is None:
            warn_all_columns(self.nuisance_columns_, self.scrubbers_)

    def _scrubber_options(self, name):
        options = {"gr": {"alpha": self.alpha}, "nd": {"alpha": self.alpha}}.get(name, {})
        if name == "mals":
            options = {"poly_order": self.poly_order, "forgetting_factor": self.forgetting_factor}
        elif name == "qd":
            options = {"forgetting_factor": self.forgetting_factor}
        return {**options, **(self.scrubber_params or {}).get(name, {})}

    def _build_module(self, generator):
        scrubbers = {
            self._scrubber_key(column): make_scrubber(
                name,
                n_components=self.n_components,
                n_outputs=self.nuisance_encoder_.n_outputs(column),
                categorical=self.nuisance_encoder_.is_categorical(column),
                generator=generator,
                **self._scrubber_options(name),
            )
            for column, name in self.scrubbers_.items()
        }
        return ScrubbedVAE(
            self.input_.representation(),
            window=self.window,
            n_components=self.n_components,
            nuisance_dim=self.nuisance_encoder_.n_decoder_features,
            conditional=self.conditional,
            hidden_channels=tuple(self.hidden_channels),
            kernel_size=self.kernel_size,
            covariance=self.covariance,
            scrubbers=scrubbers,
        )

    @staticmethod
    def _scrubber_key(column):
        return str(column).replace(".", "_")

    def _make_net(self, module, generator=None):
        """The :class:`ScrubbedVAENet` that trains and runs ``module``."""
        return ScrubbedVAENet(
            module,
            criterion__beta=self.beta,
            criterion__lam=self.lam,
            precision=self.precision,
            compile=self.compile,
            generator=generator,
            iterator_train__generator=generator,
            optimizer=torch.optim.AdamW,
            lr=self.learning_rate,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_iter,
            batch_size=self.batch_size,
            train_split=(
                RecordingChunkSplit(self.validation_fraction) if self.early_stopping else None
            ),
            callbacks=training_callbacks(self) + make_callbacks(
                verbose=self.verbose,
                gradient_clip=self.gradient_clip,
                early_stopping=self.early_stopping,
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
            ),
            device=self.device_,
            verbose=0,  # the epoch log callback reports progress (see make_callbacks)
            torch_load_kwargs={"weights_only": False},
        )

    def _window_dataset(
        self, frames, start, stop, centers, table=None, with_targets=False, nuisance=True
    ):
        """:class:`WindowDataset` of the windows centred on ``centers``.

        It lives on the device when its frames fit there, else in host
        memory, and batches move to the device one by one.
        ``nuisance=False`` leaves the decoder nuisance out of the batches
        (embedding only); ``with_targets`` adds the scrubber targets.
        """
        n_frames = len(start)
        decoder_v, targets = np.zeros((n_frames, 0), np.float32), {}
        if table is not None and self._needs_nuisance():
            encoded_v, targets = self.nuisance_encoder_.transform(table, n_frames)
            if self.conditional:
                decoder_v = encoded_v
        nbytes = sum(value.nbytes for value in frames.values())
        device = self.device_ if frames_fit_on_device(nbytes, self.device_) else torch.device("cpu")
        scrub_targets = {
            self._scrubber_key(column): torch.as_tensor(targets[column], device=device)
            for column in (self.scrubbers_ if with_targets else [])
        }
        return WindowDataset(
            frames=frames_as_tensors(frames),
            nuisance=torch.as_tensor(decoder_v, device=device) if nuisance else None,
            targets=scrub_targets,
            start=torch.as_tensor(start, device=device),
            stop=torch.as_tensor(stop, device=device),
            centers=torch.as_tensor(centers, device=device),
            window=self.window,
        )

    def _predict(self, dataset):
        """The net's batched outputs over ``dataset``, concatenated as float64."""
        return self.net_.forward(dataset, device=self.device_).double().cpu().numpy()

    def _check_latent(self, Z):
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.n_components:
            raise ValueError(
                f"Expected latent codes of shape (n, {self.n_components}), got {Z.shape}."
            )
        if np.isinf(Z).any():
            raise ValueError("Latent codes contain infinity.")
        return Z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._needs_nuisance()
        tags.input_tags.allow_nan = True
        return tags

    # ---------------------------------------------------------- persistence

    def save(self, path):
        """Write the fitted model to one file, without pickle.

        The file (safetensors) holds the module's weights and scrubber
        state as tensors, and the parameters, fitted attributes, training
        history and the package and torch versions as JSON. It is written
        to a temporary name and renamed, so an interrupted save leaves no
        truncated file. Pickle and joblib work as well; this format runs no
        code when loaded.

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.safetensors``.
        """
        check_is_fitted(self)
        save_estimator(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Load a model written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : str, torch.device or None, default=None
            Where to run the model. None: the device it was trained on when
            available here, else the CPU (with a warning).

        Returns
        -------
        estimator : ScrubbedCVAE
            Fitted; ``transform`` gives the saved model's output.

        Warns
        -----
        InconsistentVersionWarning
            When the file was written by another version of the package.
        """
        return load_estimator(cls, path, device=device)
