"""Notebook 4's checks refuse plausible wrong answers: the library's own functions, autograd, and near misses."""

import contextlib
import dataclasses
import types

import pytest
import torch

import stylekit
from stylekit.course import lesson04
from stylekit.result import seal


def gram(f):
    F = f.flatten(2)[0]
    return F @ F.T / F.shape[1]


def relative(x, t):
    return ((x - t) ** 2).sum() / (t**2).sum()


def objective(F, P, A, alpha, beta, w):
    content = sum(relative(F[k], P[k]) for k in P)
    style = sum(w[k] * relative(gram(F[k]), A[k]) for k in A)
    return alpha * content + beta * style, content, style


def test_check_objective_takes_a_right_one(capsys):
    assert lesson04.check_objective(objective) is objective
    assert "Right" in capsys.readouterr().out


def borrowed_objective(F, P, A, alpha, beta, w):
    content = sum(stylekit.losses.relative_error(F[k], P[k]) for k in P)
    style = sum(w[k] * stylekit.losses.relative_error(stylekit.gram(F[k]), A[k]) for k in A)
    return alpha * content + beta * style, content, style


def objective_without_w(F, P, A, alpha, beta, w):  # the style layers averaged: w_l ignored
    content = sum(relative(F[k], P[k]) for k in P)
    style = sum(relative(gram(F[k]), A[k]) for k in A) / len(A)
    return alpha * content + beta * style, content, style


def raw_objective(F, P, A, alpha, beta, w):  # the thesis's sums, not relative
    content = sum(((F[k] - P[k]) ** 2).sum() / 2 for k in P)
    style = sum(w[k] * ((gram(F[k]) - A[k]) ** 2).sum() / (4 * A[k].shape[0] ** 2) for k in A)
    return alpha * content + beta * style, content, style


def swapped_weights(F, P, A, alpha, beta, w):
    _, content, style = objective(F, P, A, alpha, beta, w)
    return beta * content + alpha * style, content, style


def content_mean(F, P, A, alpha, beta, w):  # the content layers averaged
    _, content, style = objective(F, P, A, alpha, beta, w)
    content = content / len(P)
    return alpha * content + beta * style, content, style


def transposed_gram_objective(F, P, A, alpha, beta, w):  # Fᵀ F: positions instead of filters
    content = sum(relative(F[k], P[k]) for k in P)
    style = sum(w[k] * relative(F[k].flatten(2)[0].T @ F[k].flatten(2)[0] / F[k][0, 0].numel(), A[k]) for k in A)
    return alpha * content + beta * style, content, style


def detached_objective(F, P, A, alpha, beta, w):  # numbers the loop cannot differentiate
    total, content, style = objective(F, P, A, alpha, beta, w)
    return total.detach(), content.detach(), style.detach()


def total_only(F, P, A, alpha, beta, w):
    return objective(F, P, A, alpha, beta, w)[0]


@pytest.mark.parametrize(
    "wrong",
    [borrowed_objective, objective_without_w, raw_objective, swapped_weights, content_mean,
     transposed_gram_objective, detached_objective, total_only],
)  # fmt: skip
def test_check_objective_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson04.check_objective(wrong)


def test_a_blank_objective_hands_the_lesson_stylekits_and_says_so(capsys):
    def objective(F, P, A, alpha, beta, w):
        raise NotImplementedError("your code here")

    fallback = lesson04.check_objective(objective)
    assert "Not done yet" in capsys.readouterr().out
    for case in lesson04._objective_cases():
        for got, want in zip(fallback(*case), lesson04._objective(*case)):
            assert torch.allclose(got.double(), want, rtol=1e-5)
    assert "stylekit's here" in capsys.readouterr().out


def content_grad(F, P):
    return F - P


def style_grad(F, A):
    N, M = F.shape
    return (F @ F.T / M - A) @ F / (N**2 * M)


def test_the_gradient_checks_take_the_right_ones():
    assert lesson04.check_content_grad(content_grad) is content_grad
    assert lesson04.check_style_grad(style_grad) is style_grad


def content_by_autograd(F, P):
    F = F.detach().requires_grad_(True)
    with torch.enable_grad():
        (gradient,) = torch.autograd.grad(((F - P) ** 2).sum() / 2, F)
    return gradient


def content_by_backward(F, P):
    F = F.detach().requires_grad_(True)
    with torch.enable_grad():
        (((F - P) ** 2).sum() / 2).backward()
    return F.grad


def content_by_grad_fn(F, P):  # autograd's graph called by hand
    F = F.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = ((F - P) ** 2).sum() / 2
    return loss.grad_fn(torch.ones(()))[0]


def content_by_func(F, P):
    from torch.func import grad

    return grad(lambda F: ((F - P) ** 2).sum() / 2)(F)


@pytest.mark.parametrize(
    "wrong",
    [
        content_by_autograd,
        content_by_backward,
        content_by_grad_fn,
        content_by_func,
        lambda F, P: P - F,  # the sign flipped
        lambda F, P: 2 * (F - P),  # Σ (F − P)² without the ½
        lambda F, P: 2 * (F - P) / (P**2).sum(),  # the relative loss's gradient
    ],
)
def test_check_content_grad_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson04.check_content_grad(wrong)


def style_by_autograd(F, A):
    F = F.detach().requires_grad_(True)
    n, m = F.shape
    with torch.enable_grad():
        (gradient,) = torch.autograd.grad(((F @ F.T / m - A) ** 2).sum() / (4 * n * n), F)
    return gradient


def style_by_stylekit(F, A):  # stylekit's own E_l, differentiated by autograd
    F = F.detach().requires_grad_(True)
    with torch.enable_grad():
        stylekit.style_layer_loss(F[None, :, None, :], A).backward()
    return F.grad


def style_transposed(F, A):  # (Fᵀ (G − A)), not transposed back: M×N, the same shape only when N = M
    N, M = F.shape
    return F.T @ (F @ F.T / M - A) / (N**2 * M)


@pytest.mark.parametrize(
    "wrong",
    [
        style_by_autograd,
        style_by_stylekit,
        style_transposed,
        lambda F, A: -style_grad(F, A),  # the sign flipped
        lambda F, A: style_grad(F, A) / 2,  # the factor 2 of F appearing twice in G missed
        lambda F, A: 4 * style_grad(F, A),  # the 1/4 of 1/4N² missed
        lambda F, A: style_grad(F, A) / F.shape[1],  # the thesis's 1/(N²M²) with G/M
        lambda F, A: (F @ F.T - A) @ F / (F.shape[0] ** 2 * F.shape[1]),  # G without the 1/M against A with it
    ],
)
def test_check_style_grad_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson04.check_style_grad(wrong)


def test_autograd_is_back_after_a_check_and_a_blank_gradient_falls_back(capsys):
    def style_grad(F, A):
        raise NotImplementedError("your code here")

    grad, backward = torch.autograd.grad, torch.Tensor.backward
    fallback = lesson04.check_style_grad(style_grad)
    assert "Not done yet" in capsys.readouterr().out
    for F, _, A in lesson04._matrices():
        assert torch.allclose(fallback(F, A), lesson04._style_reference(F, A))  # autograd works again, too
    assert torch.autograd.grad is grad and torch.Tensor.backward is backward and torch.is_grad_enabled()


def test_a_blank_gradients_stand_in_is_refused_as_its_own_answer_and_serves_another_piece(capsys):
    def content_grad(F, P):
        raise NotImplementedError("your code here")

    def style_grad(F, A):
        raise NotImplementedError("your code here")

    content_library, style_library = lesson04.check_content_grad(content_grad), lesson04.check_style_grad(style_grad)
    assert capsys.readouterr().out.count("Not done yet") == 2
    copied, rebuilt = (
        stylekit.course._copy(lesson04._style_by_hand),
        types.FunctionType(lesson04._content_by_hand.__code__, {}),
    )

    def handed_to_the_stand_in(F, A):  # `lib = style_grad`, then a "new" style_grad that calls it
        return style_library(F, A)

    def handed_to_a_copy(F, A):
        return copied(F, A)

    def handed_to_a_copy_twice(F, A):  # the first call refused and caught, the second let through
        with contextlib.suppress(Exception):
            copied(F, A)
        return copied(F, A)

    for wrong in (handed_to_the_stand_in, handed_to_a_copy, handed_to_a_copy_twice):
        with pytest.raises(AssertionError, match=r"Not yet: `.*` calls stylekit's (style_grad|_style_by_hand)"):
            lesson04.check_style_grad(wrong)
    for wrong in (lambda F, P: content_library(F, P), lambda F, P: rebuilt(F, P)):
        with pytest.raises(AssertionError, match="Not yet: `<lambda>` calls stylekit's"):
            lesson04.check_content_grad(wrong)

    right = globals()["style_grad"]  # the module's right answer, which the blank above shadows

    def with_the_other_stand_in(F, A):  # right; the content gradient's stand-in (0 here) serves another check
        return right(F, A) + content_library(F, F)

    assert lesson04.check_style_grad(with_the_other_stand_in) is with_the_other_stand_in
    F, P = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)
    assert torch.equal(content_library(F, P), F - P)  # outside the checks it serves as before


class FakeResult:
    """A run as exercise 1's check sees it: its settings, steps and image, sealed as ``stylekit.transfer`` seals a
    run (the check refuses a record edited since)."""

    def __init__(self, image, steps=None, **changes):
        s = stylekit.Settings()
        self.settings = {
            "content_weight": 1.0, "style_weight": 100.0, "size": lesson04.SIZE, "scales": 1, "precision": "fp32",
            "device": "cpu", "optimizer": s.optimizer, "init": s.init, "content_layers": s.content_layers,
            "style_layers": s.style_layers, **changes,
        }  # fmt: skip
        self.steps_done = lesson04.STEPS if steps is None else steps
        self.image, self.history = image, {"total": [1.0] * self.steps_done}
        seal(self)


@pytest.fixture(scope="module", autouse=True)
def small():
    """The checks that run VGG at 32 px (fast mode's 64 would do, in four times the time)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lesson04, "SIZE", 32)
        yield


@pytest.fixture(scope="module")
def photo():
    return stylekit.load_image(stylekit.sample(lesson04.PHOTO), lesson04.SIZE)


def test_check_1_takes_a_run_that_judges_like_the_loop(photo):
    assert lesson04.check_1("a", FakeResult(photo), photo)


@pytest.mark.parametrize(
    "changes",
    [
        {"style_weight": 10.0},  # `same` itself
        {"steps": 1},  # a one-step run
        {"size": 48},
        {"scales": "auto"},
        {"precision": "auto"},
        {"style_layers": {"conv1_1": 1.0}},
    ],
)
def test_check_1_refuses_a_run_other_than_the_one_asked(photo, changes):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson04.check_1("a", FakeResult(photo, **changes), photo)


def test_check_1_refuses_a_run_unlike_the_loops_and_a_wrong_prediction(photo, wrong_prediction):
    painting = stylekit.load_image(stylekit.sample(lesson04.PAINTING), lesson04.SIZE)
    with pytest.raises(AssertionError, match="Not yet"):
        lesson04.check_1("a", FakeResult(painting), photo)
    for guess in ("b", "c", "d"):
        wrong_prediction(lesson04.check_1, guess, FakeResult(photo), photo)
    with pytest.raises(AssertionError, match="one letter"):
        lesson04.check_1("e", FakeResult(photo), photo)


def test_check_1_refuses_the_run_of_same_relabelled_over_the_loops_image(photo):
    """`ours` (β = 10) with its record edited to say β = 100 and the loop's result as its image: the settings and
    the judged image would fit."""
    same = dict(content_weight=lesson04.ALPHA, style_weight=lesson04.BETA, steps=lesson04.STEPS, scales=1,
                size=lesson04.SIZE, precision="fp32", device="cpu", progress=False)  # fmt: skip
    ours = stylekit.transfer(stylekit.sample(lesson04.PHOTO), stylekit.sample(lesson04.PAINTING), **same)
    relabelled = dataclasses.replace(ours, image=photo, settings={**ours.settings, "style_weight": 100.0})
    with pytest.raises(AssertionError, match="Not yet"):
        lesson04.check_1("a", relabelled, photo)


@pytest.fixture(scope="module")
def vgg():
    return stylekit.load_vgg("vgg19", "original")


@pytest.fixture(scope="module")
def adam_loop(vgg):
    """A right gatys_adam, or one of its near misses (``rate``: the lr it really uses; ``count``: how many steps it
    runs; ``after``: recording the loss after each step)."""
    layers = ["relu4_2", *lesson04.STYLE_LAYERS]

    def terms(image, P, A):
        F = vgg(image, layers)
        content = stylekit.losses.relative_error(F["relu4_2"], P)
        style = sum(0.2 * stylekit.losses.relative_error(gram(F[k]), A[k]) for k in lesson04.STYLE_LAYERS)
        return lesson04.ALPHA * content + lesson04.BETA * style

    def loop(content, style, steps, lr=0.02, rate=None, count=None, after=False):
        with torch.no_grad():
            P = vgg(content, ["relu4_2"])["relu4_2"]
            A = {k: gram(f) for k, f in vgg(style, lesson04.STYLE_LAYERS).items()}
        image = content.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([image], lr=rate or lr)
        history = []
        for _ in range(steps if count is None else count(steps)):
            optimizer.zero_grad()
            total = terms(image, P, A)
            total.backward()
            optimizer.step()
            history.append((terms(image, P, A) if after else total).item())
        return image.detach().clamp(0, 1), history

    return loop


def answers(adam_loop, lbfgs_steps=4, lr=0.02):
    """A right gatys_adam, Adam's losses for STEPS steps (the check's own run) and a step count that fits an
    L-BFGS history made to cross Adam's last loss after ``lbfgs_steps`` steps."""
    adam_history = list(lesson04._stylekit_adam(lr, lesson04.STEPS, lesson04.SIZE)[0])
    start = lesson04._stylekit_adam(0.02, lesson04.STEPS, lesson04.SIZE)[0][0]  # the photo's loss: any rate's
    plain_history = [start, *[adam_history[-1] * (1 + 0.1 * k) for k in range(lbfgs_steps - 1, 0, -1)]]
    plain_history += [adam_history[-1] * 0.9] * (lesson04.STEPS - len(plain_history))
    return adam_loop, adam_history, lbfgs_steps, plain_history


def test_check_2_takes_a_right_loop(adam_loop):
    assert lesson04.check_2(*answers(adam_loop))


def test_check_2_takes_the_loops_own_history(adam_loop):
    """The loop sums in another order than stylekit: its whole run drifts a little from the check's, within DRIFT."""
    content, style = (
        stylekit.load_image(stylekit.sample(k), lesson04.SIZE) for k in (lesson04.PHOTO, lesson04.PAINTING)
    )
    _, history = adam_loop(content, style, lesson04.STEPS)
    plain_history = answers(adam_loop)[3]
    lbfgs_steps = next(n for n, loss in enumerate(plain_history) if loss <= history[-1])
    assert lesson04.check_2(adam_loop, history, lbfgs_steps, plain_history)


def wrapper(content, style, steps, lr=0.02):  # stylekit's Adam, not a loop of one's own
    result = stylekit.transfer(content, style, optimizer="adam", lr=lr, steps=steps, scales=1, size=lesson04.SIZE,
                               content_weight=lesson04.ALPHA, style_weight=lesson04.BETA, progress=False)  # fmt: skip
    return result.image, result.history["total"]


@pytest.mark.parametrize(
    "wrong",
    [
        lambda loop: wrapper,
        lambda loop: lambda c, s, steps, lr=0.02: loop(c, s, steps, rate=0.02),  # lr not used
        lambda loop: lambda c, s, steps, lr=0.02: loop(c, s, steps, lr, count=lambda n: n - 1),  # a step short
        lambda loop: lambda c, s, steps, lr=0.02: loop(c, s, steps, lr, after=True),  # the loss after each step
        lambda loop: lambda c, s, steps, lr=0.02: (c * 0.5, loop(c, s, steps, lr)[1]),  # the losses, not the image
        lambda loop: lambda c, s, steps, lr=0.02: (loop(c, s, steps - 1, lr)[0], loop(c, s, steps, lr)[1]),  # a step
    ],
)
def test_check_2_refuses_a_loop_other_than_the_one_asked(adam_loop, wrong):
    _, adam_history, lbfgs_steps, plain_history = answers(adam_loop)
    with pytest.raises(AssertionError, match="Not yet"):
        lesson04.check_2(wrong(adam_loop), adam_history, lbfgs_steps, plain_history)


def test_check_2_refuses_a_history_or_count_that_does_not_fit(adam_loop):
    loop, adam_history, lbfgs_steps, plain_history = answers(adam_loop)
    # Adam's first two losses, then anything: here the L-BFGS run's last, which makes lbfgs_steps the last step.
    made_up = adam_history[:2] + [plain_history[-1]] * (lesson04.STEPS - 2)
    slower = [loss * (1 + 0.3 * n / lesson04.STEPS) for n, loss in enumerate(adam_history)]  # ends 30 % higher
    for wrong in (
        (loop, adam_history, lbfgs_steps + 1, plain_history),  # one step late
        (loop, adam_history, lbfgs_steps - 1, plain_history),
        (loop, adam_history[:-1], lbfgs_steps, plain_history),  # a step short
        (*answers(adam_loop, lr=0.05)[:3], plain_history),  # another rate
        (loop, made_up, lesson04.STEPS - 1, plain_history),
        (loop, made_up, lbfgs_steps, plain_history),
        (loop, slower, lbfgs_steps, plain_history),
        (loop, [h * 1.05 for h in adam_history], lbfgs_steps, plain_history),  # every loss 5 % off
        (loop, adam_history, 0, [0.0] * lesson04.STEPS),  # an L-BFGS history written for the answer
        (loop, adam_history, 0, [adam_history[-1]] * lesson04.STEPS),
    ):
        with pytest.raises(AssertionError, match="Not yet"):
            lesson04.check_2(*wrong)


def noise_losses(vgg, seed=0, relative=True):
    photo = stylekit.load_image(stylekit.sample(lesson04.PHOTO), lesson04.SIZE)
    noise = torch.rand(photo.shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        f, p = (vgg(x, ["relu4_2"])["relu4_2"] for x in (noise, photo))
    return float(((f - p) ** 2).sum() / ((p**2).sum() if relative else 2))


def test_check_3_takes_the_right_number_and_refuses_near_misses(vgg, wrong_prediction):
    right = noise_losses(vgg)
    for prediction in ("a", "c"):
        wrong_prediction(lesson04.check_3, prediction, right)
    assert lesson04.check_3("b", right)
    for value in (noise_losses(vgg, seed=1), noise_losses(vgg, relative=False), 1.0):
        with pytest.raises(AssertionError, match="Not yet"):
            lesson04.check_3("b", value)
    with pytest.raises(AssertionError, match="one letter"):
        lesson04.check_3("d", right)  # three choices here


def relu1_1_ratio(vgg, layer="relu1_1"):
    photo = stylekit.load_image(stylekit.sample(lesson04.PHOTO), lesson04.SIZE)
    up_to = vgg.features[: stylekit.LAYERS["vgg19"].index(layer) + 1]
    with torch.no_grad():
        return float(up_to(photo).mean() / up_to(vgg.preprocess(photo)).mean())


def test_check_4_takes_the_right_number_and_refuses_near_misses(vgg):
    assert lesson04.check_4(relu1_1_ratio(vgg))
    for wrong in (1 / relu1_1_ratio(vgg), relu1_1_ratio(vgg, "conv1_1"), relu1_1_ratio(vgg, "relu1_2")):
        with pytest.raises(AssertionError, match="Not yet"):
            lesson04.check_4(wrong)
