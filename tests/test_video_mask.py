"""Masks for video: a file, or the person found in each frame and kept steady by the flow (stylekit/video/masks.py).

``stylekit.segment.segment`` is replaced by a fake that finds the rolling ball of the bundled clip (its path is
tools/make_clip.py's) as the "person": a known mask that moves with the scene.
"""

import importlib
import json
import math
import threading

import pytest
import torch
from PIL import Image, ImageDraw

from stylekit import video
from stylekit.cli import main
from stylekit.errors import ImageError, StylekitError
from stylekit.images import load_image, save_png
from stylekit.samples import DATA
from stylekit.video import read_frames
from stylekit.video.flow import flow, reliable, warp
from stylekit.video.masks import FrameMasks

CLIP = DATA / "clip_coffee.mp4"
SIZE = 64  # frames of 64×42: the ball is 19 px across
MARGIN = 4  # px beyond the ball's edge
segmentation = importlib.import_module("stylekit.segment")  # the module, whatever `stylekit.segment` names


def edge(number, width, height, first=0, step=1, jitter=0.0):
    """(1, 1, H, W): px from the ball's edge (negative inside) in frame ``number`` (1-based) of a folder holding
    every ``step``-th frame of the clip from ``first``; ``jitter``: px of random error in its centre and radius."""
    t = (first + (number - 1) * step) / 47
    scale = width / 192
    x = 192 - round(t * (192 + 56)) + 27.5
    y = 64 - 28 + round(12 * math.sin(2 * math.pi * t)) + 27.5
    g = torch.Generator().manual_seed(number)  # the same error each time a frame is segmented
    dx, dy, dr = (jitter * (2 * torch.rand(3, generator=g) - 1)).tolist()
    ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    distance = ((xs - x * scale - dx) ** 2 + (ys - y * scale - dy) ** 2).sqrt()
    return (distance - 28 * scale - dr)[None, None]


def ball(*where, **jitter):
    """The ball as a mask: 1 inside, 0 outside, a 1 px soft edge."""
    return (0.5 - edge(*where, **jitter)).clamp(0, 1)


def fake_segment(monkeypatch, first=0, step=1, jitter=0.0, absent=(), source="fake"):
    """``segment`` finding the ball; frames numbered in ``absent`` have no person. Returns the masks it gave."""
    given = {}

    def segment(photo, source_=None, *, name="the photo"):
        number = int(name.split()[-1])
        if number in absent:
            raise ImageError(f"{name}: no person found")
        given[number] = ball(number, photo.shape[-1], photo.shape[-2], first, step, jitter)
        return segmentation.Segmentation(given[number], None, source)

    monkeypatch.setattr(segmentation, "segment", segment)
    return given


def clip_folder(folder, first, count, step=1):
    """Every ``step``-th frame of the clip from ``first``, as PNGs at the clip's size: a short clip for a test."""
    folder.mkdir()
    for i, frame in enumerate(read_frames(CLIP)[first : first + count * step : step]):
        save_png(frame[None], folder / f"{i:03d}.png")
    return folder


def frames_in(folder):
    return read_frames(folder, SIZE)[:, :, :42]  # as video reads them: 64×43, cropped to even sides


def test_a_fast_model_styles_the_person_and_leaves_the_rest(tmp_path, monkeypatch):
    clip = clip_folder(tmp_path / "clip", 12, 6, step=2)
    fake_segment(monkeypatch, first=12, step=2)
    run = video(clip, None, tmp_path / "out", model="mosaic", mask="person", size=SIZE, progress=False)
    styled, inputs = read_frames(tmp_path / "out"), frames_in(clip)
    assert run.frames == len(styled) == 6 and styled.shape == inputs.shape
    for number in range(1, 7):
        distance = edge(number, 64, 42, 12, 2)[0, 0]
        change = (styled[number - 1] - inputs[number - 1]).abs().mean(0)
        assert change[distance > MARGIN].max() < 2 / 255, number  # the photo, but for PNG rounding
        assert change[distance < -3].mean() > 0.04, number  # styled: 10× the rounding outside
    recorded = json.loads((tmp_path / "out" / "settings.json").read_text())
    assert recorded["mask"] == ["person"] and recorded["mask_source"] == "fake"


def reliable_mean(values, weights):
    return float((weights * values).sum() / weights.sum())


def test_the_person_mask_is_steadier_than_the_one_found_in_each_frame(monkeypatch):
    frames = read_frames(CLIP, SIZE)[12:24, :, :42]
    found = fake_segment(monkeypatch, first=12, jitter=2)  # the edge found 2 px off, frame by frame
    masks = FrameMasks("person", 1)
    masks.start(frames[:1], CLIP)
    steady = [masks.steady(frames[:1], 1)]
    flicker, error = {"found": 0.0, "steady": 0.0}, {"found": 0.0, "steady": 0.0}
    for number in range(2, len(frames) + 1):
        current, previous = frames[number - 1 : number], frames[number - 2 : number - 1]
        back = flow(current, previous)
        weights = reliable(back, flow(previous, current))
        steady.append(masks.steady(current, number, warp(steady[-1], back), weights))
        for name, chain in (("found", [found[number - 1], found[number]]), ("steady", steady[-2:])):
            flicker[name] += reliable_mean((chain[1] - warp(chain[0], back)).abs(), weights)  # change not moved
            error[name] += float((chain[1] - ball(number, 64, 42, first=12)).abs().mean())  # from the real ball
    assert flicker["steady"] < 0.7 * flicker["found"], flicker
    assert error["steady"] < 1.05 * error["found"], error  # steadier, not further from the ball


def test_a_frame_without_a_person_keeps_the_previous_mask_and_says_so_once(monkeypatch):
    frames = read_frames(CLIP, SIZE)[12:16, :, :42]
    fake_segment(monkeypatch, first=12, absent={3, 4})
    masks = FrameMasks("person", 1)
    masks.start(frames[:1], CLIP)
    chain = [masks.steady(frames[:1], 1)]
    with pytest.warns(UserWarning, match="no person found in frame 3") as told:
        for number in range(2, 5):
            current, previous = frames[number - 1 : number], frames[number - 2 : number - 1]
            back = flow(current, previous)
            warped = warp(chain[-1], back)
            chain.append(masks.steady(current, number, warped, reliable(back, flow(previous, current))))
            if number > 2:
                assert torch.equal(chain[-1], warped)
    assert len(told) == 1 and chain[-1].sum() > 0.5 * chain[0].sum()  # once; and the ball is still masked


def disc_file(path, centre):
    """A mask file: a white disc 20 px across on black, at the frames' size."""
    mask = Image.new("L", (64, 42))
    x, y = centre
    ImageDraw.Draw(mask).ellipse((x - 10, y - 10, x + 10, y + 10), fill=255)
    mask.save(path)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    return code, err


def test_a_rerun_continues_with_the_same_mask_file_and_refuses_another(tmp_path, capsys, monkeypatch):
    clip, out = clip_folder(tmp_path / "clip", 12, 3), tmp_path / "out.mp4"
    left, right = disc_file(tmp_path / "left.png", (20, 21)), disc_file(tmp_path / "right.png", (44, 21))
    fake_segment(monkeypatch, first=12)
    stop = threading.Event()
    stop.set()  # stops after the first frame
    first = video(clip, None, out, model="mosaic", mask=left, size=SIZE, stop=stop, progress=False)
    assert first.frames == 1
    for other in (right, "person"):
        code, err = run(capsys, "video", clip, "--model", "mosaic", "--mask", other, "-o", out, "--size", SIZE)
        assert code == 2 and "frames made with other settings" in err, err
    code, err = run(capsys, "video", clip, "--model", "mosaic", "--mask", left, "-o", out, "--size", SIZE)
    assert code == 0 and len(list((tmp_path / "out.frames").glob("0*.png"))) == 3, err
    styled, inputs = read_frames(tmp_path / "out.frames"), frames_in(clip)
    change = (styled - inputs).abs().mean(1)
    assert change[:, :, 34:].max() < 2 / 255 < 0.04 < change[:, 14:28, 14:26].mean()  # the photo right of the disc


def test_a_rerun_continues_the_steady_person_mask(tmp_path, monkeypatch):
    clip = clip_folder(tmp_path / "clip", 12, 4, step=2)
    fake_segment(monkeypatch, first=12, step=2, jitter=1)
    whole = video(clip, None, tmp_path / "whole", model="mosaic", mask="person", size=SIZE, progress=False)
    stop, out = threading.Event(), tmp_path / "parts"
    stop.set()
    video(clip, None, out, model="mosaic", mask="person", size=SIZE, stop=stop, progress=False)
    fake_segment(monkeypatch, first=12, step=2, jitter=1, source="another segmenter")
    with pytest.raises(StylekitError, match="frames made with other settings"):
        video(clip, None, out, model="mosaic", mask="person", size=SIZE, progress=False)
    fake_segment(monkeypatch, first=12, step=2, jitter=1)
    rest = video(clip, None, out, model="mosaic", mask="person", size=SIZE, progress=False)
    assert whole.frames == rest.frames == 4 and len(rest.seconds) == 3
    for name in ("masks/000004.png", "000004.png"):  # the same as one run's, but for the kept mask's rounding
        assert (load_image(out / name) - load_image(tmp_path / "whole" / name)).abs().max() < 3 / 255, name


def test_the_transfer_path_styles_where_the_mask_is(tmp_path, monkeypatch, texture):
    clip = clip_folder(tmp_path / "clip", 20, 2, step=2)
    fake_segment(monkeypatch, first=20, step=2)
    tiny = dict(size=SIZE, steps_first=8, steps=2, precision="fp32")
    inputs, change = frames_in(clip), {}
    for mask in ("person", "background"):
        video(clip, texture, tmp_path / mask, mask=mask, progress=False, **tiny)
        change[mask] = (read_frames(tmp_path / mask) - inputs).abs().mean(1)
    inside, outside = {}, {}
    for mask, changed in change.items():  # pooled over the two frames
        distance = torch.cat([edge(number, 64, 42, 20, 2)[0] for number in (1, 2)])
        inside[mask], outside[mask] = changed[distance < -3].mean(), changed[distance > MARGIN].mean()
    assert inside["person"] > 1.2 * inside["background"] and outside["background"] > 2 * outside["person"]


def test_cli_bad_masks_exit_2_and_write_nothing(tmp_path, capsys, monkeypatch, texture):
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    fake_segment(monkeypatch, absent={1})
    cases = [
        (("--model", "mosaic", "--mask", notes), f"{notes}: not an image Pillow can read"),
        (("--model", "mosaic", "--mask", "persn"), "mask persn: no such file, nor one of person, background"),
        (("--model", "mosaic", "--mask", "person", "background"), "2 masks for 1 styles"),
        ((texture, "--mask", "person", "--style-loss", "mrf"), "masks need a content image, the gram style loss"),
        (("--model", "mosaic", "--mask", "person"), f"{CLIP}: frame 1: no person found"),
        ((texture, "--preset", "portrait"), "keep='face' is found in a photo, not along a clip"),
        ((texture, "--keep", "person"), "keep='person' is found in a photo, not along a clip"),
    ]
    before = set(tmp_path.iterdir())
    for argv, message in cases:
        code, err = run(capsys, "video", CLIP, *argv, "-o", tmp_path / "out.mp4", "--size", SIZE)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert set(tmp_path.iterdir()) == before


def test_cli_refuses_the_person_mask_on_a_clip_without_a_person(tmp_path, capsys):
    code, err = run(capsys, "video", CLIP, "--model", "mosaic", "--mask", "person", "-o", tmp_path / "o.mp4")
    assert code == 2 and str(CLIP) in err and "person" in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())
