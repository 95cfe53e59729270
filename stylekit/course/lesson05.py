"""Notebook 5's checks: the TV loss, the step between two scales, and the exercises' runs."""

import math
from pathlib import Path

import torch

from .. import images, losses
from ..samples import sample
from ..settings import PRESETS, resolve, scale_plan
from . import check, forged, loss_problem, pick, piece, predicted

SIZE, STEPS = pick(192, 64), pick(100, 15)  # the notebook's (it imports them), so that the checks ask for its runs
SCHEDULE = pick(list(PRESETS["default"].steps), [8, 4])  # the default preset's steps per scale, coarse to fine
SEED_STEPS, SEED_EVERY = pick(400, 15), pick(100, 5)  # the seed preset's run: its steps, a snapshot every so many
# The strong preset's coarsest scale is a quarter of the side: at 64 px the photo's would be 16×11, below the 16 px
# VGG needs (stylekit then gives its steps to the next scale), so fast mode runs this one a little larger.
STRONG_SIZE, STRONG_STEPS = pick(SIZE, 96), pick(PRESETS["strong"].steps, [8, 4, 2])
CONTENT, STYLE = "chelsea", "brushstrokes"
RATIOS = (0.1, 1.0, 10.0, 100.0, 1000.0)  # the trade-off strip's β/α (the notebook's `ratios`), α = 1
# Settings that do not decide the image: a run may differ from the one asked for in these.
IGNORED = {"save_every"}


def _images():
    """Random images of several shapes (neither side the same, so that height and width cannot be swapped
    unnoticed), in float64 so that a loose answer cannot hide in rounding; their values span [0, 1]."""
    g = torch.Generator().manual_seed(5)
    return [torch.rand(shape, generator=g, dtype=torch.float64) for shape in ((1, 3, 5, 7), (1, 3, 9, 4), (2, 3, 6, 8))]


def _tv(image):
    """The reference: each direction's neighbour differences as a convolution with [−1, 1], squared, averaged."""
    x = image.double().flatten(0, -3).unsqueeze(1)  # every channel of every image as its own (1, H, W)
    down = torch.nn.functional.conv2d(x, torch.tensor([-1.0, 1.0], dtype=torch.float64).view(1, 1, 2, 1))
    across = torch.nn.functional.conv2d(x, torch.tensor([-1.0, 1.0], dtype=torch.float64).view(1, 1, 1, 2))
    return down.square().mean() + across.square().mean()


def check_tv_loss(tv_loss):
    """``tv_loss(image)``: the mean squared difference between vertically neighbouring pixels plus the same between
    horizontally neighbouring ones, of an image (…, 3, H, W); one number, through which the gradient flows."""

    def problems(tv_loss):
        for image in _images():
            x = image.clone().requires_grad_(True)
            got, want = tv_loss(x), _tv(image)
            if not torch.is_tensor(got) or got.numel() != 1:
                return f"it should give one number (a tensor), not {type(got).__name__} {getattr(got, 'shape', '')}"
            if not got.requires_grad:
                return "its value carries no gradient: compute it with tensor operations on the image, as a loss"
            got = got.detach()
            if not torch.allclose(got.double(), want, rtol=1e-6):
                ratio = float(got.double() / want)
                return f"for an image of shape {tuple(image.shape)} it gives {ratio:.4g}× the right value"
        ramp = torch.arange(12.0, dtype=torch.float64).view(1, 1, 3, 4).expand(1, 3, 3, 4) / 12  # across: steps of 1/12
        if not torch.allclose(tv_loss(ramp).double(), _tv(ramp), rtol=1e-6):
            return "for an image that changes only across (a ramp), it is off: are both directions there, each alone?"
        return None

    return piece(tv_loss, problems, "the TV loss", (losses.tv_loss,))


def _cubic(x):
    """Keys's cubic kernel with a = −0.5 (Pillow's bicubic)."""
    x = abs(x)
    if x < 1:
        return (1.5 * x - 2.5) * x * x + 1
    return ((-0.5 * x + 2.5) * x - 4) * x + 2 if x < 2 else 0.0


def _enlarging(n_in, n_out):
    """The (n_out, n_in) matrix that resamples one axis as Pillow does: each new pixel's centre mapped back onto the
    old axis, the kernel's weights over the old pixels within its reach, normalised to sum to 1 (at the edges too).
    Shrinking, the kernel widens by the factor (the antialiasing)."""
    scale = n_in / n_out
    support = 2 * max(scale, 1.0)
    matrix = torch.zeros(n_out, n_in, dtype=torch.float64)
    for i in range(n_out):
        centre = (i + 0.5) * scale
        lo, hi = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), n_in)
        weights = torch.tensor([_cubic((j - centre + 0.5) / max(scale, 1.0)) for j in range(lo, hi)])
        matrix[i, lo:hi] = weights / weights.sum()
    return matrix


def _next_start(image, size):
    """The reference: the image resampled along each axis by a matrix, then clipped to [0, 1]."""
    rows, columns = _enlarging(image.shape[-2], size[0]), _enlarging(image.shape[-1], size[1])
    return torch.einsum("yh,bchw,xw->bcyx", rows, image.double(), columns).clamp(0, 1)


def check_next_start(next_start):
    """``next_start(image, size)``: the image optimised at a coarse scale (1, 3, h, w), enlarged to ``size`` =
    (height, width) with Pillow's bicubic interpolation and clipped to [0, 1], where the next scale starts."""

    def problems(next_start):
        # From a coarse scale to the next, as scale_plan's rounding makes them: about twice, not always exactly.
        for image, size in zip(_images(), ((10, 14), (17, 8), (12, 15))):
            got = next_start(image[:1], size)
            want = _next_start(image[:1], size)
            if not torch.is_tensor(got) or tuple(got.shape) != tuple(want.shape):
                shape = tuple(got.shape) if torch.is_tensor(got) else type(got).__name__
                return f"from {tuple(image[:1].shape)} to size {size} (height, width) it gives {shape}"
            if got.min() < 0 or got.max() > 1:
                return "its pixels leave [0, 1]: a cubic overshoots at sharp edges, so clip the enlarged image"
            off = float((got.double() - want).abs().max())
            if off > 1e-6:
                shape = tuple(image[:1].shape)
                return f"from {shape} to {size} its pixels are off by up to {off:.3g}: which interpolation?"
        same = _images()[0]
        if not torch.allclose(next_start(same, same.shape[-2:]).double(), same):
            return "to its own size it should give the image unchanged"
        return None

    return piece(next_start, problems, "the enlargement", (images.resize_tensor,), fallback=_library_next_start)


def _library_next_start(image, size):
    return images.resize_tensor(image, (size[1], size[0]))


def _plain(value):
    """A setting's value as comparable data: a tuple is a list, a number a float."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def scales_run(result):
    """The steps each scale of ``result`` actually ran, coarsest first: a step's cost in full-size passes
    (``history["passes"]``, cumulative) is the same for every step of one scale and differs between scales."""
    passes = result.history.get("passes", [])
    costs = [b - a for a, b in zip([0.0, *passes], passes)]
    counts = []
    for i, cost in enumerate(costs):
        if i and math.isclose(cost, costs[i - 1], rel_tol=1e-6):
            counts[-1] += 1
        else:
            counts.append(1)
    return counts


def run_problem(result, asked, preset, **changes):
    """What is off in ``result`` against the run of ``preset`` with ``changes`` on the lesson's photo and painting
    (``asked`` says that run in words, for the hint), or None: the run as stylekit.transfer returned it, every
    setting that decides the image, the inputs, the steps actually run, scale by scale, and the image's size."""
    if not all(hasattr(result, k) for k in ("settings", "history", "image")):
        return f"it should be what stylekit.transfer returns: {asked}"
    forgery = forged(result)
    if forgery:
        return forgery
    want, got = resolve(preset, changes), result.settings
    for key, value in want.describe().items():
        if key not in IGNORED and _plain(got.get(key)) != _plain(value):
            return f"its {key} is {got.get(key)!r}; the exercise asks for {asked}"
    for key, name in (("content", CONTENT), ("style", STYLE)):
        if Path(str(got.get(key, ""))).name != Path(sample(name)).name:
            return f"its {key} image is not the lesson's ({name}): {asked}"
    planned = [steps for _, steps in scale_plan(want.size, want.steps, want.scales)]
    if getattr(result, "stopped", None):
        return f"it stopped early ({result.stopped}): run it again, to the end"
    if result.steps_done != want.total_steps:
        return f"it ran {result.steps_done} of the {want.total_steps} steps asked: {asked}"
    if scales_run(result) != planned:
        return f"its scales ran {scales_run(result)} steps, not {planned}: run it with the settings asked"
    height, width = result.image.shape[-2:]
    if (max(height, width) if isinstance(want.size, int) else [width, height]) != want.size:
        return f"its image is {width}×{height} px: {asked}"
    return loss_problem(result, sample(CONTENT), sample(STYLE))


def check_run(result, asked, preset, **changes):
    """An exercise's run: ``check`` with the first thing that is off as the hint."""
    if result is ...:
        return check(..., None, "")
    problem = run_problem(result, asked, preset, **changes)
    return check(result, lambda _: problem is None, problem)


def check_1(smooth):
    """``smooth``: the default run with tv_weight=100."""
    asked = "the default run above (size=SIZE, steps=SCHEDULE) with tv_weight=100"
    return check_run(smooth, asked, "default", size=SIZE, steps=SCHEDULE, tv_weight=100.0)


SEED_MODEL = "b"  # measured: 0.13 from the photo against the thesis's 0.045 (docs/presets.md)


def check_2(seed_model, prediction):
    """``seed_model``: the seed run above with normalization="model"; ``prediction``: the letter predicted."""
    first = predicted("lesson05.check_2", prediction)
    if seed_model is ... or first is ...:
        return check(..., None, "")
    asked = "the seed preset's run above (size [SIZE, SIZE], steps=SEED_STEPS) with normalization='model'"
    problem = run_problem(seed_model, asked, "seed", size=[SIZE, SIZE], steps=SEED_STEPS, normalization="model")
    return check(seed_model, lambda _: problem is None, problem, (first, SEED_MODEL))


DEEP = "b"  # relu5_2 keeps where things are and little of their detail (notebook 2's reconstructions)


def check_3(deep, prediction):
    """``deep``: the default run with content from relu5_2 alone; ``prediction``: the letter predicted."""
    first = predicted("lesson05.check_3", prediction)
    if deep is ... or first is ...:
        return check(..., None, "")
    asked = "the default run above (size=SIZE, steps=SCHEDULE) with content_layers={'relu5_2': 1.0}"
    problem = run_problem(deep, asked, "default", size=SIZE, steps=SCHEDULE, content_layers={"relu5_2": 1.0})
    return check(deep, lambda _: problem is None, problem, (first, DEEP))


def check_4(strong, style_losses, closest, strip):
    """``strong``: the strong preset's run at STRONG_SIZE with STRONG_STEPS; ``style_losses``: {β/α: final style loss}
    of each run of ``strip`` (the trade-off strip above); ``closest``: the β/α whose final style loss is closest to
    strong's."""
    if any(x is ... for x in (strong, style_losses, closest)):
        return check(..., None, "")
    asked = "the strong preset at STRONG_SIZE with STRONG_STEPS"
    problem = run_problem(strong, asked, "strong", size=STRONG_SIZE, steps=STRONG_STEPS)
    finals = {}
    for run in strip if isinstance(strip, (list, tuple)) else ():
        beta = run.settings.get("style_weight") if hasattr(run, "settings") else None
        strip_problem = run_problem(run, "", "default", size=SIZE, steps=SCHEDULE, style_weight=beta or 0.0)
        if beta is None or strip_problem:
            break
        finals[float(beta)] = run.history["style"][-1]
    if sorted(finals) != sorted(RATIOS) or len(strip) != len(RATIOS):  # every β/α of the strip, each run once
        problem = problem or "give the check `strip`, the trade-off strip above, as it is"
    if problem is None:
        given = {float(k): float(v) for k, v in style_losses.items()} if isinstance(style_losses, dict) else {}
        right_losses = set(given) == set(finals) and all(math.isclose(given[k], finals[k]) for k in finals)
        target = strong.history["style"][-1]
        nearest = min(finals, key=lambda k: abs(finals[k] - target))
        if not right_losses:
            problem = "style_losses should map each β/α of the strip to its run's final style loss"
        elif not isinstance(closest, (int, float)) or float(closest) != nearest:
            problem = "the closest β/α is the one whose final style loss is nearest strong's: compare the differences"
    return check(strong, lambda _: problem is None, problem)
