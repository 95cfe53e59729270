"""One frame after another: through ``transfer`` (the first with the preset's full schedule, later ones from the
previous result warped by the flow, with few steps, an early stop and the temporal loss) or through a fast model,
whose outputs are blended with the warped previous result instead. With masks (masks.py) the style goes only
where they are white: a fast model's frame is the photo elsewhere.
"""

import dataclasses
from pathlib import Path

import torch

from .. import colour, images
from ..errors import SettingsError
from ..fast import FastModel, load_fast, stylize
from ..segment import REGIONS
from ..settings import Settings, resolve
from ..transfer import transfer
from .masks import FrameMasks
from .temporal import TemporalLoss


class FrameStyler:
    """Styles a clip's frames with ``style`` (or ``model``: a fast model, or its file or name), ``preset``,
    video's ``options``, transfer's ``settings`` and ``mask`` (``FrameMasks``). What can be refused is refused
    when it is made, so a bad setting, model, style or mask leaves nothing behind."""

    def __init__(self, style, preset, model, options, settings, mask=None):
        if style is None and model is None:
            raise SettingsError("give a style image or a fast model")
        self.style, self.preset, self.options, self.settings = style, preset, options, settings
        self.masks = FrameMasks(mask, 1 if model is not None else len(images.as_list(style)))
        self.named = None if model is None else str(getattr(model, "style", model))
        if model is None:
            self._check_runs()
        self.model = load_fast(model) if model is not None and not isinstance(model, FastModel) else model
        for path in [] if model is not None else style if isinstance(style, (list, tuple)) else [style]:
            if isinstance(path, (str, Path)):
                images.open_image(path)

    def describe(self):
        """What decides the styled frames, as JSON-able data (the frame rate decides none of them)."""
        options = {k: v for k, v in dataclasses.asdict(self.options).items() if k != "fps"}
        return dict(style=str(self.style), preset=self.preset, **options, model=self.named, **self.settings,
                    **self.masks.describe())  # fmt: skip

    def __call__(self, current, number, previous):
        """(``current`` (1, 3, H, W) styled on the CPU, its person mask or None), or None when Ctrl-C stopped it
        before it was finished. ``previous``: None for the first frame, else (its styled result, its input frame,
        its person mask or None)."""
        if previous is None:
            person = self.masks.steady(current, number)
            styled = self._first(current, self.masks.placed(person, current))
        else:
            styled, person = self._later(current, number, previous)
        return None if styled is None else (styled, person)

    def _later(self, current, number, previous):
        from . import flow  # here, not at the top: `import stylekit` must not import OpenCV

        styled_prev, input_prev, person_prev = previous
        back, forward = flow.flow(current, input_prev), flow.flow(input_prev, current)
        weights, warped = flow.reliable(back, forward), flow.warp(styled_prev, back)
        moved = None if person_prev is None else flow.warp(person_prev, back)
        person = self.masks.steady(current, number, moved, weights)
        masks = self.masks.placed(person, current)
        if masks:  # a pixel that entered or left a mask is not held to the previous result: it starts anew there
            before = [flow.warp(m, back) for m in self.masks.placed(person_prev, current)]
            weights = weights * (1 - torch.stack([(m - b).abs() for m, b in zip(masks, before)]).amax(0))
        if self.model is not None:
            styled = stylize(self.model, current, size=None).image
            return _only(styled + self.options.blend * weights * (warped - styled), current, masks), person
        start = weights * warped + (1 - weights) * current  # disoccluded pixels start from the photo
        target = colour.luminance(warped) if self.settings.get("colours") == "luminance" else warped
        weight = self.options.temporal_weight
        extra = {"temporal": TemporalLoss(target, weights, weight)} if weight else {}
        _, later = self._runs(self.settings)
        result = transfer(current, self.style, self.preset, mask=masks, size=_size(current), start=start,
                          extra_terms=extra, progress=False, **later)  # fmt: skip
        return None if result.stopped else result.image, person

    def _first(self, current, masks):
        if self.model is not None:
            return _only(stylize(self.model, current, size=None).image, current, masks)
        first, _ = self._runs(self.settings)
        result = transfer(current, self.style, self.preset, mask=masks, size=_size(current), progress=False, **first)
        return None if result.stopped else result.image

    def _runs(self, settings):
        """transfer's settings for the first frame and for every later one (``size``: the frame's own)."""
        o = self.options
        first = {**settings, **({} if o.steps_first is None else {"steps": o.steps_first})}
        return first, {**settings, "steps": o.steps, "scales": 1, "early_stop": o.early_stop}

    def _check_runs(self):
        """transfer's own checks, of both runs: else a bad value would surface at frame 1 or 2. Names that are not
        settings pass through to ``transfer`` (its keywords), which refuses those it does not know."""
        own = {k: v for k, v in self.settings.items() if k in Settings.__dataclass_fields__}
        sized = {} if self.options.size is None else {"size": self.options.size}  # None: the frames' own size
        for run in self._runs(own):  # the frame stands in for the content: it is there, unknown yet
            s = resolve(self.preset, {**run, **sized})
            s.check_inputs("frame", images.as_list(self.style), self.masks.given)
            if s.keep in REGIONS:  # the portrait preset's face, say
                raise SettingsError(
                    f"keep={s.keep!r} is found in a photo, not along a clip (found frame by frame, it would flicker):"
                    " give keep='' or a mask file"
                )


def _only(styled, photo, masks):
    """A fast model styles the whole frame: with a mask, the photo stays where the mask is black."""
    return styled if not masks else photo + masks[0] * (styled - photo)


def _size(image):
    return [image.shape[-1], image.shape[-2]]
