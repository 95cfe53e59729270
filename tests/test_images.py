import numpy as np
import pytest
import torch
from PIL import Image

from stylekit import ImageError, images, load_image, read_settings, save_png


def saved(tmp_path, img, name, **kw):
    path = tmp_path / name
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "L", "P", "CMYK", "I;16", "1"])
def test_every_mode_becomes_rgb_in_unit_range(tmp_path, mode):
    base = Image.linear_gradient("L").resize((40, 30))
    img = base.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(base, np.uint16) * 257)
    path = saved(tmp_path, img, "x.tiff" if mode == "CMYK" else "x.png")
    x = load_image(path)
    assert x.shape == (1, 3, 30, 40) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and x.max() > 0.5


def test_16_bit_is_scaled_not_clipped(tmp_path):
    a = np.full((8, 8), 32768, np.uint16)  # half of 16-bit full scale
    x = load_image(saved(tmp_path, Image.fromarray(a), "half.png"))
    assert abs(float(x.mean()) - 0.5) < 0.01


def test_transparency_is_composited_onto_white(tmp_path):
    img = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert torch.allclose(load_image(saved(tmp_path, img, "clear.png")), torch.ones(1, 3, 10, 10))


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    x = load_image(saved(tmp_path, img, "rotated.jpg", exif=exif))
    assert x.shape[-2:] == (40, 20)


def test_resize_by_longest_side_or_exact(photo):
    assert load_image(photo, 32).shape[-2:] == (24, 32)
    assert load_image(photo, (30, 30)).shape[-2:] == (30, 30)


def test_roundtrip_through_png_keeps_pixels_and_settings(tmp_path):
    x = torch.rand(1, 3, 12, 16)
    path = save_png(x, tmp_path / "out.png", {"style_weight": 10.0, "layers": {"relu1_1": 0.2}})
    assert read_settings(path) == {"style_weight": 10.0, "layers": {"relu1_1": 0.2}}
    assert (load_image(path) - x).abs().max() <= 0.5 / 255 + 1e-6


def test_failed_save_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_png(torch.rand(1, 3, 4, 4), target)
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_read_settings_of_a_foreign_png(tmp_path):
    with pytest.raises(ImageError, match="no stylekit settings"):
        read_settings(saved(tmp_path, Image.new("RGB", (4, 4)), "plain.png"))


def test_to_pil_clamps(tmp_path):
    pil = images.to_pil(torch.tensor([[[[2.0]], [[-1.0]], [[0.5]]]]))
    assert pil.getpixel((0, 0)) == (255, 0, 128)
