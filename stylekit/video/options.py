"""``VideoOptions``: what ``video`` takes beside transfer's settings, with its help texts and checks."""

import dataclasses
import math
from dataclasses import dataclass

from .. import images
from ..errors import SettingsError
from ..settings import option


@dataclass(frozen=True)
class VideoOptions:
    """The frames' size, the steps and early stop of later frames, and how much each follows the previous one.
    ``steps_first``, ``steps`` and ``early_stop`` are checked with transfer's settings (``FrameStyler``): what
    they allow depends on the preset."""

    size: object = option(512, "longest side N, or WxH (default 512)")
    temporal_weight: float = option(30.0, "lambda of the temporal loss (0: off)")
    steps_first: object = option(None, "steps of the first frame (default: the preset's)")
    steps: int = option(12, "steps of every later frame (default 12)")
    early_stop: float = option(0.02, "later frames end when the loss stalls")
    blend: float = option(0.7, "with --model: share of the warped previous frame")
    fps: float = option(None, "frame rate of a folder of frames (default 24)")

    @classmethod
    def split(cls, settings):
        """(the options named in ``settings``, the rest: transfer's settings)."""
        names = {f.name for f in dataclasses.fields(cls)}
        own = {name: value for name, value in settings.items() if name in names}
        return cls(**own), {name: value for name, value in settings.items() if name not in names}

    def check(self):
        """Returns self, or raises ``SettingsError`` naming the first bad value: before any frame is styled, not
        at frame 1 or 2."""
        images.check_size(self.size)
        if not (_number(self.temporal_weight) and self.temporal_weight >= 0):
            raise SettingsError(f"temporal_weight must be a finite number >= 0, not {self.temporal_weight!r}")
        if not (_number(self.blend) and 0 <= self.blend <= 1):
            raise SettingsError(f"blend must be between 0 and 1, not {self.blend!r}")
        if self.fps is not None and not (_number(self.fps) and self.fps > 0):
            raise SettingsError(f"fps must be a finite number > 0, not {self.fps!r}")
        return self


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
