"""Notebook 3's checks: the Gram matrix, the style loss, and the exercises' runs and numbers."""

import torch

from .. import losses
from ..images import load_image
from ..samples import sample
from ..weights import cached_vgg
from . import check, forged, loss_problem, pick, piece

SIZE, STEPS = pick(256, 64), pick(100, 15)  # the notebook's (it imports them), so that the checks ask for its run
RELUS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _responses():
    """Random responses (1, N, H, W) of several shapes, in float64 so that a loose answer cannot hide in rounding."""
    g = torch.Generator().manual_seed(3)
    return [
        torch.randn(shape, generator=g, dtype=torch.float64) for shape in ((1, 3, 4, 5), (1, 8, 7, 2), (1, 5, 1, 9))
    ]


def _gram(f):
    """The reference, written as the sum over positions it is: Σ_k F_ik F_jk / M."""
    h, w = f.shape[2:]
    return torch.einsum("ihw,jhw->ij", f[0], f[0]) / (h * w)


def check_gram(gram):
    """``gram(f)``: the N×N matrix F Fᵀ / M of a response f of shape (1, N, H, W)."""

    def problems(gram):
        for f in _responses():
            got, want = gram(f), _gram(f)
            if tuple(got.shape) != tuple(want.shape):
                return f"for a response of shape {tuple(f.shape)} it gives shape {tuple(got.shape)}, not N×N"
            if not torch.allclose(got.double(), want, rtol=1e-6, atol=1e-9):
                scale = float(got.double().sum() / want.sum())
                return f"for a response of shape {tuple(f.shape)} it is off (its sum is {scale:.3g}× the right one)"
        return None

    return piece(gram, problems, "the Gram matrix", (losses.gram, losses.gram_sums, losses.gram_of_sums))


def _style_loss(f, a, relative):
    n = a.shape[0]
    error = sum((_gram(f)[i, j] - a[i, j]) ** 2 for i in range(n) for j in range(n)) / (4 * n * n)
    return error / (sum(x * x for x in a.flatten()) / (4 * n * n)) if relative else error


def check_style_loss(style_loss):
    """``style_loss(f, A, relative)``: E_l = Σ (G − A)² / 4N² of a response against a target Gram matrix A, and
    with ``relative=True`` divided by its value for an all-zero response."""

    def problems(style_loss):
        g = torch.Generator().manual_seed(4)
        for f in _responses():
            a = _gram(torch.randn(f.shape, generator=g, dtype=torch.float64) * 2)  # a target of another scale
            for relative in (False, True):
                got, want = style_loss(f, a, relative), _style_loss(f, a, relative)
                if not torch.is_tensor(got) or got.numel() != 1:
                    return f"it should give one number (a tensor), not {type(got).__name__} {getattr(got, 'shape', '')}"
                if not torch.allclose(got.double(), want, rtol=1e-6):
                    ratio = float(got.double() / want)
                    return f"with relative={relative}, N={f.shape[1]} it gives {ratio:.4g}× the right value"
        return None

    library = (losses.style_layer_loss, losses.gram, losses.gram_sums, losses.gram_error, losses.relative_error)
    return piece(style_loss, problems, "the style loss", library, fallback=_library_style_loss)


def _library_style_loss(f, A, relative=False):
    loss = losses.style_layer_loss(f, A)
    return loss / losses.gram_error(torch.zeros_like(A), A) if relative else loss


def _reconstructs(result, weights):
    """What exercise 1 and 2 ask: from noise, style only with these weights, the lesson's size and steps, and the
    loss down tenfold, as stylekit.transfer returned it."""
    if forged(result):
        return False
    s, loss = result.settings, result.history["style"]
    return (
        s["style_layers"] == weights
        and not s["content_layers"]
        and s["init"] == "noise"
        and s["size"] == SIZE
        and result.steps_done == STEPS
        and loss[-1] < 0.1 * loss[0]
        and loss_problem(result, None, sample("brushstrokes")) is None
    )


def check_1(relu_stack):
    hint = f"from noise, no content, relu1_1 … relu5_1 with weight 1 each, size={SIZE}, steps={STEPS}"
    return check(relu_stack, lambda r: _reconstructs(r, dict.fromkeys(RELUS, 1.0)), hint)


def check_2(heavy):
    weights = {"conv1_1": 10.0, "conv2_1": 1.0, "conv3_1": 1.0, "conv4_1": 1.0, "conv5_1": 1.0}
    hint = f"from noise, no content, conv1_1 weighted 10 and conv2_1 … conv5_1 1, size={SIZE}, steps={STEPS}"
    return check(heavy, lambda r: _reconstructs(r, weights), hint)


def _relative(vgg, layer):
    """The mosaic's relative style loss against the shards' Gram matrix: Σ (G − A)² / Σ A² (the 4N² cancels)."""
    with torch.no_grad():
        f, a = (vgg(load_image(sample(k), SIZE), [layer])[layer].double() for k in ("mosaic", "shards"))
    target = _gram(a)
    return float(((_gram(f) - target) ** 2).sum() / (target**2).sum())


def check_3(relative, most_alike):
    """``relative``: {layer: the mosaic's relative style loss against the shards' Gram matrix} at relu1_1 … relu5_1;
    ``most_alike``: the layer where it is lowest."""
    if relative is ... or most_alike is ...:
        return check(..., None, "")
    vgg = cached_vgg("vgg19", "original", "max")  # the check's own network: one handed in could say anything
    want = {layer: _relative(vgg, layer) for layer in RELUS}

    def right(answer):
        relative, most_alike = answer
        if not isinstance(relative, dict) or set(relative) != set(RELUS):
            return False
        close = all(abs(float(relative[k]) - want[k]) <= 2e-3 * want[k] for k in RELUS)
        return close and most_alike == min(want, key=want.get)

    hint = (
        "for each relu layer: style loss of the mosaic's response against the shards' Gram matrix, divided by the "
        f"same for an all-zero response, both images at {SIZE} px; then the layer where it is lowest"
    )
    return check((relative, most_alike), right, hint)
