"""The benchmark scripts that must not rot between the runs that use them."""

import json
import subprocess
from pathlib import Path

import pytest
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
    cold = report["split"]["cold"]  # a cold `stylekit transfer` in a fresh process, phase by phase
    phases = ["import", "weights", "targets", "first step", "other steps", "save"]
    assert cold["steps"] == 2 and all(cold[phase] > 0 for phase in phases)
    assert sum(cold[phase] for phase in phases) == pytest.approx(cold["total"])
    assert report["split"]["step_seconds"]["64"] > 0 and report["split"]["top_ops"][0]["self_ms"] > 0
    assert report["split"]["reads"] == {"steps": 4, "reads": {"lbfgs": 29, "steps": 5}, "syncs": "n/a (CPU)"}


def test_a_benchmark_writes_its_table_between_the_markers_and_nowhere_else(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from report import write_table

    doc = tmp_path / "performance.md"
    doc.write_text("# Perf\n\nbefore\n<!-- table: video -->\n| old |\n<!-- /table -->\nafter\n")
    write_table("video", ["size", "seconds"], [["256 px", "1.50"], ["512 px", "6.00"]], doc, ["benchmarks/video.py"])
    text = doc.read_text()
    assert "| old |" not in text and text.startswith("# Perf\n\nbefore\n") and text.endswith("<!-- /table -->\nafter\n")
    assert "| size | seconds |\n| --- | --- |\n| 256 px | 1.50 |\n| 512 px | 6.00 |" in text
    assert "`python benchmarks/video.py`, measured on " in text
    unmarked = tmp_path / "other.md"
    unmarked.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no '<!-- table: video -->"):
        write_table("video", ["a"], [["b"]], unmarked)
    assert unmarked.read_text() == "no markers\n" and not list(tmp_path.glob(".*.tmp"))
