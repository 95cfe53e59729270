"""``video``: a clip's frames styled one after another into an .mp4 or a folder. Finished frames are kept as PNGs
in a work folder beside the output (``styled.frames``): a rerun with the same settings continues where the last
one stopped.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

from .. import images
from ..errors import ImageError, StylekitError
from ..steps import Steps
from .frames import Frames, pyav, write_mp4
from .options import VideoOptions
from .styler import FrameStyler

OTHER_VIDEO = {".avi", ".mov", ".mkv", ".webm", ".gif", ".m4v", ".mpg", ".wmv"}  # outputs are .mp4 or a folder


@dataclass
class VideoResult:
    output: Path
    frames: int  # frames in the output
    seconds: list  # per frame styled in this run: its wall time, flow included
    stopped: str = None  # None, or 'interrupted' / 'stopped' (the output then has the frames done so far)


def video(source, style, output, preset="default", *, model=None, mask=None, progress=True, stop=None, **settings):
    """Styles every frame of ``source`` (a video file or a folder of frames) into ``output`` (.mp4, or a folder).

    ``settings``: ``VideoOptions``' and transfer's. With ``transfer`` (default): the first frame gets
    ``steps_first`` (default: the preset's schedule), later frames ``steps`` at full size, starting from the
    previous result warped by the flow, with a temporal loss of weight ``temporal_weight`` (relative squared
    difference to that warped frame where the flow is reliable; 0 turns it off) and ``early_stop``. With
    ``model`` (a fast model or its file or name): each frame is stylised, then blended with the warped previous
    result, ``blend`` of it where reliable. ``mask``: one per style (a fast model: one), a greyscale image (the same
    for every frame) or 'person' / 'background': the person found in each frame, kept steady by the flow
    (``masks.py``); a fast model's frame is then the photo where the mask is black. ``stop`` (a
    ``threading.Event``) ends the run after the current frame; Ctrl-C drops the current frame. Either way the
    output holds the frames done, and a rerun continues.
    """
    options, settings = VideoOptions.split(settings)
    styler = FrameStyler(style, preset, model, options.check(), settings, mask)
    pyav()  # PyAV and OpenCV are refused before any frame is styled, not at the second frame or the end
    from .flow import opencv  # here, not at the top: `import stylekit` must not import OpenCV

    opencv()
    frames, output = Frames(source, options.fps), Path(output)
    if styler.masks.person:  # found in the first frame before any work: a clip without a person is refused here
        styler.masks.start(_frame_tensor(next(iter(frames)), options.size, 1, None), source)
    work = _work_folder(output, source, styler.describe())
    seconds, stopped = _style_frames(frames, styler, work, progress, stop)
    done = sorted(work.glob("[0-9]*.png"))
    if not done and stopped == "interrupted":
        raise KeyboardInterrupt  # before the first frame: nothing to write, and the caller stops as for any Ctrl-C
    if not done:
        raise StylekitError("stopped before the first frame was done; nothing written")
    if _is_mp4(output):
        write_mp4(done, frames.fps, output, frames.source if frames.audio else None)
    return VideoResult(output, len(done), seconds, stopped)


def _style_frames(frames, styler, work, progress, stop):
    """(seconds per frame styled, None or why the run stopped): each frame not in ``work`` yet, styled into it, its
    person mask (if any) into ``work``/masks."""
    previous = None
    with Steps(frames.count, stop=stop, progress=progress, desc="video", unit="frame") as steps:
        for count, picture in enumerate(frames, start=1):
            path, mask_path = work / f"{count:06d}.png", work / "masks" / f"{count:06d}.png"
            current = _frame_tensor(picture, styler.options.size, count, previous)
            if path.exists():  # done by an earlier run
                person = images.load_image(mask_path)[:, :1] if styler.masks.person else None
                previous = (images.load_image(path), current, person)
                steps.advance()
                continue
            started = time.perf_counter()
            done = styler(current, count, previous)
            if done is None:  # Ctrl-C in the middle of this frame: it is dropped
                raise KeyboardInterrupt
            styled, person = done
            if person is not None:  # before the frame: a frame done always has its mask
                mask_path.parent.mkdir(exist_ok=True)
                images.save_png(person.expand(-1, 3, -1, -1), mask_path)
            images.save_png(styled, path)
            steps.record({"frame": time.perf_counter() - started})  # styling, flow and saving: the frame's own time
            previous = (styled, current, person)
            if steps.stopped():
                break
    return steps.history.get("frame", []), steps.ended


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


def _work_folder(output, source, described):
    """The folder that keeps finished frames, made or checked: a rerun must use the same settings."""
    if output.suffix.lower() in OTHER_VIDEO:
        raise StylekitError(f"output must be an .mp4 file or a folder for the frames, not {output}")
    if not output.parent.is_dir():
        raise StylekitError(f"output folder {output.parent} does not exist")
    work = output.with_name(output.stem + ".frames") if _is_mp4(output) else output
    images.check_outputs(dict.fromkeys([output, work]), [source])  # the frames done are never the frames read
    if work.exists() and not work.is_dir():
        raise StylekitError(f"{work} is a file; the output must be an .mp4 file or a folder for the frames")
    described = json.dumps(dict(source=str(source), **described), sort_keys=True, default=str)
    record = work / "settings.json"
    if record.exists() and record.read_text() != described:
        raise StylekitError(f"{work} holds frames made with other settings; delete it or use another output")
    try:
        work.mkdir(exist_ok=True)
        record.write_text(described)
    except OSError as e:  # a read-only folder, a full disk
        raise images.WriteError(f"cannot write {record}: {e.strerror or e}") from e
    return work


def _is_mp4(output):
    return output.suffix.lower() == ".mp4"
