"""``stylize``: a photo through a fast model, one forward pass."""

import time

import torch

from .. import colour, images
from ..device import pick_dtype
from ..errors import StylekitError
from ..memory import check_inference
from ..result import Result
from .model import FastModel, load_fast


def stylize(model, image, size=512, strength=1.0, colours="style", precision="auto"):
    """``image`` (path, PIL image or tensor) through ``model`` (a ``FastModel``, a file or a shipped model's name)
    at ``size`` (longest side, or [width, height]).

    ``strength`` blends the stylised image with the photo (0: the photo, 1: the network's output);
    ``colours='luminance'`` keeps the photo's colours (the stylised image's lightness, the photo's chroma).
    Returns a ``Result`` whose ``seconds`` is the forward pass alone.
    """
    model = model if isinstance(model, FastModel) else load_fast(model)
    check_options(strength, colours, size)
    device = next(model.net.parameters()).device
    dtype = pick_dtype(precision, device)
    photo = images.as_tensor(image, size, "photo")
    check_inference(photo.shape[-1], photo.shape[-2], device, "a fast model")
    photo = photo.to(device)
    images.check_side(photo, "the photo", images.MIN_SIDE, "a fast model", size)
    started = time.perf_counter()
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        styled = model.net(photo).float()
        if colours == "luminance":
            styled = colour.with_chroma(styled, photo)
        styled = (strength * styled + (1 - strength) * photo).cpu()
    seconds = time.perf_counter() - started
    settings = recorded_settings(model.style, image, size, strength, colours)
    return Result(styled, {"seconds": [seconds], "passes": [0.0]}, settings)


def recorded_settings(style, image, size=512, strength=1.0, colours="style"):
    """What ``stylize`` records in its result (and PNG): a batch run compares it to skip what is done."""
    return dict(fast_model=style, size=size, strength=strength, colours=colours, **images.file_names(content=image))


def check_options(strength=1.0, colours="style", size=512):
    """Refuses what ``stylize`` cannot do, before any photo is read (batch runs check once for all items)."""
    if not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
        raise StylekitError(f"strength must be between 0 and 1, not {strength!r}")
    if colours not in ("style", "luminance"):
        raise StylekitError(f"colours must be style or luminance for a fast model, not {colours!r}")
    images.check_size(size)
