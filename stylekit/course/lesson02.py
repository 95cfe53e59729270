"""Notebook 2's checks: the content loss, the reconstruction loop, and the exercises' runs."""

import torch

from .. import losses
from ..images import load_image
from ..samples import sample
from ..transfer import optimise, take_step, transfer
from ..weights import cached_vgg
from . import check, forged, loss_problem, pick, piece, predicted

SIZE, STEPS = pick(256, 64), pick(100, 15)  # the notebook's (it imports them), so that the checks ask for its runs
LOOP = {"size": (40, 32), "layer": "conv2_2", "steps": (3, 5)}  # the check's loops: tiny, and two step counts


def _content_loss(f, p):
    """The reference: ½ Σ (F − P)², as the dot product of the difference with itself."""
    d = (f - p).flatten()
    return torch.dot(d, d) / 2


def check_content_loss(content_loss):
    """``content_loss(F, P)``: ½ Σ (F − P)² of two responses of the same shape, one number through which the
    gradient flows (F − P)."""

    def problems(content_loss):
        g = torch.Generator().manual_seed(2)
        for shape in ((1, 3, 4, 5), (1, 8, 2, 7), (1, 5, 1, 1)):
            f = torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True)
            p = torch.randn(shape, generator=g, dtype=torch.float64) * 3
            got, want = content_loss(f, p), _content_loss(f.detach(), p)
            if not torch.is_tensor(got) or got.numel() != 1:
                return f"it should give one number (a tensor), not {type(got).__name__} {getattr(got, 'shape', '')}"
            if not torch.allclose(got.double(), want, rtol=1e-6):
                return (
                    f"for responses of shape {tuple(shape)} it gives {float(got.detach() / want):.4g}× the right value"
                )
            if not got.requires_grad:
                return "no gradient flows through it (a float, or a detached tensor): the loop needs one"
            (grad,) = torch.autograd.grad(got, f)
            if not torch.allclose(grad.double(), f.detach() - p, rtol=1e-6):
                return "its gradient with respect to F is not F − P"
        return None

    library = (losses.content_loss, losses.relative_error)
    return piece(content_loss, problems, "the content loss", library)


def _reference_loop(vgg, target_image, layer, start, steps):
    """The reference loop: the same L-BFGS, its closure setting the gradient with ``autograd.grad`` and the loss
    divided by ½ΣP² written as a sum of products."""
    with torch.no_grad():
        p = vgg(target_image, [layer])[layer]
    zero = (p * p).sum() / 2
    x = start.detach().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=10)
    history = []

    def closure():
        d = vgg(x, [layer])[layer] - p
        loss = (d * d).sum() / 2 / zero
        (x.grad,) = torch.autograd.grad(loss, x)
        history.append(float(loss.detach()))
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    return x.detach().clamp(0, 1), history


def _relative(vgg, image, target_image, layer):
    with torch.no_grad():
        f, p = (vgg(x, [layer])[layer] for x in (image, target_image))
    return float(_content_loss(f, p) / _content_loss(torch.zeros_like(p), p))


def _library_reconstruct(target_image, layer, start, steps):
    result = transfer(
        target_image, None, start=start, init="noise", content_layers={layer: 1.0}, style_layers={},
        size=max(target_image.shape[-2:]), steps=steps, scales=1, precision="fp32", device="cpu", progress=False,
    )  # fmt: skip
    return result.image, result.history["content"]


def check_reconstruct(reconstruct, vgg):
    """``reconstruct(target_image, layer, start, steps)``: ``steps`` L-BFGS steps (one VGG pass each) on a copy of
    ``start``'s pixels against the relative content loss at ``layer``; returns the image (detached, clamped to
    [0, 1]) and the loss at the start of each step. Tried with ``vgg``, the network the notebook's loop uses."""

    def problems(reconstruct):
        g = torch.Generator().manual_seed(5)
        w, h = LOOP["size"]
        target = torch.rand(1, 3, h, w, generator=g)
        for steps in LOOP["steps"]:
            start = torch.rand(1, 3, h, w, generator=g)
            kept = start.clone()
            passes = []
            hook = vgg.features[0].register_forward_pre_hook(
                lambda _, x, passes=passes: passes.append(x[0].requires_grad)
            )
            try:
                answer = reconstruct(target, LOOP["layer"], start, steps)
            finally:
                hook.remove()
            if not isinstance(answer, tuple) or len(answer) != 2:
                return "it should return two things: the image and the list of losses"
            image, history = answer
            want_image, want = _reference_loop(vgg, target, LOOP["layer"], start, steps)
            if not torch.equal(start, kept):
                return "it changed `start` itself: optimise a copy of it"
            if not torch.is_tensor(image) or image.shape != start.shape:
                return f"the image it returns should be a tensor of the start's shape {tuple(start.shape)}"
            if image.requires_grad or image.min() < 0 or image.max() > 1:
                return "return the image detached and clamped to [0, 1]"
            if len(history) != steps:
                return f"asked for {steps} steps it gives {len(history)} losses, not one per step"
            if not any(passes):
                return "it never ran the notebook's `vgg` on the image being optimised: use `vgg` for both passes"
            if sum(passes) != steps:
                return f"asked for {steps} steps it ran {sum(passes)} VGG passes on the image: one per step"
            off = [abs(float(a) / b - 1) for a, b in zip(history[:3], want[:3])]
            if max(off) > 1e-3:
                step = next(i for i, o in enumerate(off) if o > 1e-3) + 1
                ratio = f"its loss at step {step} is {float(history[step - 1]) / want[step - 1]:.4g}× the right one"
                if step == 1:
                    return f"{ratio}: the loss itself is off (content_loss relative to an all-zero response's)"
                return f"{ratio}, the first being right: does each step clear the gradient, then compute it afresh?"
            if float((image - start).abs().mean()) < 1e-3:
                return "the image it returns is the start: return the pixels the optimiser changed"
            loss, right = (
                _relative(vgg, image, target, LOOP["layer"]),
                _relative(vgg, want_image, target, LOOP["layer"]),
            )
            if abs(loss / right - 1) > 0.05:
                return (
                    f"the image it returns has {loss / right:.3g}× the content loss it should have after {steps} steps"
                )
        return None

    library = (transfer, optimise, take_step, losses.content_loss, losses.relative_error, losses.Objective)
    return piece(reconstruct, problems, "the loop", library, fallback=_library_reconstruct)


def _ran(result, layers, init="noise", style_layers=None, pooling="max", fall=0.3):
    """A run as the exercises ask: these content layers (and style layers), from ``init``, at the lesson's size and
    steps, the loss down by ``fall``, as stylekit.transfer returned it."""
    if forged(result):
        return False
    s, loss = result.settings, result.history["content"]
    asked = s["content_layers"] == layers and s["style_layers"] == (style_layers or {}) and s["init"] == init
    made = s["size"] == SIZE and s["pooling"] == pooling and result.steps_done == STEPS
    fell = fall is None or loss[-1] < fall * loss[0]
    # With a style, its image is the notebook's own noise: check_3 looks at the image instead.
    scored = style_layers is not None or loss_problem(result, sample("astronaut"), None) is None
    return asked and made and fell and scored


def check_1(from_relu, prediction):
    """``from_relu``: the reconstruction from relu4_2; ``prediction``: the letter of what the ReLU does to it."""
    first = predicted("lesson02.check_1", prediction)
    if from_relu is ... or first is ...:
        return check(..., None, "")
    hint = f"from noise, content_layers={{'relu4_2': 1.0}} alone, size={SIZE}, steps={STEPS}"
    return check(from_relu, lambda r: _ran(r, {"relu4_2": 1.0}), hint, prediction=(first, "b"))


def check_2(averaged):
    hint = f"as in *Five depths*, from conv5_2 with pooling='avg', size={SIZE}, steps={STEPS}"
    return check(averaged, lambda r: _ran(r, {"conv5_2": 1.0}, pooling="avg", fall=0.5), hint)


def _style_error(vgg, image, noise):
    """Relative error between relu1_1 Gram matrices: how far ``image``'s texture is from ``noise``'s."""
    with torch.no_grad():
        f, a = (vgg(x, ["relu1_1"])["relu1_1"].flatten(2)[0] for x in (image, noise))
    g, t = f @ f.T / f.shape[1], a @ a.T / a.shape[1]
    return float(((g - t) ** 2).sum() / (t * t).sum())


def check_3(survives, prediction):
    """``survives``: from the photo, content at conv5_2, a noise image as the style at relu1_1; ``prediction``: the
    letter of what survives."""
    first = predicted("lesson02.check_3", prediction)
    if survives is ... or first is ...:
        return check(..., None, "")
    photo = load_image(sample("astronaut"), SIZE)
    vgg = cached_vgg("vgg19", "original", "max")  # the check's own network: one handed in could say anything
    other_noise = torch.rand(photo.shape, generator=torch.Generator().manual_seed(12345))

    def right(result):
        asked = _ran(result, {"conv5_2": 1.0}, init="content", style_layers={"relu1_1": 1.0}, fall=None)
        # Any uniform noise has about the same relu1_1 Gram matrix: the result's should have come much closer to it.
        noisy = _style_error(vgg, result.image, other_noise) < 0.25 * _style_error(vgg, photo, other_noise)
        return asked and noisy

    hint = (
        f"init='content', content_layers={{'conv5_2': 1.0}}, style_layers={{'relu1_1': 1.0}}, `noise` as the style "
        f"image, size={SIZE}, steps={STEPS}"
    )
    return check(survives, right, hint, prediction=(first, "b"))
