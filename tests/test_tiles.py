import pytest
import torch

from stylekit import PRESETS, SettingsError, transfer
from stylekit.cli import main
from stylekit.device import pick_dtype
from stylekit.images import as_tensor, load_mask, read_settings
from stylekit.judge import judge
from stylekit.losses import Objective
from stylekit.memory import choose_tile, estimate_bytes
from stylekit.samples import sample
from stylekit.tiles import TiledObjective, grid, halo
from stylekit.vgg import VGG, pools_before, reach
from stylekit.weights import cached_vgg

CPU = torch.device("cpu")


@pytest.mark.parametrize("arch, layer", [("vgg19", "relu1_1"), ("vgg19", "relu2_1"), ("vgg19", "relu5_1"),
                                         ("vgg16", "relu5_1")])  # fmt: skip
def test_reach_is_how_far_a_features_gradient_spreads(arch, layer):
    """The pixels a feature depends on: its cell on the pooling grid and ``reach`` px on each side, no more."""
    torch.manual_seed(0)
    vgg = VGG(arch, pooling="avg")  # max pooling passes the gradient to one pixel per window: a smaller footprint
    cell, side = 2 ** pools_before(arch, layer), 192
    image = torch.rand(1, 3, side, side, requires_grad=True)
    i = side // cell // 2  # a feature in the middle
    vgg(image, [layer])[layer][0, :, i, i].sum().backward()
    columns = image.grad.abs().sum(dim=(0, 1, 2)).nonzero().flatten()
    assert (int(columns.min()), int(columns.max())) == (
        i * cell - reach(arch, layer),
        (i + 1) * cell - 1 + reach(arch, layer),
    )


def test_cores_cover_the_image_once_and_crops_sit_on_the_pooling_grid():
    covered = torch.zeros(150, 200)
    tiles = grid(200, 150, 48, 80, 16)
    for tile in tiles:
        x0, x1, y0, y1 = tile.core
        covered[y0:y1, x0:x1] += 1
        assert 0 < x1 - x0 <= 48 and 0 < y1 - y0 <= 48
        assert tile.crop == (max(x0 - 80, 0), min(x1 + 80, 200), max(y0 - 80, 0), min(y1 + 80, 150))
        assert tile.crop[0] % 16 == 0 and tile.crop[2] % 16 == 0
    assert (covered == 1).all()
    assert len(tiles) == 5 * 4


@pytest.mark.parametrize("arch", ["vgg19", "vgg16"])
def test_a_tiles_core_features_are_the_whole_images(arch):
    torch.manual_seed(0)
    vgg, image = VGG(arch), torch.rand(1, 3, 150, 200)
    layers = ["relu1_1", "relu3_1", "relu4_2", "relu5_1"]
    step, margin = halo(arch, layers, "gram")
    whole = vgg(image, layers)

    def worst(margin):
        errors = []
        for tile in grid(200, 150, 48, margin, step):
            part = vgg(tile.pixels(image), layers)
            for k in layers:
                p = pools_before(arch, k)
                mine, theirs = part[k][tile.region(p, within_crop=True)], whole[k][tile.region(p)]
                assert mine.shape == theirs.shape
                errors.append(float((mine - theirs).abs().max() / theirs.abs().max()))
        return max(errors)

    assert worst(margin) < 1e-5
    assert worst(0) > 0.1  # without a halo the features near a cut are the zero padding's


def _objectives(style_loss, **changes):
    """The whole-image objective and a tiled one (48 px tiles) for 200×150 astronaut × mosaic, with TV and an
    extra pixel term, and an image to evaluate them on."""
    torch.manual_seed(0)
    model = cached_vgg("vgg19", "original", "max", "cpu", torch.float32)
    content = as_tensor(sample("astronaut"), [200, 150], "content")
    styles = [as_tensor(sample(name), [200, 150], "style") for name in ("mosaic", "great_wave")]
    s = PRESETS["default"].replace(style_loss=style_loss, tv_weight=2.0, **changes)
    masks = None
    if style_loss == "gram":  # two styles, each in its half of the picture
        left = torch.zeros(1, 1, 150, 200)
        left[..., :90] = 1
        masks = [load_mask(left, 200, 150), load_mask(1 - left, 200, 150)]
    extra = {"brightness": lambda x: 0.5 * (x.mean() - 0.6) ** 2}
    whole = Objective.for_settings(model, content, styles, s, masks=masks, extra=extra)
    tiled = TiledObjective.for_settings(model, content, styles, s, masks=masks, extra=extra, arch="vgg19", tile=48)
    return whole, tiled, (content + 0.1 * torch.randn_like(content)).clamp(0, 1)


def _evaluate(objective, image):
    image = image.clone().requires_grad_(True)
    return objective.backward(image), image.grad


@pytest.mark.parametrize(
    "style_loss, changes, tolerance",
    [
        ("gram", {}, 1e-5),  # with two masked styles
        ("mrf", dict(style_layers={"relu3_1": 1.0, "relu4_1": 1.0}), 1e-5),
        # Ranks from merged sketches, not exact ones: a looser match (docs/testing.md).
        ("histogram", {}, 0.1),
    ],
)
def test_tiled_loss_and_gradient_are_the_whole_images(style_loss, changes, tolerance):
    whole, tiled, image = _objectives(style_loss, **changes)
    assert len(tiled.tiles(image)) == 20
    (expected, grad), (got, tiled_grad) = _evaluate(whole, image), _evaluate(tiled, image)
    assert set(got) == set(expected) == {"content", "style", "tv", "brightness", "total"}
    for k in expected:
        assert float(got[k]) == pytest.approx(float(expected[k]), rel=tolerance, abs=1e-9), k
    assert float((tiled_grad - grad).norm() / grad.norm()) < tolerance


def _judged(result, content, style):
    scores = judge(result.image, content, style)
    return torch.tensor([scores["content"], scores["style"]])


@pytest.mark.parametrize("changes", [{}, dict(colours="luminance")])
def test_a_run_in_tiny_tiles_judges_like_the_whole_image_run(changes):
    content, style = sample("astronaut"), sample("mosaic")
    # Adam: L-BFGS turns rounding differences into judged differences that would say nothing about the tiles
    # (docs/testing.md).
    run = dict(size=128, steps=[3, 5], optimizer="adam", lr=0.02, progress=False, **changes)
    whole, tiled = transfer(content, style, tile=0, **run), transfer(content, style, tile=48, **run)
    assert (tiled.image - as_tensor(content, 128, "content")).abs().mean() > 0.02  # it did style the photo
    ratio = _judged(tiled, content, style) / _judged(whole, content, style)
    assert ((ratio - 1).abs() < 0.01).all(), ratio


def test_auto_tiles_a_scale_that_does_not_fit_whole_and_refuses_only_when_tiles_do_not_fit(monkeypatch):
    s = PRESETS["default"].replace(steps=[4, 4])
    whole, tiled = estimate_bytes(s, 2000, 1500), estimate_bytes(s, 2000, 1500, tile=1024)
    assert tiled < 0.6 * whole
    assert choose_tile(s, 2000, 1500, CPU, free=whole / 0.85) is None
    assert choose_tile(s, 2000, 1500, CPU, free=tiled / 0.85) == 1024
    assert choose_tile(s, 2000, 1500, CPU, free=estimate_bytes(s, 2000, 1500, tile=512) / 0.85) == 512
    assert choose_tile(s.replace(tile=300), 2000, 1500, CPU, free=whole / 0.85) == 300  # asked for, though it fits
    assert choose_tile(s.replace(tile=4000), 2000, 1500, CPU, free=whole / 0.85) is None  # larger than the image
    with pytest.raises(SettingsError, match=r"in tiles of 256 px .* largest size that fits is about \d+ px"):
        choose_tile(s, 2000, 1500, CPU, free=estimate_bytes(s, 1000, 750, tile=256))
    with pytest.raises(SettingsError, match=r"a 2000×1500 run needs about .* GiB but"):
        choose_tile(s.replace(tile=0), 2000, 1500, CPU, free=tiled / 0.85)
    # In a run: a scale that would not fit whole is optimised in tiles.
    calls = []
    monkeypatch.setattr("stylekit.memory.AUTO_TILES", (128,))
    dtype = pick_dtype("auto", "cpu")
    monkeypatch.setattr("stylekit.memory.free_bytes", lambda device: estimate_bytes(s, 320, 320, dtype, 128) / 0.85)
    counted = lambda self, image: calls.append(1) or Objective.backward(self, image)  # noqa: E731
    monkeypatch.setattr(TiledObjective, "backward", counted)
    transfer(sample("astronaut"), sample("mosaic"), steps=[2, 1], size=320, progress=False)
    assert len(calls) == 1  # the finest scale's step; the 160 px scale fitted whole


@pytest.mark.parametrize("tile", ["big", 8, -1, True])
def test_bad_tile_setting_is_named(tile):
    with pytest.raises(SettingsError, match="tile must be 'auto', 0"):
        PRESETS["default"].replace(tile=tile)


def test_cli_takes_tile(tmp_path, capsys):
    out = tmp_path / "out.png"
    content, style = str(sample("astronaut")), str(sample("mosaic"))
    assert main(["transfer", content, style, "-o", str(out), "--size", "96", "--steps", "2", "--tile", "48"]) == 0
    assert read_settings(out)["tile"] == 48
    assert main(["transfer", content, style, "-o", str(tmp_path / "x.png"), "--tile", "x"]) == 2
    assert "--tile: expected auto or an integer, not 'x'" in capsys.readouterr().err
