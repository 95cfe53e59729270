"""Notebook 13's checks refuse plausible wrong answers: stylekit's own content loss, and near misses."""

import dataclasses
import threading

import pytest
import torch
import torch.nn.functional as nnf

import stylekit
from stylekit.course import lesson13
from stylekit.result import seal


def keep_content_loss(F, P, region, keep_weight):
    r = nnf.interpolate(region.to(F.dtype), size=F.shape[-2:], mode="area")
    return 0.5 * ((1 + (keep_weight - 1) * r) * (F - P) ** 2).sum()


def borrowed(F, P, region, keep_weight):
    return stylekit.content_loss(F, P, stylekit.losses.mask_at(1 + (keep_weight - 1) * region, F))


def not_resized(F, P, region, keep_weight):  # the region at the image's grid: right only where the grids agree
    return 0.5 * ((1 + (keep_weight - 1) * region) * (F - P) ** 2).sum()


def without_the_one(F, P, region, keep_weight):  # w = k·r: nothing outside the region counts
    r = nnf.interpolate(region.to(F.dtype), size=F.shape[-2:], mode="area")
    return 0.5 * (keep_weight * r * (F - P) ** 2).sum()


def nearest(F, P, region, keep_weight):  # each position takes one pixel of the region, not their mean
    r = nnf.interpolate(region.to(F.dtype), size=F.shape[-2:], mode="nearest")
    return 0.5 * ((1 + (keep_weight - 1) * r) * (F - P) ** 2).sum()


def bilinear(F, P, region, keep_weight):
    r = nnf.interpolate(region.to(F.dtype), size=F.shape[-2:], mode="bilinear", align_corners=False)
    return 0.5 * ((1 + (keep_weight - 1) * r) * (F - P) ** 2).sum()


def averaged(F, P, region, keep_weight):  # a mean over positions instead of the sum
    r = nnf.interpolate(region.to(F.dtype), size=F.shape[-2:], mode="area")
    return 0.5 * ((1 + (keep_weight - 1) * r) * (F - P) ** 2).mean()


def in_float32(F, P, region, keep_weight):
    return keep_content_loss(F.float(), P.float(), region.float(), keep_weight)


def without_gradient(F, P, region, keep_weight):
    return keep_content_loss(F.detach(), P, region, keep_weight)


@pytest.mark.parametrize(
    "wrong", [borrowed, not_resized, without_the_one, nearest, bilinear, averaged, in_float32, without_gradient]
)
def test_check_keep_content_loss_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson13.check_keep_content_loss(wrong)


def test_check_keep_content_loss_takes_a_right_answer(capsys):
    assert lesson13.check_keep_content_loss(keep_content_loss) is keep_content_loss
    assert "Right." in capsys.readouterr().out


def test_a_blank_keep_content_loss_hands_the_lesson_stylekits_and_says_so(capsys):
    def keep_content_loss(F, P, region, keep_weight):
        raise NotImplementedError("your code here")

    fallback = lesson13.check_keep_content_loss(keep_content_loss)
    assert "Not done yet" in capsys.readouterr().out
    g = torch.Generator().manual_seed(0)
    F, P, region = torch.randn(1, 3, 4, 6, generator=g), torch.randn(1, 3, 4, 6, generator=g), torch.rand(1, 1, 32, 48)
    weight = stylekit.losses.mask_at(1 + 3 * region, F)
    assert torch.allclose(fallback(F, P, region, 4.0), stylekit.content_loss(F, P, weight))
    assert "stylekit's here" in capsys.readouterr().out


def test_check_1_takes_only_the_letter_the_content_loss_implies(wrong_prediction):
    for letter in ("a", "c", "d"):
        wrong_prediction(lesson13.check_1, letter)
    assert lesson13.check_1(" B ")
    with pytest.raises(AssertionError, match="one letter"):
        lesson13.check_1("b, c")


ASTRONAUT, KANDINSKY = stylekit.sample("astronaut"), stylekit.sample("composition_vii")


class Relabelled:
    """A run with its record changed by hand: its image and history kept, some settings or steps not; sealed as
    ``stylekit.transfer`` seals a run, so that the check's other tests are what refuses it (the seal alone would)."""

    def __init__(self, run, history=None, stopped=None, **settings):
        self.image, self.history, self.stopped = run.image, history or run.history, stopped
        self.settings = run.settings | settings
        seal(self)

    @property
    def steps_done(self):
        return len(self.history["total"])


@pytest.fixture
def small(monkeypatch):
    """The lesson at 32 px and 3 steps (the check reads its size and steps): real runs in about a second."""
    monkeypatch.setattr(lesson13, "SIZE", 32)
    monkeypatch.setattr(lesson13, "STEPS", 3)
    monkeypatch.setattr(lesson13, "TOTAL_STEPS", 3)
    return dict(size=32, steps=3, progress=False)


def test_check_2_takes_the_person_only_run_and_refuses_near_misses(small):
    right = stylekit.transfer(ASTRONAUT, KANDINSKY, mask="person", **small)
    assert lesson13.check_2(right)
    background = stylekit.transfer(ASTRONAUT, KANDINSKY, mask="background", **small)
    wave = stylekit.transfer(ASTRONAUT, stylekit.sample("great_wave"), mask="person", **small)
    stop = threading.Event()
    stop.set()  # the run ends after its first step
    one_step = stylekit.transfer(ASTRONAUT, KANDINSKY, mask="person", stop=stop, **small)
    padded = {k: v * lesson13.TOTAL_STEPS for k, v in one_step.history.items()}  # as if it ran to the end
    wrong = [
        background,  # the other region
        Relabelled(background, mask="person"),  # its record says person; its image is the background's
        Relabelled(right, segmentation=None),  # a mask of its own, not found by name
        Relabelled(right, style=str(stylekit.sample("great_wave"))),  # another painting
        Relabelled(wave, style=str(KANDINSKY)),  # Hokusai's run, relabelled as Kandinsky's
        Relabelled(right, content=str(stylekit.sample("chelsea"))),  # another photo
        Relabelled(right, size=64),  # another size
        Relabelled(right, history={k: v[:1] for k, v in right.history.items()}),  # one step
        Relabelled(right, stopped="interrupted"),  # stopped before the end
        Relabelled(right, steps=[2, 1]),  # most steps at half the size
        Relabelled(right, style_scale=0.5),  # a smaller painting
        Relabelled(right, style_weight=1.0),
        # records edited by hand, unsealed: the background's run relabelled, a 1-step run with its history padded
        dataclasses.replace(background, settings={**background.settings, "mask": "person"}),
        dataclasses.replace(one_step, history=padded, stopped=None),
    ]
    for run in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson13.check_2(run)
