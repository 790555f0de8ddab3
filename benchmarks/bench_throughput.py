"""Throughput: how fast ScrubbedCVAE trains, embeds and decodes.

Pose-mode models (MOUSE18, synthetic mice at 90 fps) at two sizes: the
paper's architecture (51-frame windows, D = 64, channels 64-128-256-512,
kernel 5) and a small one (17-frame windows, D = 16, channels 32-64, kernel
5), at batch 256 and 2048, with each scrubber: none (a C-VAE), "mals",
"maqs" (MALS of order 2), "qd" over 4 and over 36 classes, "gr", "nd" and
"mi". For every configuration:

- training windows/s of ``fit``: after an untimed warm-up fit, the time of
  a fit of ``epochs`` epochs minus that of a one-epoch fit (the setup
  cancels out), per epoch; and of the whole ``epochs``-epoch fit, setup
  included;
- the same module (the estimator's own trained ``module_``, its scrubbers
  and loss) driven by a plain hand-written PyTorch loop over batches
  gathered beforehand: the reference for the estimator's overhead; two
  timed passes, one after each timed fit;
- the scrubbers' own time per step (penalty, its backward pass and the
  update, timed apart from the network) and its share of a plain-loop
  step: a steadier view of the scrubber overhead than the difference of
  two fits;
- FLOPs per training window (``torch.utils.flop_counter``), the achieved
  FLOP/s and its share of this machine's measured matrix-product peak;
- peak memory during ``fit`` (resident set size on the CPU,
  ``torch.cuda.max_memory_allocated`` on a GPU).

Every configuration is measured at each precision (float32 and, where the
device has it, bfloat16 autocast) and, on the CPU, at one thread and at all
of torch's threads; bfloat16 rows also relate the fit to the float32 plain
loop of the same configuration. The configuration block names the CPU and
its vector instruction sets (AVX2, AVX-512, AVX512-BF16, AMX).

Per architecture and batch size, ``transform`` frames/s and
``decode_windows`` windows/s of the model without scrubber (both end to
end, including inverse and forward kinematics on the host), median of
repeats after a warm-up call.

Seconds are CPU seconds of the process when the device is the CPU (robust
to other jobs on a shared machine; wall seconds on an idle machine with
``--threads 1``) and wall seconds after synchronisation on a GPU.

    python benchmarks/bench_throughput.py --quick
    python benchmarks/bench_throughput.py --quick --architectures paper --scrubbers none
    python benchmarks/bench_throughput.py --device cuda --publish doc/performance.md

Results go to ``--out`` (default ``benchmarks/results/throughput/``):
``results.md``, one CSV per table and ``config.json``. ``--publish PAGE``
also replaces the measured block of a markdown page (between
``<!-- throughput-begin -->`` and ``<!-- throughput-end -->``).
"""

import argparse
import json
import platform
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import skorch
import torch
from sklearn.base import clone
from torch.utils.flop_counter import FlopCounterMode

import sklearn_scrubvae
from _common import csv_name, markdown_table
from sklearn_scrubvae import ScrubbedCVAE
from sklearn_scrubvae.datasets import make_mouse_behavior



@contextmanager
def fast_float32(device):
    """TF32 matrix products on CUDA inside the block, as the estimator trains with."""
    if device.type != "cuda":
        yield
        return
    previous = torch.backends.cuda.matmul.fp32_precision
    torch.backends.cuda.matmul.fp32_precision = "tf32"
    try:
        yield
    finally:
        torch.backends.cuda.matmul.fp32_precision = previous


RESULTS_DIR = Path(__file__).resolve().parent / "results" / "throughput"
FPS = 90
N_ANIMALS = 4
BEGIN, END = "<!-- throughput-begin -->", "<!-- throughput-end -->"

ARCHITECTURES = {
    "paper": dict(window=51, n_components=64, hidden_channels=(64, 128, 256, 512), kernel_size=5),
    "small": dict(window=17, n_components=16, hidden_channels=(32, 64), kernel_size=5),
    "defaults": dict(window=51, n_components=64, hidden_channels=(64, 128, 256), kernel_size=7),
    "tiny": dict(window=9, n_components=4, hidden_channels=(8,), kernel_size=3),
}
# Scrubber configuration -> (ScrubbedCVAE parameters, nuisance column).
SCRUBBERS = {
    "none": (dict(scrubber=None), "speed"),
    "mals": (dict(scrubber="mals"), "speed"),
    "maqs": (dict(scrubber="mals", poly_order=2), "speed"),
    "qd (4 classes)": (dict(scrubber="qd"), "animal"),
    "qd (36 classes)": (dict(scrubber="qd"), "identity36"),
    "gr": (dict(scrubber="gr"), "speed"),
    "nd": (dict(scrubber="nd"), "animal"),
    "mi": (dict(scrubber="mi"), "speed"),
}
ALL = list(SCRUBBERS)


@dataclass(frozen=True)
class Mode:
    """What a run mode measures.

    Attributes
    ----------
    grid : tuple of (str, int, tuple of str, int)
        (architecture, batch size, scrubber configurations, batches per
        epoch) to measure; the batches per epoch set the data size. An
        architecture may come twice, at two epoch sizes.
    epochs : int
        Epochs of the timed fit (a one-epoch fit is subtracted).
    max_plain_batches : int
        Most batches gathered for the plain loop.
    repeats : int
        Timed calls of transform and decode_windows after a warm-up call.
    """

    grid: tuple
    epochs: int
    max_plain_batches: int
    repeats: int


MODES = {
    "smoke": Mode(grid=(("tiny", 64, tuple(ALL), 2), ("tiny", 64, ("none",), 4)), epochs=2,
                  max_plain_batches=2, repeats=1),
    # "small" is also the laptop configuration; "defaults" the estimator's defaults.
    "quick": Mode(
        grid=(("small", 256, tuple(ALL), 8), ("small", 2048, ("none", "mals", "qd (36 classes)"), 2),
              ("paper", 256, ("none", "mals", "qd (36 classes)"), 4),
              ("paper", 256, ("none",), 10), ("defaults", 2048, ("mals",), 1)),
        epochs=3, max_plain_batches=4, repeats=2,
    ),
    "full": Mode(
        grid=tuple((arch, batch, tuple(ALL), 12) for arch in ("paper", "small")
                   for batch in (256, 2048))
        + (("paper", 256, ("none",), 4), ("defaults", 2048, ("mals",), 12)),
        epochs=4, max_plain_batches=12, repeats=3,
    ),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", dest="mode", action="store_const", const="smoke",
                      help="tiny network, two batches: only checks that the script runs")
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="small network at both batch sizes, the paper's at batch 256 "
                           "for none/mals/qd-36: minutes on two CPU cores")
    parser.set_defaults(mode="full")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and models")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: benchmarks/results/throughput/)")
    parser.add_argument("--device", default="auto", help="torch device of the models")
    parser.add_argument("--precision", nargs="+", default=None, choices=["32", "bf16"],
                        help="ScrubbedCVAE precisions, each measured (the plain loop follows "
                             "it; default: 32, and bf16 where the device supports it)")
    parser.add_argument("--threads", nargs="+", type=int, default=None,
                        help="torch CPU thread counts, each measured (default on the CPU: 1 "
                             "and torch's choice; elsewhere torch's choice)")
    parser.add_argument("--architectures", nargs="+", default=None, choices=list(ARCHITECTURES),
                        metavar="NAME", help="measure only these architectures of the mode")
    parser.add_argument("--scrubbers", nargs="+", default=None, choices=ALL, metavar="NAME",
                        help=f"measure only these scrubber configurations: {', '.join(ALL)}")
    parser.add_argument("--publish", type=Path, default=None,
                        help="markdown page whose measured block is replaced by the results")
    return parser.parse_args(argv)


# ------------------------------------------------------------------ machine


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock(device):
    """Seconds so far: CPU time of this process on the CPU, else wall time.

    CPU time is robust to other jobs on a shared machine and equals wall
    time on an idle one with one torch thread; GPU work is timed on the
    wall clock after synchronising.
    """
    sync(device)
    return time.process_time() if device.type == "cpu" else time.perf_counter()


def resolve(device):
    """The torch device of a ``--device`` value, "auto" as in ScrubbedCVAE."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    return torch.device(device)


def device_name(device):
    """Human-readable name of the device."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in
             (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
             if line.startswith("model name")]
    return f"CPU: {names[0] if names else platform.processor() or platform.machine()}"


ISA_FLAGS = {"AVX2": "avx2", "AVX-512": "avx512f", "AVX512-BF16": "avx512_bf16",
             "AMX-BF16": "amx_bf16"}


def cpu_isa():
    """The vector instruction sets among :data:`ISA_FLAGS` that this CPU reports.

    Read from ``/proc/cpuinfo`` (Linux); elsewhere torch's CPU capability.
    """
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    flags = next((set(line.split(":", 1)[1].split()) for line in lines
                  if line.startswith("flags")), None)
    if flags is None:
        return f"torch CPU capability {torch.backends.cpu.get_cpu_capability()}"
    return ", ".join(name for name, flag in ISA_FLAGS.items() if flag in flags) or "none"


def default_precisions(device):
    """float32, and bfloat16 where the device computes it natively."""
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:
        native = device.type == "cpu" and "AVX512-BF16" in cpu_isa()
    return ["32", "bf16"] if native else ["32"]


def matmul_peak(device, precision, repeats=5):
    """Measured FLOP/s of a large square matrix product (TF32 on CUDA).

    Returns
    -------
    flops : float
    """
    n = 8192 if device.type == "cuda" else 2048
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    with fast_float32(device):
        for _ in range(repeats + 1):
            start = clock(device)
            a @ b
            times.append(clock(device) - start)
    return 2 * n**3 / np.median(times[1:])


class PeakMemory:
    """Peak memory of a block: resident set size (CPU) or CUDA allocations."""

    def __init__(self, device):
        self.device = device
        self.clear_refs = Path("/proc/self/clear_refs")

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self.clear_refs.exists():
            self.clear_refs.write_text("5")  # resets the high-water mark VmHWM
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device)
        else:
            status = Path("/proc/self/status").read_text().splitlines()
            kb = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
            self.peak = kb[0] * 1024 if kb else float("nan")


# --------------------------------------------------------------------- data


def make_data(n_frames, seed):
    """Synthetic mice with the nuisance columns of :data:`SCRUBBERS`.

    Returns
    -------
    poses : ndarray of shape (N_ANIMALS * n_frames, 18, 3)
    table : DataFrame
        ``speed`` (float), ``animal`` (4 classes) and ``identity36`` (36
        classes: consecutive blocks of frames of every animal).
    groups : ndarray of shape (N_ANIMALS * n_frames,)
    """
    poses, labels = make_mouse_behavior(N_ANIMALS, n_frames, lesion=False, fps=FPS,
                                        random_state=seed)
    block = np.arange(n_frames) * (36 // N_ANIMALS) // n_frames
    identity = labels["animal"].cat.codes.to_numpy() * (36 // N_ANIMALS) + np.tile(block, N_ANIMALS)
    table = pd.DataFrame({
        "speed": labels["speed"].to_numpy(),
        "animal": labels["animal"],
        "identity36": pd.Categorical(identity),
    })
    return poses, table, labels["session"].astype(str).to_numpy()


def recording_centers(groups, window):
    """Centre frames of the full windows of every recording (increasing)."""
    half = window // 2
    edges = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
    return np.concatenate([np.arange(a + half, b - half) for a, b in zip(edges[:-1], edges[1:])])


# ------------------------------------------------------------- plain loop


def gather_batches(est, poses, table, groups, n_batches, seed):
    """Training batches of the fitted model, gathered up front on its device.

    Returns
    -------
    batches : list of (dict, Tensor, dict)
        Window frames, decoder nuisance and scrubber targets of each batch.
    """
    device = est.device_
    frames, _ = est.input_.frames(poses, groups)
    decoder_v, targets = est.nuisance_encoder_.transform(table, len(poses))
    centers = recording_centers(groups, est.window)
    order = np.random.default_rng(seed).permutation(len(centers))
    batches = []
    for b in range(min(n_batches, len(centers) // est.batch_size)):
        c = centers[order[b * est.batch_size : (b + 1) * est.batch_size]]
        index = c[:, None] + np.arange(est.window) - est.window // 2
        batches.append((
            {k: torch.as_tensor(v[index], device=device) for k, v in frames.items()},
            torch.as_tensor(decoder_v[c], device=device),
            {str(k): torch.as_tensor(targets[k][c], device=device) for k in est.scrubbers_},
        ))
    return batches


def plain_step(est, optimizer, generator):
    """One hand-written training step of ``est.module_`` (the estimator's loss)."""
    module = est.module_
    autocast = torch.autocast(est.device_.type, dtype=torch.bfloat16,
                              enabled=est.precision == "bf16")

    def step(frames, nuisance, targets):
        with autocast:
            mu, kl, decoded = module(frames, nuisance, generator=generator)
        mu, kl = mu.float(), kl.float()
        reconstruction = module.representation.reconstruction_error(decoded.float(), frames)
        loss = (reconstruction.mean() + est.beta * kl.mean()
                + est.lam * module.scrub_penalty(mu, targets))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), est.gradient_clip)
        optimizer.step()
        module.update_scrubbers(mu.detach(), targets)

    return step


def plain_pass(est, batches):
    """Seconds (see :func:`clock`) of one plain-loop pass over ``batches``.

    The pass trains ``est.module_`` with a fresh AdamW optimiser, as a fit
    epoch starts from the fitted module.
    """
    device = est.device_
    module = est.module_.train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=est.learning_rate,
                                  weight_decay=est.weight_decay)
    step = plain_step(est, optimizer, torch.Generator(device=device).manual_seed(0))
    module.reset_scrubbers()
    with fast_float32(device):
        start = clock(device)
        for batch in batches:
            step(*batch)
        return clock(device) - start


def flops_per_window(est, batch):
    """FLOPs of one plain training step (forward and backward) per window."""
    module = est.module_.train()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.0)
    step = plain_step(est, optimizer, torch.Generator(device=est.device_).manual_seed(0))
    with fast_float32(est.device_), FlopCounterMode(display=False) as counter:
        step(*batch)
    return counter.get_total_flops() / len(batch[1])


def scrubber_seconds(est, batch, repeats):
    """Seconds per training step spent in the scrubbers alone.

    Their penalty on a batch of posterior means, its backward pass and
    their update, timed apart from the network (median of ``repeats``
    after a warm-up), on the latent codes of ``batch``.
    """
    module, device = est.module_, est.device_
    frames, nuisance, targets = batch
    with torch.no_grad():
        mu = module.encode(frames)[0]
    times = []
    for _ in range(repeats + 1):
        codes = mu.clone().requires_grad_()
        start = clock(device)
        # (+ 0 * codes: a graph to differentiate even without scrubbers)
        (module.scrub_penalty(codes, targets) + 0.0 * codes.sum()).backward()
        module.update_scrubbers(codes.detach(), targets)
        times.append(clock(device) - start)
    return float(np.median(times[1:]))


def timed(fn, repeats, device):
    """Median seconds (see :func:`clock`) of ``fn()`` over ``repeats`` calls after a warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = clock(device)
        fn()
        times.append(clock(device) - start)
    return float(np.median(times))


# -------------------------------------------------------------- experiment


def measure(args, mode, device, peaks):
    """Training and inference rows of every configuration of ``mode`` at the current threads.

    Parameters
    ----------
    peaks : dict of str -> float
        Measured matrix-product FLOP/s per precision.
    """
    training, inference, log = [], [], []
    for arch, batch_size, names, batches_per_epoch in mode.grid:
        if args.architectures is not None and arch not in args.architectures:
            continue
        names = [n for n in names if args.scrubbers is None or n in args.scrubbers]
        params = ARCHITECTURES[arch]
        # Exactly batches_per_epoch full batches of windows per epoch.
        per_animal = batches_per_epoch * batch_size // N_ANIMALS + params["window"] - 1
        data = make_data(per_animal, args.seed)
        base_rates = {}
        for name in names:
            for precision in args.precision:
                row, fit, est = measure_fit(args, mode, device, arch, batch_size, name,
                                            precision, data)
                row["MFU %"] = 100 * row["GFLOP/s"] * 1e9 / peaks[precision]
                if name == "none":
                    base_rates[precision] = row["fit windows/s"]
                base = base_rates.get(precision)
                row["scrubber overhead %"] = (100 * (base / row["fit windows/s"] - 1)
                                              if base is not None else float("nan"))
                training.append(row)
                log.append(fit)
                print(f"[throughput] {torch.get_num_threads()} threads, {arch} batch "
                      f"{batch_size}, {row['epoch windows']} windows/epoch, {name}, "
                      f"precision {precision}: fit {row['fit windows/s']:.0f}, plain "
                      f"{row['plain loop windows/s']:.0f} windows/s", flush=True)
                done = {(r["architecture"], r["batch"], r["precision"]) for r in inference}
                if name == "none" and (arch, batch_size, precision) not in done:
                    inference.append(measure_inference(est, *data, mode, device, arch,
                                                       batch_size, row["fit windows/s"]))
    return pd.DataFrame(training), pd.DataFrame(inference), pd.DataFrame(log)


def measure_fit(args, mode, device, arch, batch_size, name, precision, data):
    """The training row of one configuration, its fit's log entry and the fitted model."""
    poses, table, groups = data
    options, column = SCRUBBERS[name]
    est = ScrubbedCVAE(
        **options, **ARCHITECTURES[arch], nuisance=[column], skeleton="mouse18",
        batch_size=batch_size, max_iter=mode.epochs, learning_rate=1e-4,
        device=args.device, precision=precision, random_state=args.seed,
    )
    # After untimed warm-ups, setup (kinematics, data transfer) cancels out
    # between a one-epoch fit and the full one; the timed plain passes
    # alternate with the timed fits, so that a change in the machine's load
    # affects both alike.
    one_epoch = clone(est).set_params(max_iter=1)
    one_epoch.fit(poses, table, groups=groups)
    batches = gather_batches(one_epoch, poses, table, groups, mode.max_plain_batches, args.seed)
    flops = flops_per_window(one_epoch, batches[0])
    plain_pass(one_epoch, batches)
    start = clock(device)
    one_epoch.fit(poses, table, groups=groups)
    first = clock(device) - start
    passes = [plain_pass(one_epoch, batches)]
    start = clock(device)
    with PeakMemory(device) as memory:
        est.fit(poses, table, groups=groups)
    seconds = clock(device) - start
    passes.append(plain_pass(est, batches))
    fit_rate = est.n_windows_ * (mode.epochs - 1) / (seconds - first)
    whole_rate = est.n_windows_ * mode.epochs / seconds
    plain_rate = sum(len(v) for _, v, _ in batches) / np.mean(passes)
    scrubbing = scrubber_seconds(est, batches[0], 2 * mode.repeats)
    row = {
        "threads": torch.get_num_threads(), "precision": precision,
        "architecture": arch, "batch": batch_size, "epoch windows": est.n_windows_,
        "scrubber": name, "fit windows/s": fit_rate, "plain loop windows/s": plain_rate,
        "fit / plain": fit_rate / plain_rate,
        "whole fit / plain": whole_rate / plain_rate,
        "estimator overhead %": 100 * (plain_rate / fit_rate - 1),
        "scrubber overhead %": float("nan"),  # set by measure, against the row without
        "scrubber ms/step": 1e3 * scrubbing,
        "scrubber share %": 100 * scrubbing * plain_rate / batch_size,
        "MFLOP/window": flops / 1e6,
        "GFLOP/s": flops * fit_rate / 1e9,
        "MFU %": float("nan"),  # set by measure, against the measured peak
        "peak memory MB": memory.peak / 2**20,
    }
    fit = {"threads": row["threads"], "precision": precision, "architecture": arch,
           "batch": batch_size, "scrubber": name, "epochs": est.n_iter_,
           "windows": est.n_windows_, "final_loss": est.loss_curve_[-1],
           "fit_seconds": seconds, "device": str(est.device_)}
    return row, fit, est


def relative_to_float32(training):
    """Add ``fit / fp32 plain``: each fit's rate over the float32 plain loop of its configuration."""
    keys = ["threads", "architecture", "batch", "epoch windows", "scrubber"]
    float32 = training[training["precision"] == "32"].set_index(keys)["plain loop windows/s"]
    reference = training.join(float32.rename("fp32 plain"), on=keys)["fp32 plain"]
    position = training.columns.get_loc("whole fit / plain") + 1
    training.insert(position, "fit / fp32 plain", training["fit windows/s"] / reference)
    return training


def measure_inference(est, poses, table, groups, mode, device, arch, batch_size, fit_rate):
    with PeakMemory(device) as memory:
        seconds = timed(lambda: est.transform(poses, groups=groups), mode.repeats, device)
    Z = est.transform(poses, groups=groups)
    decode = timed(lambda: est.decode_windows(Z, nuisance=table), mode.repeats, device)
    frames_per_second = len(poses) / seconds
    return {
        "threads": torch.get_num_threads(), "precision": est.precision,
        "architecture": arch, "batch": batch_size,
        "transform frames/s": frames_per_second,
        "transform / training": frames_per_second / fit_rate,
        "decode_windows windows/s": len(Z) / decode,
        "transform peak memory MB": memory.peak / 2**20,
    }


# ------------------------------------------------------------------ results


RATIO_COLUMNS = ("fit / plain", "whole fit / plain", "fit / fp32 plain")


def results_markdown(command, config, tables):
    lines = [
        "### Configuration", "",
        f"`{command}`", "",
        f"- Device: {config['device_name']} ({config['device']}); CPU instruction sets: "
        f"{config['cpu_isa']}",
        f"- torch threads: {', '.join(map(str, config['torch_threads']))}; precisions: "
        f"{', '.join(config['precision'])}",
        "- Measured matrix-product peak (GFLOP/s): " + "; ".join(
            f"{threads} threads {precision} {gflops:.0f}"
            for threads, peaks in config["matmul_peak_gflops"].items()
            for precision, gflops in peaks.items()),
        f"- Mode `{config['mode']}`, seed {config['seed']}, wall time "
        f"{config['wall_seconds']:.0f} s; sklearn_scrubvae {config['versions']['sklearn_scrubvae']}, "
        f"torch {config['versions']['torch']}, skorch {config['versions']['skorch']}",
        "",
    ]
    for title, table in tables.items():
        # Ratios with two decimals, as strings (the other numbers get one).
        table = table.assign(**{column: table[column].map("{:.2f}".format)
                                for column in RATIO_COLUMNS if column in table})
        lines += [f"### {title}", "", markdown_table(table, digits=1), ""]
    return "\n".join(lines).rstrip() + "\n"


def publish(page, block):
    """Replace the text between the measured-block markers of ``page``."""
    text = page.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{page} has no {BEGIN} ... {END} block to replace.")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    page.write_text(f"{head}{BEGIN}\n{block}{END}{tail}")


def main(argv=None):
    args = parse_args(argv)
    mode = MODES[args.mode]
    device = resolve(args.device)
    if args.precision is None:
        args.precision = default_precisions(device)
    threads = args.threads
    if threads is None:
        threads = [1, torch.get_num_threads()] if device.type == "cpu" else [torch.get_num_threads()]
    threads = list(dict.fromkeys(threads))
    out = args.out if args.out is not None else RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    options = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", "benchmarks/bench_throughput.py", *map(str, options)])

    start = time.perf_counter()
    measured, peaks = [], {}
    for count in threads:
        torch.set_num_threads(count)
        peaks[count] = {precision: matmul_peak(device, precision) for precision in args.precision}
        measured.append(measure(args, mode, device, peaks[count]))
    training, inference, log = (pd.concat(tables, ignore_index=True) for tables in zip(*measured))
    training = relative_to_float32(training)
    wall = time.perf_counter() - start

    tables = {"training": training, "inference": inference, "fits": log}
    for title, table in tables.items():
        table.to_csv(out / csv_name(title), index=False)
    config = {
        "script": "throughput", "command": command, "mode": args.mode, "seed": args.seed,
        "settings": asdict(mode), "scrubbers": args.scrubbers,
        "architectures": args.architectures, "device": str(device),
        "device_name": device_name(device), "cpu_isa": cpu_isa(), "precision": args.precision,
        "torch_threads": threads,
        "matmul_peak_gflops": {count: {precision: flops / 1e9 for precision, flops in
                                       values.items()} for count, values in peaks.items()},
        "wall_seconds": wall,
        "versions": {"sklearn_scrubvae": sklearn_scrubvae.__version__,
                     "torch": torch.__version__, "skorch": skorch.__version__,
                     "scikit-learn": sklearn.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "platform": platform.platform(),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    block = results_markdown(command, config, {"Training": training, "Inference": inference})
    (out / "results.md").write_text("# Throughput\n\n" + block)
    if args.publish is not None:
        publish(args.publish, block)
    print(f"results written to {out} ({wall:.0f} s)", flush=True)
    return out


if __name__ == "__main__":
    main()
