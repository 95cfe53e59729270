"""A run's stages, one per scale, coarsest first: what ``transfer`` and ``LiveTransfer`` optimise.

``build`` reads the inputs once and checks them once, plans the scales (the memory estimate decides, the largest
first, whether each fits whole, in tiles, or not at all) and makes each scale's images and objective before the
first step, so that bad input fails before any progress is shown. ``start_image`` and ``universal_start`` say where
the pixels start.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from . import colour, images
from .device import pick_device, pick_dtype
from .errors import SettingsError
from .losses import Objective
from .memory import check_inference, choose_tile
from .regions import Regions
from .settings import scale_plan, style_size
from .tiles import TiledObjective
from .vgg import ThesisInput, pools_before
from .weights import cached_vgg


@dataclass
class Stage:
    """One scale: its steps, its objective, the image whose shape the result takes, how the result is presented,
    and what one evaluation costs, in evaluations at the final size."""

    steps: int
    objective: Objective
    reference: torch.Tensor
    present: object
    label: str
    cost: float


def build(s, content, style=None, mask=None, extra_terms=None, wrap=None, regions=None):
    """The stages of a run of settings ``s``: content and style(s) as ``transfer`` takes them, ``mask`` one per
    style. A coarse scale too small for the deepest layer gives its steps to the next. ``wrap(encoder)`` stands in
    for the encoder (a live run's memory of its targets' responses). ``regions`` (a ``Regions`` of ``content``)
    finds the regions the masks and ``s.keep`` name; a run passes its own to keep what was found."""
    styles, masks = images.as_list(style), images.as_list(mask)
    blend = s.check_inputs(content, styles, masks)
    regions = Regions(content) if regions is None else regions
    device, dtype = pick_device(s.device), pick_dtype(s.precision, s.device)
    encoder = cached_vgg(s.model, s.weights, s.pooling, str(device), dtype)
    encoder = ThesisInput(encoder).to(device) if s.normalization == "thesis" else encoder
    encoder = wrap(encoder) if wrap is not None else encoder
    # Files are decoded once here; each scale resizes the decoded image.
    content, styles = _decoded(content, "content"), [_decoded(x, "style") for x in styles]
    masks, keep = [regions.mask(m) for m in masks], regions.keep(s.keep)  # a named region: found in the content
    plan = scale_plan(s.size, s.steps, s.scales)
    shapes = [_shapes(s, content, styles, size) for size, _ in plan]
    # Memory is checked first, the largest scale first: a run that cannot fit is refused before any target is made.
    tiles = [choose_tile(s, *shape[0][1], device, dtype) for shape in reversed(shapes)][::-1]
    if tiles[-1] is None:  # whole, the styles' passes are not in the estimate (tiled, their targets are made in tiles)
        for name, shape in shapes[-1][1 if content is not None else 0 :]:
            check_inference(*shape, device, f"the {name} image's VGG pass (style_scale {s.style_scale})")
    smallest = 2 ** pools_before(s.model, s.deepest)
    stages, carried = [], 0
    for i, ((size, steps), shape, tile) in enumerate(zip(plan, shapes, tiles)):
        if i < len(plan) - 1 and min(min(side) for _, side in shape) < smallest:
            carried += steps  # a coarse scale smaller than the network allows: its steps go to the next one
            continue
        scaled = _scaled(s, content, styles, size, device, smallest)
        content_now, styles_now, present = colour.prepared(s.colours, *scaled)
        reference = content_now if content_now is not None else styles_now[0]
        width, height = reference.shape[-1], reference.shape[-2]
        masks_now = [images.load_mask(m, width, height).to(device) for m in masks] or None
        keep_now = None if keep is None else images.load_mask(keep, width, height).to(device)
        # Too large for one pass: the same objective, tile by tile.
        kind, tiling = (Objective, {}) if tile is None else (TiledObjective, dict(arch=s.model, tile=tile))
        objective = kind.for_settings(encoder, content_now, styles_now, s, blend, masks_now, keep_now,
                                      extra=extra_terms, **tiling)  # fmt: skip
        label = f"stylekit {width}×{height}" + (
            f" in {len(objective.tiles(reference))} tiles" if tile is not None else ""
        )
        cost = math.prod(shape[0][1]) / math.prod(shapes[-1][0][1])
        stages.append(Stage(steps + carried, objective, reference, present, label, cost))
        carried = 0
    if extra_terms and len(stages) > 1:
        raise SettingsError("extra loss terms need a run of one scale (steps=N, scales=1)")
    return stages


def start_image(s, stage):
    """The first scale's starting image, shaped like its reference: the content image (for ``init='universal'``
    too: ``universal_start`` makes that one), the style image when there is none (style reconstruction), noise,
    or an image file."""
    reference = stage.reference
    if s.init in ("content", "universal"):
        return reference.clone()
    if s.init == "noise":
        return torch.rand(reference.shape, generator=torch.Generator().manual_seed(s.seed)).to(reference.device)
    return images.as_tensor(s.init, tuple(reference.shape[-1:-3:-1]), "init").to(reference.device)


def pixels(s, stage, previous=None):
    """The pixels ``stage`` optimises: ``previous`` (the last scale's result, or a run's start) at the stage's size,
    or where ``start_image`` says."""
    if previous is None:
        return leaf(start_image(s, stage))
    return leaf(images.resize_tensor(previous.detach().to(stage.reference.device), stage.reference))


def leaf(image):
    """``image`` as pixels to optimise: a copy (what was given stays as it was), contiguous (L-BFGS flattens its
    gradient as a view)."""
    return image.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)


def universal_start(s, stage, content, style, mask):
    """``init='universal'``: the closed-form stylisation (``stylekit.universal``: Li et al.'s whitening and colouring
    with the shipped decoders) at ``stage``'s size, for the optimisation to refine."""
    from .universal.stylize import universal  # loaded when a run starts from it

    reference = stage.reference
    result = universal(content, style, size=[reference.shape[-1], reference.shape[-2]], colours=s.colours,
                       style_blend=s.style_blend, mask=mask, device=s.device, precision=s.precision)  # fmt: skip
    return result.image.to(reference.device)


def _shapes(s, content, styles, size):
    """[(name, (width, height))] of each input at a scale of ``size``, the reference (the result's shape) first."""
    shapes = []
    if content is not None:
        shapes.append(("content", images.target_size(*_size_of(content), size)))
    side = max(shapes[0][1]) if shapes else size
    return shapes + [("style", images.target_size(*_size_of(x), style_size(side, s.style_scale))) for x in styles]


def _scaled(s, content, styles, size, device, smallest):
    """The content and styles as tensors at a scale of ``size``, refused when one is smaller than ``smallest``."""
    content = images.as_tensor(content, size, "content").to(device) if content is not None else None
    side = max(content.shape[-2:]) if content is not None else size
    styles = [images.as_tensor(x, style_size(side, s.style_scale), "style").to(device) for x in styles]
    for name, image in [("content", content)] + [("style", x) for x in styles]:
        if image is not None:
            images.check_side(image, f"the {name} image", smallest, s.deepest)
    return content, styles


def _size_of(image):
    """(width, height) of a PIL image or a tensor."""
    return (image.shape[-1], image.shape[-2]) if torch.is_tensor(image) else image.size


def _decoded(source, name):
    if source is None:
        return None
    images.check_source(source, name)
    return images.open_image(source) if isinstance(source, (str, Path)) else source
