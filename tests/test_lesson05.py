"""Notebook 5's checks refuse plausible wrong answers: the library's own function, and near misses."""

import dataclasses
import math
import types

import pytest
import torch
import torch.nn.functional as F

import stylekit
from stylekit.course import lesson05
from stylekit.images import target_size
from stylekit.result import seal
from stylekit.settings import resolve, scale_plan


def down(image):
    return image[..., 1:, :] - image[..., :-1, :]


def across(image):
    return image[..., :, 1:] - image[..., :, :-1]


def tv_loss(image):
    return down(image).pow(2).mean() + across(image).pow(2).mean()


def borrowed_tv_loss(image):
    return stylekit.tv_loss(image)


def tv_abs(image):  # anisotropic TV: absolute differences, not squared
    return down(image).abs().mean() + across(image).abs().mean()


def tv_sum(image):  # sums grow with the image
    return down(image).pow(2).sum() + across(image).pow(2).sum()


def tv_down_only(image):
    return down(image).pow(2).mean()


def tv_twice_down(image):  # one direction counted twice: right on images alike both ways, not on a ramp
    return 2 * down(image).pow(2).mean()


def tv_one_mean(image):  # one mean over both directions' pairs together: half the sum of the two means, about
    pairs = torch.cat([down(image).flatten(), across(image).flatten()])
    return pairs.pow(2).mean()


def tv_isotropic(image):  # the gradient's length at each pixel, on the common crop
    return (down(image)[..., :, :-1].pow(2) + across(image)[..., :-1, :].pow(2)).sqrt().mean()


def tv_crop(image):  # both squared differences on the common crop, one mean
    return (down(image)[..., :, :-1].pow(2) + across(image)[..., :-1, :].pow(2)).mean()


def tv_float(image):  # a Python number: nothing to differentiate
    return float(tv_loss(image).detach())


@pytest.mark.parametrize(
    "wrong",
    [borrowed_tv_loss, tv_abs, tv_sum, tv_down_only, tv_twice_down, tv_one_mean, tv_isotropic, tv_crop, tv_float],
)
def test_check_tv_loss_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson05.check_tv_loss(wrong)


def test_check_tv_loss_takes_the_right_one(capsys):
    assert lesson05.check_tv_loss(tv_loss) is tv_loss
    assert "Right" in capsys.readouterr().out


def next_start(image, size):
    return F.interpolate(image, size=tuple(size), mode="bicubic", antialias=True).clamp(0, 1)


def borrowed_next_start(image, size):
    return stylekit.images.resize_tensor(image, (size[1], size[0]))


def sharper_cubic(image, size):  # torch's default bicubic: a = −0.75, not Pillow's
    return F.interpolate(image, size=tuple(size), mode="bicubic").clamp(0, 1)


def bilinear(image, size):
    return F.interpolate(image, size=tuple(size), mode="bilinear", antialias=True)


def nearest(image, size):
    return F.interpolate(image, size=tuple(size), mode="nearest")


def unclipped(image, size):
    return F.interpolate(image, size=tuple(size), mode="bicubic", antialias=True)


def corners_aligned(image, size):
    return F.interpolate(image, size=tuple(size), mode="bicubic", align_corners=True).clamp(0, 1)


def swapped(image, size):  # (width, height) where (height, width) goes
    return next_start(image, (size[1], size[0]))


def doubled(image, size):  # twice the side, whatever the next scale's size
    return next_start(image, (2 * image.shape[-2], 2 * image.shape[-1]))


@pytest.mark.parametrize(
    "wrong", [borrowed_next_start, sharper_cubic, bilinear, nearest, unclipped, corners_aligned, swapped, doubled]
)
def test_check_next_start_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson05.check_next_start(wrong)


def test_check_next_start_takes_the_right_one(capsys):
    assert lesson05.check_next_start(next_start) is next_start
    assert "Right" in capsys.readouterr().out


def test_blank_pieces_hand_the_lesson_stylekits_versions_and_say_so(capsys):
    def tv_loss(image):
        raise NotImplementedError("your code here")

    def next_start(image, size):
        raise NotImplementedError("your code here")

    tv, start = lesson05.check_tv_loss(tv_loss), lesson05.check_next_start(next_start)
    assert capsys.readouterr().out.count("Not done yet") == 2
    image = torch.rand(1, 3, 8, 10)
    assert torch.equal(tv(image), stylekit.tv_loss(image))
    assert torch.equal(start(image, (16, 20)), stylekit.images.resize_tensor(image, (20, 16)))
    assert start(image, (17, 21)).shape == (1, 3, 17, 21)
    assert capsys.readouterr().out.count("stylekit's here") == 2


def test_a_blank_tv_loss_stand_in_or_a_copy_of_stylekits_is_refused_as_the_answer(capsys):
    def tv_loss(image):
        raise NotImplementedError("your code here")

    library = lesson05.check_tv_loss(tv_loss)
    rebuilt = types.FunctionType(stylekit.losses.tv_loss.__code__, stylekit.losses.tv_loss.__globals__)

    def tv_loss(image):  # `lib = tv_loss`, then a "new" tv_loss that calls it
        return library(image)

    def copied(image):
        return rebuilt(image)

    for wrong, name in ((tv_loss, "tv_loss"), (copied, "tv_loss"), (library, "tv_loss")):  # the stand-in itself
        with pytest.raises(AssertionError, match=f"Not yet: `{wrong.__name__}` calls stylekit's {name}"):
            lesson05.check_tv_loss(wrong)
    image = torch.rand(1, 3, 8, 10)
    assert torch.equal(library(image), stylekit.tv_loss(image)) and torch.equal(rebuilt(image), library(image))


class FakeResult:
    """A run as the exercises' checks see it: its settings, per-step losses and full-size passes, and its image, as
    ``stylekit.transfer`` would give them for ``preset`` with ``changes`` on the lesson's photo and painting, sealed
    as it seals a run (the checks refuse a record edited since)."""

    def __init__(self, preset="default", content="chelsea", steps_done=None, every_step_full=False, style_loss=0.5,
                 stopped=None, **changes):  # fmt: skip
        s = resolve(preset, changes)
        self.settings = s.describe(stylekit.sample(content), stylekit.sample(lesson05.STYLE))
        plan = scale_plan(s.size, s.steps, s.scales)
        final = plan[-1][0]
        costs = [1.0 if every_step_full else _area(size) / _area(final) for size, n in plan for _ in range(n)]
        costs = costs[:steps_done] if steps_done is not None else costs
        passes = [sum(costs[: i + 1]) for i in range(len(costs))]
        self.history = {"total": [1.0] * len(costs), "style": [style_loss] * len(costs), "passes": passes}
        width, height = target_size(451, 300, s.size) if isinstance(s.size, int) else s.size
        self.image = torch.rand(1, 3, height, width)
        self.stopped = stopped
        seal(self)

    @property
    def steps_done(self):
        return len(self.history["total"])


def _area(size):
    return math.prod(target_size(451, 300, size)) if isinstance(size, int) else math.prod(size)


SIZE, SCHEDULE, OTHER_SIZE = lesson05.SIZE, lesson05.SCHEDULE, 64 if lesson05.SIZE != 64 else 48


def real(preset="default", **changes):
    """The exercise's run, for real: the checks score its image with their own network."""
    content, style = stylekit.sample(lesson05.CONTENT), stylekit.sample(lesson05.STYLE)
    return stylekit.transfer(content, style, preset, progress=False, **changes)


@pytest.fixture(scope="module")
def seed_model():
    """Exercise 2's run, for real."""
    return real("seed", size=[SIZE, SIZE], steps=lesson05.SEED_STEPS, normalization="model", save_every=5)


@pytest.fixture(scope="module")
def deep():
    """Exercise 3's run, for real."""
    return real(**DEEP)


def test_the_right_runs_pass_and_records_written_for_them_do_not(seed_model, deep):
    smooth = real(size=SIZE, steps=SCHEDULE, tv_weight=100.0)
    assert lesson05.check_1(smooth)
    claimed = {k: [v / 10 for v in vs] if k == "total" else vs for k, vs in smooth.history.items()}
    photo = stylekit.load_image(stylekit.sample(lesson05.CONTENT), SIZE)
    for wrong in (dataclasses.replace(smooth, history=claimed), dataclasses.replace(smooth, image=photo)):
        with pytest.raises(AssertionError, match="Not yet"):
            lesson05.check_1(wrong)
    assert lesson05.check_2(seed_model, "b")
    assert lesson05.check_3(deep, "b")


def test_the_default_run_relabelled_is_refused():
    """The default run above with its record edited to say what an exercise asks, its history claiming a last step
    that fits: every setting would be the one asked."""
    default = real(size=SIZE, steps=SCHEDULE)
    h = default.history
    smooth = dataclasses.replace(
        default, settings={**default.settings, "tv_weight": 100.0}, history={**h, "total": h["total"][:-1] + [1e9]}
    )
    with pytest.raises(AssertionError, match="Not yet"):
        lesson05.check_1(smooth)
    deep = dataclasses.replace(default, settings={**default.settings, "content_layers": {"relu5_2": 1.0}})
    with pytest.raises(AssertionError, match="Not yet"):
        lesson05.check_3(deep, "b")


@pytest.mark.parametrize(
    "wrong",
    [
        FakeResult(size=SIZE, steps=SCHEDULE, tv_weight=100, steps_done=1),  # one step of the run
        FakeResult(size=OTHER_SIZE, steps=SCHEDULE, tv_weight=100),
        FakeResult(size=SIZE, steps=1, scales=1, tv_weight=100),  # a 1-step run
        FakeResult(size=SIZE, steps=SCHEDULE, tv_weight=10),  # the other weight
        FakeResult(size=SIZE, steps=SCHEDULE),  # the default run itself
        FakeResult(size=SIZE, steps=sum(SCHEDULE), scales=1, tv_weight=100),  # all of them at full size
        FakeResult(size=SIZE, steps=SCHEDULE, tv_weight=100, every_step_full=True),  # scales that never ran
        FakeResult(size=SIZE, steps=SCHEDULE, tv_weight=100, stopped="stopped"),
        FakeResult(size=SIZE, steps=SCHEDULE, tv_weight=100, content="astronaut"),  # another photo
        FakeResult("strong", size=SIZE, steps=SCHEDULE, scales=2, tv_weight=100),  # another preset's β
    ],
)
def test_check_1_refuses_a_run_other_than_the_one_asked(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson05.check_1(wrong)


@pytest.mark.parametrize(
    "wrong",
    [
        FakeResult("seed", size=[SIZE, SIZE], steps=lesson05.SEED_STEPS),  # the seed run itself
        FakeResult("seed", size=[SIZE, SIZE], steps=1, normalization="model"),
        FakeResult("seed", size=SIZE, steps=lesson05.SEED_STEPS, normalization="model"),  # the photo's shape
        FakeResult("seed", size=[SIZE, SIZE], steps=lesson05.SEED_STEPS, normalization="model", steps_done=3),
        FakeResult(size=[SIZE, SIZE], steps=lesson05.SEED_STEPS, normalization="model"),  # the default preset
        FakeResult("seed", size=[SIZE, SIZE], steps=lesson05.SEED_STEPS, normalization="model", lr=0.02),
    ],
)
def test_check_2_refuses_a_run_other_than_the_one_asked(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson05.check_2(wrong, "b")


@pytest.mark.parametrize("letter", ["a", "c"])
def test_check_2_says_a_wrong_prediction_with_the_right_run(letter, wrong_prediction, seed_model):
    wrong_prediction(lesson05.check_2, seed_model, letter)


DEEP = dict(size=SIZE, steps=SCHEDULE, content_layers={"relu5_2": 1.0})


@pytest.mark.parametrize(
    "wrong, prediction",
    [
        (FakeResult(size=SIZE, steps=SCHEDULE, content_layers={"conv5_2": 1.0}), "b"),
        (FakeResult(size=SIZE, steps=SCHEDULE, content_layers={"relu4_2": 1.0, "relu5_2": 1.0}), "b"),
        (FakeResult(size=SIZE, steps=SCHEDULE), "b"),  # the default run
        (FakeResult(**DEEP, steps_done=1), "b"),
    ],
)
def test_check_3_refuses_a_wrong_run(wrong, prediction):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson05.check_3(wrong, prediction)


@pytest.mark.parametrize("letter", ["a", "c"])
def test_check_3_says_a_wrong_prediction_with_the_right_run(letter, wrong_prediction, deep):
    wrong_prediction(lesson05.check_3, deep, letter)


RATIOS = lesson05.RATIOS  # the notebook's strip
STRIP = [FakeResult(size=SIZE, steps=SCHEDULE, style_weight=r, style_loss=1 / (2 + math.log10(r))) for r in RATIOS]
STRONG = dict(size=lesson05.STRONG_SIZE, steps=lesson05.STRONG_STEPS)
LOSSES = {r: run.history["style"][-1] for r, run in zip(RATIOS, STRIP)}


def test_check_4_takes_the_right_answer_and_refuses_guesses():
    strip = [real(size=SIZE, steps=SCHEDULE, style_weight=float(r)) for r in RATIOS]
    strong = real("strong", **STRONG)
    losses = {r: run.history["style"][-1] for r, run in zip(RATIOS, strip)}
    closest = min(losses, key=lambda r: abs(losses[r] - strong.history["style"][-1]))
    assert lesson05.check_4(strong, losses, closest, strip)
    for guess in [r for r in RATIOS if r != closest]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson05.check_4(strong, losses, guess, strip)
    with pytest.raises(AssertionError, match="Not yet"):  # the strip as a record written for it
        lesson05.check_4(strong, LOSSES, closest, STRIP)
    # Part of the strip, where the closest β/α is the one run's or one of two: `strip = [default]`, say.
    for part in ([strip[2]], strip[:2], [strip[2]] * len(RATIOS), strip[:-1]):
        kept = {run.settings["style_weight"]: run.history["style"][-1] for run in part}
        nearest = min(kept, key=lambda r: abs(kept[r] - strong.history["style"][-1]))
        with pytest.raises(AssertionError, match="Not yet"):
            lesson05.check_4(strong, kept, nearest, part)


def test_check_4_refuses_misplaced_losses():
    strong = FakeResult("strong", **STRONG, style_loss=0.45)  # nearest β/α 1 (0.5) of the strip (1.0 … 0.2)
    closest = min(LOSSES, key=lambda r: abs(LOSSES[r] - 0.45))
    shifted = dict(zip(RATIOS, list(LOSSES.values())[1:] + list(LOSSES.values())[:1]))  # each run's loss misplaced
    for style_losses in (shifted, {r: 0.45 for r in RATIOS}, list(LOSSES.values())):
        with pytest.raises(AssertionError, match="Not yet"):
            lesson05.check_4(strong, style_losses, closest, STRIP)
    with pytest.raises(AssertionError, match="Not yet"):  # a strip of other runs
        lesson05.check_4(strong, LOSSES, closest, [FakeResult(size=SIZE, steps=1, scales=1) for _ in RATIOS])


@pytest.mark.parametrize(
    "wrong",
    [
        FakeResult("strong", **STRONG, steps_done=1),
        FakeResult("strong", size=OTHER_SIZE, steps=lesson05.STRONG_STEPS),
        FakeResult("strong", size=lesson05.STRONG_SIZE, steps=1, scales=1),  # a 1-step run
        FakeResult(**STRONG, style_weight=200),  # the default preset with strong's β: its scales are not strong's
        FakeResult(size=lesson05.STRONG_SIZE, steps=SCHEDULE, style_weight=200),
        FakeResult("strong", **STRONG, every_step_full=True),  # the coarse scales never ran
    ],
)
def test_check_4_refuses_a_run_other_than_the_one_asked(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson05.check_4(wrong, LOSSES, 10, STRIP)


def test_in_fast_mode_the_strong_preset_at_the_lessons_size_would_skip_its_coarsest_scale():
    """Why STRONG_SIZE: at 64 px the coarsest scale (a quarter) leaves the photo under VGG's 16 px."""
    coarsest = scale_plan(lesson05.STRONG_SIZE, lesson05.STRONG_STEPS, 3)[0][0]
    assert min(target_size(451, 300, coarsest)) >= 16


def test_scales_run_counts_each_scales_steps_from_their_costs():
    assert lesson05.scales_run(FakeResult("strong", size=96, steps=[8, 4, 2])) == [8, 4, 2]
    assert lesson05.scales_run(FakeResult(size=96, steps=[8, 4], every_step_full=True)) == [12]
