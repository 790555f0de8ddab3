"""The throughput benchmark runs end to end and writes complete results."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "bench_throughput.py"


def test_smoke_run_writes_tables_and_publishes_them(tmp_path):
    page = tmp_path / "performance.md"
    page.write_text("# Performance\n\nintro\n\n<!-- throughput-begin -->\nold\n"
                    "<!-- throughput-end -->\n\ncommentary\n")
    command = [
        sys.executable, "-W", "error::FutureWarning", "-W", "error::DeprecationWarning",
        str(SCRIPT), "--smoke", "--threads", "1", "--precision", "32", "bf16",
        "--out", str(tmp_path), "--scrubbers", "none", "qd (36 classes)",
        "--publish", str(page),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    training = pd.read_csv(tmp_path / "training.csv", dtype={"precision": str})
    # Each configuration at both precisions; the second epoch size without scrubber.
    assert training["scrubber"].tolist() == ["none"] * 2 + ["qd (36 classes)"] * 2 + ["none"] * 2
    assert training["precision"].tolist() == ["32", "bf16"] * 3
    assert training["epoch windows"].tolist() == [128] * 4 + [256] * 2
    assert (training["threads"] == 1).all()
    rates = training[["fit windows/s", "plain loop windows/s", "fit / plain",
                      "whole fit / plain", "fit / fp32 plain", "MFLOP/window", "MFU %",
                      "peak memory MB"]].to_numpy()
    assert np.isfinite(rates).all() and (rates > 0).all()
    float32 = training[training["precision"] == "32"]
    assert np.allclose(float32["fit / fp32 plain"], float32["fit / plain"])
    assert (training.loc[training["scrubber"] == "none", "scrubber overhead %"] == 0.0).all()
    assert training["scrubber share %"].iloc[0] < training["scrubber share %"].iloc[2]
    inference = pd.read_csv(tmp_path / "inference.csv")
    assert len(inference) == 2
    assert (inference[["transform frames/s", "decode_windows windows/s"]].to_numpy() > 0).all()
    fits = pd.read_csv(tmp_path / "fits.csv")
    assert (fits["epochs"] == 2).all() and (fits["device"] == "cpu").all()

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["mode"] == "smoke" and config["device"] == "cpu"
    assert config["torch_threads"] == [1] and config["precision"] == ["32", "bf16"]
    assert config["matmul_peak_gflops"]["1"]["32"] > 0
    published = page.read_text()
    assert published.startswith("# Performance\n\nintro\n") and "commentary" in published
    assert "old" not in published
    assert "| threads | precision | architecture | batch | epoch windows | scrubber |" in published
    assert config["device_name"] in published
    assert f"CPU instruction sets: {config['cpu_isa']}" in published
