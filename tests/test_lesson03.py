"""Notebook 3's checks refuse plausible wrong answers: the library's own function, and near misses."""

import dataclasses

import pytest
import torch

import stylekit
from stylekit.course import lesson03
from stylekit.result import seal


def borrowed_gram(f):
    return stylekit.gram(f)


def the_checks_own_gram(f):  # the lesson's reference, out of the student's sight but importable
    return lesson03._gram(f)


def borrowed_gram_sums(f):
    product, m = stylekit.losses.gram_sums(f)
    return product[0] / m


def transposed_gram(f):  # Fᵀ F: M×M, positions instead of filters
    F = f.flatten(2)[0]
    return F.T @ F / F.shape[1]


def unnormalised_gram(f):
    F = f.flatten(2)[0]
    return F @ F.T


def gram_over_n(f):  # divided by the filters, not the positions
    F = f.flatten(2)[0]
    return F @ F.T / F.shape[0]


@pytest.mark.parametrize(
    "wrong", [borrowed_gram, the_checks_own_gram, borrowed_gram_sums, transposed_gram, unnormalised_gram, gram_over_n]
)
def test_check_gram_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson03.check_gram(wrong)


def gram(f):
    F = f.flatten(2)[0]
    return F @ F.T / F.shape[1]


def borrowed_style_loss(f, A, relative=False):
    loss = stylekit.style_layer_loss(f, A)
    return loss / stylekit.losses.gram_error(torch.zeros_like(A), A) if relative else loss


def style_loss_without_4n2(f, A, relative=False):
    error = ((gram(f) - A) ** 2).sum()
    return error / (A**2).sum() if relative else error


def style_loss_relative_to_g(f, A, relative=False):  # divided by the generated image's Gram, not the target's
    n = A.shape[0]
    error = ((gram(f) - A) ** 2).sum() / (4 * n * n)
    return error / ((gram(f) ** 2).sum() / (4 * n * n)) if relative else error


def style_loss_mean(f, A, relative=False):  # a mean over entries: 1/N², not 1/4N²
    error = ((gram(f) - A) ** 2).mean()
    return error / (A**2).mean() if relative else error


@pytest.mark.parametrize(
    "wrong", [borrowed_style_loss, style_loss_without_4n2, style_loss_relative_to_g, style_loss_mean]
)
def test_check_style_loss_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson03.check_style_loss(wrong)


def test_a_blank_piece_hands_the_lesson_stylekits_version_and_says_so(capsys):
    def gram(f):
        raise NotImplementedError("your code here")

    fallback = lesson03.check_gram(gram)
    f = torch.randn(1, 4, 3, 3)
    assert "Not done yet" in capsys.readouterr().out
    assert torch.equal(fallback(f), stylekit.gram(f))
    assert "stylekit's here" in capsys.readouterr().out


class FakeResult:
    """A run as exercises 1 and 2 see it: its settings, steps and style loss, sealed as ``stylekit.transfer`` seals
    a run (the checks refuse a record edited since)."""

    def __init__(self, style_layers, init="noise", size=lesson03.SIZE, steps=lesson03.STEPS, fall=0.01, content=None):
        self.settings = {"style_layers": style_layers, "content_layers": content or {}, "init": init, "size": size}
        self.steps_done = steps
        self.history = {"style": [1.0] + [fall] * (steps - 1)}
        seal(self)


RELU_STACK = dict.fromkeys(lesson03.RELUS, 1.0)


@pytest.mark.parametrize(
    "wrong",
    [
        FakeResult(dict.fromkeys(["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"], 1.0)),  # the wrong layers
        FakeResult(RELU_STACK, steps=1),  # a one-step run
        FakeResult(RELU_STACK, size=64 if lesson03.SIZE != 64 else 32),  # another size
        FakeResult(RELU_STACK, init="content"),
        FakeResult(RELU_STACK, content={"relu4_2": 1.0}),
        FakeResult(RELU_STACK, fall=0.5),  # the loss did not fall
    ],
)
def test_check_1_refuses_a_run_other_than_the_one_asked(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson03.check_1(wrong)


def test_check_1_takes_the_run_itself_not_a_record_written_for_it():
    real = stylekit.transfer(None, stylekit.sample("brushstrokes"), init="noise", content_layers={},
                             style_layers=RELU_STACK, size=lesson03.SIZE, steps=lesson03.STEPS, progress=False,
                             precision="fp32", device="cpu")  # fmt: skip
    assert lesson03.check_1(real)
    start = torch.rand(real.image.shape, generator=torch.Generator().manual_seed(0))  # where the run started
    for wrong in (dataclasses.replace(real, image=start), dataclasses.replace(real, image=torch.rand_like(start))):
        with pytest.raises(AssertionError, match="Not yet"):
            lesson03.check_1(wrong)
    heavy = {"conv1_1": 10.0, "conv2_1": 1.0, "conv3_1": 1.0, "conv4_1": 1.0, "conv5_1": 1.0}
    with pytest.raises(AssertionError, match="Not yet"):  # the same run relabelled as exercise 2's
        lesson03.check_2(dataclasses.replace(real, settings={**real.settings, "style_layers": heavy}))
    # *Stacks*' conv1_1 … conv4_1 run (the notebook's results[3]) relabelled as exercise 1's
    conv_stack = stylekit.transfer(None, stylekit.sample("brushstrokes"), init="noise", content_layers={},
                                   style_layers=dict.fromkeys(list(heavy)[:4], 1.0), size=lesson03.SIZE,
                                   steps=lesson03.STEPS, progress=False, precision="fp32", device="cpu")  # fmt: skip
    with pytest.raises(AssertionError, match="Not yet"):
        lesson03.check_1(dataclasses.replace(conv_stack, settings={**conv_stack.settings, "style_layers": RELU_STACK}))


def test_check_2_refuses_the_stack_with_equal_weights():
    with pytest.raises(AssertionError, match="Not yet"):
        lesson03.check_2(FakeResult(dict.fromkeys(["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"], 1.0)))


@pytest.fixture(scope="module")
def vgg():
    return stylekit.load_vgg("vgg19", "original")


def relative_losses(vgg, first, second, layers):
    with torch.no_grad():
        f, a = (vgg(stylekit.load_image(stylekit.sample(k), lesson03.SIZE), layers) for k in (first, second))
    return {k: float(style_loss_without_4n2(f[k], gram(a[k]), relative=True)) for k in layers}


def test_check_3_takes_the_right_numbers_and_refuses_near_misses(vgg, capsys):
    right = relative_losses(vgg, "mosaic", "shards", lesson03.RELUS)
    best = min(right, key=right.get)
    assert lesson03.check_3(right, best)
    swapped = relative_losses(vgg, "shards", "mosaic", lesson03.RELUS)  # the shards against the mosaic's Gram
    conv = dict(
        zip(
            lesson03.RELUS,
            relative_losses(vgg, "mosaic", "shards", [r.replace("relu", "conv") for r in lesson03.RELUS]).values(),
        )
    )
    guesses = [(right, layer) for layer in lesson03.RELUS if layer != best]  # the numbers, then a guessed layer
    for relative, most_alike in [(swapped, min(swapped, key=swapped.get)), (conv, best), *guesses]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson03.check_3(relative, most_alike)


def test_a_library_function_saved_beforehand_is_refused_too():
    def gram(f, _saved=stylekit.losses.gram):  # a default argument keeps the function, whatever its name
        return _saved(f)

    with pytest.raises(AssertionError, match="calls stylekit's gram"):
        lesson03.check_gram(gram)
