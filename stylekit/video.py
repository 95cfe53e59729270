"""Video with temporal consistency (Ruder, Dosovitskiy & Brox 2016): each frame starts from the previous result
warped by the optical flow, and a temporal loss keeps it there wherever the flow can be trusted.

    stylekit.video("clip.mp4", "painting.jpg", "styled.mp4")

Frames go through ``transfer`` (the first with the preset's full schedule, later ones with few steps and an early
stop) or through a fast model (``model=``), whose outputs are blended with the warped previous result instead.
Finished frames are kept as PNGs in a work folder beside the output (``styled.frames``): a rerun with the same
settings continues where the last one stopped. Video in and out goes through PyAV (FFmpeg inside its wheel):
H.264, yuv420p, the input's frame rate, and its audio copied unchanged.
"""

import json
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import colour, images
from .errors import ImageError, SettingsError, StylekitError, need
from .fast import FastModel, load_fast, stylize
from .settings import Settings, resolve
from .transfer import transfer

FRAME_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_FPS = 24  # a folder of frames has no frame rate of its own
OTHER_VIDEO = {".avi", ".mov", ".mkv", ".webm", ".gif", ".m4v", ".mpg", ".wmv"}  # outputs are .mp4 or a folder


@dataclass
class VideoResult:
    output: Path
    frames: int  # frames in the output
    seconds: list  # per frame styled in this run: its wall time, flow included
    stopped: str = None  # None, or 'interrupted' / 'stopped' (the output then has the frames done so far)


class Frames:
    """A video file or a folder of images (sorted by name), read frame by frame as RGB ``PIL.Image``s."""

    def __init__(self, source, fps=None):
        self.source = Path(source)
        if self.source.is_dir():
            self.files = sorted(p for p in self.source.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
            if not self.files:
                raise ImageError(f"{source}: a folder without image frames")
            self.fps, self.count, self.audio = _rate(fps or DEFAULT_FPS), len(self.files), False
            return
        self.files = None
        if not self.source.is_file():
            raise ImageError(f"{source}: no such file or folder")
        av = _pyav()
        try:
            with av.open(str(self.source)) as container:
                if not container.streams.video:
                    raise ImageError(f"{source}: no video stream")
                stream = container.streams.video[0]
                self.fps = _rate(fps) if fps else stream.average_rate or _rate(DEFAULT_FPS)
                self.count, self.audio = stream.frames or None, bool(container.streams.audio)
                next(container.decode(video=0))
        except StopIteration:
            raise ImageError(f"{source}: no frames") from None
        except av.FFmpegError as e:
            reason = e.strerror or type(e).__name__
            raise ImageError(f"{source}: not a video this FFmpeg can decode ({reason})") from None

    def __iter__(self):
        if self.files is not None:
            yield from (images.open_image(path) for path in self.files)
            return
        av = _pyav()
        try:
            with av.open(str(self.source)) as container:
                for frame in container.decode(video=0):
                    yield frame.to_image()
        except av.FFmpegError as e:
            raise ImageError(f"{self.source}: cannot decode a frame ({e.strerror or type(e).__name__})") from None


def video(source, style, output, preset="default", *, size=512, temporal_weight=30.0, steps_first=None, steps=12,
          early_stop=0.02, model=None, blend=0.7, fps=None, progress=True, stop=None, **settings):  # fmt: skip
    """Styles every frame of ``source`` (a video file or a folder of frames) into ``output`` (.mp4, or a folder).

    With ``transfer`` (default): the first frame gets ``steps_first`` (default: the preset's schedule), later
    frames ``steps`` at full size, starting from the previous result warped by the flow, with a temporal loss of
    weight ``temporal_weight`` (relative squared difference to that warped frame where the flow is reliable;
    0 turns it off) and ``early_stop``. ``settings`` are transfer's. With ``model`` (a fast model or its file or
    name): each frame is stylised, then blended with the warped previous result, ``blend`` of it where reliable.
    ``stop`` (a ``threading.Event``) ends the run after the current frame; Ctrl-C drops the current frame. Either
    way the output holds the frames done, and a rerun continues.
    """
    _check_options(style, preset, size, temporal_weight, steps_first, steps, early_stop, model, blend, fps, settings)
    _pyav()  # both refused before any frame is styled, not at the second frame or the end
    need("cv2", "stylekit's optical flow (video)")

    frames, output = Frames(source, fps), Path(output)
    named = None if model is None else str(getattr(model, "style", model))
    # Everything that can be refused is, before the work folder is made: a bad model or style leaves nothing behind.
    model = load_fast(model) if model is not None and not isinstance(model, FastModel) else model
    for path in [] if model is not None else style if isinstance(style, (list, tuple)) else [style]:
        if isinstance(path, (str, Path)):
            images.open_image(path)
    work = _work_folder(output, source, style, preset, dict(
        size=size, temporal_weight=temporal_weight, steps_first=steps_first, steps=steps, early_stop=early_stop,
        model=named, blend=blend, **settings))  # fmt: skip
    seconds, previous, stopped = [], None, None
    with tqdm(total=frames.count, desc="video", unit="frame", disable=not progress) as bar:
        try:
            for count, picture in enumerate(frames, start=1):
                path = work / f"{count:06d}.png"
                current = _frame_tensor(picture, size, count, previous)
                if path.exists():  # done by an earlier run
                    previous = (images.load_image(path), current)
                    bar.update(1)
                    continue
                started = time.perf_counter()
                styled = _style_frame(current, previous, style, preset, model, temporal_weight, steps_first, steps,
                                      early_stop, blend, settings)  # fmt: skip
                if styled is None:  # Ctrl-C in the middle of this frame: it is dropped
                    stopped = "interrupted"
                    break
                images.save_png(styled, path)
                seconds.append(time.perf_counter() - started)
                previous = (styled, current)
                bar.update(1)
                if stop is not None and stop.is_set():
                    stopped = "stopped"
                    break
        except KeyboardInterrupt:
            stopped = "interrupted"
    done = sorted(work.glob("[0-9]*.png"))
    if not done:
        raise StylekitError("interrupted before the first frame was done; nothing written")
    if _is_mp4(output):
        write_mp4(done, frames.fps, output, frames.source if frames.audio else None)
    return VideoResult(output, len(done), seconds, stopped)


def _style_frame(current, previous, style, preset, model, temporal_weight, steps_first, steps, early_stop, blend,
                 settings):  # fmt: skip
    """The styled frame (1, 3, H, W) on the CPU, or None when Ctrl-C stopped it before it was finished."""
    if previous is not None:
        styled_prev, input_prev = previous
        from . import flow

        back, forward = flow.flow(current, input_prev), flow.flow(input_prev, current)
        weights, warped = flow.reliable(back, forward), flow.warp(styled_prev, back)
    if model is not None:
        styled = stylize(model, current, size=None).image
        if previous is None:
            return styled
        return styled + blend * weights * (warped - styled)
    if previous is None:
        run = dict(steps=steps_first) if steps_first else {}
        result = transfer(current, style, preset, size=_size(current), progress=False, **run, **settings)
    else:
        start = weights * warped + (1 - weights) * current  # disoccluded pixels start from the photo
        target = colour.luminance(warped) if settings.get("colours") == "luminance" else warped
        extra = {"temporal": TemporalLoss(target, weights, temporal_weight)} if temporal_weight else {}
        later = {**settings, "size": _size(current), "steps": steps, "scales": 1, "early_stop": early_stop}
        result = transfer(current, style, preset, start=start, extra_terms=extra, progress=False, **later)
    return None if result.stopped else result.image


class TemporalLoss:
    """λ Σ c (x − ω)² / Σ c ω²: the image's relative squared difference to the warped previous result ω where the
    flow is reliable (c = 1) — relative, like stylekit's other losses, so λ means the same at every size."""

    def __init__(self, warped, weights, weight):
        self.warped, self.weights, self.weight = warped, weights, weight
        self.norm = (weights * warped**2).sum().clamp_min(1e-8)

    def __call__(self, image):
        target, weights = self.warped.to(image.device), self.weights.to(image.device)
        return self.weight * (weights * (image - target) ** 2).sum() / self.norm.to(image.device)


def _check_options(style, preset, size, temporal_weight, steps_first, steps, early_stop, model, blend, fps, settings):
    """Refuses bad options before any frame is styled (else they would surface at frame 1 or 2)."""

    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    if style is None and model is None:
        raise SettingsError("give a style image or a fast model")
    images.check_size(size)
    if not (number(temporal_weight) and temporal_weight >= 0):
        raise SettingsError(f"temporal_weight must be a finite number >= 0, not {temporal_weight!r}")
    if not (number(blend) and 0 <= blend <= 1):
        raise SettingsError(f"blend must be between 0 and 1, not {blend!r}")
    if fps is not None and not (number(fps) and fps > 0):
        raise SettingsError(f"fps must be a finite number > 0, not {fps!r}")
    if model is None:  # transfer's own checks, of the first frame's run and of the later frames'
        own = {k: v for k, v in settings.items() if k in Settings.__dataclass_fields__}
        own.update({} if size is None else {"size": size})  # None: the frames' own size
        resolve(preset, {**own, **({} if steps_first is None else {"steps": steps_first})})
        resolve(preset, {**own, "steps": steps, "scales": 1, "early_stop": early_stop})


def _frame_tensor(picture, size, number, previous):
    """The frame at ``size`` with even sides (H.264 in yuv420p needs them), refusing a change of frame size."""
    tensor = images.as_tensor(picture, size, f"frame {number}")
    height, width = tensor.shape[-2:]
    tensor = tensor[..., : height - height % 2, : width - width % 2].contiguous()
    if previous is not None and previous[1].shape != tensor.shape:
        was, now = previous[1].shape, tensor.shape
        raise ImageError(
            f"frame {number} is {now[-1]}×{now[-2]} px after resizing, frame {number - 1} {was[-1]}×{was[-2]}"
        )
    return tensor


def _work_folder(output, source, style, preset, settings):
    """The folder that keeps finished frames, made or checked: a rerun must use the same settings."""
    if output.suffix.lower() in OTHER_VIDEO:
        raise StylekitError(f"output must be an .mp4 file or a folder for the frames, not {output}")
    if not output.parent.is_dir():
        raise StylekitError(f"output folder {output.parent} does not exist")
    if output.resolve() == Path(source).resolve():
        raise StylekitError(f"output {output} is also the input; choose another name")
    work = output.with_name(output.stem + ".frames") if _is_mp4(output) else output
    if work.exists() and not work.is_dir():
        raise StylekitError(f"{work} is a file; the output must be an .mp4 file or a folder for the frames")
    described = json.dumps(dict(source=str(source), style=str(style), preset=preset, **settings), sort_keys=True,
                           default=str)  # fmt: skip
    record = work / "settings.json"
    if record.exists() and record.read_text() != described:
        raise StylekitError(f"{work} holds frames made with other settings; delete it or use another output")
    try:
        work.mkdir(exist_ok=True)
        record.write_text(described)
    except OSError as e:  # a read-only folder, a full disk
        raise images.WriteError(f"cannot write {record}: {e.strerror or e}") from e
    return work


def write_mp4(frames, fps, output, audio_from=None):
    """Encodes PNG ``frames`` as H.264 (yuv420p) at ``fps`` into ``output`` atomically, with ``audio_from``'s audio
    stream copied unchanged (cut to the frames' duration)."""
    av = _pyav()
    with images.atomic_path(output, ".mp4") as tmp, av.open(str(tmp), "w") as out:
        first = images.open_image(frames[0])
        stream = out.add_stream("libx264", rate=fps, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = first.width, first.height, "yuv420p"
        source = av.open(str(audio_from)) if audio_from is not None else None
        audio = out.add_stream_from_template(source.streams.audio[0]) if source else None
        for path in frames:
            out.mux(stream.encode(av.VideoFrame.from_image(images.open_image(path))))
        out.mux(stream.encode())
        if source is not None:
            duration = len(frames) / fps
            for packet in source.demux(source.streams.audio[0]):
                if packet.dts is None or packet.pts * packet.time_base >= duration:
                    continue
                packet.stream = audio
                out.mux(packet)
            source.close()
    return output


def read_frames(path, size=None):
    """Every frame of a video file or folder as a (N, 3, H, W) tensor (tests, notebooks, benchmarks)."""
    return torch.cat([images.as_tensor(picture, size, "frame") for picture in Frames(path)])


def _pyav():
    return need("av", "stylekit video")


def _size(image):
    return [image.shape[-1], image.shape[-2]]


def _is_mp4(output):
    return output.suffix.lower() == ".mp4"


def _rate(fps):
    """A frame rate as the fraction video files store: 29.97 -> 2997/100 (not the float's exact binary value)."""
    return Fraction(fps).limit_denominator(1001)
