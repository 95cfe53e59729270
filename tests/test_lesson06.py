"""Notebook 6's checks refuse plausible wrong answers: near misses of each number, ranking and share."""

import pytest
import torch

import stylekit
from stylekit.course import lesson06


class FakeResult:
    """A grid run as exercises 1 and 2 see it: its image, settings and steps."""

    def __init__(self, image, arch, alpha, beta, lr, steps=None):
        self.image, self.steps_done = image, lesson06.STEPS if steps is None else steps
        self.settings = {"model": arch, "content_weight": alpha, "style_weight": beta, "lr": lr, "size": lesson06.SIZE}


def fake_grid(images, archs=("vgg19",)):
    """The grid's runs, labelled as the notebook labels them, with ``images`` in turn."""
    settings = [(arch, *setting) for arch in archs for setting in lesson06.SETTINGS]
    return {lesson06.label(*s): FakeResult(image, *s) for s, image in zip(settings, images)}


@pytest.fixture(scope="module")
def grid():
    g = torch.Generator().manual_seed(6)
    photo = torch.rand(1, 3, 16, 16, generator=g)
    images = [(photo + 0.05 * k * torch.randn(photo.shape, generator=g)).clamp(0, 1) for k in range(1, 9)]
    return fake_grid(images), photo


def right_1(runs, photo):
    travelled = {label: float((r.image - photo).abs().mean()) for label, r in runs.items()}
    return travelled, {label: r.settings["lr"] * lesson06.STEPS for label, r in runs.items()}


def test_check_1_takes_the_right_dicts(grid, capsys):
    assert lesson06.check_1(*right_1(*grid), *grid)
    assert lesson06.check_1(..., {}, *grid) is False and "Not done yet" in capsys.readouterr().out


def near_misses_1(runs, photo):
    travelled, budget = right_1(runs, photo)
    first = next(iter(runs))
    yield {k: float((r.image - photo).abs().max()) for k, r in runs.items()}, budget  # the farthest pixel
    yield {k: float(((r.image - photo) ** 2).mean()) for k, r in runs.items()}, budget  # squared
    yield {k: float((r.image - photo).mean()) for k, r in runs.items()}, budget  # signed: moves cancel
    yield travelled, {k: r.settings["lr"] for k, r in runs.items()}  # the step, not the budget
    yield travelled, {k: r.settings["lr"] * 4000 for k, r in runs.items()}  # the thesis's steps, not the run's
    yield {k: v for k, v in travelled.items() if k != first}, budget  # a run left out


@pytest.mark.parametrize("miss", range(6))
def test_check_1_refuses_near_misses(grid, miss):
    travelled, budget = list(near_misses_1(*grid))[miss]
    with pytest.raises(AssertionError, match="Not yet"):
        lesson06.check_1(travelled, budget, *grid)


def other_grids(runs):
    """Grids other than the notebook's: the answers that fit them must not pass."""
    first, *_ = runs
    yield {}  # nothing run: empty answers fit it
    yield {first: runs[first]}  # one run of the grid
    yield {k: r for k, r in runs.items() if k != first}  # a setting left out
    yield {k.replace("vgg19", "run"): r for k, r in runs.items()}  # labels of one's own
    images = [r.image for r in runs.values()]
    yield {**runs, **dict(list(fake_grid(images, ("vgg16",)).items())[:2])}  # half of VGG16's column
    yield {k: FakeResult(r.image, *list(r.settings.values())[:4], steps=1) for k, r in runs.items()}  # a step each
    yield dict(zip(runs, list(runs.values())[::-1]))  # each label on another setting's run


@pytest.mark.parametrize("which", range(7))
def test_check_1_and_2_refuse_another_grid(grid, which):
    runs, photo = grid
    other = list(other_grids(runs))[which]
    with pytest.raises(AssertionError, match="Not yet"):
        lesson06.check_1(*right_1(other, photo), other, photo)
    content, style = stylekit.sample("chelsea"), stylekit.sample("brushstrokes")
    with pytest.raises(AssertionError, match="Not yet"):  # refused before anything is judged
        lesson06.check_2(list(other), list(other), other, content, style)


def test_both_networks_columns_pass(grid):
    runs, photo = grid
    both = fake_grid([r.image for r in runs.values()] * 2, ("vgg19", "vgg16"))
    assert lesson06.check_1(*right_1(both, photo), both, photo)


@pytest.fixture(scope="module")
def judged_grid():
    """Four small images between a photo and a painting, judged as exercise 2 judges them."""
    content, style = stylekit.sample("chelsea"), stylekit.sample("brushstrokes")
    photo, painting = stylekit.load_image(content, [48, 48]), stylekit.load_image(style, [48, 48])
    runs = fake_grid(torch.lerp(photo, painting, t) for t in (0.1, 0.6, 0.3, 0.9))
    scores = {label: lesson06._judged(r.image, content, style) for label, r in runs.items()}  # judged once
    return runs, content, style, scores


def test_check_2_takes_the_rankings_and_refuses_near_misses(judged_grid):
    runs, content, style, scores = judged_grid
    gatys, unused = (sorted(runs, key=lambda label: scores[label][key]) for key in ("style", "style_unused"))
    assert lesson06.check_2(gatys, unused, runs, content, style)
    by_content = sorted(runs, key=lambda label: scores[label]["content"])
    assert by_content != gatys
    for wrong in [
        (gatys[::-1], unused[::-1]),  # worst first
        (unused, gatys) if unused != gatys else (gatys, unused[::-1]),  # the two rankings swapped
        (by_content, unused),  # ranked by the content error
        ([*gatys, "stylekit default"], [*unused, "stylekit default"]),  # default among the grid's runs
        (gatys[:-1], unused[:-1]),  # a run left out
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson06.check_2(*wrong, runs, content, style)


@pytest.fixture(scope="module")
def shares():
    content, style = stylekit.sample("chelsea"), stylekit.sample("brushstrokes")
    return content, style, lesson06._shares(content, style, lesson06.SIZE, "original")


def test_check_3_takes_the_shares_and_refuses_near_misses(shares, wrong_prediction):
    content, style, right = shares
    holder = max(right, key=right.get)
    for letter in ("a", "c"):
        wrong_prediction(lesson06.check_3, letter, right, holder, content, style, "original")
    assert lesson06.check_3("b", right, holder, content, style, "original")
    vgg = stylekit.weights.cached_vgg("vgg19", "original", "avg")  # the check's own network, loaded once
    photo, painting = stylekit.load_image(content, lesson06.SIZE), stylekit.load_image(style, max(lesson06.SIZE))
    relus = [layer.replace("conv", "relu") for layer in lesson06.STYLE]

    def shares_of(network, layers):
        with torch.no_grad():
            f, a = network(photo, layers), network(painting, layers)
        raw = {k: float(stylekit.style_layer_loss(f[k], stylekit.gram(a[k]))) for k in layers}
        return dict(zip(lesson06.STYLE, (v / sum(raw.values()) for v in raw.values())))

    unnormalised = {k: v * 1e8 for k, v in right.items()}  # the raw E_l, not shares
    model_input = shares_of(vgg, list(lesson06.STYLE))  # the model's normalisation, not the thesis's
    after_relu = shares_of(stylekit.vgg.ThesisInput(vgg), relus)  # the other reading of the layers
    even = dict.fromkeys(lesson06.STYLE, 0.2)  # the weights w_l
    others = [layer for layer in lesson06.STYLE if layer != holder]
    for wrong in [
        ("b", unnormalised, holder),
        ("b", model_input, holder),
        ("b", after_relu, holder),
        ("b", even, holder),
        *[("b", right, layer) for layer in others],  # the numbers, then a guessed layer
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson06.check_3(*wrong, content, style, "original")
