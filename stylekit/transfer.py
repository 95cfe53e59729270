"""One style transfer: ``optimise``, notebook 4's loop, then ``transfer``, the same loop run scale after scale.

``transfer`` reads top to bottom: the settings resolved, the stages built (``stages.py``: each scale's images and
objective, coarsest first), then one plain loop over the stages and their steps, with what a real run does after
each step: its record (``steps.Steps``: history, progress bar, a stop asked for, Ctrl-C), the callback, snapshots
and an early stop.
"""

import torch

from . import colour, images, stages
from .errors import SettingsError
from .losses import TERMS
from .regions import Regions
from .result import Result, seal
from .settings import resolve
from .steps import Steps

EARLY_STOP_WINDOW = 5  # steps over which early_stop compares the loss


def optimise(image, objective, steps, optimizer="lbfgs", lr=1.0, lbfgs_history=10):
    """Notebook 4's loop: ``steps`` optimiser steps on ``image``'s pixels, in place, yielding each step's loss terms.

    ``objective.backward(image)`` adds the loss's gradient to ``image.grad`` and returns the terms. Leaving the
    ``for`` loop over it early ends the optimisation there.
    """
    optimizer = make_optimizer(image, optimizer, lr, lbfgs_history)
    for _ in range(steps):
        yield take_step(optimizer, image, objective)


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


def transfer(content, style=None, preset="default", *, mask=None, callback=None, callback_every=10, stop=None,
             snapshot_path=None, progress=True, start=None, extra_terms=None, **settings):  # fmt: skip
    """Optimises an image that has ``content``'s content and ``style``'s style.

    ``content``/``style``: a path, a PIL image or a (1, 3, H, W) tensor in [0, 1]. ``settings``
    override the preset's (see ``Settings``). ``style`` may be a list, blended by ``style_blend``, or
    placed by ``mask``: one greyscale image per style (path, PIL or tensor), white where that style
    applies, black where none does; edges are softened; ``"person"`` or ``"background"`` instead of an image is
    that region of ``content``, found by ``stylekit.segment`` (what found it is in the result's settings,
    ``"segmentation"``). ``callback(step, losses, image)`` runs every
    ``callback_every`` steps; ``stop`` (e.g. a ``threading.Event``) ends the run after the current
    step; Ctrl-C does too. Either way the result holds the latest image. ``start`` (a tensor) replaces the
    first scale's starting image; ``extra_terms`` adds loss terms to the objective, {name: function of the
    image giving a weighted loss}, for one-scale runs (video's temporal loss).
    """
    s = resolve(preset, settings)
    if isinstance(callback_every, bool) or not isinstance(callback_every, int) or callback_every < 1:
        raise SettingsError(f"callback_every must be an integer >= 1, not {callback_every!r}")
    if snapshot_path is not None and s.save_every:  # a snapshot never overwrites an input (one path: the latest)
        planned = {str(snapshot_path).format(step=k) for k in range(s.save_every, s.total_steps + 1, s.save_every)}
        inputs = [*images.as_list(content), *images.as_list(style), *images.as_list(mask), s.init, s.keep]
        images.check_outputs(planned, inputs)
    regions = Regions(content)  # the content's person, face, found once for masks and keep alike
    plan = stages.build(s, content, style, mask, extra_terms, regions=regions)
    if start is None and s.init == "universal":
        start = stages.universal_start(s, plan[0], content, style, regions.masks(mask))
    image = None if start is None else colour.luminance(start) if s.colours == "luminance" else start
    described, snapshots, passes = {**s.describe(content, style, mask), **regions.described()}, {}, 0.0
    history = {k: [] for k in (*TERMS, "seconds", "passes")}
    with Steps(s.total_steps, history, stop=stop, progress=progress) as steps:
        for stage in plan:
            # Coarse to fine: each scale starts from the previous scale's result (or ``start``), upsampled.
            image, now = stages.pixels(s, stage, image), stage
            steps.label(stage.label)
            totals = []
            for losses in optimise(image, stage.objective, stage.steps, s.optimizer, s.lr, s.lbfgs_history):
                passes += stage.cost
                steps.record(losses, passes=passes)
                if steps.done % callback_every == 0 or steps.done == s.total_steps:
                    values = steps.checked(losses)
                    steps.show({k: v for k, v in values.items() if k != "tv" or s.tv_weight})
                    if callback is not None:
                        callback(steps.done, values, stage.present(image.detach()))
                if s.save_every and steps.done % s.save_every == 0:
                    snapshots[steps.done] = stage.present(image.detach()).cpu()
                    if snapshot_path is not None:
                        path = str(snapshot_path).format(step=steps.done)
                        images.save_png(snapshots[steps.done], path, described)
                if steps.stopped():
                    break
                if s.early_stop:
                    totals.append(float(losses["total"]))
                    if _converged(totals, s.early_stop):
                        steps.skip(stage.steps - len(totals))  # this scale has converged: on to the next
                        break
            if steps.ended:
                break
    if steps.ended == "interrupted" and not steps.done:
        raise KeyboardInterrupt  # before the first step: there is no image to keep
    return seal(Result(now.present(image.detach()).cpu(), steps.floats(), described, steps.ended, snapshots))


def _converged(totals, fraction):
    """True once the loss fell less than ``fraction`` over the last ``EARLY_STOP_WINDOW`` steps."""
    return len(totals) > EARLY_STOP_WINDOW and totals[-1] > (1 - fraction) * totals[-1 - EARLY_STOP_WINDOW]
