"""ScrubbedCVAE: the scikit-learn estimator (validate, plan, delegate)."""

from __future__ import annotations

import numbers
import os

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._frames.coverage import (
    bridge_unusable, warn_all_columns, warn_fit_coverage, warn_unordered_index,
)
from ._frames.inputs import FeatureInput, SkeletonInput
from ._frames.nuisance import check_conditional, fit_nuisance, model_nuisance, scrubber_weights
from ._frames.tables import Table
from ._frames.validation import check_frames, check_latent
from ._frames.windows import check_windows, chunk_plans, plan_windows
from ._persistence import load_estimator, run_fingerprint, save_estimator
from ._solver.build import check_architecture, restore_net, scrubber_key
from ._solver.data import latent_dataset, window_dataset
from ._solver.device import PRECISIONS, draw_seed, make_generator
from ._solver.run import run_epochs, start_net, training_device
from .pose import Skeleton, get_skeleton
from .scrubbers import CATEGORICAL_ONLY, SCRUBBERS


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
    lam : float or dict, default=2.5
        Weight of the scrubber penalty in the encoder's loss. The default is
        the paper's QD and MALS weight translated to this package's unit-free
        reconstruction term for mouse-sized data (see the user guide, "The
        paper's loss weights in our units"). A dict maps every scrubbed
        column to its own weight, e.g. ``{"animal": 2.5, "speed": 100}``
        when one variable needs a stronger scrubber than another.
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
    root_velocity_weight : float, default=0.0
        Pose mode: weight of a reconstruction term on the root's
        frame-to-frame steps (Gaussian, in units of the mean step of a root
        that moves its typical half-window distance), next to the terms on
        keypoints and root positions. 0 scores positions only, as the
        paper; positions alone leave the decoded root jittering at little
        cost, so that windows decoded at a requested speed move faster than
        asked, and 4 makes them follow the request (see the benchmarks).
    min_keypoints : int or float, default=0.5
        Keypoints (generic mode: features) a usable frame needs, as a count
        or a fraction of all (float); at least 2 in pose mode. Missing ones
        are imputed, the encoder also sees a presence mask and the loss
        scores observed ones only; 1.0 requires all, without a mask. When
        no usable frame of the fit data misses one (after gap filling), the
        fitted model requires all too (no mask), as with 1.0.
    max_gap : int, default=10
        Pose mode: gaps of at most this many frames are linearly
        interpolated before ``min_keypoints`` is applied.
    max_displacement : float or None, default=None
        Pose mode: frames whose mean keypoint displacement since the
        previous frame exceeds it are treated as tracking errors
        (unusable). None keeps all frames.
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
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
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
        "lam": [Interval(numbers.Real, 0, None, closed="left"), dict],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "poly_order": [Interval(numbers.Integral, 1, 3, closed="both")],
        "forgetting_factor": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1, closed="both")],
        "scrubber_params": [dict, None],
        "skeleton": [str, Skeleton, None],
        "alignment": [StrOptions({"midfwd", "x360"})],
        "root_velocity_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "min_keypoints": [Interval(numbers.Integral, 1, None, closed="left"),
                          Interval(numbers.Real, 0, 1, closed="right")],
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
        root_velocity_weight=0.0,
        min_keypoints=0.5,
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
        self.root_velocity_weight = root_velocity_weight
        self.min_keypoints = min_keypoints
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: Table = None, *, nuisance: Table = None,
            groups: ArrayLike | None = None) -> ScrubbedCVAE:
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
        check_architecture(self.get_params(deep=False))
        warm = self.warm_start and hasattr(self, "net_")
        X = self._validate_frames(X, reset=not warm)
        table = nuisance if nuisance is not None else y
        warn_unordered_index(table)
        if not warm:  # a warm start keeps the encodings its weights were trained on
            self._fit_encodings(X, table, groups)
        missing = self._missing_nuisance(table, len(X))
        frames, plan = plan_windows(self.input_, X, groups, self.window, self.stride, missing)
        warn_fit_coverage(X, groups, plan, missing, skeleton=self.skeleton_,
                          max_gap=self.max_gap, max_displacement=self.max_displacement)
        plan.check_windows()
        self.n_windows_, self.n_windows_dropped_ = len(plan.centers), plan.n_dropped
        self.device_, seed = training_device(self.device, self.random_state, self.precision)
        spec = self._solver_spec()
        run = None if self.checkpoint_dir is None else run_fingerprint(
            self.get_params(deep=False), {"input": self.input_, "nuisance": self.nuisance_encoder_},
            self.n_features_in_, self.n_windows_,
        )
        previous = self.net_ if warm else None
        self.net_ = start_net(spec, device=self.device_, seed=seed, previous=previous, run=run)
        decoder_input, targets = self._nuisance(table, len(X), with_targets=True)
        dataset = self._dataset(frames, plan, plan.centers, decoder_input, targets)
        try:
            run_epochs(self.net_, dataset, spec, warm=warm)
        finally:
            # Also after a divergence error: the restored model stays usable.
            self.loss_curve_ = [float(row["train_loss"]) for row in self.history_]
            self.n_iter_ = len(self.history_)
        return self

    def fit_transform(self, X: ArrayLike, y: Table = None, *, nuisance: Table = None,
                      groups: ArrayLike | None = None) -> np.ndarray:
        """Fit, then embed every frame of ``X`` (see :meth:`fit`, :meth:`transform`).

        Returns
        -------
        Z : ndarray of shape (n_frames, n_components)
        """
        return self.fit(X, y, nuisance=nuisance, groups=groups).transform(X, groups=groups)

    def transform(self, X: ArrayLike, *, groups: ArrayLike | None = None) -> np.ndarray:
        """Embed each frame: the posterior mean of the window centred on it.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame.

        Returns
        -------
        Z : ndarray of shape (n_frames, n_components)
            Posterior means, float32 when X is a float32 array (such as a
            float32 memory map), else float64. A frame whose window touches
            unusable frames gets the embedding of the nearest usable frame
            of its recording or a NaN row, as ``unusable_frames`` says;
            :meth:`valid_frames` marks the frames with an embedding of
            their own.
        """
        Z, usable = self._embed(X, groups)
        if self.unusable_frames == "nearest":
            Z = bridge_unusable(Z, usable, groups)
        return Z

    def valid_frames(self, X: ArrayLike, *, groups: ArrayLike | None = None) -> np.ndarray:
        """Which frames have an embedding of their own.

        A frame's embedding is its own when its window, clipped to its
        recording, touches no unusable frame (fewer than ``min_keypoints``
        keypoints after gap filling, a tracking error, a NaN nuisance). Others
        get a bridged embedding or NaN from :meth:`transform` (see
        ``unusable_frames``); leave them out of statistics that must not mix
        in their neighbours.

        Parameters
        ----------
        X : array-like of shape (n_frames, n_features)
        groups : array-like of shape (n_frames,), default=None
            Recording id per frame.

        Returns
        -------
        valid : ndarray of bool, shape (n_frames,)
        """
        return self._embed(X, groups, embed=False)[1]

    def inverse_transform(self, X: ArrayLike, *, nuisance: Table = None) -> np.ndarray:
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

    def decode_windows(self, Z: ArrayLike, *, nuisance: Table = None) -> np.ndarray:
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
        Z = check_latent(Z, self.n_components)
        n = Z.shape[0]
        ok = ~np.isnan(Z).any(axis=1)
        if self.conditional:
            check_conditional(nuisance, "decoding", "nuisance=...")
            ok &= ~self.nuisance_encoder_.missing_rows(nuisance, n)
        decoder_input, _ = model_nuisance(
            self.nuisance_encoder_, nuisance if self.conditional else None, n,
            conditional=self.conditional, scrubbed=(),
        )
        windows = np.full((n, self.window) + self.input_.frame_shape, np.nan)
        if ok.any():
            decoded = self.net_.decode(latent_dataset(Z[ok], decoder_input[ok], self.device_))
            windows[ok] = self.input_.to_windows(decoded.double().cpu().numpy())
        return windows

    def score(self, X: ArrayLike, y: Table = None, *, nuisance: Table = None,
              groups: ArrayLike | None = None) -> float:
        """Mean evidence lower bound (ELBO) per window, higher is better.

        Every window lying fully inside a recording is scored with one
        posterior sample (seeded by ``random_state``), as the log-likelihood
        of its frames in X's units (unit-variance Gaussian in standardised
        units, with the standardisation's Jacobian) minus the KL divergence.
        X is read chunk by chunk, as in :meth:`transform`.

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
        table = nuisance if nuisance is not None else y
        if self.conditional:
            check_conditional(table, "scoring", "y or nuisance=...")
        decoder_input, _ = self._nuisance(table, len(X))
        usable = ~self._missing_nuisance(table, len(X))
        total, count = 0.0, 0
        self.net_.generator = make_generator(draw_seed(self.random_state), self.device_)
        try:
            for begin, end, frames, plan, centers in chunk_plans(
                self.input_, X, groups, self.window, usable=usable
            ):
                scored = plan.centers[(plan.centers >= centers[0]) & (plan.centers <= centers[-1])]
                if len(scored):
                    lo = begin - centers[0]
                    nuisance_rows = decoder_input[lo : lo + len(plan.start)]
                    elbo = self.net_.window_elbo(self._dataset(frames, plan, scored, nuisance_rows))
                    total, count = total + float(elbo.sum().cpu()), count + len(elbo)
        finally:
            self.net_.generator = None
        check_windows(count, len(X), self.window)
        return total / count + float(self.input_.log_det_jacobian(self.window))

    @property
    def module_(self):
        """The trained :class:`~sklearn_scrubvae.nn.ScrubbedVAE` (held by ``net_``)."""
        return self.net_.module_

    @property
    def history_(self):
        """Per-epoch training history (skorch ``History``, held by ``net_``)."""
        return self.net_.history

    def __setstate__(self, state):
        # skorch loads on the CPU when CUDA is missing: follow it (GPU models run on CPUs).
        super().__setstate__(state)
        if "net_" in state:
            self.device_ = torch.device(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._needs_nuisance()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _needs_nuisance(self):
        return self.conditional or bool(self.scrubber)

    def _validate_frames(self, X, reset):
        """Checked frames: (n, n_features) generic, (n, n_keypoints, 3) poses."""
        if reset:
            self.skeleton_ = None if self.skeleton is None else get_skeleton(self.skeleton)
            self._poses_3d_ = getattr(X, "ndim", None) == 3
        reference = None if reset or self.skeleton_ is None else self.input_.reference_bone_lengths_
        return check_frames(self, X, skeleton=self.skeleton_, reset=reset,
                            reference_bone_lengths=reference)

    def _embed(self, X, groups, embed=True):
        """Embeddings (when ``embed``) and which frames have their own, chunk by chunk."""
        check_is_fitted(self)
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        X = self._validate_frames(X, reset=False)
        Z = np.full((len(X), self.n_components), np.nan, dtype=dtype)
        usable = np.zeros(len(X), dtype=bool)
        for begin, end, frames, plan, centers in chunk_plans(self.input_, X, groups, self.window):
            usable[begin:end] = own = plan.own(centers)
            if embed and own.any():
                dataset = self._dataset(frames, plan, centers[own])
                Z[begin:end][own] = self.net_.embed(dataset).cpu().numpy()
        return Z, usable

    def _fit_encodings(self, X, table, groups):
        """Fit the nuisance encoding, the scrubber per column and the input scaling."""
        self.nuisance_encoder_, self.scrubbers_ = fit_nuisance(
            table, len(X), columns=self.nuisance, scrubber=self.scrubber,
            categorical_only=CATEGORICAL_ONLY, needed=self._needs_nuisance(),
        )
        self.nuisance_columns_ = self.nuisance_encoder_.columns_
        if self.nuisance is None:
            warn_all_columns(self.nuisance_columns_, self.scrubbers_)
        inputs = FeatureInput(self.min_keypoints) if self.skeleton_ is None else SkeletonInput(
            self.skeleton_, self.alignment, self.max_gap, self.max_displacement, self.min_keypoints
        )
        self.input_ = inputs.fit(X, groups=groups, window=self.window)

    def _missing_nuisance(self, table, n_frames):
        """Frames without a nuisance row the model needs, shape (n_frames,), bool."""
        if table is None or not self._needs_nuisance():
            return np.zeros(n_frames, dtype=bool)
        return self.nuisance_encoder_.missing_rows(table, n_frames)

    def _nuisance(self, table, n_frames, with_targets=False):
        """Decoder input (n_frames, d) and, when ``with_targets``, scrubber targets."""
        return model_nuisance(
            self.nuisance_encoder_, table, n_frames, conditional=self.conditional,
            scrubbed=self.scrubbers_ if with_targets else (),
        )

    def _dataset(self, frames, plan, centers, decoder_input=None, targets=None):
        """The solver's dataset of the windows centred on ``centers``.

        ``decoder_input`` (one row per frame of the plan) is None when
        embedding; ``targets`` maps scrubbed columns to per-frame targets.
        """
        return window_dataset(
            frames, plan.start, plan.stop, centers, self.window, device=self.device_,
            nuisance=decoder_input,
            targets={scrubber_key(column): value for column, value in (targets or {}).items()},
        )

    def _solver_spec(self):
        """Hyper-parameters and fitted sizes the solver builds the network from."""
        encoder = self.nuisance_encoder_
        lam = self.lam
        if isinstance(lam, dict):
            lam = {scrubber_key(column): weight
                   for column, weight in scrubber_weights(lam, self.scrubbers_).items()}
        return {
            **self.get_params(deep=False),
            "lam": lam,
            "representation": self.input_.representation_params(),
            "nuisance_dim": encoder.n_decoder_features,
            "scrubbers": {
                scrubber_key(column): {"name": name, **encoder.describe(column)}
                for column, name in self.scrubbers_.items()
            },
        }

    def save(self, path: str | os.PathLike) -> None:
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
    def load(cls, path: str | os.PathLike, *,
             device: str | torch.device | None = None) -> ScrubbedCVAE:
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
        estimator, state, history = load_estimator(cls, path, device=device)
        estimator.net_ = restore_net(estimator._solver_spec(), state, history, estimator.device_)
        return estimator
