"""How a live run follows a change: how soon the preview shows it, and how many steps until the image is as good
as a fresh run with the new settings.

    python benchmarks/live.py                                   # 256 px, Adam and L-BFGS, the four changes
    python benchmarks/live.py --size 128 --budget 40 --optimizers adam:0.03   # a quick look

For each optimiser: a live run converges for --budget steps; then, for each change, a live run starts from that
image with the old settings, takes the change (``update``) and steps on, judged every --every steps, until each
judged error (content, style, unused-layer style) is within 10 % of a fresh live run's with the new settings after
--budget steps from the photo. *First preview* is the time from the change to the first image that shows it: the
update alone when the image changes at once (a restyle), else the update and one step; *one step* is a step's time
without a change. Targets (issue 27): the first preview within one step's time, and within 10 % in at most a third
of the fresh run's steps. Then a live step's
time at --sizes (how large the preview can be while it stays responsive). Writes the tables live and live-sizes
in docs/performance.md.
"""

import argparse
import time

from report import write_table

from stylekit import sample
from stylekit.judge import AXES, judge
from stylekit.live import LiveTransfer


def changes():
    return {
        "β × 3": {"style_weight": 27.0},
        "drop relu1_1": {"style_layers": dict.fromkeys(("relu2_1", "relu3_1", "relu4_1", "relu5_1"), 0.25)},
        "colours: luminance": {"colours": "luminance"},
        "new style image": {"style": sample("mosaic")},
    }


def judged(live, photo, style):
    return judge(live.image, photo, style)


def within(scores, target, margin=0.1):
    return all(scores[axis] <= (1 + margin) * target[axis] for axis in AXES)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--budget", type=int, default=100, help="steps of the converged and of the fresh runs")
    parser.add_argument("--every", type=int, default=5, help="judge the changed run every N steps")
    parser.add_argument("--optimizers", nargs="+", default=["adam:0.03", "lbfgs:1"], help="name:lr")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 384, 512], help="for a step's time")
    args = parser.parse_args()
    photo, painting = sample("chelsea"), sample("brushstrokes")
    common = dict(size=args.size, precision=args.precision)
    rows = []
    for spec in args.optimizers:
        name, lr = spec.split(":")
        run = dict(common, optimizer=name, lr=float(lr))
        converged = LiveTransfer(photo, painting, **run)
        started = time.perf_counter()
        converged.run(args.budget)
        step_seconds = (time.perf_counter() - started) / args.budget
        for label, change in changes().items():
            style = change.get("style", painting)
            fresh = LiveTransfer(photo, style, **run, **{k: v for k, v in change.items() if k != "style"})
            fresh.run(args.budget)
            target = judged(fresh, photo, style)
            live = LiveTransfer(photo, painting, start=converged.image, **run)
            started = time.perf_counter()
            if not live.update(**change):  # the image is the same until a step is taken
                live.run(1)
            first_preview = time.perf_counter() - started
            reached, spent = None, first_preview  # seconds of stepping since the change, judging left out
            while reached is None and live.step < args.budget:
                if within(judged(live, photo, style), target):
                    reached = live.step
                else:
                    started = time.perf_counter()
                    live.run(args.every)
                    spent += time.perf_counter() - started
            steps = f"{reached} of {args.budget}" if reached is not None else f"not in {args.budget}"
            print(f"{name} lr {lr} · {label}: first preview {first_preview:.2f} s (a step {step_seconds:.2f} s); "
                  f"within 10 % after {steps} steps, {spent:.1f} s")  # fmt: skip
            rows.append([f"{name}, lr {lr}", label, f"{step_seconds:.2f}", f"{first_preview:.2f}", steps,
                         f"{spent:.1f}" if reached is not None else "–"])  # fmt: skip
    header = [f"{args.size} px", "change", "one step s", "first preview s", "steps to within 10 %", "seconds"]
    write_table("live", header, rows)
    write_table(
        "live-sizes",
        ["a live step", *(f"{px} px" for px in args.sizes)],
        [["seconds", *(f"{step_time(photo, painting, px, args.precision):.2f}" for px in args.sizes)]],
    )


def step_time(photo, painting, size, precision, steps=5):
    """Seconds per live step at ``size`` (after one step that warms up), its preview included."""
    live = LiveTransfer(photo, painting, size=size, precision=precision, callback=lambda *_: None)
    live.run(1)
    started = time.perf_counter()
    live.run(steps)
    return (time.perf_counter() - started) / steps


if __name__ == "__main__":
    main()
