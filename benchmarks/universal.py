"""Universal style transfer (Li et al. 2017, the shipped decoders): speed, memory, and quality against `transfer`.

    python benchmarks/universal.py                                  # ~15 min on 2 CPU cores
    python benchmarks/universal.py --photos chelsea --styles great_wave --sizes 256   # a quick look
    python benchmarks/universal.py --parts busy                     # the busy core alone, ~1 min

1. Speed: best of 3 runs of ``universal`` at --sizes (auto precision, and fp32), and the peak resident memory of a
   fresh process that styles one photo at that size (the process's own ~1 GiB of torch and weights included).
2. A busy core: ``universal`` at --busy-size, median and slowest of --busy-repeats runs, on an idle CPU and beside
   a process that keeps one core busy (``while True: pass``, as another notebook would), with the whitening's
   small linear algebra on one thread (``device.one_thread``, as shipped) and on all of them (as before).
3. Quality at --quality-size: ``stylekit.judge``'s content, style and unused-layer errors of ``universal``'s
   image, and of the ``warm`` preset (``transfer`` started from it, one scale) with --warm-steps and with its own
   25 steps, each divided by the default's (``transfer`` from the photo, the same 25 full-size passes). Photos
   seen by the decoders' training and photos held out of it (``photos.HELD_OUT``), each with every style.

Writes the tables universal-speed, universal-busy and universal-quality in docs/performance.md (those of the parts
run).
"""

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import write_table

from stylekit import sample, transfer, universal
from stylekit.judge import AXES, judge, judge_targets
from stylekit.photos import HELD_OUT
from stylekit.settings import PRESETS
from stylekit.universal import whiten

MEMORY = """
import resource, sys, stylekit
stylekit.universal(stylekit.sample("chelsea"), stylekit.sample("great_wave"), size=int(sys.argv[1]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def speed(sizes, repeats=3):
    rows = []
    for size in sizes:
        row = {"size": size}
        for precision in ("auto", "fp32"):
            runs = [universal(sample("chelsea"), sample("great_wave"), size=size, precision=precision).seconds
                    for _ in range(repeats + 1)]  # fmt: skip
            row[precision] = min(runs[1:])  # the first run picks kernels
        row["peak_mb"] = int(subprocess.check_output([sys.executable, "-c", MEMORY, str(size)])) / 1024
        print(f"{size:>5} px: auto {row['auto']:.2f} s, fp32 {row['fp32']:.2f} s, peak {row['peak_mb']:.0f} MB")
        rows.append(row)
    return rows


@contextlib.contextmanager
def busy_core():
    """Another process spinning on one core while the block runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)  # started and spinning
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def busy(size, repeats):
    """Seconds of ``universal`` at ``size``, idle and beside a busy core, the small linear algebra on one thread
    and (monkeypatched back) on all of them."""
    rows, shipped = [], whiten.one_thread
    for threads, context in (("one thread (now)", shipped), ("all threads (before)", contextlib.nullcontext)):
        whiten.one_thread = context
        for load, around in (("idle", contextlib.nullcontext), ("one core busy", busy_core)):
            with around():
                runs = [universal(sample("chelsea"), sample("great_wave"), size=size).seconds
                        for _ in range(repeats + 1)][1:]  # fmt: skip
            rows.append(dict(threads=threads, load=load, median=statistics.median(runs), slowest=max(runs)))
            print(f"{threads}, {load}: median {rows[-1]['median']:.2f} s, slowest {rows[-1]['slowest']:.2f} s")
    whiten.one_thread = shipped
    return rows


def quality(photo, style, size, warm_steps):
    """Judged errors of each way of making the image, and its seconds and full-size passes."""
    content, painting = sample(photo), sample(style)
    made = {}
    started = time.perf_counter()
    made["universal"] = (universal(content, painting, size=size), time.perf_counter() - started)
    for name, preset, changes in (("default", "default", {}), ("warm, short", "warm", dict(steps=warm_steps)),
                                  ("warm", "warm", {})):  # fmt: skip
        started = time.perf_counter()
        result = transfer(content, painting, preset, size=size, progress=False, **changes)
        made[name] = (result, time.perf_counter() - started)
    image = made["default"][0].image
    targets = judge_targets(content, painting, image.shape[-1], image.shape[-2])
    row = {"photo": photo, "style": style, "held_out": photo in HELD_OUT}
    for name, (result, seconds) in made.items():
        scores = judge(result.image, content, painting, targets)
        passes = result.passes if name != "universal" else 0
        row[name] = dict(seconds=seconds, passes=passes, **{axis: scores[axis] for axis in AXES})
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ["speed", "busy", "quality"]
    parser.add_argument("--parts", nargs="+", choices=parts, default=parts)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--busy-size", type=int, default=512)
    parser.add_argument("--busy-repeats", type=int, default=7)
    parser.add_argument("--quality-size", type=int, default=512)
    parser.add_argument("--photos", nargs="+", default=["astronaut", "coffee", *HELD_OUT])
    parser.add_argument("--styles", nargs="+", default=["brushstrokes", "great_wave", "mosaic"])
    parser.add_argument("--warm-steps", type=int, default=12, help="the warm preset's steps in the short run")
    parser.add_argument("--out", default="benchmarks/results/universal.json")
    args = parser.parse_args()
    report = {"speed": speed(args.sizes) if "speed" in args.parts else [], "quality": []}
    report["busy"] = busy(args.busy_size, args.busy_repeats) if "busy" in args.parts else []
    for photo in args.photos if "quality" in args.parts else []:
        for style in args.styles:
            row = quality(photo, style, args.quality_size, args.warm_steps)
            report["quality"].append(row)
            ratios = {name: " ".join(f"{row[name][a] / row['default'][a]:.2f}" for a in AXES)
                      for name in ("universal", "warm, short", "warm")}  # fmt: skip
            print(f"{photo} × {style}: ÷ default (content style unused): {ratios}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    write_tables(report, args)


def write_tables(report, args):
    if report["speed"]:
        speed = [[f"{r['size']} px", f"{r['auto']:.2f}", f"{r['fp32']:.2f}", f"{r['peak_mb']:.0f}"]
                 for r in report["speed"]]  # fmt: skip
        write_table("universal-speed", ["chelsea × great wave", "auto s", "fp32 s", "peak MB"], speed)
    if report["busy"]:
        busy = [[r["threads"], r["load"], f"{r['median']:.2f}", f"{r['slowest']:.2f}"] for r in report["busy"]]
        header = [f"{args.busy_size} px, small linear algebra on", "other core", "median s", "slowest s"]
        write_table("universal-busy", header, busy)
    if not report["quality"]:
        return
    rows = []
    for r in report["quality"]:
        cells = []
        for name in ("universal", "warm, short", "warm"):
            ratios = "/".join(f"{r[name][a] / r['default'][a]:.2f}" for a in AXES)
            cells.append(f"{ratios} ({r[name]['passes']:.0f} passes, {r[name]['seconds']:.1f} s)")
        default = r["default"]
        rows.append([f"{r['photo']} × {r['style']}" + (" (held out)" if r["held_out"] else ""), *cells,
                     f"{default['passes']:.0f} passes, {default['seconds']:.1f} s"])  # fmt: skip
    warm = PRESETS["warm"].steps
    header = [f"{args.quality_size} px, ÷ default: content/style/unused", "universal", f"warm, {args.warm_steps} steps",
              f"warm ({warm} steps)", "default"]  # fmt: skip
    write_table("universal-quality", header, rows)


if __name__ == "__main__":
    main()
