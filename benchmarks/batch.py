"""Batch runs: items per hour locally and on Ray, Ray's overhead per item, and a resume after a kill.

    python benchmarks/batch.py              # 4 bundled photos × 2 styles at 256 px, ~6 min on 2 CPU cores
    python benchmarks/batch.py --size 128

1. Local: one process using both cores, item after item. Ray: a local cluster of 2 CPUs, two 1-thread workers.
2. Ray's overhead: the same items at 32 px and 1 step (nearly no work) through both paths, per item.
3. Kill and resume: `stylekit batch` is killed (SIGKILL) once half the outputs exist, then run again: every item
   must be done once, none twice (the first run's outputs keep their modification times).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray

from stylekit import sample
from stylekit.batch import batch

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
STYLES = ("mosaic", "brushstrokes")


def timed(folder, **options):
    folder.mkdir(parents=True)
    started = time.perf_counter()
    items = batch([sample(p) for p in PHOTOS], [sample(s) for s in STYLES], folder, progress=False, **options)
    assert all(i.status == "done" for i in items), [i.message for i in items]
    return time.perf_counter() - started, len(items)


def kill_and_resume(folder, size):
    folder.mkdir(parents=True)
    argv = [sys.executable, "-m", "stylekit", "batch", *map(str, (sample(p) for p in PHOTOS)), "--style",
            *map(str, (sample(s) for s in STYLES)), "-o", str(folder), "--size", str(size)]  # fmt: skip
    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = len(PHOTOS) * len(STYLES)
    while len(list(folder.glob("*__*.png"))) < total // 2:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*__*.png")}
    done = subprocess.run(argv, capture_output=True, text=True)
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*__*.png")}
    redone = [name for name, stamp in before.items() if after.get(name) != stamp]
    return dict(before_kill=len(before), after_rerun=len(after), total=total, redone=redone,
                rerun_says=done.stdout.strip().splitlines()[-2], leftovers=list(folder.glob(".*.tmp")))  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="stylekit-batch-"))
    local, n = timed(root / "local", size=args.size)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    on_ray, _ = timed(root / "ray", size=args.size, ray_address="")
    tiny = dict(size=32, steps=1)
    ray_tiny, _ = timed(root / "ray-tiny", ray_address="", **tiny)
    ray.shutdown()
    local_tiny, _ = timed(root / "local-tiny", **tiny)
    print(f"{n} items at {args.size} px (os.cpu_count() = {os.cpu_count()})")
    print(f"  local, one 2-thread process: {local:7.1f} s  {3600 * n / local:6.0f} items/hour")
    print(f"  Ray, two 1-thread workers:   {on_ray:7.1f} s  {3600 * n / on_ray:6.0f} items/hour")
    print(f"Ray's overhead per item (32 px, 1 step): {(ray_tiny - local_tiny) / n:.2f} s "
          f"(Ray {ray_tiny / n:.2f} s, local {local_tiny / n:.2f} s per item; workers' start-up included)")  # fmt: skip
    resume = kill_and_resume(root / "resume", args.size)
    print(f"kill -9 after {resume['before_kill']} of {resume['total']} outputs; rerun: {resume['after_rerun']} "
          f"outputs, {len(resume['redone'])} done twice, temporary files left: {len(resume['leftovers'])}; "
          f"the rerun said: {resume['rerun_says']}")  # fmt: skip


if __name__ == "__main__":
    main()
