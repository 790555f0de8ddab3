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
        str(SCRIPT), "--smoke", "--threads", "1", "--out", str(tmp_path),
        "--scrubbers", "none", "qd (36 classes)", "--publish", str(page),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    training = pd.read_csv(tmp_path / "training.csv")
    assert training["scrubber"].tolist() == ["none", "qd (36 classes)"]
    rates = training[["fit windows/s", "plain loop windows/s", "MFLOP/window", "MFU %",
                      "peak memory MB"]].to_numpy()
    assert np.isfinite(rates).all() and (rates > 0).all()
    assert training["scrubber overhead %"].iloc[0] == 0.0
    assert training["scrubber share %"].iloc[0] < training["scrubber share %"].iloc[1]
    inference = pd.read_csv(tmp_path / "inference.csv")
    assert (inference[["transform frames/s", "decode_windows windows/s"]].to_numpy() > 0).all()
    fits = pd.read_csv(tmp_path / "fits.csv")
    assert (fits["epochs"] == 2).all() and (fits["device"] == "cpu").all()

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["mode"] == "smoke" and config["device"] == "cpu"
    assert config["matmul_peak_gflops"] > 0
    published = page.read_text()
    assert published.startswith("# Performance\n\nintro\n") and "commentary" in published
    assert "old" not in published
    assert "| architecture | batch | scrubber | fit windows/s |" in published
    assert config["device_name"] in published
