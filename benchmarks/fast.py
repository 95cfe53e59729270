"""Fast models (Johnson et al.): stylising time and memory, training cost, and quality against `transfer`.

    python benchmarks/fast.py                      # every shipped model, ~2 min each on 2 CPU cores
    python benchmarks/fast.py --models mine.pt --styles stylekit/data/style_mosaic.jpg

1. Stylising: best of 5 forward passes at 256, 512 and 1024 px (auto precision, and fp32), and the peak
   resident memory of a fresh process that loads the model and stylises one photo at that size.
2. Training: each model's loss record and training time (stored in its file, from the machine that trained it),
   and the seconds per step of the default training measured here over a few steps.
3. Quality: `stylekit.judge`'s content and style errors of the model's 512 px output and of `transfer`'s
   `default` at 512 px, on photos in the training set and on the photos held out of it (train.HELD_OUT).

Writes the tables fast-speed, fast-training and fast-quality in docs/performance.md.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from matplotlib.figure import Figure
from report import write_table

from stylekit import load_fast, sample, stylize, train_fast, transfer
from stylekit.fast import SHIPPED, shipped_models
from stylekit.fast.train import TrainOptions
from stylekit.judge import judge, judge_targets
from stylekit.photos import HELD_OUT

SEEN = ("astronaut", "coffee")
MEMORY = """
import resource, sys, stylekit
model = stylekit.load_fast(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stylekit.stylize(model, stylekit.sample("chelsea"), int(sys.argv[2]))
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def speed(path, sizes, repeats=5):
    model, rows = load_fast(path), []
    for size in sizes:
        row = {"size": size}
        for precision in ("auto", "fp32"):
            times = [stylize(model, sample("chelsea"), size, precision=precision).seconds for _ in range(repeats + 1)]
            row[precision] = min(times[1:])  # the first pass picks kernels
        before, peak = map(int, subprocess.check_output([sys.executable, "-c", MEMORY, path, str(size)]).split())
        row["peak_mb"], row["added_mb"] = peak / 1024, (peak - before) / 1024
        rows.append(row)
    return rows


def quality(model, style, size):
    rows = []
    for photo in SEEN + HELD_OUT:
        content = sample(photo)
        fast = stylize(model, content, size)
        started = time.perf_counter()
        slow = transfer(content, style, size=size, progress=False)
        wall = time.perf_counter() - started
        targets = judge_targets(content, style, *fast.image.shape[-1:-3:-1])
        ours, theirs = judge(fast.image, content, style, targets), judge(slow.image, content, style, targets)
        rows.append(dict(photo=photo, held_out=photo in HELD_OUT, fast_seconds=fast.seconds, transfer_seconds=wall,
                         **{f"fast_{k}": ours[k] for k in ("content", "style")},
                         **{f"transfer_{k}": theirs[k] for k in ("content", "style")}))  # fmt: skip
    return rows


def training_cost(style, steps=12):
    """Seconds per step of the default training here (the first two steps, which set up kernels, left out)."""
    seconds = train_fast(style, steps=steps, progress=False).history["seconds"]
    return (seconds[-1] - seconds[1]) / (steps - 2)


def loss_figure(models, path):
    figure = Figure(figsize=(7, 3), dpi=100)
    axes = figure.subplots(1, 2)
    for model in models:
        h = load_fast(model).history
        window = 50
        for ax, term in zip(axes, ("content", "style")):
            values = h[term]
            smooth = [sum(values[max(0, i - window) : i + 1]) / len(values[max(0, i - window) : i + 1])
                      for i in range(len(values))]  # fmt: skip
            ax.plot([s / 60 for s in h["seconds"]], smooth, label=Path(model).stem)
            ax.set(xlabel="training minutes", ylabel=f"{term} loss (relative, 50-step mean)", yscale="log")
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[str(SHIPPED / f"{name}.pt") for name in shipped_models()])
    parser.add_argument("--styles", nargs="+", help="each model's style image (default: the bundled one it names)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--quality-size", type=int, default=512)
    parser.add_argument("--out", default="benchmarks/results/fast")
    args = parser.parse_args()
    args.styles = args.styles or [sample(load_fast(model).style) for model in args.models]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"speed": speed(args.models[0], args.sizes)}
    print(f"stylising with {args.models[0]} (best of 5; peak RSS of a fresh process)")
    print(f"{'size':>6} {'auto s':>8} {'fp32 s':>8} {'peak MB':>8} {'added MB':>9}")
    for r in report["speed"]:
        print(f"{r['size']:>6} {r['auto']:>8.3f} {r['fp32']:>8.3f} {r['peak_mb']:>8.0f} {r['added_mb']:>9.0f}")
    report["training"] = {}
    for model in args.models:
        m = load_fast(model)
        h = m.history
        report["training"][model] = dict(settings=m.settings, steps=len(h["total"]), minutes=h["seconds"][-1] / 60,
                                          final_content=sum(h["content"][-50:]) / 50,
                                          final_style=sum(h["style"][-50:]) / 50)  # fmt: skip
        print(f"training {model}: {len(h['total'])} steps in {h['seconds'][-1] / 60:.1f} min, settings {m.settings}")
    report["seconds_per_step_here"] = training_cost(args.styles[0])
    print(f"default training here: {report['seconds_per_step_here']:.2f} s/step")
    loss_figure(args.models, out / "training.png")
    report["quality"] = {}
    print(f"\nquality at {args.quality_size} px: judged errors, fast model / transfer default (ratio)")
    for model, style in zip(args.models, args.styles):
        rows = report["quality"][model] = quality(model, style, args.quality_size)
        for r in rows:
            content, style_ratio = (r[f"fast_{k}"] / r[f"transfer_{k}"] for k in ("content", "style"))
            print(f"  {Path(model).stem:>10} × {r['photo']:<10} {'held out' if r['held_out'] else 'seen':>8}  "
                  f"content {r['fast_content']:.3f} / {r['transfer_content']:.3f} ({content:.2f})  "
                  f"style {r['fast_style']:.4f} / {r['transfer_style']:.4f} ({style_ratio:.2f})  "
                  f"{r['fast_seconds']:.2f} s vs {r['transfer_seconds']:.1f} s")  # fmt: skip
    (out / "fast.json").write_text(json.dumps(report, indent=1))
    write_tables(report)
    print(f"\nwrote {out / 'fast.json'} and {out / 'training.png'}")


def write_tables(report):
    speed = [[f"{r['size']} px", f"{r['auto']:.3f}", f"{r['fp32']:.3f}", f"{r['peak_mb']:.0f}", f"{r['added_mb']:.0f}"]
             for r in report["speed"]]  # fmt: skip
    write_table("fast-speed", ["stylising chelsea", "auto s", "fp32 s", "peak MB", "MB added by stylising"], speed)
    training = []
    for model, t in report["training"].items():
        settings = ", ".join(f"{key} {value}" for key, value in t["settings"].items())
        training.append([Path(model).stem, t["steps"], f"{t['minutes']:.1f}", settings])
    here, steps = report["seconds_per_step_here"], TrainOptions().steps
    training.append(["the default training, measured here", steps, f"{steps * here / 60:.1f} ({here:.2f} s/step)", ""])
    write_table("fast-training", ["model", "steps", "minutes", "settings"], training)
    quality = []
    for model, rows in report["quality"].items():
        ratio = {k: [r[f"fast_{k}"] / r[f"transfer_{k}"] for r in rows] for k in ("content", "style")}
        cells = [f"content {c:.2f}×, style {s:.2f}×" for c, s in zip(ratio["content"], ratio["style"])]
        fast, slow = (sum(r[f"{k}_seconds"] for r in rows) / len(rows) for k in ("fast", "transfer"))
        quality.append([Path(model).stem, *cells, f"{fast:.2f} / {slow:.1f} s"])
    photos = [f"{r['photo']} ({'held out' if r['held_out'] else 'seen'})" for r in rows]
    write_table("fast-quality", ["fast ÷ `transfer`", *photos, "seconds, fast / `transfer`"], quality)


if __name__ == "__main__":
    main()
