"""Images in and out: any file Pillow reads -> RGB float tensor (1, 3, H, W) in [0, 1] -> PNG."""

import hashlib
import io
import json
import numbers
import os
import uuid
import warnings
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter, ImageOps, PngImagePlugin

from .device import check_fits
from .errors import ImageError, SettingsError, StylekitError

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}  # what a folder of images is read for
SETTINGS_KEY = "stylekit"  # PNG text chunk holding the run's settings as JSON


class WriteError(StylekitError, OSError):
    """A file cannot be written (a full disk, a read-only folder, a folder in its place): one line, and still an
    ``OSError`` for callers that catch those."""


def load_image(path, size=None):
    """Reads ``path`` as RGB in [0, 1], shape (1, 3, H, W).

    ``size``: None keeps the file's size; an int sets the longest side; (width, height) sets both.
    EXIF orientation is applied; transparency is composited onto white.
    """
    return to_tensor(resize(open_image(path), size))


def open_image(source, name=None):
    """A path or a binary file (an upload) as an RGB ``PIL.Image``, or an ``ImageError`` that says what is wrong.

    ``name`` labels the errors (default: the path). Every image a user gives comes through here: EXIF
    orientation is applied, and a decompression bomb is refused before it is decoded.
    """
    name = name or str(source)
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise ImageError(f"{name}: no such file")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its pixel limit; a style-transfer input that big is a mistake too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                img.load()
                return to_rgb(ImageOps.exif_transpose(img))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{name}: more than {Image.MAX_IMAGE_PIXELS} pixels, refusing a possible decompression bomb"
        ) from None
    except Image.UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read") from None
    except OSError as e:  # truncated or corrupt data, permissions
        raise ImageError(f"{name}: cannot read image ({e})") from None


def to_rgb(img):
    """Any Pillow mode as RGB: 16-bit scaled, not clipped; transparency onto white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: Pillow's convert('L') clips instead of scaling.
        a = np.asarray(img, dtype=np.float64)
        scale = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        img = Image.fromarray(np.clip(a / scale * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def target_size(width, height, size):
    """(width, height) for ``size``: None keeps them, an int sets the longest side, a pair sets both."""
    if size is None:
        return width, height
    if isinstance(size, int):
        scale = size / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))
    return tuple(size)


def resize(img, size):
    size = target_size(img.width, img.height, size)
    return img if size == img.size else img.resize(size, Image.LANCZOS)


MIN_SIDE = 16  # px: VGG halves an image four times before relu5_1; smaller inputs leave it nothing to see
MAX_UPSCALE = 4  # enlarging more than this invents detail the transfer then treats as content or style


def check_source(source, name):
    """Refuses what cannot be an image (a number, a list where one image goes): files, PIL images and tensors pass."""
    if not isinstance(source, (str, Path, Image.Image)) and not torch.is_tensor(source):
        raise ImageError(f"the {name} image must be a file path, a PIL image or a (1, 3, H, W) tensor, not "
                         f"{type(source).__name__}")  # fmt: skip
    return source


def check_pixels(width, height, name, copies=2):
    """Refuses a ``width``×``height`` image that ``copies`` float copies (and Pillow's own) could not fit in the free
    memory: a size or style scale typed too large ends in one line, not a MemoryError after minutes."""
    check_fits(width * height * 3 * (4 * copies + 1), torch.device("cpu"), f"the {name} image at {width}×{height} px")


def as_tensor(source, size, name="image"):
    """A path, a PIL image or a (…, 3, H, W) tensor in [0, 1] as a (1, 3, H, W) tensor of ``size``.

    Refuses images under ``MIN_SIDE`` px on their shorter side; warns when one is enlarged more than
    ``MAX_UPSCALE`` times (a blurry input gives a blurry result).
    """
    check_size(size)
    check_source(source, name)
    if torch.is_tensor(source):
        if source.dim() < 3 or source.shape[-3] != 3 or source.numel() != 3 * source.shape[-2] * source.shape[-1]:
            raise ImageError(f"the {name} image is a tensor of shape {tuple(source.shape)}, not (1, 3, H, W)")
        image = source.detach().float().reshape(1, 3, *source.shape[-2:])
        if not torch.isfinite(image).all():
            raise ImageError(f"the {name} image has NaN or infinite values")
        width, height = image.shape[-1], image.shape[-2]
    else:
        image = open_image(source) if isinstance(source, (str, Path)) else to_rgb(source)
        width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"the {name} image is {width}×{height} px; images need at least {MIN_SIDE} px on their "
            f"shorter side, or VGG's deeper layers have nothing to describe"
        )
    target = target_size(width, height, size)
    check_pixels(*target, name)
    if max(target) > MAX_UPSCALE * max(width, height):
        warnings.warn(
            f"the {name} image is only {width}×{height} px: enlarged more than {MAX_UPSCALE}×, "
            "it gives a blurry result",
            stacklevel=3,
        )
    return resize_tensor(image, target) if torch.is_tensor(image) else to_tensor(resize(image, target))


def check_side(image, label, smallest, needs, size=None):
    """Refuses ``image`` (a tensor, resized for a run) when its shorter side is under ``smallest`` px: the one message
    of every front door, naming the image (``label``), its size, and what ``needs`` more."""
    width, height = image.shape[-1], image.shape[-2]
    if min(width, height) < smallest:
        at = "" if size is None else f" at size {size!r}"
        raise ImageError(f"{label} is {width}×{height} px{at}; {needs} needs at least {smallest} px per side")


def as_list(images):
    """One image (or None) or several, as a list: styles and masks come either way."""
    return [] if images is None else list(images) if isinstance(images, (list, tuple)) else [images]


def file_names(**inputs):
    """The inputs given as files, for a result's settings (a PNG's metadata): {name: path, or [paths] for a list};
    an input that is not all files (an image in memory) is left out."""
    named = {}
    for name, value in inputs.items():
        files = [str(x) for x in as_list(value) if isinstance(x, (str, Path))]
        if files and len(files) == len(as_list(value)):
            named[name] = files if isinstance(value, (list, tuple)) else files[0]
    return named


def check_outputs(outputs, inputs):
    """Refuses, before any work, an output that is one of the ``inputs`` (those that are files) or that two outputs
    share: a run never overwrites what it reads, nor one of its results with another."""
    taken = {Path(p).resolve() for p in inputs if isinstance(p, (str, Path)) and Path(p).exists()}
    seen = set()
    for output in map(Path, outputs):
        where = output.resolve()
        if where in taken:
            raise StylekitError(f"output {output} is also an input; choose another name")
        if where in seen:
            raise StylekitError(f"two outputs would both write {output}: rename one of the inputs")
        seen.add(where)


def check_size(size):
    """``size`` if it is None, a positive int or (width, height) of them; else a ``SettingsError``."""

    def side(value):
        return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1

    if size is None or side(size) or (isinstance(size, (list, tuple)) and len(size) == 2 and all(map(side, size))):
        return size
    raise SettingsError(f"size must be a positive integer or [width, height], not {size!r}")


def resize_tensor(image, like):
    """``image`` resized to ``like``'s height and width (a tensor) or to (width, height)."""
    width, height = (like.shape[-1], like.shape[-2]) if torch.is_tensor(like) else like
    if image.shape[-2:] == (height, width):
        return image
    return torch.nn.functional.interpolate(
        image, size=(height, width), mode="bicubic", antialias=True, align_corners=False
    ).clamp(0, 1)


def load_mask(source, width, height):
    """A greyscale mask (1, 1, H, W) in [0, 1] at ``width``×``height``, its edges softened so regions blend.

    ``source`` is a path, a PIL image or a tensor. It is resized like the content image; a mask of
    another shape than the content is stretched to fit, with a warning.
    """
    check_source(source, "mask")
    if torch.is_tensor(source):
        grey = source.detach().float().reshape(-1, *source.shape[-2:]).mean(0)  # (H, W), (1, H, W) or RGB
        img = to_pil(grey.expand(3, *grey.shape))
    else:
        img = open_image(source) if isinstance(source, (str, Path)) else to_rgb(source)
    if abs(img.width / img.height - width / height) > 0.02:
        warnings.warn(
            f"the mask is {img.width}×{img.height} px, not the content's shape; stretched to {width}×{height}",
            stacklevel=4,
        )
    grey = img.convert("L").resize((width, height), Image.BILINEAR)
    grey = grey.filter(ImageFilter.GaussianBlur(radius=max(width, height) / 100))
    return torch.from_numpy(np.asarray(grey, dtype=np.float32) / 255)[None, None]


def to_tensor(img):
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(image):
    """(1, 3, H, W) or (3, H, W) tensor in [0, 1] -> RGB ``PIL.Image``."""
    a = image.detach().float().cpu().squeeze(0).clamp(0, 1).permute(1, 2, 0).numpy()
    return Image.fromarray((a * 255 + 0.5).astype(np.uint8), "RGB")


def png_bytes(image):
    """A (1, 3, H, W) tensor as PNG file contents (previews, notebooks)."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def fingerprint(image):
    """A key for a tensor's pixels (shape, device and a hash of the values): the same picture made twice is the
    same key, so work on it can be kept."""
    values = image.detach().float().cpu().contiguous().numpy().tobytes()
    return tuple(image.shape), str(image.device), hashlib.blake2b(values, digest_size=16).digest()


@contextmanager
def atomic_path(path, suffix=""):
    """A temporary path beside ``path`` to write to, renamed to ``path`` when the block ends and removed if it
    fails: no reader, and no crash, ever leaves half a file. ``suffix``: for writers that go by the extension."""
    path = Path(path)
    # Same folder, so the rename is atomic; a unique name, so concurrent writers do not meet.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        with suppress(OSError):  # on a read-only or full file system the clean-up can fail too: the cause is e
            tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, StylekitError):  # a full disk, a read-only folder, ...
            raise WriteError(f"cannot write {path}: {e.strerror or e}") from e
        raise


def save_png(image, path, settings=None):
    """Writes a PNG atomically with ``settings`` as JSON text metadata."""
    info = PngImagePlugin.PngInfo()
    if settings is not None:
        info.add_text(SETTINGS_KEY, json.dumps(settings, sort_keys=True))
    # Opened with "x" so the umask applies as for any new file.
    with atomic_path(path) as tmp, open(tmp, "xb") as f:
        to_pil(image).save(f, format="PNG", pnginfo=info)
    return Path(path)


# What ``save_image`` writes for a suffix: PNG keeps the settings; the others are for sharing the picture.
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF",
           ".tiff": "TIFF"}  # fmt: skip


def save_image(image, path, settings=None):
    """Writes ``image`` atomically in the format ``path``'s suffix names: a PNG with ``settings`` (``save_png``), or
    JPEG, WebP, BMP or TIFF without them; any other suffix is refused before anything is written."""
    kind = FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise SettingsError(
            f"{path}: cannot write a {Path(path).suffix or 'suffix-less'} file; use {', '.join(FORMATS)}"
        )
    if kind == "PNG":
        return save_png(image, path, settings)
    with atomic_path(path) as tmp, open(tmp, "xb") as f:
        to_pil(image).save(f, format=kind, **({"quality": 95} if kind in ("JPEG", "WEBP") else {}))
    return Path(path)


def read_settings(path):
    """The settings a stylekit PNG was made with (``save_png``'s metadata)."""
    try:
        with Image.open(path) as img:
            text = getattr(img, "text", {}).get(SETTINGS_KEY)
    except OSError as e:
        raise ImageError(f"{path}: cannot read image ({e})") from None
    if text is None:
        raise ImageError(f"{path}: has no stylekit settings")
    try:
        settings = json.loads(text)
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise ImageError(f"{path}: its stylekit settings are damaged (not a JSON object)")
    return settings
