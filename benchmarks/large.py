"""Very large outputs: peak memory and time whole vs in tiles, seams, judged errors
(docs/performance.md: Very large images).

    python benchmarks/large.py                  # all of it: ~70 min on 2 CPU cores
    python benchmarks/large.py --runs 2048      # the 2048 px comparison only (~32 min)

Every run is a fresh process transferring astronaut × mosaic; its peak resident memory is the kernel's record
for that process (os.wait4), its seconds the wall clock of the whole run, model loading and saving included.

1. 2048 px with the default steps (36 at 1024 px, 16 at 2048), whole (tile=0) and in tiles of 1024 and 700 px:
   memory, seconds, the judged errors, the mean absolute difference from the whole result, and the seam
   figure: the mean gradient magnitude across the tile cuts ÷ elsewhere, of the tiled result and, as a
   control, of the whole one at the same lines (1024 px tiles cut along the centre lines, which stand out in
   any result; 700 px tiles cut off them).
2. 4096 and 8192 px, tiles as `tile="auto"` picks them, fewer steps: memory and seconds per step of the
   finest scale. L-BFGS adds two image-sized vectors per remembered step, full after as many steps: 4096
   runs 11 steps per scale with the default memory of 10; 8192 remembers 1 step, to fill it in 2 (a
   longer memory adds 2 × 0.75 GiB per step there: docs/performance.md).
3. `--runs estimate`: the memory estimate against measured peaks, whole and tiled, small to large, in fp32 and
   bf16 (each a fresh process, the model loaded and a small run done before measuring): the table in
   docs/performance.md (Memory). The estimate must be the larger in every row (tests/test_memory.py checks one row).

Writes the tables estimate, large-2048, large-2048-tiles, large-4096 and large-8192 in docs/performance.md.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from report import write_table

from stylekit import PRESETS, sample, transfer
from stylekit.images import load_image
from stylekit.judge import judge
from stylekit.measure import measure_in_fresh_process
from stylekit.tiles import layout

RUNS = {
    "2048": [
        ("2048-whole", dict(size=2048, tile=0)),
        ("2048-tiled", dict(size=2048, tile=1024)),  # what tile="auto" picks
        ("2048-tiled-700", dict(size=2048, tile=700)),  # cuts at 688 and 1376, off the image's centre lines
    ],
    "4096": [("4096-tiled", dict(size=4096, steps=[11, 11]))],  # both scales fill L-BFGS's memory of 10 steps
    "8192": [("8192-tiled", dict(size=8192, steps=[1, 2], lbfgs_history=1))],
}
# (longest side, tile or None): the rows of the estimate table, run in fp32 and in bf16.
ESTIMATED = [(128, None), (256, None), (512, None), (1024, None), (512, 128), (768, 256), (1024, 256), (2048, 512)]
CONTENT, STYLE = "astronaut", "mosaic"


def one(name, settings, folder):
    """Runs in the child: one transfer, its PNG, and its step times as JSON on the last line."""
    result = transfer(sample(CONTENT), sample(STYLE), progress=True, **settings)
    result.save(folder / f"{name}.png")
    print(json.dumps(dict(seconds=result.history["seconds"])))


def measured(name, settings, folder):
    """(peak resident GiB, wall seconds, step seconds) of ``one`` in a fresh process."""
    argv = [sys.executable, __file__, "--one", name, json.dumps(settings), "--out", str(folder)]
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status:
        raise SystemExit(f"{name} failed ({status}): {output[-2000:]}")
    return usage.ru_maxrss / 2**20, wall, json.loads(output.strip().splitlines()[-1])["seconds"]


def estimate_table():
    """The estimate against measured peaks (MiB added to the process by the run), each in a fresh process."""
    rows = []
    for precision in ("fp32", "bf16"):
        for size, tile in ESTIMATED:
            run = dict(size=size, steps=2, scales=1, tile=tile or 0, precision=precision)
            measured, estimated = measure_in_fresh_process(**run)
            rows.append([size, tile or "whole", precision, f"{measured / 2**20:.0f}", f"{estimated / 2**20:.0f}",
                         f"{measured / estimated:.2f}"])  # fmt: skip
            print(rows[-1], flush=True)
    write_table(
        "estimate", ["size", "tiles", "precision", "measured MiB", "estimated MiB", "measured ÷ estimated"], rows
    )


def seam_figure(image, cuts_x, cuts_y):
    """Mean |∇| across the cut lines ÷ mean |∇| everywhere else (1: the cuts cannot be told apart)."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1)[0]  # (H, W-1): between columns c-1 and c at c-1
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1)[0]
    on_x, on_y = torch.zeros_like(dx, dtype=torch.bool), torch.zeros_like(dy, dtype=torch.bool)
    on_x[:, [c - 1 for c in cuts_x]] = True
    on_y[[c - 1 for c in cuts_y], :] = True
    across = torch.cat([dx[on_x], dy[on_y]]).mean()
    elsewhere = torch.cat([dx[~on_x], dy[~on_y]]).mean()
    return float(across / elsewhere)


def halfway_figure(image, cut_lines):
    """Mean |∇| across the cut lines ÷ across the lines halfway between them (and the image's edges): a
    control for the cuts' positions, which sit on every pooling grid of every scale, where any result (and
    often the photo, at its centre lines) has stronger gradients than on average."""
    edges = [0, *cut_lines, image.shape[-1]]
    halfway = [(a + b) // 2 for a, b in zip(edges, edges[1:])]
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1)[0].mean(0)
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1)[0].mean(1)

    def mean(lines):
        return torch.cat([dx[[c - 1 for c in lines]], dy[[c - 1 for c in lines]]]).mean()

    return float(mean(cut_lines) / mean(halfway))


def cuts(size, tile):
    s = PRESETS["default"]
    tiles = layout(s.model, [*s.content_layers, *s.style_layers], s.style_loss, size, size, tile)
    return sorted({t.core[0] for t in tiles} - {0}), sorted({t.core[2] for t in tiles} - {0})


def compare_2048(folder):
    """Judged errors, difference and seam figures of the tiled results against the whole one."""
    whole = load_image(folder / "2048-whole.png")
    ours = judge(whole, sample(CONTENT), sample(STYLE))
    rows = [["2048-whole", f"{ours['content']:.4f} / {ours['style']:.4f}", "", "", "", ""]]
    for name, settings in RUNS["2048"][1:]:
        tiled = load_image(folder / f"{name}.png")
        theirs = judge(tiled, sample(CONTENT), sample(STYLE))
        x, y = cuts(2048, settings["tile"])
        seams = seam_figure(tiled, x, y), seam_figure(whole, x, y)
        rows.append([name, f"{theirs['content']:.4f} / {theirs['style']:.4f}",
                     f"{theirs['content'] / ours['content']:.3f} / {theirs['style'] / ours['style']:.3f}",
                     f"{float((tiled - whole).abs().mean()):.4f}", f"x {x}, y {y}",
                     f"{seams[0]:.3f}, whole {seams[1]:.3f}: **{seams[0] / seams[1]:.3f}×**"])  # fmt: skip
        print(rows[-1], flush=True)
    header = ["2048 px", "judged content / style", "÷ whole", "mean |tiled − whole|", "cuts", "seam figure"]
    write_table("large-2048-tiles", header, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=[*RUNS, "estimate"], choices=[*RUNS, "estimate"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/large"))
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        return one(args.one[0], json.loads(args.one[1]), args.out)
    if "estimate" in args.runs:
        estimate_table()
    for key in (k for k in args.runs if k in RUNS):
        rows = []
        for name, settings in RUNS[key]:
            peak, wall, seconds = measured(name, settings, args.out)
            steps = settings.get("steps", PRESETS["default"].steps)
            finest = (
                (seconds[-1] - seconds[-steps[-1]]) / (steps[-1] - 1) if steps[-1] > 1 else seconds[-1] - seconds[-2]
            )
            halfway = ""
            if settings.get("tile", "auto"):
                x, _ = cuts(settings["size"], settings.get("tile") or 1024)  # auto picks 1024 px tiles here
                halfway = f"{halfway_figure(load_image(args.out / f'{name}.png'), x):.3f}"
            rows.append([name, f"**{peak:.2f}**", f"{wall:.0f}", f"{seconds[-1]:.0f}", steps, f"{finest:.1f}", halfway])
            print(rows[-1], flush=True)
        header = ["run", "peak GiB", "wall s", "optimising s", "steps", "s per finest step", "cuts ÷ halfway lines"]
        write_table(f"large-{key}", header, rows)
        if key == "2048":
            compare_2048(args.out)


if __name__ == "__main__":
    main()
