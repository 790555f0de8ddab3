"""The throughput benchmark runs end to end and writes complete results."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "bench_throughput.py"


@pytest.fixture
def bench(monkeypatch):
    pytest.importorskip("matplotlib", reason="the benchmark scripts need matplotlib")
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import bench_throughput

    return bench_throughput


def test_cpu_bf16_is_measured_only_where_the_cpu_has_bf16_instructions(bench, monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(bench, "cpu_isa", lambda: "AVX2, AVX-512, AVX512-BF16, AMX-BF16")
    assert bench.default_precisions(cpu) == ["32", "bf16"]
    monkeypatch.setattr(bench, "cpu_isa", lambda: "AVX2, AVX-512")
    assert bench.default_precisions(cpu) == ["32"]
    monkeypatch.setattr(bench, "cpu_isa", lambda: "torch CPU capability AVX2")
    assert bench.default_precisions(cpu) == ["32"]


def test_cpu_isa_names_the_flags_of_this_cpu(bench):
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo")
    flags = next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags"))
    flags = set(flags.split(":", 1)[1].split())
    named = bench.cpu_isa().split(", ")
    assert ("AVX2" in named) == ("avx2" in flags)
    assert ("AMX-BF16" in named) == ("amx_bf16" in flags)


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
