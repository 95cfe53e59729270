"""Judged quality and time of variants of the `default` preset against stylekit's own long run.

    python benchmarks/quality.py --variants "" scales=2 scales=3 lbfgs_history=20 precision=bf16
    python benchmarks/quality.py --size 256 --reference-steps 300 --pairs chelsea:mosaic

Each variant is `default` with some settings changed ("" changes none); the reference is `default` with
1000 L-BFGS evaluations, fp32, one scale. Every image is scored by `stylekit.judge`; the last column is
the worst axis relative to the reference (+10% = an error 10% above the long run's; with --reference-steps 0,
relative to the first variant). Writes the table named by --table in docs/performance.md. Runs share one process
and one loaded model, after a warm-up, so the seconds are the optimisation's own; on a GPU the peak GPU
memory of each run is printed too.
"""

import argparse
import ast
import re

import torch
from report import write_table

from stylekit import sample, transfer
from stylekit.judge import judge

AXES = ("content", "style", "style_unused")


def parse_variant(text):
    """'scales=2,precision=bf16,steps=[36,16]' -> {'scales': 2, 'precision': 'bf16', 'steps': [36, 16]}."""
    changes = {}
    # Commas inside brackets belong to a list value.
    for item in filter(None, re.split(r",(?![^\[]*\])", text)):
        key, value = item.split("=", 1)
        try:
            changes[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            changes[key] = value
    return changes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["", "scales=2", "scales=3"])
    parser.add_argument("--pairs", nargs="+", default=["astronaut:brushstrokes", "coffee:mosaic"])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--reference-steps", type=int, default=1000, help="0: no reference, compare with the first")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--table", default="quality", help="the docs/performance.md table to write ('': none)")
    args = parser.parse_args()
    runs = {}
    if args.reference_steps:
        reference = f"reference ({args.reference_steps} steps, fp32, one scale)"
        runs[reference] = dict(steps=args.reference_steps, precision="fp32", scales=1)
    runs.update({text or "default": parse_variant(text) for text in args.variants})
    transfer(sample("astronaut"), sample("brushstrokes"), size=64, steps=2, device=args.device, progress=False)
    gpu = torch.cuda.is_available() and args.device != "cpu"
    header = ["pair", "run", "seconds", *(["GPU GiB"] * gpu), *AXES, f"worst vs {next(iter(runs))}"]
    print(" ".join(f"{h:>12}" for h in header))
    rows = []
    for pair in args.pairs:
        content, style = map(sample, pair.split(":"))
        first = None
        for name, changes in runs.items():
            if gpu:
                torch.cuda.reset_peak_memory_stats()
            result = transfer(content, style, size=args.size, device=args.device, progress=False, **changes)
            scores = judge(result.image, content, style)
            first = first or scores
            worst = max(scores[a] / first[a] - 1 for a in AXES)
            peak = [f"{torch.cuda.max_memory_allocated() / 2**30:.2f}"] * gpu
            judged = [f"{scores[a]:.4f}" for a in AXES]
            rows.append([pair, name, f"{result.seconds:.1f}", *peak, *judged, f"{worst:+.1%}"])
            print(" ".join(f"{cell:>12}" for cell in rows[-1]), flush=True)
    if args.table:
        write_table(args.table, header, rows)


if __name__ == "__main__":
    main()
