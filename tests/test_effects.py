"""Each setting a user passes does what it says: checked by its effect on the result, through the command line
where it has a flag (a flag that parsed but never arrived would pass a test that only ran it)."""

import json

import pytest
import torch

import stylekit
from stylekit import load_image, read_settings, sample
from stylekit.cli import main
from stylekit.colour import to_yiq
from stylekit.losses import gram, gram_error
from stylekit.samples import DATA
from stylekit.vgg import gatys_style_layers
from stylekit.video import read_frames
from stylekit.weights import cached_vgg

PHOTO, PAINTING, OTHER = sample("astronaut"), sample("mosaic"), sample("great_wave")


def transferred(tmp_path, *flags, styles=(PAINTING,), name="out.png"):
    """(the result, its recorded settings) of ``stylekit transfer`` at 40 px with ``flags``."""
    out = tmp_path / name
    argv = ["transfer", PHOTO, *styles, "-o", out, "--size", "40", "--scales", "1", *flags]
    assert main([str(a) for a in argv]) == 0
    return load_image(out), read_settings(out)


@pytest.mark.parametrize("relative", [True, False])
def test_the_first_style_loss_is_the_thesiss_sum_or_its_relative_error(relative):
    """At the first step the image is the photo: the style term is Σ w_l E_l of the photo against the painting,
    the thesis's sums, or each divided by the loss of an all-zero response when losses are relative."""
    result = stylekit.transfer(PHOTO, PAINTING, size=40, steps=1, scales=1, relative_losses=relative, progress=False)
    vgg, layers = cached_vgg("vgg19", "original", "max", "cpu", torch.float32), gatys_style_layers()
    with torch.no_grad():
        photo, painting = (vgg(stylekit.images.as_tensor(x, 40), layers) for x in (PHOTO, PAINTING))
    expected = 0.0
    for layer in layers:
        a = gram(painting[layer])
        e = gram_error(gram(photo[layer]), a)
        expected += 0.2 * float(e / gram_error(torch.zeros_like(a), a) if relative else e)
    assert result.history["style"][0] == pytest.approx(expected, rel=1e-4)
    assert result.history["content"][0] == 0  # the photo against itself


def test_relative_losses_false_arrives_from_the_command_line(tmp_path):
    relative, _ = transferred(tmp_path, "--steps", "2", name="relative.png")
    sums, settings = transferred(tmp_path, "--steps", "2", "--relative-losses", "false", name="sums.png")
    assert settings["relative_losses"] is False and not torch.equal(relative, sums)


def test_adam_moves_every_pixel_by_about_lr_on_its_first_step(tmp_path):
    """Adam's first step is lr times the gradient's sign: the mark of Adam, and of lr, on the image."""
    image, settings = transferred(tmp_path, "--optimizer", "adam", "--lr", "0.01", "--steps", "1")
    moved = (image - load_image(PHOTO, 40)).abs()
    assert settings["optimizer"] == "adam" and settings["lr"] == 0.01
    assert moved.max() <= 0.01 + 1 / 255 and moved.median() >= 0.01 - 1 / 255  # PNG's rounding either way


def test_lbfgs_history_is_how_many_steps_lbfgs_remembers(tmp_path):
    """Step k uses the last k − 1 steps' curvature, at most lbfgs_history of them: with 2 remembered, the first 3
    steps are those of the default 10, the 4th is not."""
    same = [transferred(tmp_path, "--steps", "3", *flag, name=f"a{i}.png")[0] for i, flag in
            enumerate([(), ("--lbfgs-history", "2")])]  # fmt: skip
    other = [transferred(tmp_path, "--steps", "4", *flag, name=f"b{i}.png")[0] for i, flag in
             enumerate([(), ("--lbfgs-history", "2")])]  # fmt: skip
    assert torch.equal(same[0], same[1]) and not torch.equal(other[0], other[1])


def test_the_seed_decides_the_noise_the_pixels_start_from(tmp_path):
    first, again, other = (transferred(tmp_path, "--init", "noise", "--steps", "1", "--seed", seed, name=f"{i}.png")[0]
                           for i, seed in enumerate(["1", "1", "2"]))  # fmt: skip
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_thesis_normalization_is_recorded_and_changes_what_the_network_sees(tmp_path):
    model, as_model = transferred(tmp_path, "--steps", "2", name="model.png")
    thesis, as_thesis = transferred(tmp_path, "--steps", "2", "--normalization", "thesis", name="thesis.png")
    assert (as_model["normalization"], as_thesis["normalization"]) == ("model", "thesis")
    assert (model - thesis).abs().mean() > 1e-3


def test_a_blend_of_one_and_zero_is_the_first_style_alone(tmp_path):
    alone, _ = transferred(tmp_path, "--steps", "2", name="alone.png")
    blended, settings = transferred(tmp_path, "--steps", "2", "--style-blend", "1,0", styles=(PAINTING, OTHER))
    assert settings["style_blend"] == [1.0, 0.0] and torch.equal(alone, blended)


def test_universal_blend_of_one_and_zero_is_the_first_style_alone(tmp_path):
    made = {}
    for name, styles, flags in (("alone", [PAINTING], []), ("blend", [PAINTING, OTHER], ["--style-blend", "1,0"])):
        made[name] = tmp_path / f"{name}.png"
        assert main([str(a) for a in ["universal", PHOTO, *styles, "-o", made[name], "--size", "64", *flags]]) == 0
    torch.testing.assert_close(load_image(made["blend"]), load_image(made["alone"]), rtol=0, atol=2 / 255)


def _halves(width, height):
    left = torch.zeros(1, 1, height, width)
    left[..., : width // 2] = 1
    return left, 1 - left


def _distance(image, other):
    """How far ``image``'s mean colour is from ``other``'s."""
    return float((image.mean((-2, -1)) - other.mean((-2, -1))).norm())


def _closer_to(image, a, b):
    return _distance(image, a) < _distance(image, b)


@pytest.mark.parametrize("method", ["transfer", "universal"])
def test_masks_place_each_style_in_its_region(tmp_path, method):
    """One style on the left half and the other on the right, then the two swapped: each half takes the colours of
    the style its mask gives it (the photo's own colours cancel out between the two runs)."""
    photo = load_image(PHOTO, 64)
    masks = [tmp_path / "left.png", tmp_path / "right.png"]
    for mask, half in zip(masks, _halves(*photo.shape[-1:-3:-1])):
        stylekit.save_png(half.expand(-1, 3, -1, -1), mask)
    left = {}
    for first, second in ((PAINTING, OTHER), (OTHER, PAINTING)):
        out = tmp_path / f"{first.stem}.png"
        common = [PHOTO, first, second, "-o", out, "--size", "64", "--mask", *masks]
        steps = ["--steps", "10", "--scales", "1"] if method == "transfer" else []
        assert main([str(a) for a in [method, *common, *steps]]) == 0
        image = load_image(out)
        left[first] = image[..., : image.shape[-1] // 2]
    mosaic, wave = load_image(PAINTING, 64), load_image(OTHER, 64)
    assert _distance(left[PAINTING], mosaic) < _distance(left[OTHER], mosaic)
    assert _distance(left[OTHER], wave) < _distance(left[PAINTING], wave)


@pytest.mark.parametrize("command", ["universal", "stylize"])
def test_colours_luminance_keeps_the_photos_chroma(tmp_path, command):
    """YIQ's I and Q are the colour: the photo's, kept, where the painting's own would be far from them."""
    photo = load_image(PHOTO, 64)
    styled = {}
    for colours in ("style", "luminance"):
        out = tmp_path / f"{colours}.png"
        source = [PHOTO, PAINTING] if command == "universal" else ["mosaic", PHOTO]
        argv = [command, *source, "-o", out, "--size", "64", "--colours", colours]
        assert main([str(a) for a in argv]) == 0
        styled[colours] = (to_yiq(load_image(out))[:, 1:] - to_yiq(photo)[:, 1:]).abs().mean()
    assert styled["luminance"] < 0.01 < styled["style"], styled


def test_colours_match_recolours_the_painting_to_the_photo_first(tmp_path):
    photo, painting = load_image(PHOTO, 64), load_image(PAINTING, 64)
    results = {}
    for colours in ("style", "match"):
        out = tmp_path / f"{colours}.png"
        assert (
            main([str(a) for a in ["universal", PHOTO, PAINTING, "-o", out, "--size", "64", "--colours", colours]]) == 0
        )
        results[colours] = load_image(out)
    assert _closer_to(results["match"], photo, painting) and _closer_to(results["style"], painting, photo)


@pytest.mark.parametrize(
    "flags, key, value",
    [([PAINTING, "--steps-first", "1", "--steps", "1", "--temporal-weight", "0"], "temporal_weight", 0.0),
     (["--model", "mosaic", "--blend", "0.25"], "blend", 0.25)],
)  # fmt: skip
def test_video_flags_reach_the_run_they_decide(tmp_path, flags, key, value):
    """Their effect is checked through the API (tests/test_video.py); here, that each flag arrives there: the run's
    record of its settings, kept with its frames."""
    clip = tmp_path / "clip"
    clip.mkdir()
    for i, frame in enumerate(read_frames(DATA / "clip_coffee.mp4", 32)[:3]):
        stylekit.save_png(frame[None], clip / f"{i}.png")
    out = tmp_path / "frames"
    assert main([str(a) for a in ["video", clip, *flags, "-o", out, "--size", "32"]]) == 0
    assert json.loads((out / "settings.json").read_text())[key] == value
