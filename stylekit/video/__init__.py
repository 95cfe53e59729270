"""Video with temporal consistency (Ruder, Dosovitskiy & Brox 2016): each frame starts from the previous result
warped by the optical flow, and a temporal loss keeps it there wherever the flow can be trusted.

    stylekit.video("clip.mp4", "painting.jpg", "styled.mp4")

Reading order: driver.py (the run and its resumable work folder) -> styler.py (one frame: transfer or a fast
model) -> flow.py (optical flow and where to trust it) and temporal.py (the loss); masks.py (a mask per style: the
person found in each frame, kept steady by the flow). frames.py reads and writes frames; options.py holds video's
own options.
"""

from .driver import VideoResult, video
from .frames import Frames, read_frames, write_mp4
from .options import VideoOptions
from .temporal import TemporalLoss

__all__ = ["Frames", "TemporalLoss", "VideoOptions", "VideoResult", "read_frames", "video", "write_mp4"]
