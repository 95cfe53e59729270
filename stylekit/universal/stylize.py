"""``universal``: any style on a photo without training for that style (Li et al. 2017), coarse to fine: at each
level, deepest first, the image is encoded, its features whitened and coloured with the style's, and decoded."""

import threading
import time
from pathlib import Path

import torch

from .. import colour, images
from ..device import pick_device, pick_dtype
from ..errors import SettingsError, StylekitError
from ..losses import blend_weights
from ..memory import check_inference
from ..regions import Regions
from ..result import Result
from ..settings import CHOICES
from ..vgg import pools_before
from ..weights import cached_vgg
from .decoder import LEVELS, Decoder, check_level, load_decoder, load_decoders
from .whiten import check_strength, statistics, whiten_colour


def universal(content, style, *, size=512, strength=1.0, levels=None, decoders=None, colours="style",
              style_blend=None, mask=None, device="auto", precision="auto"):  # fmt: skip
    """``content`` (path, PIL image or tensor in [0, 1]) at ``size`` (longest side, or [width, height]) in the style
    of ``style``, scaled to the photo's longest side: Li et al.'s multi-level whitening and colouring transform.

    Starting from the photo, each level of ``levels`` (default: every level a decoder is given or shipped for),
    deepest first, encodes the current image with VGG19, gives its features the style's mean and covariance
    (``whiten_colour``) and decodes them: the deep levels set the large shapes, the shallow ones the strokes.
    ``strength`` blends the features at every level (Li et al.'s α): 0 gives the decoders' reconstruction of
    the photo, not the photo itself. ``decoders``: None (the shipped ones), a folder of ``decoder_<level>.pt``
    files, {level: ``Decoder`` or file}, or a list of ``Decoder``.

    ``style`` may be a list: blended by ``style_blend`` (their pooled statistics, see ``whiten_colour``), or placed
    by ``mask``, one greyscale image per style, white where it applies, or ``"person"``/``"background"``: that
    region of the photo (``stylekit.segment``). ``colours``: 'style', 'match' (the style recoloured to the photo's
    colours first) or 'luminance' (on lightness only, the photo's chroma put back).
    Returns a ``Result`` whose ``seconds`` is the transform (images and decoders read beforehand).
    """
    check_strength(strength)
    if colours not in CHOICES["colours"]:
        raise SettingsError(f"colours must be one of {', '.join(CHOICES['colours'])}, not {colours!r}")
    styles, masks = images.as_list(style), images.as_list(mask)
    if not styles or (masks and len(masks) != len(styles)):
        raise SettingsError(f"give a style image, and one mask per style if any ({len(masks)} for {len(styles)})")
    blend = blend_weights(style_blend, len(styles))
    device = pick_device(device)
    dtype = pick_dtype(precision, device)
    chosen = _decoders(decoders, levels, device)
    labels = [_label(content, "photo")] + [_label(s, "style image") for s in styles]
    photo = images.as_tensor(content, size, "photo")
    check_inference(photo.shape[-1], photo.shape[-2], device, "universal style transfer")
    photo = photo.to(device)
    side = max(photo.shape[-2:])
    style_images = [images.as_tensor(s, side, "style").to(device) for s in styles]
    deepest = next(iter(chosen))
    smallest = 2 ** pools_before("vgg19", deepest)
    for image, label in zip([photo, *style_images], labels):
        images.check_side(image, label, smallest, deepest, side)
        statistics(image.flatten(2)[0].double(), None, label)  # a one-colour image: refused by name
    start, style_images, present = colour.prepared(colours, photo, style_images)
    regions = Regions(content)  # "person", "background": found in the photo
    masks_now = [images.load_mask(regions.mask(m), photo.shape[-1], photo.shape[-2]).to(device) for m in masks] or None
    vgg = cached_vgg("vgg19", "original", "max", str(device), dtype)
    started = time.perf_counter()
    with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        encoded = [_remembered(vgg, x, list(chosen)) for x in style_images]  # one pass each, to the deepest level
        image = start
        for i, (level, decoder) in enumerate(chosen.items()):
            styles_here = [features[level] for features in encoded]
            encode = _remembered if i == 0 else _encoded  # the photo's deepest features, before any change
            image = _through(encode, vgg, decoder, image, styles_here, strength, blend, masks_now, labels)
        styled = present(image).cpu()
    seconds = time.perf_counter() - started
    settings = dict(universal=list(chosen), size=size, strength=strength, colours=colours, style_blend=style_blend)
    settings.update(images.file_names(content=content, style=style, mask=mask), **regions.described())
    passes = len(chosen) + len(styles)  # VGG passes: the image's at each level, each style's once to the deepest
    return Result(styled, {"seconds": [seconds], "passes": [float(passes)]}, settings)


def _through(encode, vgg, decoder, image, style_features, strength, blend, masks, labels):
    """``image`` through one level: encoded (``encode(vgg, image, layers)``), whitened and coloured with
    ``style_features`` (that level's), decoded at its own size."""
    level = decoder.level
    # Padded to a multiple of the level's pooling grid, so that decoding gives every pixel back; cropped after.
    multiple = 2 ** pools_before("vgg19", level)
    height, width = image.shape[-2:]
    pad = (0, -width % multiple, 0, -height % multiple)
    content = encode(vgg, torch.nn.functional.pad(image, pad, mode="reflect"), [level])[level]
    masks = [torch.nn.functional.pad(m, pad, mode="replicate") for m in masks] if masks else None
    features = whiten_colour(content, style_features, strength, weights=blend, masks=masks,
                             names=(f"{labels[0]} at {level}", [f"{x} at {level}" for x in labels[1:]]))  # fmt: skip
    return decoder.net(features).float()[..., :height, :width]


# The latest few encodings of an image that does not change while a slider moves (the styles, the photo at its
# deepest level): {(network, pixels, levels): features}. Two entries: at 512 px a style's five levels take ~60 MB.
_REMEMBERED, REMEMBER = {}, 2


_REMEMBERING = threading.Lock()  # the playground's tabs may call from two threads


def _remembered(vgg, image, layers):
    key = (vgg, images.fingerprint(image), tuple(layers))
    with _REMEMBERING:
        features = _REMEMBERED.get(key)
    if features is None:
        features = vgg(image, layers)
        with _REMEMBERING:
            while len(_REMEMBERED) >= REMEMBER:
                _REMEMBERED.pop(next(iter(_REMEMBERED)))
            _REMEMBERED[key] = features
    return features


def _encoded(vgg, image, layers):
    return vgg(image, layers)


def _decoders(decoders, levels, device):
    """{level: ``Decoder``} on ``device``, deepest first (see ``universal``)."""
    levels = None if levels is None else [check_level(level) for level in images.as_list(levels)]
    if levels == []:
        raise SettingsError(f"levels is empty; give some of {', '.join(LEVELS)}")
    if decoders is None or isinstance(decoders, (str, Path)):
        found = load_decoders(levels, decoders, device)
    else:
        given = decoders if isinstance(decoders, dict) else {d.level: d for d in decoders}
        found = {}
        for level in map(check_level, levels or given):
            if level not in given:
                raise StylekitError(f"no decoder for {level} among those given ({', '.join(given)})")
            entry = given[level]
            found[level] = entry if isinstance(entry, Decoder) else load_decoder(entry, device)
            if found[level].level != level:
                named = f"{entry}: a decoder" if isinstance(entry, (str, Path)) else "the decoder given"
                raise StylekitError(f"{named} for {found[level].level}, not {level}")
            found[level].net.to(device)
    return {level: found[level] for level in sorted(found, key=LEVELS.index, reverse=True)}


def _label(source, kind):
    """How errors name an input: 'the photo a.jpg', or 'the photo' when it is not a file."""
    return f"the {kind} {source}" if isinstance(source, (str, Path)) else f"the {kind}"
