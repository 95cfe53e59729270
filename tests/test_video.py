import sys
import threading

import av
import pytest
import torch
from PIL import Image
from processes import interrupt, started, wait_until

from stylekit import load_image, sample, train_fast, video
from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.images import save_png
from stylekit.samples import DATA
from stylekit.video import read_frames
from stylekit.video.flow import flow, reliable, temporal_error, warp

CLIP = DATA / "clip_coffee.mp4"
TINY = dict(size=48, steps_first=[3, 2], steps=2, precision="fp32")
STYLED = dict(size=48, steps_first=[16, 8], steps=6, precision="fp32")  # enough steps for a styled look


def test_warp_follows_a_camera_pan_and_trusts_all_but_the_new_strip():
    picture = load_image(sample("coffee"), 200)
    previous, current = picture[..., 10:170], picture[..., 14:174]  # the camera moved 4 px right
    back, forward = flow(current, previous), flow(previous, current)
    assert abs(float(back[..., 0].mean()) - 4) < 0.2
    weights = reliable(back, forward)
    assert weights[..., :, :150].mean() > 0.95 and weights[..., :, -3:].mean() < 0.1  # the strip never seen
    aligned = (warp(previous, back) - current).abs().mul(weights).sum() / weights.sum() / 3
    assert aligned < 0.01 < (previous - current).abs().mean()


def test_temporal_error_is_zero_for_a_result_that_moves_with_the_scene():
    picture = load_image(sample("coffee"), 200)
    frames = [picture[..., 2 * i : 2 * i + 160] for i in range(3)]
    assert temporal_error([(f, f) for f in frames]) < 1
    flicker = [(f + 0.1 * torch.rand(f.shape, generator=torch.Generator().manual_seed(i)), f)
               for i, f in enumerate(frames)]  # fmt: skip
    assert temporal_error(flicker) > 10


def audio_packets(path, seconds):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.dts is not None and p.pts * p.time_base < seconds]


def test_the_temporal_loss_steadies_the_frames_beyond_the_warped_start(tmp_path, texture):
    frames = read_frames(CLIP, 48)[:6, :, :32]
    clip = tmp_path / "six"
    clip.mkdir()
    for i, frame in enumerate(frames):
        save_png(frame[None], clip / f"{i:03d}.png")
    errors = {}
    for weight in (30.0, 0.0):  # both start each frame from the previous result warped: only the loss differs
        run = video(clip, texture, tmp_path / f"w{weight:g}", temporal_weight=weight, progress=False, **STYLED)
        styled = read_frames(tmp_path / f"w{weight:g}")
        assert run.frames == len(styled) == 6
        errors[weight] = temporal_error(list(zip(styled[:, None], frames[:, None])))
    # A loss that did nothing would give the same error twice (the margin: docs/testing.md).
    assert errors[30.0] < 0.92 * errors[0.0], errors


def test_video_keeps_frame_rate_and_audio(tmp_path, texture):
    whole = video(CLIP, texture, tmp_path / "whole.mp4", progress=False, **{**TINY, "steps": 1})
    with av.open(str(whole.output)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 12 and stream.codec_context.name == "h264" and stream.pix_fmt == "yuv420p"
        assert (stream.width, stream.height, stream.frames) == (48, 32, 48) and container.streams.audio
    assert audio_packets(whole.output, 4.0) == audio_packets(CLIP, 4.0)  # copied, not re-encoded


def test_a_stopped_run_writes_what_it_has_and_a_rerun_continues(tmp_path, texture):
    out, stop = tmp_path / "out.mp4", threading.Event()
    stop.set()  # stops after the first frame
    first = video(CLIP, texture, out, stop=stop, progress=False, **TINY)
    assert first.stopped == "stopped" and first.frames == 1 and out.exists()
    kept = (tmp_path / "out.frames" / "000001.png").read_bytes()
    rest = video(CLIP, texture, out, progress=False, **TINY)
    assert rest.frames == 48 and len(rest.seconds) == 47
    assert (tmp_path / "out.frames" / "000001.png").read_bytes() == kept
    with pytest.raises(StylekitError, match="frames made with other settings"):
        video(CLIP, texture, out, progress=False, **{**TINY, "steps": 5})


def test_fast_model_frames_are_smoothed_by_the_flow(tmp_path, texture, photo):
    model = train_fast(texture, [photo], size=64, steps=3, batch=1, style_size=64, progress=False)
    smooth = video(CLIP, None, tmp_path / "smooth", model=model, size=64, progress=False)
    raw = video(CLIP, None, tmp_path / "raw", model=model, size=64, blend=0, progress=False)
    assert smooth.frames == raw.frames == 48 and (tmp_path / "smooth" / "000048.png").exists()
    inputs = read_frames(CLIP, 64)
    pairs = lambda out: list(zip(read_frames(out)[:12, None], inputs[:12, None, :, :42, :64]))  # noqa: E731
    assert temporal_error(pairs(tmp_path / "smooth")) < 0.8 * temporal_error(pairs(tmp_path / "raw"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_bad_videos_exit_2_and_write_nothing(capsys, tmp_path, texture, photo):
    notes, empty, mixed = tmp_path / "notes.mp4", tmp_path / "empty", tmp_path / "mixed"
    notes.write_text("not a video")
    empty.mkdir()
    mixed.mkdir()
    Image.new("RGB", (64, 48)).save(mixed / "1.png")
    Image.new("RGB", (48, 64)).save(mixed / "2.png")
    cases = [
        ((notes, texture, "-o", tmp_path / "a.mp4"), "not a video"),
        ((empty, texture, "-o", tmp_path / "b.mp4"), "a folder without image frames"),
        ((CLIP, texture, "-o", tmp_path / "missing" / "c.mp4"), "does not exist"),
        ((CLIP, texture, "-o", CLIP), "also an input"),
        ((CLIP, texture, "-o", tmp_path / "d.avi"), "must be an .mp4 file or a folder"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, "video", *argv, "--size", "32")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    before = set(tmp_path.iterdir())
    code, _, err = run(capsys, "video", mixed, texture, "-o", tmp_path / "e.mp4", "--size", "32", "--steps-first", "1")
    assert code == 2 and "frame 2 is 24×32 px after resizing, frame 1 32×24" in err
    assert not (tmp_path / "e.mp4").exists() and set(tmp_path.iterdir()) - before <= {tmp_path / "e.frames"}


def test_ctrl_c_writes_the_frames_done_and_exits_130(tmp_path, texture):
    out = tmp_path / "out.mp4"
    argv = [sys.executable, "-m", "stylekit", "video", CLIP, texture, "-o", out, "--size", "48", "--steps", "20"]
    with started(argv) as proc:
        wait_until((tmp_path / "out.frames" / "000002.png").exists, proc)
        code, err = interrupt(proc, timeout=120)
    assert code == 130 and "interrupted" in err, err
    with av.open(str(out)) as container:
        assert 2 <= container.streams.video[0].frames < 48
