"""Colour preservation, several styles, style scale: each checked by its effect."""

import warnings

import pytest
import torch

from stylekit import ImageError, SettingsError, load_image, sample, transfer
from stylekit.colour import luminance, match_colours, to_yiq
from stylekit.settings import style_size

TINY = dict(size=48, progress=False)


def chroma(image):
    return to_yiq(image)[:, 1:]


def test_match_colours_gives_the_style_the_contents_mean_and_covariance():
    style = load_image(sample("brushstrokes"), 96)
    content = 0.3 + 0.4 * style[:, [2, 0, 1]].flip(-1)  # other colours, same pixels: nothing needs clamping
    matched = match_colours(style, content)
    c, m = content.flatten(2)[0].double(), matched.flatten(2)[0].double()
    torch.testing.assert_close(m.mean(1), c.mean(1), atol=1e-3, rtol=0)
    torch.testing.assert_close(torch.cov(m), torch.cov(c), atol=1e-4, rtol=0)


def colour_statistics(image):
    """Mean and standard deviation of the chroma channels I and Q."""
    iq = chroma(image).flatten(2)[0]
    return torch.cat([iq.mean(1), iq.std(1)])


@pytest.mark.parametrize("colours", ["match", "luminance"])
def test_original_colours_keep_the_contents_chroma_while_style_falls(colours):
    photo, painting = sample("chelsea"), sample("brushstrokes")  # a brown cat, a blue and yellow painting
    content = load_image(photo, 48)
    plain = transfer(photo, painting, steps=30, **TINY)
    kept = transfer(photo, painting, steps=30, colours=colours, **TINY)
    assert kept.history["style"][-1] < 0.3 * kept.history["style"][0]
    distance = lambda r: (colour_statistics(r.image) - colour_statistics(content)).abs().max()  # noqa: E731
    assert distance(kept) < 0.5 * distance(plain)
    if colours == "luminance":  # chroma is put back pixel by pixel (up to clamping)
        assert (chroma(kept.image) - chroma(content)).abs().mean() < 0.03


def test_luminance_matches_mean_and_std(photo, texture):
    faint = 0.2 + 0.3 * load_image(texture)  # low contrast: matching has work to do
    y = luminance(faint, like=load_image(photo))
    source, target = to_yiq(faint)[:, 0], to_yiq(load_image(photo))[:, 0]
    assert abs(float(source.std() - target.std())) > 0.1 and abs(float(source.mean() - target.mean())) > 0.05
    assert y.shape[1] == 3 and torch.equal(y[:, 0], y[:, 2])
    assert abs(float(y[:, 0].mean() - target.mean())) < 0.02 and abs(float(y[:, 0].std() - target.std())) < 0.02


def test_blend_of_one_style_equals_that_style(photo, texture, tmp_path):
    from PIL import Image

    other = tmp_path / "flat.png"
    Image.new("RGB", (64, 64), (10, 200, 30)).save(other)
    single = transfer(photo, texture, steps=5, **TINY)
    blended = transfer(photo, [texture, other], style_blend=[1.0, 0.0], steps=5, **TINY)
    assert torch.allclose(single.image, blended.image, atol=1e-5)
    half = transfer(photo, [texture, other], steps=5, **TINY)
    assert not torch.allclose(single.image, half.image, atol=1e-3)


def test_blend_weights_are_checked_and_normalised(photo, texture):
    with pytest.raises(SettingsError, match="2 weights for 1 style"):
        transfer(photo, texture, style_blend=[0.5, 0.5], **TINY)
    with pytest.raises(SettingsError, match="all zero"):
        transfer(photo, [texture, texture], style_blend=[0, 0], **TINY)
    with pytest.raises(SettingsError, match="must be a finite number >= 0"):
        transfer(photo, [texture, texture], style_blend=[-1, 2], **TINY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        transfer(photo, [texture, texture], style_blend=[2, 2], steps=1, **TINY)
    assert any("sum to 4" in str(w.message) for w in caught)


def test_style_scale_sizes_the_style_image_from_the_contents_longest_side():
    assert style_size(48, 2.0) == 96 and style_size(48, 0.5) == 24
    assert style_size([300, 200], 1.5) == [450, 300]


def test_style_scale_changes_the_result(photo, texture):
    small, large = (transfer(photo, texture, style_scale=scale, steps=5, **TINY) for scale in (0.5, 2.0))
    assert (small.image - large.image).abs().mean() > 0.01


def test_mask_keeps_the_content_where_it_says_no_style():
    from PIL import Image

    photo, painting = sample("chelsea"), sample("brushstrokes")
    mask = Image.new("L", (64, 43), 0)
    mask.paste(255, (32, 0, 64, 43))  # style on the right half only
    result = transfer(photo, painting, mask=mask, steps=30, size=64, progress=False)
    change = (result.image - load_image(photo, 64)).abs().mean(dim=(0, 1))
    left, right = change[:, :21].mean(), change[:, 43:].mean()  # thirds, away from the soft edge
    assert left < 0.06 and right > 3 * left
    assert result.history["style"][-1] < 0.5 * result.history["style"][0]


def test_masks_must_match_the_styles(photo, texture):
    with pytest.raises(SettingsError, match="one mask per style image"):
        transfer(photo, texture, mask=[torch.ones(1, 1, 8, 8)] * 2, **TINY)
    with pytest.raises(SettingsError, match="gram style loss"):
        transfer(photo, texture, mask=torch.ones(1, 1, 8, 8), style_loss="mrf", **TINY)


def test_a_mask_of_another_shape_is_stretched_with_a_warning(photo, texture):
    with pytest.warns(UserWarning, match="not the content's shape"):
        transfer(photo, texture, mask=torch.ones(1, 1, 10, 40), steps=1, **TINY)


def test_a_mask_that_is_not_an_image(photo, texture, tmp_path):
    bad = tmp_path / "mask.png"
    bad.write_text("no")
    with pytest.raises(ImageError, match="not an image"):
        transfer(photo, texture, mask=bad, steps=1, **TINY)


@pytest.mark.parametrize("kind, layers", [("histogram", None), ("mrf", {"relu3_1": 1.0, "relu4_1": 1.0})])
def test_alternative_style_losses_fall(photo, texture, kind, layers):
    extra = {"style_layers": layers} if layers else {}
    result = transfer(photo, texture, style_loss=kind, steps=25, **TINY, **extra)
    assert result.history["style"][-1] < 0.5 * result.history["style"][0]
    assert result.settings["style_loss"] == kind


def test_histogram_loss_is_zero_for_the_style_itself_and_sees_what_gram_misses():
    from stylekit.losses import GramLoss, HistogramLoss

    g = torch.Generator().manual_seed(0)
    style = torch.rand(1, 4, 16, 16, generator=g) ** 3  # skewed values
    shuffled = style.flatten(2)[..., torch.randperm(256, generator=g)].reshape(style.shape)  # positions moved
    h, gram = HistogramLoss(), GramLoss()
    target = h.target([style], [1.0])
    assert h(style, target) < 1e-6 and h(shuffled, target) < 1e-6  # neither loss sees where a value is
    assert gram(shuffled, gram.target([style], [1.0])) < 1e-6
    assert h(torch.rand(1, 4, 16, 16, generator=g), target) > 1e-3
    # One channel of ReLU-like values: all ones, or half zeros and half √2. The same Gram matrix (mean of f²
    # = 1), another histogram: Gram calls them equal, the histogram loss does not.
    ones = torch.ones(1, 1, 16, 16)
    spiky = torch.zeros(1, 1, 16, 16)
    spiky.view(-1)[::2] = 2**0.5
    assert gram(spiky, gram.target([ones], [1.0])) < 1e-10
    assert h(spiky, h.target([ones], [1.0])) > 0.1


def test_mrf_loss_is_zero_when_every_patch_exists_in_the_style():
    from stylekit.losses import MRFLoss

    style = torch.rand(1, 2, 12, 12)
    m = MRFLoss()
    assert m(style[..., :8, :8], m.target([style], [1.0])) < 1e-10
    assert m(torch.rand(1, 2, 8, 8), m.target([style], [1.0])) > 1e-3
