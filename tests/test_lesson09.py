"""Notebook 9's checks refuse plausible wrong answers: stylekit's own training loop, steps that are nearly right,
the shipped model in place of the student's, and trainings other than the one asked."""

import copy

import pytest
import torch

import stylekit
from stylekit.course import lesson09
from stylekit.result import seal


def training_step(net, batch_loss, photos, optimizer):
    optimizer.zero_grad()
    loss = batch_loss(net(photos), photos)
    loss.backward()
    optimizer.step()
    return loss.item()


def without_zero_grad(net, batch_loss, photos, optimizer):  # each step adds in the gradients before it
    loss = batch_loss(net(photos), photos)
    loss.backward()
    optimizer.step()
    return loss.item()


def scoring_the_photos(net, batch_loss, photos, optimizer):
    optimizer.zero_grad()
    loss = batch_loss(photos, photos)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_before_backward(net, batch_loss, photos, optimizer):
    optimizer.zero_grad()
    loss = batch_loss(net(photos), photos)
    optimizer.step()
    loss.backward()
    return loss.item()


def zero_grad_after_backward(net, batch_loss, photos, optimizer):
    loss = batch_loss(net(photos), photos)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def by_hand_ignoring_the_optimiser(net, batch_loss, photos, optimizer):  # plain SGD whatever the optimiser is
    net.zero_grad()
    loss = batch_loss(net(photos), photos)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= optimizer.param_groups[0]["lr"] * p.grad
    return loss.item()


def loss_after_the_step(net, batch_loss, photos, optimizer):
    training_step(net, batch_loss, photos, optimizer)
    return batch_loss(net(photos), photos).item()


def nothing_returned(net, batch_loss, photos, optimizer):
    training_step(net, batch_loss, photos, optimizer)


def stylekits_loop(net, batch_loss, photos, optimizer):
    return lesson09._library_step(net, batch_loss, photos, optimizer)


@pytest.mark.parametrize(
    "wrong",
    [
        without_zero_grad,
        scoring_the_photos,
        step_before_backward,
        zero_grad_after_backward,
        by_hand_ignoring_the_optimiser,
        loss_after_the_step,
        nothing_returned,
        stylekits_loop,
    ],
)
def test_check_training_step_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson09.check_training_step(wrong)


def test_check_training_step_takes_a_right_answer(capsys):
    assert lesson09.check_training_step(training_step) is training_step
    assert "Right." in capsys.readouterr().out


def test_a_blank_step_hands_the_lesson_one_step_of_stylekits_loop_and_says_so(capsys):
    def blank(net, batch_loss, photos, optimizer):
        raise NotImplementedError("your code here")

    fallback = lesson09.check_training_step(blank)
    assert "Not done yet" in capsys.readouterr().out
    torch.manual_seed(0)
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    twin = copy.deepcopy(net)
    photos = torch.rand(2, 3, 6, 5)

    def batch_loss(outputs, photos):
        return ((outputs - photos.flip(-1)) ** 2).mean()

    for _ in range(2):
        losses = [
            step(n, batch_loss, photos, torch.optim.SGD(n.parameters(), lr=0.1))
            for step, n in ((fallback, net), (training_step, twin))
        ]
        assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert all(torch.allclose(a, b) for a, b in zip(net.parameters(), twin.parameters()))
    assert "stylekit's here" in capsys.readouterr().out


class FakeModel:
    """A trained model as the exercises' checks read it: its settings, loss record and whether it stopped, sealed as
    ``stylekit.train_fast`` seals a model (the checks refuse one changed since)."""

    def __init__(self, steps=lesson09.STEPS, stopped=None, net=None, **changed):
        self.settings = dict(size=lesson09.CROP, batch=4, style_weight=9.0, style_size=lesson09.STYLE_SIZE, lr=1e-3,
                             seed=0, photos=None) | changed  # fmt: skip
        self.history = {"total": [1.0] * steps, "seconds": [0.1] * steps}
        self.stopped, self.net, self.style = stopped, net, "mosaic"
        seal(self)


@pytest.fixture(scope="module")
def shipped():
    return stylekit.load_fast("mosaic")


def test_check_1_takes_the_heavier_run_and_refuses_others(shipped, wrong_prediction):
    wrong_prediction(lesson09.check_1, FakeModel(style_weight=30), "d")
    assert lesson09.check_1(FakeModel(style_weight=30), "a")
    wrong = [
        (FakeModel(), "a"),  # `short` itself: β 9
        (FakeModel(style_weight=30, steps=1), "a"),  # a one-step run
        (FakeModel(style_weight=30, size=lesson09.CROP * 2), "a"),  # other crops
        (FakeModel(style_weight=30, stopped="interrupted"), "a"),
        (FakeModel(style_weight=30, style_size=lesson09.SMALL_STYLE), "a"),
        (shipped, "a"),
    ]
    for model, letter in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson09.check_1(model, letter)


def test_check_2_takes_the_small_style_run_and_refuses_others(shipped, wrong_prediction):
    wrong_prediction(lesson09.check_2, FakeModel(style_size=lesson09.SMALL_STYLE), "b")
    assert lesson09.check_2(FakeModel(style_size=lesson09.SMALL_STYLE), "a")
    wrong = [
        (FakeModel(), "a"),  # `short` itself
        (FakeModel(style_size=lesson09.SMALL_STYLE, steps=1), "a"),
        (FakeModel(style_size=lesson09.SMALL_STYLE, style_weight=30), "a"),  # heavier's β too
        (shipped, "a"),
    ]
    for model, letter in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson09.check_2(model, letter)


def test_check_3_takes_the_students_model_at_each_side_and_refuses_the_shipped_one(shipped, monkeypatch):
    monkeypatch.setattr(lesson09, "SIDES", (24, 32, 48))  # small sides: a pass of the network costs little
    torch.manual_seed(3)
    short = seal(stylekit.FastModel(stylekit.TransformNet(), "mosaic", FakeModel().settings, FakeModel().history))
    photo = stylekit.sample("chelsea")
    right = {side: stylekit.stylize(short, photo, side) for side in lesson09.SIDES}
    assert lesson09.check_3(right, short)
    wrong = [
        ({side: stylekit.stylize(shipped, photo, side) for side in lesson09.SIDES}, short),  # the shipped model
        ({side: stylekit.stylize(shipped, photo, side) for side in lesson09.SIDES}, shipped),  # ... named as yours
        ({side: stylekit.stylize(short, stylekit.sample("astronaut"), side) for side in lesson09.SIDES}, short),
        ({side: stylekit.stylize(short, photo, side, strength=0.5) for side in lesson09.SIDES}, short),
        ({side: right[side] for side in lesson09.SIDES[:2]}, short),  # two sizes
        ({2 * side: stylekit.stylize(short, photo, 2 * side) for side in lesson09.SIDES}, short),  # other sides
    ]
    for at_sizes, model in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson09.check_3(at_sizes, model)


def test_a_model_changed_since_training_is_refused(monkeypatch):
    """`short` for real (1 step on 64 px crops): its settings relabelled, or its weights replaced by the shipped
    model's, it is not what train_fast returned."""
    for name, value in (("CROP", 64), ("STEPS", 1), ("STYLE_SIZE", 64)):
        monkeypatch.setattr(lesson09, name, value)
    short = stylekit.train_fast(stylekit.sample("mosaic"), size=64, steps=1, style_size=64, progress=False)
    assert lesson09._trained(short)
    heavier = copy.copy(short)
    heavier.settings = {**short.settings, "style_weight": 30}
    with pytest.raises(AssertionError, match="Not yet"):
        lesson09.check_1(heavier, "a")
    small_strokes = copy.copy(short)
    small_strokes.settings = {**short.settings, "style_size": lesson09.SMALL_STYLE}
    with pytest.raises(AssertionError, match="Not yet"):
        lesson09.check_2(small_strokes, "a")
    shipped = copy.deepcopy(short)
    shipped.net.load_state_dict(stylekit.load_fast("mosaic").net.state_dict())
    assert not lesson09._trained(shipped)
