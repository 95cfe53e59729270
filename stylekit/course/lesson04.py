"""Notebook 4's checks: the objective, the content and style gradients by hand, and the exercises' runs and numbers."""

import functools
import random
from contextlib import contextmanager

import torch

from .. import losses
from ..images import load_image
from ..judge import AXES, judge, judge_targets
from ..samples import sample
from ..transfer import make_optimizer, optimise, take_step, transfer
from ..weights import cached_vgg
from . import Borrowed, check, forged, pick, piece, predicted, without
from .lesson03 import _gram

SIZE, STEPS = pick(256, 64), pick(100, 20)  # the notebook's (it imports them), so that the checks ask for its run
ALPHA, BETA = 1.0, 10.0  # the notebook's α and β: exercise 2's run is compared with stylekit's at these
PHOTO, PAINTING = "astronaut", "brushstrokes"  # the notebook's two sample images
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
AGREE = 0.25  # how far the loop's and stylekit's judged errors may drift apart at β = 100


def _random(g, *shape, scale=1.0):
    return torch.randn(shape, generator=g, dtype=torch.float64) * scale


def _objective_cases():
    """(F, P, A, α, β, w): random responses in float64 at layers of several shapes, one layer in F that neither P
    nor A names, unequal w_l and targets of another scale than the responses."""
    g = torch.Generator().manual_seed(40)
    shapes = {"relu1_1": (1, 3, 6, 5), "relu2_1": (1, 5, 3, 4), "relu3_1": (1, 4, 2, 2), "relu3_2": (1, 2, 5, 1),
              "relu4_2": (1, 6, 3, 3), "relu5_1": (1, 7, 2, 1)}  # fmt: skip
    cases = []
    for content, style, alpha, beta in (
        (["relu4_2"], {"relu1_1": 0.5, "relu2_1": 0.2, "relu3_1": 0.3}, 1.0, 10.0),
        (["relu3_2", "relu4_2"], {"relu2_1": 2.0, "relu5_1": 0.25}, 0.3, 4.0),
    ):
        F = {k: _random(g, *s) for k, s in shapes.items()}
        P = {k: _random(g, *shapes[k], scale=3.0) for k in content}
        A = {k: _gram(_random(g, *shapes[k][:2], 4, 4, scale=2.0)) for k in style}  # from a larger painting
        cases.append((F, P, A, alpha, beta, style))
    return cases


def _squared(x):
    return torch.linalg.vector_norm(x) ** 2


def _objective(F, P, A, alpha, beta, w):
    """The reference: relative errors ‖x − t‖² / ‖t‖² as norms, the Gram matrix as a sum over positions."""
    content = sum(_squared(F[k] - P[k]) / _squared(P[k]) for k in P)
    style = sum(w[k] * _squared(_gram(F[k]) - A[k]) / _squared(A[k]) for k in A)
    return alpha * content + beta * style, content, style


def _one_number(value, name):
    if not torch.is_tensor(value) or value.numel() != 1:
        return f"its {name} should be one number (a tensor), not {type(value).__name__} {getattr(value, 'shape', '')}"
    return None


def check_objective(objective):
    """``objective(F, P, A, alpha, beta, w)``: (α L_content + β L_style, L_content, L_style), with L_content the sum
    of ‖F_l − P_l‖² / ‖P_l‖² over P's layers and L_style the sum of w_l ‖G_l − A_l‖² / ‖A_l‖² over A's."""

    def problems(objective):
        for i, (F, P, A, alpha, beta, w) in enumerate(_objective_cases()):
            F = {k: f.requires_grad_(i == 0) for k, f in F.items()}  # the loop differentiates it: so does the check
            got, want = objective(F, P, A, alpha, beta, w), _objective(F, P, A, alpha, beta, w)
            if not isinstance(got, (tuple, list)) or len(got) != 3:
                return "it should return three numbers: (total, content, style)"
            for name, value, right in zip(("total", "content", "style"), got, want):
                off = _one_number(value, name)
                if off:
                    return off
                if not torch.allclose(value.double(), right, rtol=1e-6):
                    ratio = float(value.detach().double() / right.detach())
                    setting = f"content layers {list(P)}, style weights {w}, α = {alpha}, β = {beta}"
                    return f"with {setting}, its {name} is {ratio:.4g}× the right value"
            if i == 0:
                if not got[0].requires_grad:
                    return "its total carries no gradient: the loop could not differentiate it (no .item(), .detach())"
                mine = torch.autograd.grad(got[0], list(F.values()), allow_unused=True)
                right = torch.autograd.grad(want[0], list(F.values()), allow_unused=True)
                for k, a, b in zip(F, mine, right):
                    a, b = (torch.zeros_like(F[k]) if x is None else x.double() for x in (a, b))
                    if not torch.allclose(a, b, rtol=1e-6, atol=1e-12):
                        return f"its total's gradient at {k} is off (is that layer's term computed from F[{k!r}]?)"
        return None

    library = (losses.content_loss, losses.relative_error, losses.gram, losses.gram_sums, losses.gram_of_sums,
               losses.gram_error, losses.style_layer_loss, losses.Objective)  # fmt: skip
    return piece(objective, problems, "the objective", library, fallback=_library_objective)


def _library_objective(F, P, A, alpha, beta, w):
    content = sum(losses.relative_error(F[k], P[k]) for k in P)
    style = sum(w[k] * losses.relative_error(losses.gram(F[k]), A[k]) for k in A)
    return alpha * content + beta * style, content, style


# Everything in torch that computes a gradient for the caller; the gradients by hand run without them.
_AUTOGRAD = [(torch.autograd, "grad"), (torch.autograd, "backward"), (torch.Tensor, "backward")]
_AUTOGRAD += [(torch.func, n) for n in ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian")]
_AUTOGRAD += [(torch.autograd.functional, n) for n in ("jacobian", "vjp", "jvp", "hessian", "hvp", "vhp")]


def _recording(tensor):
    """Autograd keeps a tensor for a backward pass: the gradient by hand is being handed to autograd."""
    raise Borrowed("autograd (a graph for a backward pass)")


@contextmanager
def by_hand(namespace):
    """Autograd made unavailable while the block runs (in torch and in ``namespace``, the notebook's): its
    functions raise ``Borrowed``, gradients are off, and an operation that keeps a tensor for a backward pass
    raises."""
    originals = [(owner, name, getattr(owner, name)) for owner, name in _AUTOGRAD]

    def refusing(owner, name):
        def refused(*args, **kwargs):
            raise Borrowed(f"autograd ({getattr(owner, '__name__', owner)}.{name})")

        return refused

    stubs = {id(f): refusing(owner, name) for owner, name, f in originals}
    held = {k: v for k, v in namespace.items() if id(v) in stubs}  # e.g. `from torch.autograd import grad`
    for owner, name, f in originals:
        setattr(owner, name, stubs[id(f)])
    namespace.update({k: stubs[id(v)] for k, v in held.items()})
    try:
        with torch.no_grad(), torch.autograd.graph.saved_tensors_hooks(_recording, _recording):
            yield
    finally:
        for owner, name, f in originals:
            setattr(owner, name, f)
        namespace.update(held)


def _matrices():
    """(F, P, A) in float64: responses N×M of several shapes (one square, so that a transposed answer has the right
    shape), the photo's response P and a painting's Gram matrix A (M-normalised, from a painting of another size)."""
    g = torch.Generator().manual_seed(41)
    for n, m in ((3, 20), (8, 30), (6, 6), (1, 7)):
        F, P, S = _random(g, n, m), _random(g, n, m, scale=2.0), _random(g, 1, n, 1, m + 5, scale=1.5)
        yield F, P, _gram(S)


def _autograd(loss, F):
    F = F.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(loss(F), F)
    return gradient


def _content_reference(F, P):
    return _autograd(lambda F: torch.sum(torch.square(F - P)) / 2, F)  # the thesis's ½ Σ (F − P)²


def _style_reference(F, A):
    n, m = F.shape  # the thesis's E_l written with G = F Fᵀ / M: Σ (G − A)² / 4N²
    return _autograd(lambda F: torch.sum(torch.square(torch.einsum("ik,jk->ij", F, F) / m - A)) / (4 * n * n), F)


def _gradient_problems(answer, reference, namespace, second):
    for F, P, A in _matrices():
        other = P if second == "P" else A
        want = reference(F, other)
        with by_hand(namespace):
            got = answer(F.clone(), other.clone())
        n, m = F.shape
        if not torch.is_tensor(got) or tuple(got.shape) != (n, m):
            return f"for F of shape ({n}, {m}) it gives {getattr(got, 'shape', type(got).__name__)}, not F's shape"
        if not torch.allclose(got.double(), want, rtol=1e-6, atol=1e-12):
            scale = float((got.double() * want).sum() / (want * want).sum())  # got ≈ scale × autograd's, if it is
            if torch.allclose(got.double(), scale * want, rtol=1e-6, atol=1e-12):
                return f"for N = {n}, M = {m} it is {scale:.4g}× autograd's gradient"
            return f"for N = {n}, M = {m} it differs from autograd's gradient by more than rounding"
    return None


def check_content_grad(content_grad):
    """``content_grad(F, P)``: ∂/∂F of the thesis's content loss ½ Σ (F − P)², F and P N×M."""

    def problems(answer):
        return _gradient_problems(answer, _content_reference, content_grad.__globals__, "P")

    library = (losses.content_loss, losses.relative_error)
    return piece(content_grad, problems, "the content gradient", library, fallback=_content_by_hand)


def check_style_grad(style_grad):
    """``style_grad(F, A)``: ∂E_l/∂F of E_l = Σ (G − A)² / 4N², G = F Fᵀ / M, F N×M and A N×N."""

    def problems(answer):
        return _gradient_problems(answer, _style_reference, style_grad.__globals__, "A")

    library = (losses.gram, losses.gram_sums, losses.gram_of_sums, losses.gram_error, losses.style_layer_loss,
               losses.SelfProduct)  # fmt: skip
    return piece(style_grad, problems, "the style gradient", library, fallback=_style_by_hand)


def _content_by_hand(F, P):
    return F - P


def _style_by_hand(F, A):
    n, m = F.shape
    return (F @ F.T / m - A) @ F / (n * n * m)


def _number(value):
    """A number the student computed (a float, or a one-element tensor), or None."""
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        return None


def _verdict(answers, find_problem, prediction=None):
    """``check`` of several answers at once: "not done yet" while one is still ``...``, else the first problem."""
    if any(a is ... for a in answers) or (prediction and prediction[0] is ...):
        return check(..., None, "")
    problem = find_problem(*answers)
    return check(answers, lambda _: problem is None, problem, prediction)


def _ran(result, hint, **asked):
    """What is off in a run (a ``Result``, as stylekit.transfer returned it) against the settings asked and the
    lesson's steps, or None."""
    s = getattr(result, "settings", None)
    if not isinstance(s, dict) or not hasattr(result, "steps_done"):
        return f"{hint}: a stylekit.transfer result"
    forgery = forged(result)
    if forgery:
        return forgery
    wrong = [k for k, v in asked.items() if s.get(k) != v]
    if wrong:
        return f"{hint}: check {', '.join(wrong)}"
    if result.steps_done != STEPS:
        return f"{hint}: it ran {result.steps_done} steps"
    return None


def check_1(prediction, ours_100, plain_100):
    """``prediction``: the letter; ``ours_100``: stylekit's run at β = 100 that the loop's ``plain_100`` should
    judge like."""

    first = predicted("lesson04.check_1", prediction)

    def find_problem(ours_100, plain_100):
        hint = "the settings of `same`, with style_weight=100, in fp32 on the CPU"
        asked = dict(style_weight=100.0, content_weight=ALPHA, size=SIZE, scales=1, precision="fp32", device="cpu",
                     optimizer="lbfgs", init="content", content_layers={"relu4_2": 1.0})  # fmt: skip
        off = _ran(ours_100, hint, **asked)
        if off:
            return off
        if set(ours_100.settings["style_layers"]) != set(STYLE_LAYERS):
            return f"{hint}: check style_layers"
        photo, painting = sample(PHOTO), sample(PAINTING)
        targets = judge_targets(photo, painting, plain_100.shape[-1], plain_100.shape[-2])
        a, b = (judge(x, photo, painting, targets) for x in (plain_100, ours_100.image))
        if any(abs(b[k] - a[k]) > AGREE * max(a[k], 1e-6) for k in AXES):  # relative; the photo's content: 0
            return "it does not judge like the loop's result at β = 100: is it the same objective?"
        return None

    return _verdict((ours_100, plain_100), find_problem, (first, "a"))


@functools.cache
def _stylekit_adam(lr, steps, size):
    """stylekit's Adam on the notebook's pair at its α and β: the loss at the start of each step, and the image."""
    settings = dict(content_weight=ALPHA, style_weight=BETA, scales=1, size=size, precision="fp32", device="cpu")
    run = transfer(sample(PHOTO), sample(PAINTING), optimizer="adam", lr=lr, steps=steps, progress=False, **settings)
    return tuple(run.history["total"]), run.image


def _same_losses(history, reference):
    """A few steps' losses, each within 10⁻³ of the check's (measured at 256 px: up to 3·10⁻⁵ by step 4; recording
    the loss after each step instead is off by a step's fall, far more)."""
    return len(history) >= len(reference) and all(abs(h / r - 1) < 1e-3 for h, r in zip(history, reference))


# How far a whole run's losses may drift from the check's own: the notebook's loop sums in another order than
# stylekit (its Gram matrix, its relative errors), and Adam carries each step's last bits into the next. Both run
# in fp32 on the CPU whatever the precision setting; measured at 256 px, 100 steps: 0.3 % by the last step (64 px,
# 20 steps: 10⁻⁶). Another rate is 20 % off or more.
DRIFT = 0.02
# How far the loop's image may be from stylekit's after a few steps, on average over its pixels: Adam's first step
# moves each pixel by ±lr whatever its gradient's size, so a pixel whose gradient is a rounding error may go either
# way (measured at 256 px: a few pixels in a hundred, up to 0.034 apart; the mean 3·10⁻⁴ at most). A wrong image
# (another rate, a step short) is 10⁻² or more off.
IMAGE_DRIFT = 2e-3


def _crossing(plain_history, loss):
    """The first n with ``plain_history[n]`` at or below ``loss``, or None."""
    return next((n for n, value in enumerate(plain_history) if value <= loss), None)


def check_2(gatys_adam, adam_history, lbfgs_steps, plain_history):
    """``gatys_adam(content, style, steps, lr)``: the loop with Adam, (image, the loss at the start of each step),
    run with stylekit's own loop unavailable; ``adam_history``: its losses for STEPS steps at lr 0.02;
    ``lbfgs_steps``: the fewest L-BFGS steps n with ``plain_history[n]`` at or below Adam's last loss."""

    def find_problem(gatys_adam, adam_history, lbfgs_steps, plain_history):
        own = _stylekit_adam(0.02, STEPS, SIZE)[0]  # the whole run, the check's own: every loss is compared
        try:
            adam_history = [float(h) for h in adam_history]
            plain_history = [float(h) for h in plain_history]
        except (TypeError, ValueError):
            return "adam_history and plain_history: lists of losses, one number per step"
        if len(adam_history) != STEPS or any(abs(h / r - 1) > DRIFT for h, r in zip(adam_history, own)):
            return "adam_history: the losses of `gatys_adam(content, style, STEPS)` (lr 0.02), one per step"
        if len(plain_history) != STEPS or abs(plain_history[0] / own[0] - 1) > 1e-4:
            return "plain_history: the loop's losses above, `gatys(content, style, STEPS)`, as that cell left them"
        # Adam's last loss is the check's own; the answer's, within DRIFT of it, may cross a step earlier or later.
        reached = {_crossing(plain_history, loss) for loss in (own[-1], adam_history[-1])} - {None}
        if _number(lbfgs_steps) not in reached:
            return "lbfgs_steps: the first n where plain_history[n] is at or below adam_history[-1]"
        # A step count and rate drawn afresh each time, unlike the notebook's: the function must use them.
        steps, lr = random.choice((2, 3, 4)), random.choice((0.03, 0.05, 0.08))
        reference, reference_image = _stylekit_adam(lr, steps, SIZE)
        content, style = (load_image(sample(k), SIZE) for k in (PHOTO, PAINTING))
        library = (transfer, optimise, make_optimizer, take_step, losses.Objective, _stylekit_adam)
        try:
            with without(library, gatys_adam.__globals__):
                image, history = gatys_adam(content, style, steps, lr=lr)
        except Borrowed as borrowed:
            return f"`gatys_adam` calls {borrowed}: write the loop yourself, with torch.optim.Adam"
        history = [float(h) for h in history]
        if len(history) != steps:
            return f"`gatys_adam(content, style, {steps}, lr={lr})` recorded {len(history)} losses, not one per step"
        if not torch.is_tensor(image) or image.shape != content.shape or torch.equal(image, content):
            return "`gatys_adam` should return the optimised image (the photo's shape, its pixels moved) first"
        if not _same_losses(history, reference):
            return (
                f"`gatys_adam(content, style, {steps}, lr={lr})`'s losses are not Adam's at that rate on the "
                "notebook's objective: the loss at the start of each step, Adam(lr=lr), the photo as the start"
            )
        if (image.detach().float() - reference_image).abs().mean() > IMAGE_DRIFT:
            return f"`gatys_adam(content, style, {steps}, lr={lr})`'s image is not where Adam's steps take the photo"
        return None

    return _verdict((gatys_adam, adam_history, lbfgs_steps, plain_history), find_problem)


@functools.cache
def _noise_content_loss(size):
    vgg = cached_vgg("vgg19", "original", "max")
    photo = load_image(sample(PHOTO), size)
    noise = torch.rand(photo.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        f, p = (vgg(x, ["relu4_2"])["relu4_2"].double() for x in (noise, photo))
    return float(((f - p) ** 2).sum() / (p**2).sum())


def check_3(prediction, content_at_start):
    """``prediction``: a letter; ``content_at_start``: the relative content loss of the notebook's noise image."""

    first = predicted("lesson04.check_3", prediction, "abc")

    def find_problem(content_at_start):
        value = _number(content_at_start)
        if value is None or abs(value / _noise_content_loss(SIZE) - 1) >= 1e-3:
            return "content_at_start: the content term of loss_terms(noise, P, A), as a number (.item())"
        return None

    return _verdict((content_at_start,), find_problem, (first, "b"))


def _relu1_1_ratio(size):
    vgg = cached_vgg("vgg19", "original", "max")
    photo = load_image(sample(PHOTO), size)
    up_to = vgg.features[: vgg.names.index("relu1_1") + 1]
    with torch.no_grad():
        raw, prepared = (up_to(x).mean() for x in (photo, vgg.preprocess(photo)))
    return float(raw / prepared)


def check_4(weaker):
    """``weaker``: relu1_1's mean response to the photo without ``vgg.preprocess`` ÷ with it."""

    def find_problem(weaker):
        value = _number(weaker)
        if value is None or abs(value / _relu1_1_ratio(SIZE) - 1) >= 0.01:
            return "relu1_1's mean response to `content` fed as it is, ÷ the same after vgg.preprocess"
        return None

    return _verdict((weaker,), find_problem)
