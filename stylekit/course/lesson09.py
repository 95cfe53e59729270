"""Notebook 9's checks: the fast network's training step, and the exercises' trainings and stylised images."""

from types import SimpleNamespace

import torch

from .. import training
from ..samples import sample
from . import check, forged, pick, piece, predicted

# The notebook's sizes and steps (it imports them), so that the checks ask for its runs.
SIZE = pick(512, 128)  # the side photos are stylised at
CROP, STEPS, STYLE_SIZE = pick(192, 64), pick(100, 8), pick(512, 128)  # the short training run's
SMALL_STYLE = pick(128, 32)  # exercise 2's style_size: a quarter of STYLE_SIZE
SIDES = pick((256, 512, 1024), (64, 128, 256))  # exercise 3's
LR, BATCH, SEED = 1e-3, 4, 0  # train_fast's defaults, which the exercises keep


def _net(width, g):
    """A tiny network of float64 convolutions: enough weights for an optimiser step to be told apart."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, width, 3, padding=1), torch.nn.Tanh(), torch.nn.Conv2d(width, 3, 1)
    ).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5)
    return net


def _loss(outputs, photos):
    """The check's own objective: how far each output is from its photo mirrored, plus the outputs' size."""
    return ((outputs - photos.flip(-1)) ** 2).mean() + 0.1 * (outputs**2).sum() / len(outputs)


def _reference(net, batches, lr, momentum):
    """The weights after each SGD step on ``batches``, and each batch's loss, written out: the gradient from
    autograd.grad (no ``.grad``, no optimiser), then v ← momentum·v + g, w ← w − lr·v."""
    names = [name for name, _ in net.named_parameters()]
    weights = {name: p.detach().clone() for name, p in net.named_parameters()}
    velocity, after, losses = {}, [], []
    for photos in batches:
        variables = {k: w.clone().requires_grad_(True) for k, w in weights.items()}
        loss = _loss(torch.func.functional_call(net, variables, (photos,)), photos)
        gradients = dict(zip(names, torch.autograd.grad(loss, [variables[k] for k in names])))
        for k in names:
            velocity[k] = gradients[k] if k not in velocity else momentum * velocity[k] + gradients[k]
            weights[k] = weights[k] - lr * velocity[k]
        after.append(dict(weights))
        losses.append(loss.item())
    return after, losses


def check_training_step(training_step):
    """``training_step(net, batch_loss, photos, optimizer)``: the photos through ``net``, ``batch_loss(outputs,
    photos)``, its gradient with respect to the weights (none left from before), one step of ``optimizer``; the
    loss (before the step) returned as a number."""

    def problems(training_step):
        g, scored = torch.Generator().manual_seed(9), []

        def batch_loss(outputs, photos):  # the check's objective, which notes what it was asked to score
            scored.append(outputs)
            return _loss(outputs, photos)

        # (width, batch, height, width of the photos, lr, momentum): with momentum a step that ignores the
        # optimiser and moves the weights itself is told apart
        for width, batch, h, w, lr, momentum in ((4, 1, 5, 7, 0.1, 0.0), (6, 3, 8, 6, 0.05, 0.9)):
            net = _net(width, g)
            batches = [torch.rand(batch, 3, h, w, generator=g, dtype=torch.float64) for _ in range(2)]
            want, losses = _reference(net, batches, lr, momentum)
            optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
            for p in net.parameters():  # what an earlier backward left behind: a step must not add it in
                p.grad = torch.randn(p.shape, generator=g, dtype=torch.float64)
            for step, (photos, loss, weights) in enumerate(zip(batches, losses, want), start=1):
                scored.clear()
                before = [p.detach().clone() for p in net.parameters()]
                try:
                    got = training_step(net, batch_loss, photos, optimizer)
                except RuntimeError:
                    if scored and not any(o.requires_grad for o in scored):
                        return "it scores the photos themselves: batch_loss should get the network's outputs"
                    raise
                if not scored:
                    return "it never calls batch_loss(outputs, photos)"
                if not any(o.requires_grad for o in scored):
                    return "it scores the photos themselves: batch_loss should get the network's outputs"
                if not (isinstance(got, float) or (torch.is_tensor(got) and got.numel() == 1)):
                    return f"it should return the loss as a number, not {type(got).__name__}"
                if abs(float(got) - loss) > 1e-9 * abs(loss):
                    return f"at step {step} it returns {float(got):.6g}, not the batch's loss before the step"
                if all(torch.equal(p, b) for p, b in zip(net.parameters(), before)):
                    return f"at step {step} the weights did not move: the optimiser steps on the gradient in .grad"
                if not all(torch.allclose(p, weights[k], rtol=1e-9, atol=1e-12) for k, p in net.named_parameters()):
                    return (
                        f"after step {step} (SGD, lr {lr}, momentum {momentum}, a batch of {batch}) the weights are "
                        "not where one step on this batch's gradient alone takes them"
                    )
        return None

    return piece(training_step, problems, "the training step", (training.train_loop,), _library_step)


def _library_step(net, batch_loss, photos, optimizer):
    """One step of stylekit's training loop (``training.train_loop``, which ``train_fast`` runs), with the piece's
    signature."""
    model = SimpleNamespace(net=net, settings={"lr": optimizer.param_groups[0]["lr"]}, history={})
    options = SimpleNamespace(steps=1, checkpoint_every=0)
    step_terms = lambda: {"total": batch_loss(net(photos), photos)}  # noqa: E731
    training.train_loop(model, step_terms, optimizer, options, lambda: None, progress=False)
    return model.history["total"][0]


def _trained(model, **asked):
    """A model that the short run's call trained with ``asked`` changed, every step run, as stylekit.train_fast
    returned it (not a shipped one, nor one with its settings or weights changed since)."""
    if forged(model, "stylekit.train_fast"):
        return False
    want = dict(size=CROP, batch=BATCH, style_weight=9.0, style_size=STYLE_SIZE, lr=LR, seed=SEED, photos=None)
    want |= asked
    settings, history = getattr(model, "settings", None), getattr(model, "history", None)
    return (
        isinstance(settings, dict)
        and all(settings.get(k) == v for k, v in want.items())
        and isinstance(history, dict)
        and len(history.get("total", ())) == STEPS
        and getattr(model, "stopped", None) is None
    )


def check_1(heavier, letter):
    """The short run trained again with style_weight=30, and the letter of the prediction."""
    first = predicted("lesson09.check_1", letter)
    if heavier is ... or first is ...:
        return check(..., None, "")
    hint = "the call of `short` (CROP, STEPS, STYLE_SIZE) with style_weight=30 added"
    return check(heavier, lambda model: _trained(model, style_weight=30), hint, prediction=(first, "a"))


def check_2(small_strokes, letter):
    """The short run trained again with the style at SMALL_STYLE, and the letter of the prediction."""
    first = predicted("lesson09.check_2", letter)
    if small_strokes is ... or first is ...:
        return check(..., None, "")
    hint = "the call of `short` (CROP, STEPS, style_weight as it was) with style_size=SMALL_STYLE"
    right = lambda model: _trained(model, style_size=SMALL_STYLE)  # noqa: E731
    return check(small_strokes, right, hint, prediction=(first, "a"))


def check_3(at_sizes, short):
    """``at_sizes``: {side: stylize(short, photo, side)} for each of SIDES, ``short`` the model the notebook
    trained (not a shipped one), ``photo`` chelsea."""
    if at_sizes is ...:
        return check(..., None, "")
    from ..fast import stylize

    def right(answer):
        if not isinstance(answer, dict) or sorted(answer) != sorted(SIDES) or not _trained(short):
            return False
        for side, result in answer.items():
            want = stylize(short, sample("chelsea"), side).image
            image = getattr(result, "image", result)
            if not torch.is_tensor(image) or image.shape != want.shape:
                return False
            if not torch.allclose(image.float(), want, atol=2e-3):
                return False
        return True

    hint = "for each side of SIDES: `photo` stylised at that side by `short`, the model you trained above"
    return check(at_sizes, right, hint)
