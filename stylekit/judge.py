"""Scores a finished image on layers chosen independently of how it was made.

Relative errors (0 = identical statistics) from the original VGG19, so results of different networks,
presets or tools compare: content at relu4_2, Gram matrices at the five Gatys layers and at four
layers no preset optimises.
"""

import torch

from .images import as_tensor, resize_tensor
from .losses import gram, mask_at, relative_error
from .transfer import transfer
from .vgg import gatys_style_layers
from .weights import cached_vgg

GATYS = gatys_style_layers()
UNUSED = ("relu1_2", "relu2_2", "relu3_4", "relu4_4")
AXES = ("content", "style", "style_unused")  # what a comparison reports


def judge(image, content, style, targets=None, region=None):
    """{'content': ..., 'style': mean over GATYS, 'style_unused': mean over UNUSED, plus one entry per layer}.

    ``targets`` (from ``judge_targets``) saves recomputing the content and style responses when many images
    of one size are judged against the same pair. ``region`` ((1, 1, H, W) in [0, 1], e.g. a person mask) judges
    only there: the content error of the responses inside it, the Gram matrices of the image's features inside it
    (``gram``'s mask) against the whole painting's.
    """
    vgg = cached_vgg("vgg19", "original", "max")
    fc, fs = targets or judge_targets(content, style, image.shape[-1], image.shape[-2])
    layers = GATYS + UNUSED
    with torch.no_grad():
        f = vgg(image.float(), layers + ("relu4_2",))
    m = 1.0 if region is None else mask_at(region.to(image.device), f["relu4_2"])
    scores = {"content": float(relative_error(f["relu4_2"] * m, fc["relu4_2"] * m))}
    for layer in layers:
        scores[layer] = float(relative_error(gram(f[layer], region), fs[layer]))
    scores["style"] = sum(scores[layer] for layer in GATYS) / len(GATYS)
    scores["style_unused"] = sum(scores[layer] for layer in UNUSED) / len(UNUSED)
    return scores


def judge_targets(content, style, width, height):
    """The content's relu4_2 response at ``width``×``height`` and the style's Gram matrices at that longest side."""
    vgg = cached_vgg("vgg19", "original", "max")
    c = as_tensor(content, (width, height), "content") if not torch.is_tensor(content) else content
    s = as_tensor(style, max(width, height), "style") if not torch.is_tensor(style) else style
    with torch.no_grad():
        return vgg(c, ["relu4_2"]), {layer: gram(f) for layer, f in vgg(s, GATYS + UNUSED).items()}


def quality_curve(content, style, every=5, **settings):
    """Runs ``transfer`` and judges its image every ``every`` steps: (result, [{'step', 'passes', 'seconds',
    'content', 'style', 'style_unused'}, ...]), for time-to-quality curves. An image of a coarser scale is
    judged enlarged to the final size: the result had the run stopped there."""
    kept = {}

    def keep(step, losses, image):
        kept[step] = image.cpu().clone()

    result = transfer(content, style, callback=keep, callback_every=every, **settings)
    kept[result.steps_done] = result.image
    targets = judge_targets(content, style, result.image.shape[-1], result.image.shape[-2])
    points = []
    for step, image in sorted(kept.items()):
        scores = judge(resize_tensor(image, result.image), content, style, targets)
        points.append({"step": step, "passes": result.history["passes"][step - 1],
                       "seconds": result.history["seconds"][step - 1],
                       **{axis: scores[axis] for axis in AXES}})  # fmt: skip
    return result, points
