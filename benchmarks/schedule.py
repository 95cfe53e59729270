"""Time to quality of step schedules: judged errors against seconds and full-size pass equivalents.

    python benchmarks/schedule.py    # the old default (one scale, 100 steps) vs today's, 4 pairs, 256 and 512 px
    python benchmarks/schedule.py --sizes 512 --pairs astronaut:brushstrokes --every 1000 \\
        --candidates "before=scales=1,steps=100,style_weight=10" "s3=steps=[32,16,19],style_weight=8.5"

Each candidate is the `default` preset with some settings changed (`name=key=value,key=value`; lists in
brackets); the first candidate is the baseline the others are compared with. Every `--every` steps the image is
kept and judged afterwards by `stylekit.judge` (relative errors, lower is better), so each run gives a curve.
A pass equivalent is one VGG evaluation at the final size; at half the side it counts ¼. Prints one row per
final result with its ratios to the baseline's and writes every curve point to OUT/schedule.csv; the final rows
go to the table named by --table in docs/performance.md and the curves beside it (docs/TABLE-SIZE.png; without
a table, OUT/schedule-SIZE.png). Runs share one process and one loaded model, after a warm-up.
"""

import argparse
import csv
from pathlib import Path

from matplotlib.figure import Figure
from quality import parse_variant  # benchmarks/quality.py, beside this file
from report import PERFORMANCE, write_table

from stylekit import sample, transfer
from stylekit.course import draw_quality
from stylekit.judge import AXES, quality_curve

CANDIDATES = ["before=scales=1,steps=100,style_weight=10", "default="]  # the default until Nov 2026, and now

PAIRS = ["astronaut:brushstrokes", "coffee:mosaic", "chelsea:great_wave", "rocket:shards"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=PAIRS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--candidates", nargs="+", default=CANDIDATES)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--table", default="schedule", help="the docs/performance.md table to write ('': none)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    candidates = {name: parse_variant(changes) for name, _, changes in (c.partition("=") for c in args.candidates)}
    transfer(sample("astronaut"), sample("brushstrokes"), size=64, steps=2, progress=False)  # warm-up
    curves, rows = {}, []
    header = ["pair", "size", "candidate", "steps", "passes", "seconds", *AXES]
    header += [f"÷ baseline's {a}" for a in ("seconds", *AXES)]
    print(" ".join(f"{h:>10}" for h in header), flush=True)
    for pair in args.pairs:
        content, style = map(sample, pair.split(":"))
        for size in args.sizes:
            for name, changes in candidates.items():
                result, points = quality_curve(content, style, args.every, size=size, progress=False, **changes)
                curves[pair, size, name] = points
                final, baseline = points[-1], curves[pair, size, next(iter(candidates))][-1]
                rows.append([pair, size, name, result.steps_done, f"{result.passes:.1f}", f"{result.seconds:.1f}",
                             *(f"{final[a]:.4f}" for a in AXES),
                             *(f"{final[a] / baseline[a]:.2f}" for a in ("seconds", *AXES))])  # fmt: skip
                print(" ".join(f"{cell:>10}" for cell in rows[-1]), flush=True)
    with open(out / "schedule.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["pair", "size", "candidate", "step", "passes", "seconds", *AXES])
        for (pair, size, name), points in curves.items():
            writer.writerows([pair, size, name, *(p[k] for k in ("step", "passes", "seconds", *AXES))] for p in points)
    figures = PERFORMANCE.parent / args.table if args.table else out / "schedule"
    for size in args.sizes:
        plot(curves, args.pairs, size, list(candidates)).savefig(f"{figures}-{size}.png")
    if args.table:
        write_table(args.table, header, rows)
    print(f"wrote {out / 'schedule.csv'} and the curves, {figures}-SIZE.png")


def plot(curves, pairs, size, candidates):
    """One row of panels per pair: content and style error against pass equivalents and against seconds."""
    columns = [("passes", "content"), ("passes", "style"), ("seconds", "content"), ("seconds", "style")]
    figure = Figure(figsize=(4 * len(columns), 3 * len(pairs)))
    for ax_row, pair in zip(figure.subplots(len(pairs), len(columns), squeeze=False), pairs):
        for ax, (x, axis) in zip(ax_row, columns):
            draw_quality(ax, [curves[pair, size, name] for name in candidates], candidates, x, axis)
            ax.set_title(f"{pair} at {size} px: {axis}", fontsize=9)
    figure.tight_layout()
    return figure


if __name__ == "__main__":
    main()
