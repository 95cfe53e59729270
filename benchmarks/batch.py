"""Batch runs: items per hour locally and on Ray, Ray's overhead per item, and a resume after a kill.

    python benchmarks/batch.py              # 4 bundled photos × 2 styles at 256 px, ~6 min on 2 CPU cores
    python benchmarks/batch.py --size 128

1. Local: one process using both cores, item after item. Ray: a local cluster of 2 CPUs, two 1-thread workers.
2. Ray's overhead: the same items at 32 px and 1 step (nearly no work) through both paths, per item.
3. Kill and resume: `stylekit batch` is killed (SIGKILL) once half the outputs exist, then run again: every item
   must be done once, none twice (the first run's outputs keep their modification times).
"""

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray
from report import write_table

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
    resume = kill_and_resume(root / "resume", args.size)
    overhead = (ray_tiny - local_tiny) / n
    rows = [
        ["local, one process using all cores", f"{local:.1f} s for {n} items: **{3600 * n / local:.0f} items/hour**"],
        ["Ray, a local cluster of 2 CPUs: two 1-thread workers",
         f"{on_ray:.1f} s: {3600 * n / on_ray:.0f} items/hour, the workers' start included"],
        ["Ray's overhead per item (32 px, 1 step)",
         f"{overhead:.2f} s ({ray_tiny / n:.2f} s per item on Ray, {local_tiny / n:.2f} s locally)"],
        ["kill -9 in the middle, then the same command",
         f"killed with {resume['before_kill']} of {resume['total']} outputs written; the rerun: "
         f"{resume['rerun_says']}, {resume['after_rerun']} outputs, **{len(resume['redone'])} written twice**, "
         f"{len(resume['leftovers'])} temporary files left"],
    ]  # fmt: skip
    print("\n".join(f"{label}: {cell}" for label, cell in rows))
    write_table("batch", [f"{n} items at {args.size} px", "measured"], rows)


if __name__ == "__main__":
    main()
