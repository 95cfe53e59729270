"""What better deep decoders could give universal style transfer: relu4_1 (and relu5_1) whitened and coloured, then
turned back into pixels by optimisation instead of a decoder, the shipped levels after.

    python benchmarks/universal_ceiling.py        # ~9 min on 2 CPU cores

An optimised inversion stands in for a decoder far better than the relu4_1 one a 2-core CPU can train (docs/
universal.md): if universal still misses the default's style with it, longer training cannot reach it either.
Judged errors ÷ ``transfer``'s default at --size (fp32 throughout, so every CPU measures the same thing).
Writes the table universal-ceiling in docs/performance.md.
"""

import argparse

import torch
from report import write_table

from stylekit import images, sample, transfer, universal
from stylekit.judge import AXES, judge, judge_targets
from stylekit.universal.whiten import whiten_colour
from stylekit.weights import cached_vgg


def inverted(vgg, level, image, style, steps):
    """``image`` moved by L-BFGS until its ``level`` features are its whitened-and-coloured ones; and the relative
    error left."""
    with torch.no_grad():
        target = whiten_colour(vgg(image, [level])[level], vgg(style, [level])[level])
    x = image.clone().requires_grad_(True)
    optimiser = torch.optim.LBFGS([x], max_iter=1, history_size=10)

    def closure():
        optimiser.zero_grad()
        loss = (vgg(x, [level])[level] - target).pow(2).mean() / target.pow(2).mean()
        loss.backward()
        return loss

    for _ in range(steps):
        optimiser.step(closure)
    with torch.no_grad():
        error = float((vgg(x, [level])[level] - target).pow(2).mean() / target.pow(2).mean())
    return x.detach().clamp(0, 1), error


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=60, help="L-BFGS steps of each inversion")
    parser.add_argument("--pairs", nargs="+", default=["astronaut:great_wave", "astronaut:mosaic",
                        "chelsea:great_wave", "chelsea:mosaic"])  # fmt: skip
    args = parser.parse_args()
    vgg = cached_vgg("vgg19", "original", "max")
    rows = []
    for pair in args.pairs:
        photo_name, style_name = pair.split(":")
        content, painting = sample(photo_name), sample(style_name)
        photo, style = images.as_tensor(content, args.size, "photo"), images.as_tensor(painting, args.size, "style")
        default = transfer(content, painting, size=args.size, progress=False, precision="fp32").image
        targets = judge_targets(content, painting, default.shape[-1], default.shape[-2])
        reference = judge(default, content, painting, targets)
        deep4, error4 = inverted(vgg, "relu4_1", photo, style, args.steps)
        deep5, error5 = inverted(vgg, "relu5_1", photo, style, args.steps)
        deep54, _ = inverted(vgg, "relu4_1", deep5, style, args.steps)
        cells = []
        for start in (photo, deep4, deep54):  # the shipped levels (relu3_1 … relu1_1) after each
            scores = judge(universal(start, style, size=args.size, precision="fp32").image, content, painting, targets)
            cells.append("/".join(f"{scores[axis] / reference[axis]:.2f}" for axis in AXES))
        rows.append([f"{photo_name} × {style_name}", *cells, f"{error4:.2f} / {error5:.2f}"])
        print(" | ".join(rows[-1]), flush=True)
    header = [f"{args.size} px, ÷ default: content/style/unused", "shipped levels", "relu4_1 inverted, then shipped",
              "relu5_1, relu4_1 inverted, then shipped", "inversion error relu4_1 / relu5_1"]  # fmt: skip
    write_table("universal-ceiling", header, rows)


if __name__ == "__main__":
    main()
