"""Judged quality and time of variants of the `default` preset against stylekit's own long run.

    python benchmarks/quality.py --variants "" scales=2 scales=3 lbfgs_history=20 precision=bf16
    python benchmarks/quality.py --size 256 --reference-steps 300 --pairs chelsea:mosaic

Each variant is `default` with some settings changed ("" changes none); the reference is `default` with
1000 L-BFGS evaluations, fp32, one scale. Every image is scored by `stylekit.judge`; the last column is
the worst axis relative to the reference (+10% = an error 10% above the long run's). Runs share one process
and one loaded model, after a warm-up, so the seconds are the optimisation's own; on a GPU the peak GPU
memory of each run is printed too.
"""

import argparse
import ast
import re

import torch

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
    parser.add_argument("--reference-steps", type=int, default=1000)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    runs = {
        f"reference ({args.reference_steps} steps, fp32)": dict(steps=args.reference_steps, precision="fp32", scales=1)
    }
    runs.update({text or "default": parse_variant(text) for text in args.variants})
    transfer(sample("astronaut"), sample("brushstrokes"), size=64, steps=2, device=args.device, progress=False)
    gpu = torch.cuda.is_available() and args.device != "cpu"
    print(
        f"{'pair':24} {'run':34} {'seconds':>8} {'GPU GiB':>8} "
        + " ".join(f"{a:>12}" for a in AXES)
        + f" {'worst vs ref':>12}"
    )
    for pair in args.pairs:
        content, style = map(sample, pair.split(":"))
        reference = None
        for name, changes in runs.items():
            if gpu:
                torch.cuda.reset_peak_memory_stats()
            result = transfer(content, style, size=args.size, device=args.device, progress=False, **changes)
            scores = judge(result.image, content, style)
            reference = reference or scores
            worst = max(scores[a] / reference[a] - 1 for a in AXES)
            peak = f"{torch.cuda.max_memory_allocated() / 2**30:8.2f}" if gpu else f"{'-':>8}"
            print(
                f"{pair:24} {name:34} {result.seconds:8.1f} {peak} "
                + " ".join(f"{scores[a]:12.4f}" for a in AXES)
                + f" {worst:+12.1%}",
                flush=True,
            )


if __name__ == "__main__":
    main()
