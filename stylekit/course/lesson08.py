"""Notebook 8's checks: histogram matching for one layer, and the exercises' runs and numbers."""

import threading

import torch

from .. import losses
from ..beyond_gram import HistogramLoss
from ..images import load_image
from ..samples import sample
from ..settings import PRESETS, resolve
from . import check, forged, pick, piece, predicted
from .lesson05 import IGNORED, _plain

SIZE, STEPS = pick(256, 64), pick(PRESETS["default"].steps, 12)  # the notebook's (it imports them)
TOTAL_STEPS = sum(STEPS) if isinstance(STEPS, (list, tuple)) else STEPS  # a run's steps_done when it ran to the end
MRF_LAYERS = {"relu2_1": 1.0, "relu3_1": 1.0, "relu4_1": 1.0}  # exercise 2's


def _responses():
    """(image's, painting's) random responses (1, N, H, W) in float64: the painting smaller, equal, larger (more
    positions than stylekit's 256 quantiles, so that they cannot stand in for the painting's whole histogram)."""
    g = torch.Generator().manual_seed(8)
    shapes = (((1, 3, 4, 5), (1, 3, 6, 7)), ((1, 4, 6, 6), (1, 4, 6, 6)), ((1, 2, 8, 9), (1, 2, 20, 30)))
    shapes += (((1, 2, 9, 11), (1, 2, 3, 5)),)
    return [tuple(torch.randn(shape, generator=g, dtype=torch.float64) * (1 + i) for i, shape in enumerate(pair))
            for pair in shapes]  # fmt: skip


def _matched(f, s):
    """The reference, one value at a time: the image's k-th smallest value in a channel (k = 0 … M−1) becomes the
    painting's value k/(M−1) of the way up its own sorted values, read between its two neighbours there."""
    F, S = f[0].flatten(1).tolist(), s[0].flatten(1).tolist()
    out = []
    for mine, theirs in zip(F, S):
        m, levels = len(mine), sorted(theirs)
        row = [0.0] * m
        for k, j in enumerate(sorted(range(m), key=mine.__getitem__)):
            x = k * (len(levels) - 1) / (m - 1)
            low = min(int(x), len(levels) - 2)
            row[j] = levels[low] + (x - low) * (levels[low + 1] - levels[low])
        out.append(row)
    return torch.tensor(out, dtype=torch.float64)


def check_histogram_loss(histogram_loss):
    """``histogram_loss(f, s)``: the mean squared distance from the image's response f to f with each channel's
    values replaced by the painting's (s) at equal rank; s may have another number of positions."""

    def problems(histogram_loss):
        for f, s in _responses():
            matched = _matched(f, s)
            x = f.clone().requires_grad_(True)
            got = histogram_loss(x, s)
            if not torch.is_tensor(got) or got.numel() != 1:
                return f"it should give one number (a tensor), not {type(got).__name__} {getattr(got, 'shape', '')}"
            shapes = f"an image's response {tuple(f.shape)} and a painting's {tuple(s.shape)}"
            want = ((f[0].flatten(1) - matched) ** 2).mean()
            if not torch.allclose(got.double(), want, rtol=1e-7):
                ratio = float(got.detach().double() / want)
                if abs(ratio - 1) > 1e-4:
                    return f"for {shapes} it gives {ratio:.5g}× the right value"
                return (
                    f"for {shapes} it is off by {abs(ratio - 1):.1g} of the right value: read the painting's values "
                    "exactly, between their two sorted neighbours, in the dtype of the responses you were given"
                )
            if not got.requires_grad:
                return "its result has no gradient with respect to f: the loss must be computed from f itself"
            (gradient,) = torch.autograd.grad(got, x)
            want = 2 * (f[0].flatten(1) - matched) / matched.numel()
            if not torch.allclose(gradient[0].flatten(1).double(), want, rtol=1e-6, atol=1e-12):
                return f"for {shapes} the value is right but its gradient with respect to f is not"
        return None

    return piece(histogram_loss, problems, "histogram matching", (HistogramLoss,), _library_histogram_loss)


def _library_histogram_loss(f, s):
    kind = losses.STYLE_LOSSES["histogram"]
    return kind(f, kind.target([s], [1.0]))


def _mosaic_at(image):
    return load_image(sample("mosaic"), [image.shape[-1], image.shape[-2]])  # [width, height]: the photo's


def _as_asked(run, **changes):
    """Whether ``run`` is as stylekit.transfer returned it, with every setting that decides the image the default
    preset's with ``changes`` at the lesson's size and steps (β, the steps of each scale, style_scale, the optimiser
    …), run to the end."""
    if forged(run):
        return False
    want = resolve("default", dict(size=SIZE, steps=STEPS) | changes).describe()
    asked = all(_plain(run.settings.get(k)) == _plain(v) for k, v in want.items() if k not in IGNORED)
    return asked and run.steps_done == TOTAL_STEPS and run.stopped is None


def _ran(result, style_loss, style_layers=None):
    """A whole run of the lesson (its size and steps, chelsea against the mosaic) with this loss (and these style
    layers; None: the preset's)."""
    layers = {} if style_layers is None else {"style_layers": style_layers}
    return (
        _as_asked(result, style_loss=style_loss, **layers)
        and str(result.settings.get("content", "")).endswith("content_chelsea.jpg")
        and str(result.settings.get("style", "")).endswith("style_mosaic.jpg")
    )


def check_1(contrast, runs):
    """``contrast``: {"gram": …, "histogram": …}, each run's pixel standard deviation ÷ the mosaic's at its size."""
    if contrast is ...:
        return check(..., None, "")

    def right(answer):
        if not isinstance(answer, dict) or set(answer) != {"gram", "histogram"}:
            return False
        if not all(_ran(runs[k], k) for k in answer):
            return False
        want = {k: float(runs[k].image.std() / _mosaic_at(runs[k].image).std()) for k in answer}
        return all(abs(float(answer[k]) / want[k] - 1) < 1e-3 for k in want)

    hint = (
        "for the `gram` and the `histogram` runs of *Three style losses*: the standard deviation of all the result's "
        "pixel values, divided by that of the mosaic loaded at the result's width and height"
    )
    return check(contrast, right, hint)


def check_2(shallow_mrf, letter):
    """The MRF run with relu2_1 added (the lesson's size and steps), and the predicted letter."""
    first = predicted("lesson08.check_2", letter)
    if shallow_mrf is ... or first is ...:
        return check(..., None, "")

    hint = (
        "`runs['mrf']`'s call with style_layers relu2_1, relu3_1 and relu4_1 (weight 1 each), run to the end at "
        "SIZE and STEPS, the preset's other settings as they are"
    )
    return check(shallow_mrf, lambda run: _ran(run, "mrf", MRF_LAYERS), hint, prediction=(first, "c"))


def _first_losses(content, styles, mask):
    """The losses of the first step of that run (the lesson's size and steps, the default preset): they depend on
    the mask and on which style goes where, so one step tells whether a whole run had them."""
    stop = threading.Event()
    stop.set()  # the run ends after its first step
    first = _transfer(content, styles, mask=[mask, 1 - mask], size=SIZE, steps=STEPS, stop=stop, progress=False)
    return first.history["content"][0], first.history["style"][0]


def _transfer(*args, **kwargs):
    from ..transfer import transfer

    return transfer(*args, **kwargs)


def check_3(own, mask):
    """``own``: transfer(astronaut, two, mask=[mask, 1 - mask]) at the lesson's size and steps; ``mask``: a
    (1, 1, H, W) greyscale tensor of the astronaut's size at SIZE, partly white and partly black."""
    if own is ... or mask is ...:
        return check(..., None, "")
    astronaut, two = sample("astronaut"), [sample("brushstrokes"), sample("shards")]

    def right(answer):
        run, mask = answer
        shape = load_image(astronaut, SIZE).shape
        if not torch.is_tensor(mask) or tuple(mask.shape) != (1, 1, *shape[-2:]):
            return False
        if not (float(mask.min()) >= 0 and float(mask.max()) <= 1 and 0.1 < float(mask.float().mean()) < 0.9):
            return False
        s = run.settings
        asked = (
            _as_asked(run)
            and str(s.get("content", "")) == str(astronaut)
            and s.get("style") == [str(x) for x in two]
            and tuple(run.image.shape) == tuple(shape)
        )
        if not asked:
            return False
        content, style = _first_losses(astronaut, two, mask.float())
        first = (run.history["content"][0], run.history["style"][0])
        return all(abs(a - b) <= 1e-3 * max(abs(b), 1e-8) for a, b in zip(first, (content, style)))

    hint = (
        "mask: (1, 1, H, W), the astronaut's H × W at SIZE, values in [0, 1], between 10 % and 90 % of it white; "
        "the run: the astronaut with the two styles of `two` in their order, placed by [mask, 1 - mask], at SIZE "
        "and STEPS with the default preset, run to the end"
    )
    return check((own, mask), right, hint)
