"""One style transfer: check the inputs, build the objective at each scale, optimise the pixels, return a Result.

The objective itself is ``losses.Objective``; this file is the loop around it. Read it from ``optimise``
(notebook 4's loop), then ``_run`` (scale after scale, coarse to fine), then ``_build_stages`` and ``_Stage``
(each scale's images and objective). ``losses`` is one step's loss terms, ``history`` every step's.

A little under 300 lines: the loop, the scales and the stages are read together, so they stay in one file.
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import colour, images
from .device import pick_device, pick_dtype
from .errors import ImageError, SettingsError
from .losses import Objective
from .memory import choose_tile
from .result import Result
from .settings import resolve, scale_plan, style_size
from .tiles import TiledObjective
from .vgg import ThesisInput, pools_before
from .weights import cached_vgg

TERMS = ("content", "style", "tv", "total")
EARLY_STOP_WINDOW = 5  # steps over which early_stop compares the loss


def transfer(content, style=None, preset="default", *, mask=None, callback=None, callback_every=10, stop=None,
             snapshot_path=None, progress=True, start=None, extra_terms=None, **settings):  # fmt: skip
    """Optimises an image that has ``content``'s content and ``style``'s style.

    ``content``/``style``: a path, a PIL image or a (1, 3, H, W) tensor in [0, 1]. ``settings``
    override the preset's (see ``Settings``). ``style`` may be a list, blended by ``style_blend``, or
    placed by ``mask``: one greyscale image per style (path, PIL or tensor), white where that style
    applies, black where none does; edges are softened. ``callback(step, losses, image)`` runs every
    ``callback_every`` steps; ``stop`` (e.g. a ``threading.Event``) ends the run after the current
    step; Ctrl-C does too. Either way the result holds the latest image. ``start`` (a tensor) replaces the
    first scale's starting image; ``extra_terms`` adds loss terms to the objective, {name: function of the
    image giving a weighted loss}, for one-scale runs (video's temporal loss).
    """
    s = resolve(preset, settings)
    stages = _build_stages(s, content, _listed(style), _listed(mask), extra_terms or {})
    if start is None and s.init == "universal":
        start = universal_start(s, stages[0], content, style, mask)
    described = s.describe(content, style, mask)
    with tqdm(total=s.total_steps, disable=not progress, unit="step") as bar:
        loop = _Loop(s, bar, callback, callback_every, stop, snapshot_path, described)
        image, stage, stopped = _run(stages, s, loop, start)
    return Result(stage.present(image.detach()).cpu(), loop.final_history(), described, stopped, loop.snapshots)


def _build_stages(s, content, styles, masks, extra_terms, wrap=None):
    """One ``_Stage`` per scale, coarsest first. Every scale's targets are made before the first step, so bad
    input fails before any progress is shown. ``wrap(encoder)`` stands in for the encoder (a live run's memory of
    its targets' responses)."""
    blend = s.check_inputs(content, styles, masks)
    device, dtype = pick_device(s.device), pick_dtype(s.precision, s.device)
    model = cached_vgg(s.model, s.weights, s.pooling, str(device), dtype)
    encoder = ThesisInput(model).to(device) if s.normalization == "thesis" else model
    encoder = wrap(encoder) if wrap is not None else encoder
    # Files are decoded once here; each scale resizes the decoded image.
    content, styles = _decoded(content), [_decoded(x) for x in styles]
    plan = _scales(s, content, styles, device, dtype)
    stages, carried = [], 0
    for i, (size, steps, shape, tile) in enumerate(plan):
        try:
            content_now, styles_now, present = colour.prepared(s.colours, *_scaled(s, content, styles, size, device))
        except _TooSmall:
            if i == len(plan) - 1:
                raise
            carried += steps  # a coarse scale smaller than the network allows: its steps go to the next one
            continue
        reference = content_now if content_now is not None else styles_now[0]
        width, height = reference.shape[-1], reference.shape[-2]
        masks_now = [images.load_mask(m, width, height).to(device) for m in masks] or None
        # Too large for one pass: the same objective, tile by tile.
        kind, tiling = (Objective, {}) if tile is None else (TiledObjective, dict(arch=s.model, tile=tile))
        objective = kind.for_settings(encoder, content_now, styles_now, s, blend, masks_now, extra=extra_terms,
                                      **tiling)  # fmt: skip
        label = f"stylekit {width}×{height}" + (
            f" in {len(objective.tiles(reference))} tiles" if tile is not None else ""
        )
        stages.append(
            _Stage(steps + carried, objective, reference, present, label, math.prod(shape) / math.prod(plan[-1][2]))
        )
        carried = 0
    if extra_terms and len(stages) > 1:
        raise SettingsError("extra loss terms need a run of one scale (steps=N, scales=1)")
    return stages


def _scales(s, content, styles, device, dtype):
    """[(size, steps, (width, height), tile)] per scale, coarsest first. Memory is checked here, the largest scale
    first, so that a run that cannot fit is refused before any target is made."""
    plan = scale_plan(s.size, s.steps, s.scales)
    reference = _size_of(content) if content is not None else _size_of(styles[0])
    shapes = [images.target_size(*reference, size if content is not None else style_size(size, s.style_scale))
              for size, _ in plan]  # fmt: skip
    tiles = [choose_tile(s, *shape, device, dtype) for shape in reversed(shapes)][::-1]
    return [(size, steps, shape, tile) for (size, steps), shape, tile in zip(plan, shapes, tiles)]


def _run(stages, s, loop, start=None):
    """Optimises scale by scale: (the latest image, its stage, why the run stopped early or None)."""
    image = None if start is None else colour.luminance(start) if s.colours == "luminance" else start
    try:
        for stage in stages:
            # Coarse to fine: each scale starts from the previous scale's result, upsampled.
            start = (images.resize_tensor(image.to(stage.reference.device), stage.reference) if image is not None
                     else _initial_image(s, stage))  # fmt: skip
            # A copy: the caller's start stays as it was. Contiguous: L-BFGS flattens its gradient as a view.
            image = start.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
            loop.bar.set_description(stage.label)
            if _optimise(stage, image, s, loop):
                return image, stage, "stopped"
    except KeyboardInterrupt:
        if not loop.step:  # interrupted before the first step: there is no image to keep
            raise
        return image, stage, "interrupted"
    return image, stage, None


class _TooSmall(ImageError):
    pass


@dataclass
class _Stage:
    """One scale: its steps, its objective, the image whose shape the result takes, how the result is presented,
    and what one evaluation costs, in evaluations at the final size."""

    steps: int
    objective: Objective
    reference: torch.Tensor
    present: object
    label: str
    cost: float


def _scaled(s, content, styles, size, device):
    """The content and styles as tensors at this scale; ``_TooSmall`` when one is smaller than the deepest layer
    needs."""
    content = images.as_tensor(content, size, "content").to(device) if content is not None else None
    side = max(content.shape[-2:]) if content is not None else size
    styles = [images.as_tensor(x, style_size(side, s.style_scale), "style").to(device) for x in styles]
    smallest = 2 ** pools_before(s.model, s.deepest)
    for name, image in [("content", content)] + [("style", x) for x in styles]:
        if image is not None and min(image.shape[-2:]) < smallest:
            raise _TooSmall(
                f"the {name} image is {image.shape[-1]}×{image.shape[-2]} px; {s.deepest} needs "
                f"at least {smallest} px per side"
            )
    return content, styles


def optimise(image, objective, steps, on_step=None, optimizer="lbfgs", lr=1.0, lbfgs_history=10):
    """Notebook 4's loop: ``steps`` optimiser steps on ``image``'s pixels, in place.

    ``objective.backward(image)`` adds the loss's gradient to ``image.grad`` and returns the loss terms;
    ``on_step(losses)`` runs after every step, and a truthy return ends the loop early and is returned.
    """
    optimizer = make_optimizer(image, optimizer, lr, lbfgs_history)
    for _ in range(steps):
        losses = take_step(optimizer, image, objective)
        ended = on_step(losses) if on_step is not None else None
        if ended:
            return ended
    return None


def make_optimizer(image, optimizer="lbfgs", lr=1.0, lbfgs_history=10):
    """The optimiser of ``image``'s pixels, ``"adam"`` or ``"lbfgs"``."""
    if optimizer == "adam":
        return torch.optim.Adam([image], lr=lr)
    # One iteration per step (so one evaluation of the objective), so that progress, Stop and snapshots work
    # step by step; the history persists across steps.
    return torch.optim.LBFGS([image], lr=lr, max_iter=1, history_size=lbfgs_history)


def take_step(optimizer, image, objective):
    """One step of ``optimizer`` on ``image`` against ``objective``: the step's loss terms."""
    losses = {}

    def closure():
        optimizer.zero_grad(set_to_none=True)
        losses.update(objective.backward(image))
        return losses["total"]

    optimizer.step(closure)
    return losses


def _optimise(stage, image, s, loop):
    """One scale's steps, through ``optimise``; True when asked to stop the run early."""
    totals = []

    def on_step(losses):
        loop.passes += stage.cost
        if loop.after_step(losses, image.detach(), stage.present):
            return "stop"
        if s.early_stop:
            totals.append(float(losses["total"]))
            if len(totals) > EARLY_STOP_WINDOW and totals[-1] > (1 - s.early_stop) * totals[-1 - EARLY_STOP_WINDOW]:
                loop.bar.total -= stage.steps - len(totals)  # this scale has converged: on to the next
                return "converged"
        return None

    ended = optimise(image, stage.objective, stage.steps, on_step, s.optimizer, s.lr, s.lbfgs_history)
    return ended == "stop"


@dataclass
class _Loop:
    """What happens after every step, whatever the scale: history, progress bar, callback, snapshots, stop."""

    s: object
    bar: object
    callback: object
    callback_every: int
    stop: object
    snapshot_path: object
    described: dict
    step: int = 0
    passes: float = 0.0  # VGG evaluations so far, counted at the final size (one at half the side counts 1/4)
    history: dict = field(default_factory=lambda: {k: [] for k in (*TERMS, "seconds", "passes")})
    snapshots: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def after_step(self, losses, image, present):
        """Returns True when the run should stop."""
        self.step += 1
        for k in losses:
            self.history.setdefault(k, []).append(losses[k])  # tensors: reading them would wait for a GPU each step
        self.history["seconds"].append(time.perf_counter() - self.started)
        self.history["passes"].append(self.passes)
        self.bar.update(1)
        if self.step % self.callback_every == 0 or self.step == self.s.total_steps:
            values = {k: float(v) for k, v in losses.items()}
            if not all(map(math.isfinite, values.values())):
                raise SettingsError(f"the loss became {values['total']} at step {self.step}; lower lr")
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in values.items() if k != "tv" or self.s.tv_weight})
            if self.callback is not None:
                self.callback(self.step, values, present(image))
        if self.s.save_every and self.step % self.s.save_every == 0:
            self.snapshots[self.step] = present(image).cpu()
            if self.snapshot_path is not None:
                path = str(self.snapshot_path).format(step=self.step)
                images.save_png(self.snapshots[self.step], path, self.described)
        return self.stop is not None and self.stop.is_set()

    def final_history(self):
        """The history as floats, read once at the end."""
        clocks = ("seconds", "passes")  # floats already; the loss terms are tensors
        return {k: v if k in clocks else torch.stack(v).float().tolist() for k, v in self.history.items()}


def _initial_image(s, stage):
    """The first scale's starting image, shaped like its reference: the content image, or the style image when
    there is none (style reconstruction). ``init='universal'`` is made by ``universal_start``, from the photo."""
    reference = stage.reference
    if s.init in ("content", "universal"):
        return reference.clone()
    if s.init == "noise":
        return torch.rand(reference.shape, generator=torch.Generator().manual_seed(s.seed)).to(reference.device)
    return images.as_tensor(s.init, tuple(reference.shape[-1:-3:-1]), "init").to(reference.device)


def universal_start(s, stage, content, style, mask):
    """``init='universal'``: the closed-form stylisation (``stylekit.universal``: Li et al.'s whitening and colouring
    with the shipped decoders) at ``stage``'s size, for the optimisation to refine."""
    from .universal import universal

    reference = stage.reference
    result = universal(content, style, size=[reference.shape[-1], reference.shape[-2]], colours=s.colours,
                       style_blend=s.style_blend, mask=mask, device=s.device, precision=s.precision)  # fmt: skip
    return result.image.to(reference.device)


def _size_of(image):
    """(width, height) of a PIL image or a tensor."""
    return (image.shape[-1], image.shape[-2]) if torch.is_tensor(image) else image.size


def _decoded(source):
    return images.open_image(source) if isinstance(source, (str, Path)) else source


def _listed(x):
    return [] if x is None else list(x) if isinstance(x, (list, tuple)) else [x]
