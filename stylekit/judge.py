"""Scores a finished image on layers chosen independently of how it was made.

Relative errors (0 = identical statistics) from the original VGG19, so results of different networks,
presets or tools compare: content at relu4_2, Gram matrices at the five Gatys layers and at four
layers no preset optimises.
"""

import torch

from .images import load_image
from .losses import gram
from .vgg import gatys_style_layers
from .weights import cached_vgg

GATYS = gatys_style_layers()
UNUSED = ("relu1_2", "relu2_2", "relu3_4", "relu4_4")


def judge(image, content, style):
    """{'content': ..., 'style': mean over GATYS, 'style_unused': mean over UNUSED, plus one entry per layer}."""
    vgg = cached_vgg("vgg19", "original", "max")
    size = max(image.shape[-2:])
    c = load_image(content, tuple(image.shape[-1:-3:-1])) if not torch.is_tensor(content) else content
    s = load_image(style, size) if not torch.is_tensor(style) else style
    layers = GATYS + UNUSED
    with torch.no_grad():
        f, fc, fs = vgg(image.float(), layers + ("relu4_2",)), vgg(c, ["relu4_2"]), vgg(s, layers)
    scores = {"content": _relative(f["relu4_2"], fc["relu4_2"])}
    for layer in layers:
        scores[layer] = _relative(gram(f[layer]), gram(fs[layer]))
    scores["style"] = sum(scores[layer] for layer in GATYS) / len(GATYS)
    scores["style_unused"] = sum(scores[layer] for layer in UNUSED) / len(UNUSED)
    return scores


def _relative(x, target):
    return float(((x.float() - target.float()) ** 2).sum() / (target.float() ** 2).sum())
