"""stylekit on one device, in one JSON file: what benchmarks/gpu.sh runs after installing stylekit.

    python benchmarks/gpu.py --out results/gpu.json                 # CUDA (gpu.sh: about 4 min with the install)
    python benchmarks/gpu.py --device cpu --tiny --out /tmp/gpu.json   # the same path in seconds (the suite runs it)
    python benchmarks/gpu.py --device cpu --split-only --sizes 256     # 4. alone (2 CPU cores: about 4 min)

1. The device-dependent tests (``pytest -m device``) with STYLEKIT_TEST_DEVICE set to the device.
2. What ``precision="auto"`` picks there, against what the hardware has natively (its compute capability, the
   CPU's flags).
3. Wall times: a ``default`` transfer at 512 px (and, in a fresh process, its peak memory against the
   estimate), a shipped fast model at 512 and 1024 px (best of 3 after a warm-up), a short clip styled by
   ``video`` with the temporal loss and with the fast model, and a short ``train_fast`` run (seconds per step).
4. Where a transfer's time goes (``split``): a cold ``stylekit transfer`` at 512 px in a fresh process
   (benchmarks/cold.py) split into import, weights, targets, first step, the other steps and saving (on a GPU
   also with cuDNN's autotuner off); the step time in a warm process at each of ``--sizes``; the top operators of
   a few steps (``torch.profiler``); the host's reads of tensor values per step, by who reads
   (``measure.HostReads``), and on a GPU the synchronisations per step (``torch.cuda.set_sync_debug_mode``).
   Written into docs/performance.md too (the table split-cuda or split-cpu), unless ``--tiny``.

The file is written even when the tests fail; the exit status is pytest's.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from report import write_table

from stylekit import load_fast, sample, stages, stylize, train_fast, transfer, video
from stylekit.device import PRECISION_VARIABLE, fast_bf16, pick_device, pick_dtype
from stylekit.images import save_png
from stylekit.measure import HostReads, measure_in_fresh_process
from stylekit.samples import DATA
from stylekit.settings import resolve
from stylekit.transfer import optimise
from stylekit.video import read_frames

ROOT = Path(__file__).resolve().parent.parent
FULL = dict(transfer=512, fast=(512, 1024), frames=12, video=256, fast_video=512, train_steps=30, tests="",
            cold_steps=None, steady_steps=10, profiled=5, counted=14)  # fmt: skip
TINY = dict(transfer=64, fast=(64,), frames=3, video=48, fast_video=64, train_steps=3, tests="lowers_loss",
            cold_steps="2", steady_steps=3, profiled=2, counted=4)  # fmt: skip
PHASES = ("import", "weights", "targets", "first step", "other steps", "save")


def synchronised(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def wall(device, fn):
    synchronised(device)
    started = time.perf_counter()
    value = fn()
    synchronised(device)
    return time.perf_counter() - started, value


def device_tests(device, only):
    """The tests marked ``device``, run there; only the core's test files, so the core's extras are all they need."""
    env = {**os.environ, "STYLEKIT_TEST_DEVICE": str(device)}
    files = ["tests/test_transfer.py", "tests/test_precision.py", "tests/test_memory.py"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-m", "device", *files]
    out = subprocess.run([*command, *(["-k", only] if only else [])], cwd=ROOT, env=env, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines() or [""]
    return {"returncode": out.returncode, "summary": lines[-1], "output": "\n".join(lines[-40:])}


def native_bf16(device):
    """Read off the hardware, not through ``device.fast_bf16``: compute capability 8.0 on a GPU, the CPU's flags."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").is_file() else []
    return "amx_bf16" in flags or "avx512_bf16" in flags


def precision(device):
    native, picked = native_bf16(device), pick_dtype("auto", device)
    row = {"native_bf16": native, "fast_bf16": fast_bf16(device), "auto": str(picked).removeprefix("torch."),
           "auto_matches_hardware": picked == (torch.bfloat16 if native else torch.float32)}  # fmt: skip
    if device.type == "cuda":
        capability = list(torch.cuda.get_device_capability(device))
        row |= {"name": torch.cuda.get_device_name(device), "capability": capability}
    return row


def timings(device, size):
    content, style = sample("astronaut"), sample("brushstrokes")
    rows = {}
    short = {"steps": [2]} if size is TINY else {}
    run = dict(size=size["transfer"], device=str(device), progress=False, **short)
    seconds, result = wall(device, lambda: transfer(content, style, **run))
    rows["transfer_default"] = {"size": size["transfer"], "seconds": seconds, "steps": len(result.history["total"])}
    measured, estimated = measure_in_fresh_process(size=size["transfer"], steps=1, scales=1, device=str(device))
    rows["transfer_default"] |= {"peak_mib": measured / 2**20, "estimate_mib": estimated / 2**20}
    model = load_fast("mosaic", str(device))
    for px in size["fast"]:
        times = [stylize(model, content, px).seconds for _ in range(4)][1:]  # the first pass picks kernels
        rows[f"fast_{px}"] = {"seconds": min(times)}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip"
        clip.mkdir()
        for i, frame in enumerate(read_frames(DATA / "clip_coffee.mp4", size["video"])[: size["frames"]], 1):
            save_png(frame[None], clip / f"{i:06d}.png")
        steps = {"steps_first": [2], "steps": 2} if size is TINY else {}
        seconds, _ = wall(device, lambda: video(clip, style, Path(tmp) / "styled", size=size["video"],
                                                device=str(device), progress=False, **steps))  # fmt: skip
        rows["video_transfer"] = {"frames": size["frames"], "size": size["video"], "seconds": seconds}
        seconds, _ = wall(device, lambda: video(clip, None, Path(tmp) / "fast", model=model, size=size["fast_video"],
                                                progress=False))  # fmt: skip
        rows["video_fast"] = {"frames": size["frames"], "size": size["fast_video"], "seconds": seconds}
        photos = [sample(name) for name in ("astronaut", "coffee", "chelsea")]
        tiny = {"size": 64, "batch": 2, "style_size": 64} if size is TINY else {}
        history = train_fast(style, photos, steps=size["train_steps"], device=str(device), progress=False,
                             **tiny).history  # fmt: skip
        per_step = (history["seconds"][-1] - history["seconds"][0]) / max(len(history["seconds"]) - 1, 1)
        rows["train_fast"] = {"steps": size["train_steps"], "seconds_per_step": per_step}
    return rows


def cold_split(device, size, autotune=True):
    """A cold ``stylekit transfer`` at ``size["transfer"]`` px, {phase: seconds} (benchmarks/cold.py)."""
    content, style = sample("astronaut"), sample("brushstrokes")
    with tempfile.TemporaryDirectory() as tmp:
        steps = ["--steps", size["cold_steps"]] if size["cold_steps"] else []
        command = [sys.executable, str(ROOT / "benchmarks" / "cold.py"), *([] if autotune else ["--no-autotune"]),
                   "transfer", content, style, "-o", f"{tmp}/out.png", "--size", str(size["transfer"]),
                   "--device", str(device), *steps]  # fmt: skip
        started = time.time()
        out = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"cold transfer failed: {out.stderr[-2000:]}")
    stamps = json.loads(out.stdout.strip().splitlines()[-1])
    times = [started, *(stamps[k] for k in ("imported", "weights", "targets", "first step", "last step", "saved"))]
    split = {phase: end - start for phase, start, end in zip(PHASES, times, times[1:])}
    return split | {"total": times[-1] - started, "steps": stamps["steps"], "size": size["transfer"]}


def step_seconds(device, sizes, steps):
    """{px: seconds a step} in this (warm) process: a run of ``steps`` steps at one scale after a run of 2 at
    the same shape (kernels chosen); on a GPU L-BFGS waits for each step's kernels, so the clock follows them."""
    content, style = sample("astronaut"), sample("brushstrokes")
    seconds = {}
    for px in sizes:
        run = dict(size=px, scales=1, device=str(device), progress=False)
        transfer(content, style, steps=2, **run)
        history = transfer(content, style, steps=steps, **run).history["seconds"]
        seconds[px] = (history[-1] - history[0]) / (steps - 1)
    return seconds


def profiled_steps(device, px, steps, top=10):
    """The operators taking the most time over ``steps`` steps of the default at ``px`` (self time a step, ms)."""
    s = resolve("default", dict(size=px, steps=steps + 2, scales=1, device=str(device)))
    (stage,) = stages.build(s, sample("astronaut"), sample("brushstrokes"))
    image = stages.pixels(s, stage)
    run = optimise(image, stage.objective, steps + 2, s.optimizer, s.lr, s.lbfgs_history)
    next(run), next(run)  # the first steps choose kernels and start L-BFGS's memory
    cuda = device.type == "cuda"
    activities = [torch.profiler.ProfilerActivity.CPU] + [torch.profiler.ProfilerActivity.CUDA] * cuda
    with torch.profiler.profile(activities=activities) as profile:
        for _ in run:
            pass
        synchronised(device)
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    events = sorted(profile.key_averages(), key=lambda e: getattr(e, key), reverse=True)[:top]
    return [{"op": e.key, "calls": e.count // steps, "self_ms": getattr(e, key) / 1e3 / steps} for e in events]


def host_reads(device, steps):
    """The host's reads of tensor values in ``steps`` steps of ``transfer`` (default settings at 64 px: the count is
    the same at any size), by who reads; on a GPU also the synchronisations torch reports."""
    run = dict(size=64, steps=steps, scales=1, device=str(device), progress=False)
    content, style = sample("astronaut"), sample("brushstrokes")
    transfer(content, style, **run)  # a first run loads the weights, whose reads are not a step's
    with HostReads() as reads:
        transfer(content, style, **run)
    row = {"steps": steps, "reads": dict(reads.by), "syncs": "n/a (CPU)"}
    if device.type == "cuda":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                transfer(content, style, **run)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        row["syncs"] = sum("synchroniz" in str(w.message) for w in caught)
    return row


def split(device, size, sizes):
    """Where a transfer's time goes (section 4 of the docstring)."""
    row = {"cold": cold_split(device, size)}
    if device.type == "cuda":
        row["cold_no_autotune"] = cold_split(device, size, autotune=False)
    row["step_seconds"] = step_seconds(device, sizes, size["steady_steps"])
    row["top_ops"] = profiled_steps(device, size["transfer"], size["profiled"])
    row["reads"] = host_reads(device, size["counted"])
    return row


def split_table(device, row):
    cold, counted = row["cold"], row["reads"]
    rows = [[f"cold `stylekit transfer`, {cold['size']} px, {cold['steps']} steps", f"{cold['total']:.2f} s"]]
    others = max(cold["steps"] - 1, 1)
    for phase in PHASES:
        each = f" ({cold[phase] / others:.3f} s a step)" if phase == "other steps" else ""
        rows.append([f"… {phase}", f"{cold[phase]:.2f} s{each}"])
    if "cold_no_autotune" in row:
        off = row["cold_no_autotune"]
        rows.append(["… without cuDNN's autotuner: targets, first step, other steps",
                     f"{off['targets']:.2f} s, {off['first step']:.2f} s, {off['other steps']:.2f} s"])  # fmt: skip
    rows += [[f"a step at {px} px, warm", f"{seconds:.3f} s"] for px, seconds in row["step_seconds"].items()]
    reads = ", ".join(f"{n} by {who}" for who, n in sorted(counted["reads"].items()))
    rows.append([f"host reads of tensor values in {counted['steps']} steps, callback_every=10", reads])
    rows.append([f"GPU synchronisations in {counted['steps']} steps", str(counted["syncs"])])
    top = ", ".join(f"{op['op']} {op['self_ms']:.1f} ms" for op in row["top_ops"][:5])
    rows.append([f"top operators a step at {cold['size']} px (self time)", top])
    write_table("split-cuda" if device.type == "cuda" else "split-cpu", ["what", "measured"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes and steps: checks the path, measures nothing")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu.json")
    parser.add_argument("--sizes", type=int, nargs="+", help="the warm step's sizes (default 256 512 1024)")
    parser.add_argument("--split-only", action="store_true", help="only where a transfer's time goes (4.)")
    args = parser.parse_args()
    os.environ.pop(PRECISION_VARIABLE, None)  # "auto" as the hardware decides it, whatever pinned it (the suite)
    device, size = pick_device(args.device), TINY if args.tiny else FULL
    sizes = args.sizes or ([64] if args.tiny else [256, 512, 1024])
    report = {"device": str(device), "torch": torch.__version__, "cuda": torch.version.cuda,
              "python": platform.python_version(), "tiny": args.tiny, "precision": precision(device)}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.split_only:
        report["split"] = split(device, size, sizes)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
        print(json.dumps(report, indent=1))
        if not args.tiny:
            split_table(device, report["split"])
        return 0
    report["tests"] = device_tests(device, size["tests"])
    args.out.write_text(json.dumps(report, indent=1) + "\n")  # kept if a timing below fails
    report["split"] = split(device, size, sizes)  # first: this process has run no transfer yet
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    report["timings"] = timings(device, size)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    if not args.tiny:
        split_table(device, report["split"])
    print(
        json.dumps({k: v for k, v in report.items() if k != "tests"} | {"tests": report["tests"]["summary"]}, indent=1)
    )
    return report["tests"]["returncode"]


if __name__ == "__main__":
    sys.exit(main())
