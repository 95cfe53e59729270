"""stylekit on one device, in one JSON file: what benchmarks/gpu.sh runs after installing stylekit.

    python benchmarks/gpu.py --out results/gpu.json                 # CUDA (gpu.sh: about 4 min with the install)
    python benchmarks/gpu.py --device cpu --tiny --out /tmp/gpu.json   # the same path in seconds (the suite runs it)

1. The device-dependent tests (``pytest -m device``) with STYLEKIT_TEST_DEVICE set to the device.
2. What ``precision="auto"`` picks there, against what the hardware has natively (its compute capability, the
   CPU's flags).
3. Wall times: a ``default`` transfer at 512 px (and, in a fresh process, its peak memory against the
   estimate), a shipped fast model at 512 and 1024 px (best of 3 after a warm-up), a short clip styled by
   ``video`` with the temporal loss and with the fast model, and a short ``train_fast`` run (seconds per step).

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
from pathlib import Path

import torch

from stylekit import load_fast, sample, stylize, train_fast, transfer, video
from stylekit.device import PRECISION_VARIABLE, fast_bf16, pick_device, pick_dtype
from stylekit.images import save_png
from stylekit.measure import measure_in_fresh_process
from stylekit.samples import DATA
from stylekit.video import read_frames

ROOT = Path(__file__).resolve().parent.parent
FULL = dict(transfer=512, fast=(512, 1024), frames=12, video=256, fast_video=512, train_steps=30, tests="")
TINY = dict(transfer=64, fast=(64,), frames=3, video=48, fast_video=64, train_steps=3, tests="lowers_loss")


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes and steps: checks the path, measures nothing")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu.json")
    args = parser.parse_args()
    os.environ.pop(PRECISION_VARIABLE, None)  # "auto" as the hardware decides it, whatever pinned it (the suite)
    device, size = pick_device(args.device), TINY if args.tiny else FULL
    report = {"device": str(device), "torch": torch.__version__, "cuda": torch.version.cuda,
              "python": platform.python_version(), "tiny": args.tiny, "precision": precision(device)}  # fmt: skip
    report["tests"] = device_tests(device, size["tests"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")  # kept if a timing below fails
    report["timings"] = timings(device, size)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(
        json.dumps({k: v for k, v in report.items() if k != "tests"} | {"tests": report["tests"]["summary"]}, indent=1)
    )
    return report["tests"]["returncode"]


if __name__ == "__main__":
    sys.exit(main())
