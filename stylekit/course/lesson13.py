"""Notebook 13's checks: the region-weighted content loss, and the exercises' prediction and run."""

import functools

import torch

from .. import losses
from ..images import load_image
from ..samples import sample
from ..settings import PRESETS, resolve
from . import check, forged, loss_problem, pick, piece, predicted
from .lesson05 import IGNORED, _plain

SIZE, STEPS = pick(256, 64), pick(PRESETS["default"].steps, [4, 2])  # the notebook's (it imports them)
TOTAL_STEPS = sum(STEPS) if isinstance(STEPS, (list, tuple)) else STEPS  # a run's steps_done when it ran to the end


def _cases():
    """(F, P, region) in float64: responses (1, N, H, W) and a soft random region (1, 1, h, w) at an image's size,
    h × w a whole multiple of H × W, another ratio, the same grid, and a region smaller than the grid."""
    g = torch.Generator().manual_seed(13)
    shapes = (((1, 3, 4, 5), (16, 20)), ((1, 2, 5, 7), (23, 31)), ((1, 4, 6, 6), (6, 6)), ((1, 2, 8, 9), (13, 11)))
    cases = []
    for (n, c, h, w), (rh, rw) in shapes:
        f, p = (torch.randn(n, c, h, w, generator=g, dtype=torch.float64) for _ in range(2))
        cases.append((f, p, torch.rand(1, 1, rh, rw, generator=g, dtype=torch.float64)))
    return cases


def _averaged(region, height, width):
    """The reference's resizing, one cell at a time: output cell (i, j) is the mean of the region's pixels in rows
    ⌊i·h/H⌋ … ⌈(i+1)·h/H⌉ − 1 and the columns alike (cells overlap where H does not divide h)."""
    h, w = region.shape[-2:]
    grid = region[0, 0]
    cells = [[0.0] * width for _ in range(height)]
    for i in range(height):
        top, bottom = (i * h) // height, -((-(i + 1) * h) // height)
        for j in range(width):
            left, right = (j * w) // width, -((-(j + 1) * w) // width)
            cells[i][j] = float(grid[top:bottom, left:right].mean())
    return torch.tensor(cells, dtype=torch.float64)


def check_keep_content_loss(keep_content_loss):
    """``keep_content_loss(F, P, region, keep_weight)``: ½ Σ w (F − P)², w = 1 + (keep_weight − 1) · region
    area-averaged to F's grid."""

    def problems(keep_content_loss):
        for f, p, region in _cases():
            cells = _averaged(region, *f.shape[-2:])
            for keep_weight in (0.0, 1.0, 4.0):
                x = f.clone().requires_grad_(True)
                got = keep_content_loss(x, p, region, keep_weight)
                if not torch.is_tensor(got) or got.numel() != 1:
                    return f"it should give one number (a tensor), not {type(got).__name__} {getattr(got, 'shape', '')}"
                said = f"F {tuple(f.shape)}, a region {tuple(region.shape)} and keep_weight {keep_weight:g}"
                total = 0.0
                for channel in range(f.shape[1]):
                    for i in range(f.shape[2]):
                        for j in range(f.shape[3]):
                            weight = 1 + (keep_weight - 1) * cells[i, j]
                            total += 0.5 * float(weight) * float(f[0, channel, i, j] - p[0, channel, i, j]) ** 2
                if got.dtype != torch.float64:
                    return f"for {said} it gives {got.dtype}: compute in F's dtype (float64 here)"
                if abs(float(got.detach()) - total) > 1e-9 * abs(total):
                    return f"for {said} it gives {float(got.detach()) / total:.5g}× the right value"
                if not got.requires_grad:
                    return "its result has no gradient with respect to F: the loss must be computed from F itself"
        return None

    return piece(keep_content_loss, problems, "the weighted content loss", (losses.content_loss, losses.mask_at),
                 _library_keep_content_loss)  # fmt: skip


def _library_keep_content_loss(F, P, region, keep_weight):
    return losses.content_loss(F, P, losses.mask_at(1 + (keep_weight - 1) * region, F))


def check_1(letter):
    """The letter predicted for the person's judged content error with ``mask="background"``."""
    first = predicted("lesson13.check_1", letter)
    return check(first, lambda _: True, "", prediction=(first, "b"))


@functools.lru_cache(maxsize=1)
def _person(photo):
    """The person mask ``segment`` finds in ``photo`` (a path), found once per session."""
    from ..segment import segment

    return segment(photo).person


def _first_losses(content, style, mask):
    """The content and style losses of the first step of the lesson's run with ``mask``."""
    import threading

    from ..transfer import transfer

    stop = threading.Event()
    stop.set()  # the run ends after its first step
    first = transfer(content, style, mask=mask, size=SIZE, steps=STEPS, stop=stop, progress=False)
    return {k: first.history[k][0] for k in ("content", "style")}


def check_2(only_person):
    """``only_person``: the astronaut with Kandinsky's Composition VII on the person only (``mask="person"``), the
    lesson's size and steps; its background should change clearly less than the person."""
    if only_person is ...:
        return check(..., None, "")
    astronaut, painting = sample("astronaut"), sample("composition_vii")

    def right(run):
        if forged(run):  # as stylekit.transfer returned it
            return False
        s, photo = run.settings, load_image(astronaut, SIZE)
        preset = resolve("default", dict(size=SIZE, steps=STEPS)).describe()  # every setting that decides the image
        asked = (
            all(_plain(s.get(k)) == _plain(v) for k, v in preset.items() if k not in IGNORED)
            and str(s.get("content", "")) == str(astronaut)
            and str(s.get("style", "")) == str(painting)
            and s.get("mask") == "person"
            and s.get("segmentation")  # the run found the person itself, and says what found it
            and run.steps_done == TOTAL_STEPS
            and run.stopped is None
            and tuple(run.image.shape) == tuple(photo.shape)
        )
        if not asked:
            return False
        found = _person(str(astronaut))  # "person" as the run found it
        if loss_problem(run, astronaut, painting, found) is not None:
            return False
        # The first step's losses depend on the painting and on where it applies: one step tells a relabelled run.
        first = _first_losses(astronaut, painting, found)
        if any(abs(run.history[k][0] - v) > 1e-3 * max(abs(v), 1e-8) for k, v in first.items()):
            return False
        person = torch.nn.functional.interpolate(found, size=photo.shape[-2:], mode="area")
        change = (run.image.float() - photo).abs().mean(1, keepdim=True)
        inside = float((change * person).sum() / person.sum())
        outside = float((change * (1 - person)).sum() / (1 - person).sum())
        return outside < 0.8 * inside  # fast mode's coarse scale, enlarged, blurs the background a little too

    hint = (
        "the astronaut with `stylekit.sample('composition_vii')` on the person only (the mask by its name), at SIZE "
        "and STEPS, run to the end with the default preset; its background should change clearly less than the person"
    )
    return check(only_person, right, hint)
