"""Fast style transfer (Johnson et al. 2016): a network trained once per style, then one forward pass per photo.

``TransformNet`` is the network; ``FastModel`` is a trained one with what made it (saved as one file);
``stylize`` applies it. Training is in train.py: the same ``losses.Objective`` as ``transfer``, with the
network's weights as the variables instead of the pixels.
"""

import functools
import time
from pathlib import Path

import torch
from torch import nn

from . import colour, images
from .device import pick_device, pick_dtype
from .errors import ImageError, StylekitError
from .result import Result
from .samples import DATA

FORMAT, VERSION = "stylekit-fast", 2  # a model file names itself; VERSION changes when TransformNet does
SHIPPED = DATA / "models"  # models this project trained (data/README.md says how)
THUMBNAIL = 160  # px: the style's picture kept in a model file, for the playground


def _conv(c_in, c_out, kernel, stride=1):
    # Reflection padding: zero padding would darken a border the network then learns to paint.
    return nn.Sequential(nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride))


def _conv_norm_relu(c_in, c_out, kernel, stride=1, upsample=False):
    # Upsampling as nearest-neighbour resize + conv: transposed convolutions leave a checkerboard (Odena et al.).
    resize = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
    return nn.Sequential(*resize, _conv(c_in, c_out, kernel, stride), nn.InstanceNorm2d(c_out, affine=True), nn.ReLU())


class _Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        norm = nn.InstanceNorm2d(channels, affine=True)
        self.body = nn.Sequential(_conv_norm_relu(channels, channels, 3), _conv(channels, channels, 3), norm)

    def forward(self, x):
        return x + self.body(x)


class TransformNet(nn.Sequential):
    """Photo (N, 3, H, W) in [0, 1] -> stylised image, same size: 9×9 conv, two stride-2 convs down, five residual
    blocks at a quarter of the size, two upsampling convs, 9×9 conv out; instance normalisation (Ulyanov et al.),
    which makes the result independent of the photo's contrast. 1.68 M parameters.

    A sigmoid keeps the output in [0, 1], so training scores the image ``stylize`` returns: trained unbounded and
    clamped afterwards (version 1), 7% of a mosaic model's pixels fell outside and clamping them raised its judged
    style error by 41% (docs/performance.md: Fast models)."""

    def __init__(self):
        super().__init__(
            _conv_norm_relu(3, 32, 9),
            _conv_norm_relu(32, 64, 3, stride=2),
            _conv_norm_relu(64, 128, 3, stride=2),
            *[_Residual(128) for _ in range(5)],
            _conv_norm_relu(128, 64, 3, upsample=True),
            _conv_norm_relu(64, 32, 3, upsample=True),
            _conv(32, 3, 9),
        )

    def forward(self, photo):
        # Two halvings and two doublings: pad to a multiple of 4, crop back, so any size comes out as it went in.
        height, width = photo.shape[-2:]
        padded = nn.functional.pad(photo, (0, -width % 4, 0, -height % 4), mode="reflect")
        return torch.sigmoid(super().forward(padded)[..., :height, :width])


class FastModel:
    """A trained ``TransformNet`` with the style's name and a thumbnail of it, the training settings and the loss
    record (``history``: each loss term and 'seconds', one entry per step)."""

    def __init__(self, net, style, settings, history, thumbnail=None):
        self.net, self.style, self.settings, self.history = net.eval(), style, settings, history
        self.thumbnail = thumbnail  # (1, 3, h, w) in [0, 1], longest side THUMBNAIL
        self.stopped = None  # why training stopped early, or None

    def __repr__(self):
        return f"FastModel(style={self.style!r}, steps={len(self.history['total'])}, size={self.settings['size']})"

    def save(self, path, extra=None, dtype=torch.float16):
        """Writes the model atomically (never a half-written file): weights in fp16 (half the file, no visible
        difference) and plain data. A training checkpoint keeps fp32 weights and adds ``extra`` entries."""
        weights = {k: v.detach().to("cpu", dtype) for k, v in self.net.state_dict().items()}
        thumbnail = None if self.thumbnail is None else (self.thumbnail * 255).round().to(torch.uint8)
        meta = dict(style=self.style, settings=self.settings, history=self.history, thumbnail=thumbnail)
        _atomic_save(dict(format=FORMAT, version=VERSION, weights=weights, **meta, **(extra or {})), path)
        return Path(path)


def shipped_models():
    return sorted(p.stem for p in SHIPPED.glob("*.pt"))


def load_fast(path, device="auto"):
    """A model file saved by ``FastModel.save`` (or a training checkpoint), or a shipped model's name ('mosaic').
    Anything else: a one-line ``StylekitError``."""
    return _read(_located(path), device)[0]


def cached_fast(path, device="auto"):
    """``load_fast`` once per process and model file: the playground and batch runs style many photos with one. A
    file written again since (a model retrained under the same name) is read again."""
    located = _located(path)
    stamp = (located.stat().st_ino, located.stat().st_mtime_ns) if located.is_file() else None  # saves: new files
    return _cached_fast(located, device, stamp)


@functools.lru_cache(maxsize=8)
def _cached_fast(path, device, stamp):
    return load_fast(path, device)


def _located(path):
    """The file ``path`` names: itself, or a shipped model's file when it is a shipped model's name."""
    shipped = SHIPPED / f"{path}.pt"
    return Path(path) if Path(path).is_file() or not shipped.is_file() else shipped


def _read(path, device="auto"):
    """(the model, everything in the file): a checkpoint's optimiser state is among the latter."""
    path = Path(path)
    if not path.is_file():
        raise StylekitError(f"{path}: no such model file (shipped models: {', '.join(shipped_models()) or 'none'})")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # pickle, zip and unpickling errors all mean the same to a user
        raise StylekitError(f"{path}: not a stylekit fast model (unreadable as one)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StylekitError(f"{path}: not a stylekit fast model")
    if data.get("version") != VERSION:
        raise StylekitError(
            f"{path}: a fast model of format version {data.get('version')}; this stylekit reads version {VERSION}"
        )
    try:
        net = TransformNet()
        net.load_state_dict({k: v.float() for k, v in data["weights"].items()})
        thumbnail = None if data.get("thumbnail") is None else data["thumbnail"].float() / 255
        style, settings, history = data["style"], data["settings"], data["history"]
    except (KeyError, AttributeError, TypeError, ValueError, RuntimeError) as e:  # entries missing or of other shapes
        raise StylekitError(f"{path}: a damaged stylekit fast model ({type(e).__name__} reading its weights)") from None
    model = FastModel(net.to(pick_device(device)), style, settings, history, thumbnail)
    return model, data


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
    photo = images.as_tensor(image, size, "photo").to(device)
    if min(photo.shape[-2:]) < images.MIN_SIDE:
        raise ImageError(
            f"the photo is {photo.shape[-1]}×{photo.shape[-2]} px at size {size!r}; a fast model needs at least "
            f"{images.MIN_SIDE} px per side"
        )
    started = time.perf_counter()
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        styled = model.net(photo).float()
        if colours == "luminance":
            styled = colour.with_chroma(styled, photo)
        styled = (strength * styled + (1 - strength) * photo).cpu()
    seconds = time.perf_counter() - started
    settings = dict(fast_model=model.style, size=size, strength=strength, colours=colours)
    if isinstance(image, (str, Path)):
        settings["content"] = str(image)
    return Result(styled, {"seconds": [seconds], "passes": [0.0]}, settings)


def check_options(strength=1.0, colours="style", size=512):
    """Refuses what ``stylize`` cannot do, before any photo is read (batch runs check once for all items)."""
    if not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
        raise StylekitError(f"strength must be between 0 and 1, not {strength!r}")
    if colours not in ("style", "luminance"):
        raise StylekitError(f"colours must be style or luminance for a fast model, not {colours!r}")
    images.check_size(size)


def _atomic_save(data, path):
    with images.atomic_path(path) as tmp:
        torch.save(data, tmp)
