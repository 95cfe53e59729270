"""Notebook 8's checks refuse plausible wrong answers: stylekit's own histogram loss, and near misses."""

import dataclasses
import threading

import pytest
import torch

import stylekit
from stylekit.course import lesson08
from stylekit.result import seal
from stylekit.settings import resolve


def histogram_loss(f, s):
    F, S = f.flatten(2)[0], s.flatten(2)[0]
    ranks = F.argsort(dim=1).argsort(dim=1)
    levels = torch.quantile(S, torch.linspace(0, 1, F.shape[1], dtype=S.dtype), dim=1).T
    return ((F - levels.gather(1, ranks)) ** 2).mean()


def borrowed_class(f, s):
    kind = stylekit.beyond_gram.HistogramLoss()
    return kind(f, kind.target([s], [1.0]))


def borrowed_instance(f, s):  # stylekit's objective keeps one made beforehand: its 256 quantiles give it away
    kind = stylekit.losses.STYLE_LOSSES["histogram"]
    return kind(f, kind.target([s], [1.0]))


def sorted_values_at_rank(f, s):  # right only when the painting has as many positions as the image
    F, S = f.flatten(2)[0], s.flatten(2)[0]
    return ((F - S.sort(dim=1).values.gather(1, F.argsort(dim=1).argsort(dim=1))) ** 2).mean()


def order_instead_of_rank(f, s):  # one argsort: where each rank sits, not each value's rank
    F, S = f.flatten(2)[0], s.flatten(2)[0]
    levels = torch.quantile(S, torch.linspace(0, 1, F.shape[1], dtype=S.dtype), dim=1).T
    return ((F - levels.gather(1, F.argsort(dim=1))) ** 2).mean()


def summed(f, s):
    return histogram_loss(f, s) * f[0].numel()


def nearest_quantile(f, s):  # no interpolation between the painting's sorted values
    F, S = f.flatten(2)[0], s.flatten(2)[0]
    q = torch.linspace(0, 1, F.shape[1], dtype=S.dtype)
    levels = torch.quantile(S, q, dim=1, interpolation="nearest").T
    return ((F - levels.gather(1, F.argsort(dim=1).argsort(dim=1))) ** 2).mean()


def fraction_k_over_m(f, s):  # rank fraction k/M: the highest value never reaches the painting's highest
    F, S = f.flatten(2)[0], s.flatten(2)[0]
    q = torch.arange(F.shape[1], dtype=S.dtype) / F.shape[1]
    levels = torch.quantile(S, q, dim=1).T
    return ((F - levels.gather(1, F.argsort(dim=1).argsort(dim=1))) ** 2).mean()


def in_float32(f, s):
    return histogram_loss(f.float(), s.float())


@pytest.mark.parametrize(
    "wrong",
    [
        borrowed_class,
        borrowed_instance,
        sorted_values_at_rank,
        order_instead_of_rank,
        summed,
        nearest_quantile,
        fraction_k_over_m,
        in_float32,
    ],
)
def test_check_histogram_loss_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson08.check_histogram_loss(wrong)


def test_check_histogram_loss_takes_a_right_answer(capsys):
    assert lesson08.check_histogram_loss(histogram_loss) is histogram_loss
    assert "Right." in capsys.readouterr().out


def test_a_blank_histogram_loss_hands_the_lesson_stylekits_and_says_so(capsys):
    def histogram_loss(f, s):
        raise NotImplementedError("your code here")

    fallback = lesson08.check_histogram_loss(histogram_loss)
    assert "Not done yet" in capsys.readouterr().out
    f, s = torch.randn(1, 4, 6, 7), torch.randn(1, 4, 5, 5)
    kind = stylekit.beyond_gram.HistogramLoss()
    assert torch.equal(fallback(f, s), kind(f, kind.target([s], [1.0])))
    assert "stylekit's here" in capsys.readouterr().out


PHOTO_SHAPE = stylekit.load_image(stylekit.sample("chelsea"), lesson08.SIZE).shape


class FakeRun:
    """A run as the checks read it: its settings (``settings``, or the default preset's at the lesson's steps with
    ``size`` and ``changes``, on ``content`` and ``style``), its history (``done`` steps), image and whether it
    stopped, sealed as ``stylekit.transfer`` seals a run (the checks refuse a record edited since)."""

    def __init__(self, style_loss="gram", layers=None, done=lesson08.TOTAL_STEPS, size=lesson08.SIZE, image=None,
                 content="chelsea", style="mosaic", history=None, stopped=None, settings=None, **changes):  # fmt: skip
        if settings is None:
            changes |= {"style_loss": style_loss} | ({"style_layers": layers} if layers else {})
            settings = resolve("default", dict(size=size, steps=lesson08.STEPS) | changes).describe()
            settings |= {"content": str(stylekit.sample(content)), "style": style}
        self.settings, self.history = settings, history or {"total": [1.0] * done}
        self.image, self.stopped = image, stopped
        seal(self)

    @property
    def steps_done(self):
        return len(self.history["total"])


def mosaic_run(style_loss, seed, **kwargs):
    image = torch.rand(PHOTO_SHAPE, generator=torch.Generator().manual_seed(seed)) * (0.5 + seed / 4)
    return FakeRun(style_loss, image=image, style=str(stylekit.sample("mosaic")), **kwargs)


def contrast_of(runs, reference):
    return {k: float(runs[k].image.std() / reference.std()) for k in ("gram", "histogram")}


def test_check_1_takes_the_ratios_and_refuses_near_misses():
    runs = {k: mosaic_run(k, i) for i, k in enumerate(("gram", "histogram"))}
    mosaic = stylekit.load_image(stylekit.sample("mosaic"), list(PHOTO_SHAPE[-1:-3:-1]))
    right = contrast_of(runs, mosaic)
    assert lesson08.check_1(right, runs)
    photo = stylekit.load_image(stylekit.sample("chelsea"), lesson08.SIZE)
    per_channel = {k: float(runs[k].image.std((2, 3)).mean() / mosaic.std((2, 3)).mean()) for k in right}
    wrong = [
        {"gram": right["histogram"], "histogram": right["gram"]},  # swapped
        {k: 1 / v for k, v in right.items()},  # the mosaic's ÷ the result's
        contrast_of(runs, photo),  # against the photo, not the painting
        per_channel,  # each channel's standard deviation, averaged
        {"gram": right["gram"]},  # one of the two
    ]
    for answer in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson08.check_1(answer, runs)
    short = {k: mosaic_run(k, i, done=1) for i, k in enumerate(("gram", "histogram"))}  # 1-step runs
    with pytest.raises(AssertionError, match="Not yet"):
        lesson08.check_1(contrast_of(short, mosaic), short)


def test_check_2_refuses_other_layers_a_short_run_and_a_wrong_prediction(wrong_prediction):
    layers = lesson08.MRF_LAYERS
    wrong_prediction(lesson08.check_2, mosaic_run("mrf", 0, layers=layers), "b")
    assert lesson08.check_2(mosaic_run("mrf", 0, layers=layers), "c")
    wrong = [
        (mosaic_run("mrf", 0, layers={"relu3_1": 1.0, "relu4_1": 1.0}), "c"),  # runs["mrf"] itself
        (mosaic_run("mrf", 0, layers=layers, done=1), "c"),  # one step
        (mosaic_run("mrf", 0, layers=layers, size=lesson08.SIZE // 2), "c"),  # another size
        (mosaic_run("mrf", 0, layers=layers, stopped="interrupted"), "c"),  # stopped before the end
        (mosaic_run("gram", 0, layers=layers), "c"),  # the Gram loss on those layers
        # cheaper or other runs, every other setting as asked
        (mosaic_run("mrf", 0, layers=layers, style_scale=0.25), "c"),  # a quarter of the painting: fewer patches
        (mosaic_run("mrf", 0, layers=layers, steps=[lesson08.TOTAL_STEPS - 1, 1]), "c"),  # most at a quarter
        (mosaic_run("mrf", 0, layers=layers, style_weight=1.0), "c"),
        (mosaic_run("mrf", 0, layers=layers, optimizer="adam", lr=0.02), "c"),
    ]
    for run, letter in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson08.check_2(run, letter)


def test_check_2_refuses_runs_mrf_relabelled(monkeypatch):
    monkeypatch.setattr(lesson08, "SIZE", 64)  # the check reads the lesson's size: MRF's 3×3 patches need 64 px
    monkeypatch.setattr(lesson08, "STEPS", 3)  # and steps: a few are enough here
    monkeypatch.setattr(lesson08, "TOTAL_STEPS", 3)
    chelsea, mosaic = stylekit.sample("chelsea"), stylekit.sample("mosaic")
    mrf = stylekit.transfer(chelsea, mosaic, style_loss="mrf", style_layers={"relu3_1": 1.0, "relu4_1": 1.0},
                            size=64, steps=lesson08.STEPS, progress=False)  # fmt: skip
    relabelled = dataclasses.replace(mrf, settings={**mrf.settings, "style_layers": lesson08.MRF_LAYERS})
    with pytest.raises(AssertionError, match="Not yet"):
        lesson08.check_2(relabelled, "c")


ASTRONAUT, TWO = stylekit.sample("astronaut"), [stylekit.sample("brushstrokes"), stylekit.sample("shards")]


def disc():
    h, w = stylekit.load_image(ASTRONAUT, lesson08.SIZE).shape[-2:]
    rows, columns = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (((rows - h / 2) ** 2 + (columns - w / 2) ** 2) < (0.35 * min(h, w)) ** 2).float()[None, None]


def one_step(content, styles, **kwargs):
    """A real run stopped after its first step."""
    stop = threading.Event()
    stop.set()
    return stylekit.transfer(content, styles, size=lesson08.SIZE, steps=lesson08.STEPS, stop=stop, progress=False,
                             **kwargs)  # fmt: skip


def padded(run):
    """``run``'s history as if it ran to the end (the first step's losses are what the check compares)."""
    return {k: v * lesson08.TOTAL_STEPS for k, v in run.history.items()}


def first_step(content, styles, **kwargs):
    """The first step of a run, as a whole run's fake (sealed)."""
    run = one_step(content, styles, **kwargs)
    return FakeRun(history=padded(run), image=run.image, settings=run.settings)


def altered(run, history=None, **settings):
    """``run`` with these settings (or history) changed, sealed: what a real run with them would give."""
    return FakeRun(history=history or dict(run.history), image=run.image, stopped=run.stopped,
                   settings=run.settings | settings)  # fmt: skip


def test_check_3_takes_the_run_with_the_mask_and_refuses_runs_without_it(monkeypatch):
    monkeypatch.setattr(lesson08, "SIZE", 32)  # the check reads the lesson's size: the smallest VGG19 allows
    mask = disc()
    right = first_step(ASTRONAUT, TWO, mask=[mask, 1 - mask])
    assert lesson08.check_3(right, mask)
    real = one_step(ASTRONAUT, TWO, mask=[mask, 1 - mask])
    wrong = [
        (dataclasses.replace(real, history=padded(real), stopped=None), mask),  # one step, its history padded
        (first_step(ASTRONAUT, TWO, mask=[1 - mask, mask]), mask),  # the styles the other way round
        (first_step(ASTRONAUT, TWO), mask),  # blended: no mask at all
        (altered(right, style=[str(x) for x in TWO[::-1]]), mask),  # the two styles swapped in the list
        (altered(right, style=str(TWO[0])), mask),  # one style only
        (altered(right, content=str(stylekit.sample("chelsea"))), mask),  # another photo
        (altered(right, history={k: v[:1] for k, v in right.history.items()}), mask),  # one step
        (altered(right, style_scale=0.5), mask),  # a smaller painting
        (altered(right, steps=[lesson08.TOTAL_STEPS - 1, 1]), mask),  # most steps at a quarter of the size
        (right, torch.ones_like(mask)),  # no mask drawn: all white
        (right, mask[..., :-1]),  # not the astronaut's size
    ]
    for run, drawn in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson08.check_3(run, drawn)
