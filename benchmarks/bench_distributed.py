"""Data-parallel training throughput: one process against N processes.

Fits the paper's architecture (MOUSE18 poses, 51-frame windows, D = 64,
channels 64-128-256-512, kernel 5, "mals" on speed, batch 256) on
synthetic mice, once as a plain single process and once under
``torchrun --nproc_per_node=N`` (gloo on CPUs, NCCL on GPUs), each process
with ``--threads`` threads, and reports training windows per second and
their ratio, measured in the same run. Per launch, after an untimed
warm-up fit, the wall time of a one-epoch fit is subtracted from that of a
``1 + --epochs``-epoch fit, so setup costs cancel; windows/s counts the
global windows of an epoch (every process shares them).

    python benchmarks/bench_distributed.py                    # 2 gloo processes, 1 thread each
    python benchmarks/bench_distributed.py --device cuda --nproc 4   # NCCL, one GPU each

Results (markdown and JSON) go to ``--out`` (default
``benchmarks/results/distributed/``).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results" / "distributed"
PAPER = dict(
    skeleton="mouse18", scrubber="mals", nuisance=["speed"], window=51, n_components=64,
    hidden_channels=(64, 128, 256, 512), kernel_size=5, batch_size=256, random_state=0,
)


def worker(args):
    """One process of a launch: time fits, print JSON from rank 0."""
    import numpy as np
    import torch

    from sklearn_scrubvae import ScrubbedCVAE
    from sklearn_scrubvae.datasets import make_mouse_behavior

    torch.set_num_threads(args.threads)
    n_frames = args.windows * args.stride + PAPER["window"]
    poses, table, *_ = make_mouse_behavior(n_animals=1, n_frames=n_frames, random_state=0)
    poses, table = poses[:n_frames], table.iloc[:n_frames]  # one recording
    params = dict(PAPER, stride=args.stride, device=args.device)

    def timed_fit(epochs):
        start = time.perf_counter()
        est = ScrubbedCVAE(**params, max_iter=epochs).fit(poses, table)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start, est

    timed_fit(1)  # warm-up
    one, _ = timed_fit(1)
    more, est = timed_fit(1 + args.epochs)
    seconds = (more - one) / args.epochs
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({
            "processes": int(os.environ.get("WORLD_SIZE", "1")),
            "windows": int(est.n_windows_),
            "seconds_per_epoch": seconds,
            "windows_per_second": est.n_windows_ / seconds,
            "final_loss": float(np.asarray(est.loss_curve_)[-1]),
        }))


def launch(args, nproc):
    """Run :func:`worker` in one plain process or under torchrun; its JSON."""
    here = [__file__, "--worker", "--threads", str(args.threads), "--windows",
            str(args.windows), "--stride", str(args.stride), "--epochs", str(args.epochs),
            "--device", args.device]
    if nproc == 1:
        command = [sys.executable, *here]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={nproc}", *here]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nproc", type=int, default=2, help="processes of the parallel launch")
    parser.add_argument("--threads", type=int, default=1, help="threads per process")
    parser.add_argument("--windows", type=int, default=2048, help="training windows per epoch")
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    rows = [launch(args, 1), launch(args, args.nproc)]
    ratio = rows[1]["windows_per_second"] / rows[0]["windows_per_second"]
    backend = "nccl" if args.device.startswith("cuda") else "gloo"
    lines = [
        "# Data-parallel training throughput\n",
        f"`{' '.join(['python', 'benchmarks/bench_distributed.py', *(argv or sys.argv[1:])])}`\n",
        f"Paper architecture (MOUSE18, window 51, D 64, channels 64-128-256-512, kernel 5, "
        f"\"mals\"), global batch 256, {rows[0]['windows']:,} windows per epoch, "
        f"{args.device} ({platform.machine()}, {os.cpu_count()} CPUs), {args.threads} "
        f"thread(s) per process, {backend} for the parallel launch.\n",
        "| processes | s per epoch | windows/s | final loss |",
        "|---|---|---|---|",
        *(f"| {r['processes']} | {r['seconds_per_epoch']:.1f} | {r['windows_per_second']:.0f} "
          f"| {r['final_loss']:.4f} |" for r in rows),
        f"\n{args.nproc} processes / 1 process: {ratio:.2f}x windows/s.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    (args.out / "results.json").write_text(json.dumps({"rows": rows, "ratio": ratio}, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
