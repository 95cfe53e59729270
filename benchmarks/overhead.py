"""Per-evaluation cost of stylekit's loss + gradient against a bare VGG pass of the same dtype and layout.

    python benchmarks/overhead.py                          # 256, 512 and 1024 px, auto precision
    python benchmarks/overhead.py --sizes 512 --precision fp32 --device cpu
    python benchmarks/overhead.py --compile                # both passes through torch.compile

The bare pass runs VGG to the deepest layer the `default` preset uses and back to the input; stylekit's
evaluation adds the Gram matrices, the losses and their gradients. The ratio is the overhead. Writes the table
overhead-PRECISION (-compiled) in docs/performance.md.
"""

import argparse
import time

import torch
from report import write_table

from stylekit import PRESETS, Objective, load_image, sample
from stylekit.device import pick_device, pick_dtype
from stylekit.weights import cached_vgg


def fastest(fns, device, repeats):
    """Best time of each function; they take turns, so a slow spell of a shared machine hits both."""

    def timed(fn):
        start = time.perf_counter()
        fn()
        if device.type == "cuda":  # GPU work is asynchronous: wait for it before reading the clock
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for fn in fns:
        timed(fn)  # warm-up: allocator, oneDNN/cuDNN kernel choice, compilation
    times = [[timed(fn) for fn in fns] for _ in range(repeats)]
    return [min(column) for column in zip(*times)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="torch.compile the network (both columns)")
    args = parser.parse_args()
    s = PRESETS["default"]
    device, dtype = pick_device(args.device), pick_dtype(args.precision, args.device)
    model = cached_vgg(s.model, s.weights, s.pooling, str(device), dtype)
    deepest = s.deepest
    if args.compile:
        model = torch.compile(model)
    print(f"device {device}, {dtype}, VGG19 to {deepest}, best of {args.repeats}" + ", compiled" * args.compile)
    print(f"{'size':>10} {'bare pass s':>12} {'stylekit s':>11} {'ratio':>6}")
    rows = []
    for size in args.sizes:
        content = load_image(sample("astronaut"), size).to(device)
        style = load_image(sample("brushstrokes"), size).to(device)
        objective = Objective.for_settings(model, content, style, s)
        image = content.clone().requires_grad_(True)

        def bare(image=image):
            image.grad = None
            model(image, [deepest])[deepest].float().sum().backward()

        def evaluation(image=image, objective=objective):
            image.grad = None
            objective(image)["total"].backward()

        b, e = fastest([bare, evaluation], device, args.repeats)
        print(f"{size:>4}×{size:<5} {b:12.3f} {e:11.3f} {e / b:6.2f}")
        rows.append([f"{size}×{size}", f"{b:.3f}", f"{e:.3f}", f"**{e / b:.2f}×**"])
    precision = "bf16" if dtype == torch.bfloat16 else "fp32"
    header = [f"{precision}, best of {args.repeats}", "bare pass s", "stylekit s", "stylekit ÷ bare"]
    write_table(f"overhead-{precision}" + "-compiled" * args.compile, header, rows)


if __name__ == "__main__":
    main()
