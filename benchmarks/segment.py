"""How well ``stylekit.segment`` finds the person: intersection-over-union with the project's hand-drawn reference
masks (stylekit/data/masks) and seconds, at 512 px, for each portrait and each source available here.

    python benchmarks/segment.py                     # ~1 min on 2 CPU cores, offline: the classical path only
    python benchmarks/segment.py --sources classical torchvision my_lraspp.pth

The portraits: the astronaut (the classical path's parameters were tuned on it alone, then frozen), Grace Hopper
and scikit-image's greyscale cameraman (scored with the frozen parameters, never tuned on). The mask is thresholded
at 0.5; its IoU is computed at the reference's size. Seconds: the median of --repeats calls, after one call that
loads what the source needs (the cascade, the network's weights), wall-clock and the process's CPU time (all its
threads: on a machine shared with other work the CPU time is the fairer figure). The network is measured where its
weights are cached or can be downloaded (``auto``'s test). Writes the table segment in docs/control.md.
"""

import argparse
import importlib
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image
from report import write_table

from stylekit.samples import DATA, sample

seg = importlib.import_module("stylekit.segment")  # the module (stylekit.segment may name the function)
CONTROL = Path(__file__).resolve().parent.parent / "docs" / "control.md"
PORTRAITS = ("astronaut", "grace_hopper", "camera")
TUNED_ON = "astronaut"


def portrait(name, side):
    """The portrait with its long side at ``side`` px, and its reference mask at the same size."""
    if name == "camera":
        import skimage.data

        photo = Image.fromarray(skimage.data.camera()).convert("RGB")
    else:
        photo = Image.open(sample(name)).convert("RGB")
    photo.thumbnail((side, side), Image.LANCZOS)  # never enlarges
    truth = Image.open(DATA / "masks" / f"person_{name}.png").convert("L").resize(photo.size, Image.NEAREST)
    return photo, np.asarray(truth) > 127


def measure(name, source, side, repeats):
    photo, truth = portrait(name, side)
    seg.segment(photo, source, name=name)  # loads the cascade or the network
    seconds, cpu, found = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        found = seg.segment(photo, source, name=name)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    mask = found.person[0, 0].numpy() > 0.5
    iou = float((mask & truth).sum() / (mask | truth).sum())
    return dict(
        photo=name,
        source=found.source,
        iou=iou,
        seconds=statistics.median(seconds),
        cpu_seconds=statistics.median(cpu),
        size=photo.size,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", default=None, help="default: classical, and torchvision if available")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/segment.json")
    args = parser.parse_args()
    sources = args.sources or ["classical"] + (["torchvision"] if seg._network_reason() is None else [])
    rows = []
    for source in sources:
        for name in PORTRAITS:
            rows.append(measure(name, source, args.size, args.repeats))
            print(json.dumps(rows[-1]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    table = [
        [r["photo"] + (" (tuned on)" if r["photo"] == TUNED_ON and r["source"] == "classical" else ""),
         r["source"], "×".join(map(str, r["size"])), f"{r['iou']:.3f}", f"{r['seconds']:.2f}",
         f"{r['cpu_seconds']:.2f}"]
        for r in rows
    ]  # fmt: skip
    write_table("segment", ["portrait", "source", "px", "IoU", "seconds", "CPU seconds"], table, CONTROL)


if __name__ == "__main__":
    main()
