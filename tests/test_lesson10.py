"""Notebook 10's checks refuse plausible wrong answers: stylekit's own warp and loss, and near misses."""

import contextlib
import json
import shutil

import pytest
import torch

pytest.importorskip("cv2")  # the video extra

import stylekit
from stylekit.course import lesson10
from stylekit.video import TemporalLoss, flow, read_frames


def grid_warp(image, flow_to_source, sign=1.0, swap=False, align_corners=True, padding="border", mode="bilinear"):
    """The worked solution's warp, with a knob for each mistake."""
    height, width = image.shape[-2:]
    f = torch.as_tensor(flow_to_source.copy(), dtype=torch.float64) * sign
    u, v = (f[..., 1], f[..., 0]) if swap else (f[..., 0], f[..., 1])
    ys, xs = torch.meshgrid(torch.arange(height, dtype=f.dtype), torch.arange(width, dtype=f.dtype), indexing="ij")
    grid = torch.stack([2 * (xs + u) / (width - 1) - 1, 2 * (ys + v) / (height - 1) - 1], -1)[None]
    moved = torch.nn.functional.grid_sample(
        image.double(), grid, mode=mode, padding_mode=padding, align_corners=align_corners
    )
    return moved.to(image.dtype)


def right_warp(image, flow_to_source):
    return grid_warp(image, flow_to_source)


def borrowed_warp(image, flow_to_source):
    return flow.warp(image, flow_to_source)


def flipped_warp(image, flow_to_source):  # pixel x takes x − flow: the image moves the other way
    return grid_warp(image, flow_to_source, sign=-1.0)


def swapped_warp(image, flow_to_source):  # u read as the vertical motion, v as the horizontal
    return grid_warp(image, flow_to_source, swap=True)


def half_pixel_warp(image, flow_to_source):  # positions scaled for align_corners=True, read with False
    return grid_warp(image, flow_to_source, align_corners=False)


def zero_padded_warp(image, flow_to_source):  # outside the frame: black, not the edge pixel
    return grid_warp(image, flow_to_source, padding="zeros")


def nearest_warp(image, flow_to_source):  # the nearest pixel, not the four around the position
    return grid_warp(image, flow_to_source, mode="nearest")


def float64_warp(image, flow_to_source):  # right values, but a float32 image comes back in float64
    return grid_warp(image, flow_to_source).double()


def test_check_warp_takes_the_worked_solution(capsys):
    assert lesson10.check_warp(right_warp) is right_warp
    assert "Right." in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong", [borrowed_warp, flipped_warp, swapped_warp, half_pixel_warp, zero_padded_warp, nearest_warp, float64_warp]
)
def test_check_warp_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson10.check_warp(wrong)


def test_check_warp_names_a_flipped_sign_and_swapped_axes():
    with pytest.raises(AssertionError, match="sign flipped"):
        lesson10.check_warp(flipped_warp)
    with pytest.raises(AssertionError, match="x and y swapped"):
        lesson10.check_warp(swapped_warp)


def right_loss(image, warped, reliable, weight):
    return weight * (reliable * (image - warped) ** 2).sum() / (reliable * warped**2).sum().clamp_min(1e-8)


def borrowed_loss(image, warped, reliable, weight):
    return TemporalLoss(warped, reliable, weight)(image)


def loss_ignoring_the_mask(image, warped, reliable, weight):
    return weight * ((image - warped) ** 2).sum() / (warped**2).sum()


def loss_normalised_over_every_pixel(image, warped, reliable, weight):  # the mask in the numerator only
    return weight * (reliable * (image - warped) ** 2).sum() / (warped**2).sum()


def loss_per_reliable_pixel(image, warped, reliable, weight):  # a mean over the reliable values, not relative
    return weight * (reliable * (image - warped) ** 2).sum() / (reliable.sum() * image.shape[1]).clamp_min(1)


def loss_without_weight(image, warped, reliable, weight):
    return right_loss(image, warped, reliable, 1.0)


def loss_nan_after_a_cut(image, warped, reliable, weight):  # 0 / 0 when nothing is reliable
    return weight * (reliable * (image - warped) ** 2).sum() / (reliable * warped**2).sum()


def loss_as_a_float(image, warped, reliable, weight):  # no gradient for the optimiser
    return right_loss(image, warped, reliable, weight).item()


def loss_detached(image, warped, reliable, weight):
    return right_loss(image.detach(), warped, reliable, weight)


def test_check_temporal_loss_takes_the_worked_solution(capsys):
    assert lesson10.check_temporal_loss(right_loss) is right_loss
    assert "Right." in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong",
    [
        borrowed_loss,
        loss_ignoring_the_mask,
        loss_normalised_over_every_pixel,
        loss_per_reliable_pixel,
        loss_without_weight,
        loss_nan_after_a_cut,
        loss_as_a_float,
        loss_detached,
    ],
)
def test_check_temporal_loss_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson10.check_temporal_loss(wrong)


def loss_by_a_kept_class(image, warped, reliable, weight, T=TemporalLoss):  # stylekit's class under another name
    return T(warped, reliable, weight)(image)


class Mine(TemporalLoss):
    pass


def loss_by_a_subclass(image, warped, reliable, weight):
    return Mine(warped, reliable, weight)(image)


LOSS = TemporalLoss(torch.zeros(1), torch.zeros(1), 1.0)


def loss_by_a_kept_instance(image, warped, reliable, weight):  # one made before the check, refilled
    LOSS.__dict__.update(warped=warped, weights=reliable, weight=weight, norm=(reliable * warped**2).sum())
    return LOSS(image)


def loss_catching_the_refusal(image, warped, reliable, weight, T=TemporalLoss):
    with contextlib.suppress(Exception):
        T(warped, reliable, weight)
    return T(warped, reliable, weight)(image)


@pytest.mark.parametrize(
    "wrong", [loss_by_a_kept_class, loss_by_a_subclass, loss_by_a_kept_instance, loss_catching_the_refusal]
)
def test_check_temporal_loss_refuses_stylekits_class_however_it_is_reached(wrong):
    with pytest.raises(AssertionError, match=r"Not yet: `.*` calls stylekit's TemporalLoss"):
        lesson10.check_temporal_loss(wrong)


def test_blank_pieces_hand_the_lesson_stylekits_versions_and_say_so(capsys):
    def warp(image, flow_to_source):
        raise NotImplementedError("your code here")

    def temporal_loss(image, warped, reliable, weight):
        raise NotImplementedError("your code here")

    image, f = torch.rand(1, 3, 6, 8), torch.zeros(6, 8, 2).numpy() + 0.5
    fallback = lesson10.check_warp(warp)
    assert "Not done yet" in capsys.readouterr().out
    assert torch.equal(fallback(image, f), flow.warp(image, f))
    assert "stylekit's here" in capsys.readouterr().out
    reliable = (torch.rand(1, 1, 6, 8) > 0.3).float()
    loss = lesson10.check_temporal_loss(temporal_loss)
    assert torch.equal(loss(image, image.flip(-1), reliable, 30.0), TemporalLoss(image.flip(-1), reliable, 30.0)(image))


# The exercises: fakes of what the student hands in, made from the clip's own frames (cheap: no transfer).


@pytest.fixture(scope="module")
def frames():
    return lesson10.clip_frames()


class FakeRun:
    """What stylekit.video returns, for a folder of frames written by ``made``."""

    def __init__(self, output, frames):
        self.output, self.frames = output, frames


def made(folder, styled, **changed):
    """A work folder as stylekit.video leaves it: the styled frames and the settings they were made with."""
    folder.mkdir()
    for i, frame in enumerate(styled, start=1):
        stylekit.save_png(frame[None], folder / f"{i:06d}.png")
    settings = dict(
        source="input", style=str(stylekit.sample("mosaic")), preset="default", model=None, size=lesson10.SIZE,
        temporal_weight=0, steps_first=lesson10.STEPS_FIRST, steps=12, early_stop=0.02, blend=0.7,
    )  # fmt: skip
    (folder / "settings.json").write_text(json.dumps(settings | changed))
    return FakeRun(folder, len(styled))


def error_of(run, frames):
    styled = read_frames(run.output)
    return flow.temporal_error(list(zip(styled[:, None], frames[:, None])))


@pytest.fixture(scope="module")
def videos(tmp_path_factory, frames):
    """The clip styled for real as the notebook styles it (small in fast mode): the input frames' folder, the work
    folder, the run with the temporal loss and the one without."""
    work = tmp_path_factory.mktemp("video")
    source = work / "input"
    source.mkdir()
    for i, frame in enumerate(frames, start=1):
        stylekit.save_png(frame[None], source / f"{i:06d}.png")
    common = dict(size=lesson10.SIZE, steps_first=lesson10.STEPS_FIRST, progress=False)
    held = stylekit.video(source, stylekit.sample("mosaic"), work / "held", **common)
    free = stylekit.video(source, stylekit.sample("mosaic"), work / "no-loss", temporal_weight=0, **common)
    return source, work, held, free, common


def test_check_1_takes_a_run_without_the_loss_and_its_error(videos, frames):
    *_, free, _ = videos
    assert lesson10.check_1(free, error_of(free, frames))


def test_check_1_refuses_the_lessons_run_resumed_without_the_loss(videos, frames):
    """The temporal run's frames copied into a folder, then stylekit.video with temporal_weight=0 there: it writes
    the settings asked for and styles nothing, keeping the frames it finds."""
    source, work, held, _, common = videos
    resumed = work / "resumed"
    resumed.mkdir()
    for png in sorted(held.output.glob("[0-9]*.png")):
        shutil.copy(png, resumed / png.name)
    run = stylekit.video(source, stylekit.sample("mosaic"), resumed, temporal_weight=0, **common)
    assert run.seconds == []  # nothing styled: every frame was found
    with pytest.raises(AssertionError, match="Not yet"):
        lesson10.check_1(run, error_of(run, frames))


def test_check_1_refuses_frames_no_run_styled(tmp_path, frames):
    styled = (frames + 0.1 * torch.rand_like(frames)).clamp(0, 1)  # the photo, with noise: a record of its own
    run = made(tmp_path / "no-loss", styled)
    with pytest.raises(AssertionError, match="Not yet"):
        lesson10.check_1(run, error_of(run, frames))


@pytest.mark.parametrize(
    "changed",
    [
        {"temporal_weight": 30.0},  # the loss still on: the run of the lesson, not the one asked for
        {"size": lesson10.SIZE // 2},
        {"steps_first": [1]},
        {"style": str(stylekit.sample("shards"))},
        {"model": "mosaic"},  # the fast model
    ],
)
def test_check_1_refuses_a_run_other_than_the_one_asked(tmp_path, frames, changed):
    run = made(tmp_path / "run", frames, **changed)
    with pytest.raises(AssertionError, match="Not yet"):
        lesson10.check_1(run, error_of(run, frames))


def test_check_1_refuses_another_number_and_too_few_frames(tmp_path, frames):
    styled = (frames + 0.1 * torch.rand_like(frames)).clamp(0, 1)
    run = made(tmp_path / "no-loss", styled)
    clip_itself = flow.temporal_error(list(zip(frames[:, None], frames[:, None])))  # the input's, not the run's
    short = made(tmp_path / "short", styled[:-1])
    for answer in [(run, clip_itself), (run, 1.1 * error_of(run, frames)), (short, error_of(short, frames[:-1]))]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson10.check_1(*answer)


def shares_of(frames, back=1):
    found = {}
    for t in range(back, lesson10.FRAMES):
        a, b = frames[t : t + 1], frames[t - back : t - back + 1]
        found[t] = float(flow.reliable(flow.flow(a, b), flow.flow(b, a)).mean())
    return found


def test_check_2_takes_the_shares_and_refuses_near_misses_and_guesses(frames):
    right = shares_of(frames)
    least = min(right, key=right.get)
    assert lesson10.check_2(right, least)
    one_way = {}  # the backward flow alone: flow.reliable given the same flow twice
    for t in right:
        back = flow.flow(frames[t : t + 1], frames[t - 1 : t])
        one_way[t] = float(flow.reliable(back, back).mean())
    wrong = [(right, t) for t in right if t != least]  # the shares right, a guessed frame
    wrong += [(dict.fromkeys(right, 0.5), least), (one_way, min(one_way, key=one_way.get))]
    for shares, least_reliable in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson10.check_2(shares, least_reliable)


def test_check_3_takes_the_share_two_back_and_refuses_the_one_back(frames):
    t = lesson10.T
    a, b, c = frames[t : t + 1], frames[t - 2 : t - 1], frames[t - 1 : t]
    assert lesson10.check_3(float(flow.reliable(flow.flow(a, b), flow.flow(b, a)).mean()))
    with pytest.raises(AssertionError, match="Not yet"):
        lesson10.check_3(float(flow.reliable(flow.flow(a, c), flow.flow(c, a)).mean()))  # t−1, not t−2
    with pytest.raises(AssertionError, match="Not yet"):
        lesson10.check_3(float(flow.reliable(flow.flow(b, a), flow.flow(a, b)).mean()))  # from t−2 to t
