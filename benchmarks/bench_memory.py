"""Peak memory of fit, transform and score on a memory-mapped pose file.

Writes (once) a ``.npy`` file of ``--total-frames`` MOUSE18 poses (float32,
a synthetic recording tiled with noise), opens it with
``np.load(..., mmap_mode="r")`` and, each in a fresh interpreter, fits a
pose-mode ``ScrubbedCVAE`` for ``--epochs`` epochs with a large ``stride``,
embeds frames and scores them, on the first ``--frames`` frames of the file
(the model that ``transform`` and ``score`` use is fitted on the first
100,000 of them, outside the measurement). The stages ending in
``-in-memory`` do the same on the frames read into memory first, for the
windows per second of the in-memory path; a fit reports both its windows per
second over the whole call (inputs derived up front included) and in its
last epoch. A sampling thread reads the process's anonymous resident
memory (``RssAnon`` in ``/proc/self/status``: heap and tensors, not the
file's cached pages) every few milliseconds and reports its peak; the
file itself is never copied whole.

    python benchmarks/bench_memory.py --total-frames 10000000 --frames 1000000

Results (markdown and JSON) go to ``--out`` (default
``benchmarks/results/memory/``).
"""

import argparse
import json
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results" / "memory"
TARGET_GB = 1.5
FIT_FRAMES_FOR_TRANSFORM = 100_000
STAGES = ["fit", "transform", "score", "fit-in-memory", "transform-in-memory",
          "score-in-memory"]


def rss_anon_bytes():
    """Anonymous resident memory of this process, in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("RssAnon is not reported by /proc/self/status on this system.")


class PeakSampler:
    """Track the peak of :func:`rss_anon_bytes` from a background thread."""

    def __init__(self, interval=0.002):
        self.interval = interval
        self.peak = rss_anon_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_anon_bytes())
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_anon_bytes())


def write_pose_file(path, n_frames, seed=0, chunk=1_000_000):
    """A float32 ``.npy`` file of ``n_frames`` MOUSE18 poses, written in chunks."""
    from sklearn_scrubvae.datasets import make_mouse_behavior

    poses, *_ = make_mouse_behavior(n_animals=1, n_frames=9000, random_state=seed)
    poses = poses[:9000].astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                    shape=(n_frames,) + poses.shape[1:])
    for begin in range(0, n_frames, chunk):
        stop = min(begin + chunk, n_frames)
        tiles = np.resize(poses, (stop - begin,) + poses.shape[1:])
        out[begin:stop] = tiles + rng.normal(scale=0.05, size=tiles.shape).astype(np.float32)
    out.flush()
    del out


def measure(path, n_frames, stage, threads, batch_size, epochs):
    """Run one stage in this process and return its figures (a dict)."""
    import torch

    from sklearn_scrubvae import ScrubbedCVAE

    torch.set_num_threads(threads)
    X = np.load(path, mmap_mode="r")[:n_frames]
    if stage.endswith("-in-memory"):
        X = np.array(X)
    params = dict(
        scrubber=None, conditional=False, skeleton="mouse18", window=51, stride=200,
        n_components=16, hidden_channels=(32, 64), max_iter=epochs, batch_size=batch_size,
        device="cpu", random_state=0,
    )
    est = ScrubbedCVAE(**params)
    if not stage.startswith("fit"):  # the model to use; its training data do not matter
        est.fit(X[:FIT_FRAMES_FOR_TRANSFORM])
    baseline = rss_anon_bytes()
    start = time.perf_counter()
    with PeakSampler() as sampler:
        if stage.startswith("fit"):
            est.fit(X)
        elif stage.startswith("transform"):
            Z = est.transform(X)
            assert Z.shape == (n_frames, params["n_components"])
        else:
            assert np.isfinite(est.score(X))
    seconds = time.perf_counter() - start
    fitting = stage.startswith("fit")
    windows = est.n_windows_ * est.n_iter_ if fitting else n_frames - params["window"] + 1
    last_epoch = est.n_windows_ / est.history_[-1, "dur"] if fitting else np.nan
    return {
        "stage": stage,
        "frames": n_frames,
        "file_frames": len(np.load(path, mmap_mode="r")),
        "peak_rss_anon_gb": sampler.peak / 1e9,
        "baseline_rss_anon_gb": baseline / 1e9,
        "seconds": seconds,
        "windows": int(windows),
        "windows_per_second": windows / seconds,
        "last_epoch_windows_per_second": last_epoch,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total-frames", type=int, default=10_000_000)
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, default=None,
                        help="pose file to use or create (default: <out>/poses.npy)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1, help="epochs of each fit")
    parser.add_argument("--batch-size", type=int, default=256,
                        help="windows per step; on a CPU their activations add to the peak")
    parser.add_argument("--smoke", action="store_true", help="20,000 frames of a 50,000 file")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=STAGES[:3])
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.total_frames, args.frames = 50_000, 20_000
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.file or args.out / "poses.npy"
    if args.stage:  # a child process: one measurement, JSON on stdout
        print(json.dumps(measure(path, args.frames, args.stage, args.threads, args.batch_size,
                                 args.epochs)))
        return
    if not path.exists() or len(np.load(path, mmap_mode="r")) != args.total_frames:
        started = time.perf_counter()
        write_pose_file(path, args.total_frames)
        print(f"wrote {path} ({args.total_frames:,} frames) in "
              f"{time.perf_counter() - started:.0f} s")
    rows = []
    for stage in args.stages:
        done = subprocess.run(
            [sys.executable, __file__, "--stage", stage, "--file", str(path), "--frames",
             str(args.frames), "--threads", str(args.threads), "--batch-size",
             str(args.batch_size), "--epochs", str(args.epochs), "--out", str(args.out)],
            capture_output=True, text=True, check=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1])
    lines = [
        "# Peak memory on a memory-mapped pose file\n",
        f"`{' '.join(['python', 'benchmarks/bench_memory.py', *(argv or sys.argv[1:])])}`\n",
        f"{rows[0]['frames']:,} frames of a {rows[0]['file_frames']:,}-frame float32 MOUSE18 "
        f"file (np.load mmap_mode='r'), CPU ({platform.machine()}), {args.threads} threads, "
        f"batch_size={args.batch_size}, window=51, stride=200, {args.epochs} epoch(s) per fit.\n",
        "| stage | peak RssAnon (GB) | before (GB) | seconds | windows | windows/s "
        "| last epoch windows/s |",
        "|---|---|---|---|---|---|---|",
        *(f"| {r['stage']} | {r['peak_rss_anon_gb']:.2f} | {r['baseline_rss_anon_gb']:.2f} | "
          f"{r['seconds']:.0f} | {r['windows']:,} | {r['windows_per_second']:.0f} | "
          f"{r['last_epoch_windows_per_second']:.0f} |"
          for r in rows),
        f"\nTarget: peak RssAnon under {TARGET_GB} GB.",
    ]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    (args.out / "results.json").write_text(json.dumps(rows, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
