"""Masks for video, one per style: a greyscale image (the same for every frame) or 'person' / 'background', the
person found in each frame (``stylekit.segment``) and kept steady across frames.

A segmentation made frame by frame flickers: two nearly equal frames give masks that differ at their edges, and a
limb may come and go. So a frame's person mask is the previous frame's, warped by the optical flow the styling
computes anyway, averaged with the one found in this frame where that flow is reliable (c = 1):
m_t = s_t + KEEP · c · (warp(m_{t−1}) − s_t), an exponential average that moves with the scene, held within BAND of
s_t's edge: the flow is least right at a moving person's edge, and its errors must not pile up into a trail. A
frame in which no person is found keeps the warped previous mask; a clip whose first frame shows none is refused
before any frame is styled. The steady masks are kept in the work folder (``masks/``): a rerun continues from them.
"""

import hashlib
import warnings
from pathlib import Path

import numpy as np
import torch

from .. import images
from ..errors import ImageError, SettingsError
from ..segment import NAMES

KEEP = 0.7  # share of the warped previous mask where the flow is reliable: about three frames' memory
BAND = 0.03  # of the frame's longest side: how far the steady mask may stray from the one found in the frame


class FrameMasks:
    """``mask`` as ``video`` takes it: None, one mask or a list, one per style (a fast model: one)."""

    def __init__(self, mask, styles):
        self.given = images.as_list(mask)
        if self.given and len(self.given) != styles:
            raise SettingsError(f"give one mask per style: {len(self.given)} masks for {styles} styles")
        for source in self.given:
            if _named(source):
                continue
            images.check_source(source, "mask")
            if isinstance(source, (str, Path)) and not Path(source).exists():
                raise ImageError(f"mask {source}: no such file, nor one of {', '.join(NAMES)}")
            if isinstance(source, (str, Path)):
                images.open_image(source)  # a file that is not an image is refused now, not at frame 1
        self.person = any(map(_named, self.given))
        self.source, self._first, self._files, self._told = None, None, {}, False

    def start(self, frame, clip):
        """Finds the person in ``clip``'s first frame: a clip without one is refused, and what found the person is
        recorded in the run's settings."""
        try:
            self._first, self.source = _segment(frame, "frame 1")
        except ImageError as e:
            raise ImageError(f"{clip}: {e}") from None

    def describe(self):
        """The masks for the work folder's settings (names, file paths, a digest of an image given in memory) and
        what found the person: a rerun with other masks is refused. Nothing without masks."""
        if not self.given:
            return {}
        described = {"mask": [m if isinstance(m, (str, Path)) else _digest(m) for m in self.given]}
        return {**described, "mask_source": self.source} if self.person else described

    def steady(self, frame, number, warped=None, reliable=None):
        """Frame ``number``'s person mask (1, 1, H, W), or None without a person mask. ``warped``: the previous
        frame's, warped onto this one; ``reliable``: where that warp can be trusted (None for the first frame)."""
        if not self.person:
            return None
        if warped is None:
            return self._first
        try:
            found, _ = _segment(frame, f"frame {number}")
        except ImageError:
            if not self._told:
                warnings.warn(f"no person found in frame {number}; such frames keep the previous frame's mask, "
                              "moved with the scene", stacklevel=2)  # fmt: skip
                self._told = True
            return warped
        steady = found + KEEP * reliable * (warped - found)
        band = max(1, round(BAND * max(found.shape[-2:])))
        grown = torch.nn.functional.max_pool2d(found, 2 * band + 1, stride=1, padding=band)
        shrunk = -torch.nn.functional.max_pool2d(-found, 2 * band + 1, stride=1, padding=band)
        return torch.minimum(torch.maximum(steady, shrunk), grown)

    def placed(self, person, like):
        """One (1, 1, H, W) mask per style for a frame shaped ``like``, or None without masks."""
        if not self.given:
            return None
        height, width = like.shape[-2:]
        named = {"person": person, "background": None if person is None else 1 - person}
        for i, source in enumerate(self.given):  # a file is read once: its mask is the same for every frame
            if not _named(source) and i not in self._files:
                self._files[i] = images.load_mask(source, width, height)
        return [named[m] if _named(m) else self._files[i] for i, m in enumerate(self.given)]


def _named(source):
    return isinstance(source, str) and source in NAMES


def _segment(frame, name):
    from ..segment import segment  # here: the classical path imports scikit-image and OpenCV

    found = segment(frame, name=name)
    return found.person.detach().float().cpu(), found.source


def _digest(image):
    data = image.detach().cpu().numpy().tobytes() if torch.is_tensor(image) else np.asarray(image).tobytes()
    return "image sha256:" + hashlib.sha256(data).hexdigest()[:16]
