"""Notebook 2's checks refuse plausible wrong answers: the library's own functions, and near misses."""

import dataclasses

import pytest
import torch

import stylekit
from stylekit.course import lesson02
from stylekit.result import seal


def content_loss(F, P):
    return ((F - P) ** 2).sum() / 2


def borrowed_content_loss(F, P):
    return stylekit.content_loss(F, P)


def without_the_half(F, P):
    return ((F - P) ** 2).sum()


def mean_not_sum(F, P):
    return ((F - P) ** 2).mean() / 2


def relative(F, P):  # divided by ½ΣP²: the loop's loss, not the content loss
    return ((F - P) ** 2).sum() / (P**2).sum()


def as_a_float(F, P):  # the right value, but nothing to call backward() on
    return torch.tensor(((F - P) ** 2).sum().item() / 2)


@pytest.mark.parametrize("wrong", [borrowed_content_loss, without_the_half, mean_not_sum, relative, as_a_float])
def test_check_content_loss_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson02.check_content_loss(wrong)


def test_check_content_loss_takes_a_right_answer():
    assert lesson02.check_content_loss(content_loss) is content_loss


@pytest.fixture(scope="module")
def vgg():
    return stylekit.load_vgg("vgg19", "original")


def loop(vgg, zero_grad=True, backward=True, start_returned=False, max_iter=1, relative=True):
    """The notebook's loop, or one near miss of it."""

    def reconstruct(target_image, layer, start, steps):
        with torch.no_grad():
            P = vgg(target_image, [layer])[layer]
        zero = content_loss(torch.zeros_like(P), P) if relative else 1
        image = start.clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS([image], lr=1, max_iter=max_iter, history_size=10)

        def closure():
            if zero_grad:
                optimizer.zero_grad()
            loss = content_loss(vgg(image, [layer])[layer], P) / zero
            if backward:
                loss.backward()
            return loss

        history = [optimizer.step(closure).item() for _ in range(steps)]
        return (start if start_returned else image).detach().clamp(0, 1), history

    return reconstruct


def test_check_reconstruct_takes_the_notebooks_loop(vgg, capsys):
    right = loop(vgg)
    assert lesson02.check_reconstruct(right, vgg) is right
    assert "Right" in capsys.readouterr().out


def transfer_wrapped(target_image, layer, start, steps):
    result = stylekit.transfer(target_image, None, start=start, content_layers={layer: 1.0}, style_layers={},
                               size=max(target_image.shape[-2:]), steps=steps, scales=1, precision="fp32")  # fmt: skip
    return result.image, result.history["content"]


@pytest.mark.parametrize(
    "near_miss",
    [
        dict(zero_grad=False),  # gradients accumulate from step to step
        dict(zero_grad=False, backward=False),  # no gradient at all: L-BFGS never moves
        dict(start_returned=True),  # optimises a copy, returns the start
        dict(max_iter=3),  # L-BFGS's own default runs up to 20 evaluations a step, not one
        dict(relative=False),  # the raw loss, not relative to an all-zero response
    ],
)
def test_check_reconstruct_refuses_near_misses(vgg, near_miss):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson02.check_reconstruct(loop(vgg, **near_miss), vgg)


def test_check_reconstruct_refuses_stylekits_transfer(vgg):
    with pytest.raises(AssertionError, match="calls stylekit's transfer"):
        lesson02.check_reconstruct(transfer_wrapped, vgg)


def test_a_blank_loop_hands_the_lesson_one_made_of_transfer_and_says_so(vgg, capsys):
    def reconstruct(target_image, layer, start, steps):
        raise NotImplementedError("your code here")

    fallback = lesson02.check_reconstruct(reconstruct, vgg)
    assert "Not done yet" in capsys.readouterr().out
    target, start = torch.rand(1, 3, 24, 32), torch.rand(1, 3, 24, 32)
    image, history = fallback(target, "conv1_2", start, 2)
    assert image.shape == start.shape and len(history) == 2 and history[1] < history[0]
    assert "stylekit's here" in capsys.readouterr().out


class FakeResult:
    """A run as the exercises' checks see it: its settings, steps, content loss and image, sealed as
    ``stylekit.transfer`` seals a run (the checks refuse a record edited since)."""

    def __init__(self, content, style=None, init="noise", pooling="max", size=lesson02.SIZE, steps=lesson02.STEPS,
                 fall=0.1, image=None):  # fmt: skip
        self.settings = {"content_layers": content, "style_layers": style or {}, "init": init, "pooling": pooling,
                         "size": size}  # fmt: skip
        self.steps_done = steps
        self.history = {"content": [1.0] + [fall] * (steps - 1)}
        self.image = image
        seal(self)


OTHER_SIZE = 64 if lesson02.SIZE != 64 else 32


def reconstruction(layer, **changes):
    """The exercise's run, for real: the checks score its image with their own network."""
    return stylekit.transfer(stylekit.sample("astronaut"), None, init="noise", content_layers={layer: 1.0},
                             style_layers={}, size=lesson02.SIZE, steps=lesson02.STEPS, progress=False,
                             precision="fp32", device="cpu", **changes)  # fmt: skip


def with_image(run, image):
    """``run``'s record over another image: what a record written by hand for an image that never ran looks like."""
    return dataclasses.replace(run, image=image)


def relabelled(run, image=None, **settings):
    """``run`` (a real one) with its settings changed by hand, and another image: what *Five depths*' conv4_2 run
    handed in as the exercise's looks like."""
    return dataclasses.replace(run, image=run.image if image is None else image, settings={**run.settings, **settings})


@pytest.fixture(scope="module")
def conv4_2():
    """*Five depths*' run from conv4_2 (``results[3]`` in the notebook)."""
    return reconstruction("conv4_2")


def test_relabelled_runs_are_refused(conv4_2):
    noisy = torch.rand(conv4_2.image.shape, generator=torch.Generator().manual_seed(7))
    with pytest.raises(AssertionError, match="Not yet"):
        lesson02.check_1(relabelled(conv4_2, content_layers={"relu4_2": 1.0}), "b")
    with pytest.raises(AssertionError, match="Not yet"):
        lesson02.check_2(relabelled(conv4_2, content_layers={"conv5_2": 1.0}, pooling="avg"))
    asked = dict(content_layers={"conv5_2": 1.0}, style_layers={"relu1_1": 1.0}, init="content")
    with pytest.raises(AssertionError, match="Not yet"):
        lesson02.check_3(relabelled(conv4_2, noisy, **asked), "b")


def test_check_1_takes_the_run_and_the_letter_and_refuses_near_misses(wrong_prediction):
    relu = FakeResult({"relu4_2": 1.0})
    real = reconstruction("relu4_2")
    for letter in ("a", "c"):
        wrong_prediction(lesson02.check_1, real, letter)
    assert lesson02.check_1(real, "b")
    for run in (relu, with_image(real, torch.rand_like(real.image))):
        with pytest.raises(AssertionError, match="Not yet"):
            lesson02.check_1(run, "b")
    for run, letter in [
        (FakeResult({"conv4_2": 1.0}), "b"),  # the layer of Five depths, unchanged
        (FakeResult({"relu4_2": 1.0}, steps=1), "b"),
        (FakeResult({"relu4_2": 1.0}, size=OTHER_SIZE), "b"),
        (FakeResult({"relu4_2": 1.0}, init="content"), "b"),
        (FakeResult({"relu4_2": 1.0}, fall=0.9), "b"),  # the loss did not fall
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson02.check_1(run, letter)


def test_check_2_takes_the_run_asked_and_refuses_near_misses():
    real = reconstruction("conv5_2", pooling="avg")
    assert lesson02.check_2(real)
    with pytest.raises(AssertionError, match="Not yet"):
        lesson02.check_2(with_image(real, torch.rand_like(real.image)))
    for run in [
        FakeResult({"conv5_2": 1.0}),  # max pooling: results[-1] itself
        FakeResult({"conv4_2": 1.0}, pooling="avg"),
        FakeResult({"conv5_2": 1.0}, pooling="avg", steps=1),
        FakeResult({"conv5_2": 1.0}, pooling="avg", size=OTHER_SIZE),
        FakeResult({"conv5_2": 1.0}, pooling="avg", fall=0.9),  # the loss did not fall
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson02.check_2(run)


def test_check_3_takes_a_result_with_noises_texture_and_refuses_near_misses(vgg, wrong_prediction):
    photo = stylekit.load_image(stylekit.sample("astronaut"), lesson02.SIZE)
    noisy = torch.rand(photo.shape, generator=torch.Generator().manual_seed(7))  # relu1_1 Grams: any noise's
    asked = dict(content={"conv5_2": 1.0}, style={"relu1_1": 1.0}, init="content", fall=1.0)
    for letter in ("a", "c"):
        wrong_prediction(lesson02.check_3, FakeResult(**asked, image=noisy), letter)
    assert lesson02.check_3(FakeResult(**asked, image=noisy), "b")
    for run, letter in [
        (FakeResult(**asked, image=photo), "b"),  # the style image was not the noise: the texture never came in
        (FakeResult(**asked | {"init": "noise"}, image=noisy), "b"),
        (FakeResult(**asked | {"content": {"conv4_2": 1.0}}, image=noisy), "b"),
        (FakeResult(**asked | {"style": {"relu1_1": 1.0, "relu2_1": 1.0}}, image=noisy), "b"),
        (FakeResult(**asked, steps=1, image=noisy), "b"),
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson02.check_3(run, letter)
