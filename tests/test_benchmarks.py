"""The benchmark scripts that must not rot between the runs that use them."""

import json
import subprocess
from pathlib import Path

import torch
from processes import started

ROOT = Path(__file__).resolve().parent.parent


def test_the_gpu_script_runs_on_the_cpu_at_a_tiny_size(tmp_path):
    command = ["bash", "benchmarks/gpu.sh", "--device", "cpu", "--tiny", "--no-install", str(tmp_path)]
    with started(command, cwd=ROOT, stdout=subprocess.PIPE) as proc:
        out, err = proc.communicate(timeout=280)
    assert proc.returncode == 0, out[-2000:] + err[-2000:]
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert report["device"] == "cpu" and report["torch"] == torch.__version__
    assert report["precision"]["auto_matches_hardware"], report["precision"]
    assert report["tests"]["returncode"] == 0 and "1 passed" in report["tests"]["summary"], report["tests"]
    timings = report["timings"]
    assert set(timings) == {"transfer_default", "fast_64", "video_transfer", "video_fast", "train_fast"}
    assert timings["transfer_default"]["steps"] == 2 and timings["video_fast"]["frames"] == 3
    assert all(value > 0 for row in timings.values() for key, value in row.items() if "seconds" in key)
    assert timings["transfer_default"]["peak_mib"] <= timings["transfer_default"]["estimate_mib"]
