"""Video: flicker, time and per-frame quality of four ways to style a clip.

    python benchmarks/video.py                          # the bundled clip's first 12 frames at 256 and 512 px
    python benchmarks/video.py --frames 24 --sizes 256

Ways: independent `transfer`s (the default preset on each frame, from the frame itself), `stylekit.video`
(previous result warped by the flow + temporal loss), and, with a fast model, its frames as they are and
blended with the warped previous result (`video(..., model=)`).

Temporal error (flow.temporal_error): for t ≥ 2, with the backward flow b = flow(input_t, input_{t-1}) and c the
reliable-pixel mask of Ruder's consistency and motion-boundary tests (both measured on the input frames),
sqrt( Σ_t Σ_x c(x) Σ_ch (255 · (S_t(x) − S_{t-1}(x + b(x))))² / Σ_t Σ_x c(x) · 3 ) — the RMS difference, 0–255,
between each styled frame and the previous styled frame warped onto it, over the reliable pixels.
"""

import argparse
import json
import time
from pathlib import Path

from report import PERFORMANCE, write_table

from stylekit import load_fast, sample, transfer, video
from stylekit.images import save_png
from stylekit.judge import judge, judge_targets
from stylekit.samples import DATA
from stylekit.video import read_frames
from stylekit.video.flow import temporal_error

INDEPENDENT = "independent `transfer`s (default)"
COLUMNS = {
    "temporal_error": "temporal error",
    "seconds_per_frame": "s / frame (all)",
    "seconds_later_frames": "s / frame (2nd on)",
    "content": "judged content",
    "style": "judged style",
}


def independent(frames, style, folder):
    folder.mkdir(parents=True, exist_ok=True)
    seconds = []
    for i, frame in enumerate(frames, start=1):
        started = time.perf_counter()
        result = transfer(frame[None], style, size=[frame.shape[-1], frame.shape[-2]], progress=False)
        seconds.append(time.perf_counter() - started)
        result.save(folder / f"{i:06d}.png")
    return seconds


def scores(folder, frames, style):
    styled = read_frames(folder)
    pairs = list(zip(styled[:, None], frames[:, None]))
    targets = [judge_targets(f[None], style, f.shape[-1], f.shape[-2]) for f in frames]
    judged = [judge(s[None], f[None], style, t) for s, f, t in zip(styled, frames, targets)]
    return dict(temporal_error=temporal_error(pairs),
                content=sum(j["content"] for j in judged) / len(judged),
                style=sum(j["style"] for j in judged) / len(judged))  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default=str(DATA / "clip_coffee.mp4"))
    parser.add_argument("--style", default=str(sample("mosaic")))
    parser.add_argument("--model", default="mosaic", help="a fast model for the same style")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--out", default="benchmarks/results/video")
    args = parser.parse_args()
    out, report = Path(args.out), {}
    for size in args.sizes:
        frames = read_frames(args.clip, size)[: args.frames]
        frames = frames[..., : frames.shape[-2] // 2 * 2, : frames.shape[-1] // 2 * 2]
        clip = out / f"input-{size}"
        clip.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames, start=1):
            save_png(frame[None], clip / f"{i:06d}.png")
        runs = {INDEPENDENT: independent(frames, args.style, out / f"independent-{size}")}
        runs["`video` (warped start + temporal loss)"] = video(clip, args.style, out / f"temporal-{size}", size=size,
                                              progress=False).seconds  # fmt: skip
        model = load_fast(args.model)
        runs["fast model"] = video(clip, None, out / f"fast-{size}", model=model, blend=0, size=size,
                                   progress=False).seconds  # fmt: skip
        runs["fast model + flow blend"] = video(clip, None, out / f"fast-blend-{size}", model=model, size=size,
                                                progress=False).seconds  # fmt: skip
        folders = dict(zip(runs, ("independent", "temporal", "fast", "fast-blend")))
        report[size] = {}
        print(f"\n{size} px, {len(frames)} frames of {args.clip}")
        print(f"{'':45}{'temporal err':>13}{'s/frame':>9}{'s/frame 2+':>11}{'content':>9}{'style':>9}")
        for name, seconds in runs.items():
            row = scores(out / f"{folders[name]}-{size}", frames, args.style)
            row.update(seconds_per_frame=sum(seconds) / len(seconds),
                       seconds_later_frames=sum(seconds[1:]) / max(len(seconds) - 1, 1))  # fmt: skip
            report[size][name] = row
            print(f"{name:45}{row['temporal_error']:13.2f}{row['seconds_per_frame']:9.2f}"
                  f"{row['seconds_later_frames']:11.2f}{row['content']:9.3f}{row['style']:9.4f}")  # fmt: skip
    (out / "video.json").write_text(json.dumps(report, indent=1))
    write_table("video", [f"{args.frames} frames", *COLUMNS.values()], table_rows(report))
    print(f"\nwrote {out / 'video.json'} and the table in {PERFORMANCE}")


def table_rows(report):
    """One row per size and way; beside each figure, its ratio to independent transfers at that size."""
    rows = []
    for size, runs in report.items():
        base = runs[INDEPENDENT]
        for name, row in runs.items():
            cells = [f"{size} px, {name}"]
            for key in COLUMNS:
                cell = f"{row[key]:.4f}" if key == "style" else f"{row[key]:.2f}"
                if name != INDEPENDENT and key != "content" and base[key]:
                    cell += f" ({row[key] / base[key]:.2f}×)"
                cells.append(cell)
            rows.append(cells)
    return rows


if __name__ == "__main__":
    main()
