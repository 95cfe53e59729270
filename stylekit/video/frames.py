"""Frames in and out. In: a video file or a folder of images (sorted by name), frame by frame. Out: PNG frames
encoded as H.264 in yuv420p, with the source's audio copied unchanged. Video files go through PyAV (FFmpeg inside
its wheel), imported when first used: ``import stylekit`` does not need it.
"""

from fractions import Fraction
from pathlib import Path

import torch

from .. import images
from ..errors import ImageError, need

DEFAULT_FPS = 24  # a folder of frames has no frame rate of its own


def pyav():
    """PyAV, or a ``MissingExtra`` naming the extra that brings it."""
    return need("av", "stylekit video")


class Frames:
    """A video file or a folder of images (sorted by name), read frame by frame as RGB ``PIL.Image``s."""

    def __init__(self, source, fps=None):
        self.source = Path(source)
        if self.source.is_dir():
            self.files = sorted(p for p in self.source.iterdir() if p.suffix.lower() in images.SUFFIXES)
            if not self.files:
                raise ImageError(f"{source}: a folder without image frames")
            self.fps, self.count, self.audio = _rate(fps or DEFAULT_FPS), len(self.files), False
            return
        self.files = None
        if not self.source.is_file():
            raise ImageError(f"{source}: no such file or folder")
        av = pyav()
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
        av = pyav()
        try:
            with av.open(str(self.source)) as container:
                for frame in container.decode(video=0):
                    yield frame.to_image()
        except av.FFmpegError as e:
            raise ImageError(f"{self.source}: cannot decode a frame ({e.strerror or type(e).__name__})") from None


def read_frames(path, size=None):
    """Every frame of a video file or folder as a (N, 3, H, W) tensor (tests, notebooks, benchmarks)."""
    return torch.cat([images.as_tensor(picture, size, "frame") for picture in Frames(path)])


def write_mp4(frames, fps, output, audio_from=None):
    """Encodes PNG ``frames`` as H.264 (yuv420p) at ``fps`` into ``output`` atomically, with ``audio_from``'s audio
    stream copied unchanged (cut to the frames' duration)."""
    av = pyav()
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


def _rate(fps):
    """A frame rate as the fraction video files store: 29.97 -> 2997/100 (not the float's exact binary value)."""
    return Fraction(fps).limit_denominator(1001)
