"""Notebook 6's sizes and checks: how far the grid's runs travelled, the judged rankings, and where the seed's raw
style loss sits."""

import functools
import hashlib

import torch

from ..images import load_image
from ..judge import judge, judge_targets
from ..vgg import ThesisInput
from ..weights import cached_vgg
from . import check, pick, predicted

SIZE = pick([300, 300], [64, 64])  # the thesis's size
STEPS = pick(4000 if torch.cuda.is_available() else 120, 10)  # the grid's Adam steps: the thesis's 4000 on a GPU
EXPERIMENT_SIZE, EXPERIMENT_STEPS, EVERY = pick(128, 32), pick(400, 4), pick(20, 2)  # step, steps or balance?
STYLE = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")  # the thesis's style layers (VGG19), w_l 0.2 each
SETTINGS = ((100, 1e8, 0.01), (200, 1e6, 0.007), (1000, 1e6, 0.04), (8, 70, 0.004))  # chapter 5's (α, β, lr)
ARCHS = ("vgg19", "vgg16")  # the grid's networks: VGG19 runs everywhere, VGG16 where torchvision's weights are


def label(arch, alpha, beta, lr):
    """A grid run's label, as the notebook's grid names it."""
    return f"{arch} α {alpha:g} β {beta:g} lr {lr:g}"


def _mean_distance(image, photo):
    return float((image.double() - photo.double()).abs().sum() / image.numel())


def _plain(value):
    return list(value) if isinstance(value, tuple) else value  # a size given as a tuple is the same size


def grid_problem(runs):
    """What is off in ``runs`` against the notebook's grid, or None: every setting of chapter 5 for VGG19 and, when
    it ran, for VGG16, each the run its label names, for STEPS steps at SIZE."""
    if not isinstance(runs, dict) or not runs:
        return "give the check `runs`, the grid above, as it is"
    ran = [arch for arch in ARCHS if arch == "vgg19" or any(str(k).startswith(arch + " ") for k in runs)]
    wanted = {label(arch, *setting): (arch, *setting) for arch in ran for setting in SETTINGS}
    if set(runs) != set(wanted):
        return "give the check `runs`, the grid above, as it is: every label, each setting of each network"
    for name, (arch, alpha, beta, lr) in wanted.items():
        r = runs[name]
        s = getattr(r, "settings", None)
        asked = {"model": arch, "content_weight": alpha, "style_weight": beta, "lr": lr, "size": SIZE}
        if not isinstance(s, dict) or any(_plain(s.get(k)) != v for k, v in asked.items()):
            return f"the run labelled {name!r} is not the one its label names: give the check the grid above"
        if getattr(r, "steps_done", None) != STEPS or not torch.is_tensor(getattr(r, "image", None)):
            return f"the run labelled {name!r} did not run the grid's STEPS steps"
    return None


def check_1(travelled, budget, runs, photo):
    """``travelled``: {label: mean |image − photo|} and ``budget``: {label: lr × the steps it ran}, for every run."""
    if travelled is ... or budget is ...:
        return check(..., None, "")

    grid = grid_problem(runs)

    def right(answer):
        travelled, budget = answer
        if grid or not isinstance(travelled, dict) or not isinstance(budget, dict) or set(travelled) != set(runs):
            return False
        if set(budget) != set(runs):
            return False
        for label, r in runs.items():
            went, room = _mean_distance(r.image, photo), r.settings["lr"] * r.steps_done
            if abs(float(travelled[label]) - went) > 1e-5 * max(went, 1e-3) or abs(float(budget[label]) - room) > 1e-9:
                return False
        return True

    hint = "one entry per label of `runs`: the mean of |image − photo| over every pixel and channel, and lr × STEPS"
    return check((travelled, budget), right, grid or hint)


def check_2(by_gatys, by_unused, runs, content, style):
    """The grid's labels (not default's) ranked by the judged Gram error at the Gatys layers, then at the unused ones,
    lowest first."""
    if by_gatys is ... or by_unused is ...:
        return check(..., None, "")

    grid = grid_problem(runs)

    def right(answer):
        if grid or not all(isinstance(a, (list, tuple)) and sorted(a) == sorted(runs) for a in answer):
            return False
        scores = {label: _judged(r.image, content, style) for label, r in runs.items()}
        return [list(a) for a in answer] == [sorted(runs, key=lambda label: scores[label][key])
                                             for key in ("style", "style_unused")]  # fmt: skip

    hint = "the labels of `runs` only, lowest judged error first: by judged[label]['style'], then ['style_unused']"
    return check((by_gatys, by_unused), right, grid or hint)


def _judged(image, content, style):
    """``judge``'s scores, kept per image (a check run again judges nothing twice)."""
    key = (str(content), str(style), hashlib.sha1(image.float().contiguous().numpy().tobytes()).hexdigest())
    if key not in _JUDGED:
        sized = (str(content), str(style), image.shape[-1], image.shape[-2])
        if sized not in _TARGETS:
            _TARGETS[sized] = judge_targets(content, style, image.shape[-1], image.shape[-2])
        _JUDGED[key] = judge(image, content, style, _TARGETS[sized])
    return _JUDGED[key]


_JUDGED, _TARGETS = {}, {}


def _gram(f):
    """Σ over positions of F_i F_j, divided by the positions: the reference, in float64."""
    f = f.double()[0]
    return torch.einsum("ihw,jhw->ij", f, f) / (f.shape[1] * f.shape[2])


@functools.lru_cache(maxsize=8)
def _raw_style_shares(content, style, size, weights):
    seen = ThesisInput(cached_vgg("vgg19", weights, "avg"))
    photo, painting = load_image(content, size), load_image(style, max(size))
    with torch.no_grad():
        f, a = seen(photo, list(STYLE)), seen(painting, list(STYLE))
    raw = {}
    for layer in STYLE:
        n = f[layer].shape[1]
        raw[layer] = 0.2 * float(((_gram(f[layer]) - _gram(a[layer])) ** 2).sum()) / (4 * n * n)
    total = sum(raw.values())
    return {layer: value / total for layer, value in raw.items()}


def _shares(content, style, size, weights):
    """Each thesis style layer's share of the seed's raw style loss Σ w_l E_l at the photo (the run's start):
    {layer: share}, the shares summing to one."""
    return dict(_raw_style_shares(content, style, tuple(size), weights))


def check_3(prediction, shares, holder, content, style, weights):
    """``prediction``: a letter; ``shares``: {layer: its share of the raw style loss at the photo} for conv1_1 …
    conv5_1 (summing to 1); ``holder``: the layer with the largest share."""
    first = predicted("lesson06.check_3", prediction)
    if first is ... or shares is ... or holder is ...:
        return check(..., None, "")
    want = _shares(content, style, SIZE, weights)

    def right(answer):
        shares, holder = answer
        if not isinstance(shares, dict) or set(shares) != set(STYLE):
            return False
        close = all(abs(float(shares[k]) - want[k]) <= 0.02 * want[k] + 1e-4 for k in STYLE)
        return close and holder == max(want, key=want.get)

    hint = (
        "for each of conv1_1 … conv5_1 its w_l E_l at the photo (SIZE, the thesis's "
        "normalisation and average pooling, the grid's weights) divided by their sum; then the layer with the largest"
    )
    return check((shares, holder), right, hint, (first, "b"))
