"""Regions of the content photo: the content weighed more in one (``keep``), and the mask shorthands ``person`` and
``background``, found once per run by ``stylekit.segment`` (faked here with a known mask, the real one below)."""

import pytest
import torch
from PIL import Image

from stylekit import PRESETS, ImageError, SettingsError, load_image, read_settings, sample, transfer, universal
from stylekit.cli import main
from stylekit.images import as_tensor, load_mask
from stylekit.live import LiveTransfer
from stylekit.losses import Objective, content_loss
from stylekit.segment import Segmentation
from stylekit.tiles import TiledObjective
from stylekit.weights import cached_vgg

LIVE = dict(size=48, precision="fp32")
RUN = dict(LIVE, progress=False)


def half(width=64, height=48):
    """A mask white on the left half."""
    mask = torch.zeros(1, 1, height, width)
    mask[..., : width // 2] = 1
    return mask


# -- the loss ---------------------------------------------------------------------------------------------------------


def test_the_weighted_content_loss_is_the_direct_sum_and_its_gradient_the_weighted_difference():
    g = torch.Generator().manual_seed(0)
    f, p, w = (
        torch.rand(1, 4, 6, 5, generator=g),
        torch.rand(1, 4, 6, 5, generator=g),
        torch.rand(1, 1, 6, 5, generator=g),
    )
    f.requires_grad_(True)
    loss = content_loss(f, p, w)
    direct = sum(0.5 * w[0, 0] * (f[0, c] - p[0, c]) ** 2 for c in range(4)).sum()
    assert float(loss.detach()) == pytest.approx(float(direct.detach()))
    loss.backward()
    torch.testing.assert_close(f.grad, w * (f.detach() - p))
    with torch.no_grad():
        assert float(content_loss(f, p, torch.ones(1, 1, 6, 5))) == pytest.approx(float(content_loss(f, p)))


def _objective(keep_weight, region, kind=Objective, **more):
    model = cached_vgg("vgg19", "original", "max", "cpu", torch.float32)
    content = as_tensor(sample("astronaut"), [96, 64], "content")
    s = PRESETS["default"].replace(keep_weight=keep_weight)
    return kind.for_settings(model, content, as_tensor(sample("mosaic"), 96), s, keep=region, **more), model, content


@pytest.mark.parametrize("keep_weight", [5.0, 0.0])
def test_the_objectives_content_term_is_weighed_by_region_and_relative_to_the_same_weights(keep_weight):
    region = load_mask(half(96, 64), 96, 64)
    objective, model, content = _objective(keep_weight, region)
    image = (content + 0.1 * torch.randn_like(content, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    f, p = (model(x, ["relu4_2"])["relu4_2"] for x in (image, content))
    w = 1 + (keep_weight - 1) * torch.nn.functional.interpolate(region, size=p.shape[-2:], mode="area")
    expected = (w * (f - p) ** 2).sum() / (w * p**2).sum()  # ½ cancels
    assert float(objective(image)["content"]) == pytest.approx(float(expected), rel=1e-5)
    # The left half counts five times (or not at all): the same change costs more (less) there than on the right.
    left, right = image.clone(), image.clone()
    left[..., :32], right[..., 64:] = 0.5, 0.5
    ratio = float(objective(left)["content"]) / float(objective(right)["content"])
    assert ratio > 2 if keep_weight > 1 else ratio < 0.5
    plain, _, _ = _objective(5.0, None)
    ones, _, _ = _objective(1.0, region)
    assert float(ones(image)["content"]) == pytest.approx(float(plain(image)["content"]), rel=1e-5)


def test_tiled_content_weight_by_region_is_the_whole_images():
    region = load_mask(half(96, 64), 96, 64)
    whole, _, content = _objective(6.0, region)
    tiled, _, _ = _objective(6.0, region, TiledObjective, arch="vgg19", tile=32)
    image = (content + 0.1 * torch.randn_like(content, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    assert len(tiled.tiles(image)) == 6
    got, grads = [], []
    for objective in (whole, tiled):
        x = image.clone().requires_grad_(True)
        got.append(objective.backward(x))
        grads.append(x.grad)
    for k in got[0]:
        assert float(got[1][k]) == pytest.approx(float(got[0][k]), rel=1e-5), k
    assert float((grads[1] - grads[0]).norm() / grads[0].norm()) < 1e-5


def test_a_run_keeps_the_kept_region_closer_to_the_photo(tmp_path):
    """A real run at two scales (tiles give the same objective and gradient: above): with the left half kept 20
    times, the photo's content (relu4_2, what the content term compares; colours follow the style) is kept better
    on the left than without, the right giving way. The relative term's total weight is unchanged: it moves."""
    path = tmp_path / "keep.png"
    Image.fromarray((half(96, 96)[0, 0].numpy() * 255).astype("uint8")).save(path)
    photo, painting = sample("astronaut"), sample("mosaic")
    run = dict(RUN, size=96, steps=[10, 10])
    model = cached_vgg("vgg19", "original", "max", "cpu", torch.float32)
    target = model(load_image(photo, 96), ["relu4_2"])["relu4_2"]
    left = torch.nn.functional.interpolate(half(96, 96), size=target.shape[-2:], mode="area")

    def errors(result):  # the content's relative error on the left and on the right
        with torch.no_grad():
            squared = (model(result.image, ["relu4_2"])["relu4_2"] - target) ** 2
        return [float((m * squared).sum() / (m * target**2).sum()) for m in (left, 1 - left)]

    (kept_left, kept_right), (plain_left, plain_right) = (
        errors(transfer(photo, painting, **changes, **run)) for changes in (dict(keep=path, keep_weight=20), {})
    )
    assert kept_left < 0.9 * plain_left and kept_left / kept_right < 0.75 * plain_left / plain_right


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(keep="fase"), "keep must be person, background, face or an image file, not 'fase'"),
        (dict(keep=4), "keep must be person, background, face or an image file, not 4"),
        (dict(keep="face", keep_weight=-1), "keep_weight must be a finite number >= 0, not -1"),
        (dict(keep="face", keep_weight=float("inf")), "keep_weight must be a finite number >= 0, not inf"),
        (dict(keep="face", keep_weight=True), "keep_weight must be a finite number >= 0, not True"),
    ],
)
def test_bad_keep_settings_are_refused_in_one_line(changes, message):
    with pytest.raises(SettingsError) as caught:
        PRESETS["default"].replace(**changes)
    assert str(caught.value) == message


def test_keep_needs_a_content_image_and_a_missing_keep_file_is_named(photo, texture, tmp_path):
    with pytest.raises(SettingsError, match="keep='face' needs a content image"):
        transfer(None, texture, keep="face", content_layers={}, init="noise", **RUN)
    with pytest.raises(ImageError, match=r"nope\.png: no such file"):
        transfer(photo, texture, keep=str(tmp_path / "nope.png"), **RUN)


# -- the shorthands ---------------------------------------------------------------------------------------------------


def test_mask_person_styles_the_person_only_and_the_result_says_what_found_it(segmented, tmp_path):
    photo, painting = sample("astronaut"), sample("mosaic")
    result = transfer(photo, painting, mask="person", steps=12, **RUN)
    assert segmented == [f"the content image {photo}"]
    change = (result.image - load_image(photo, 48)).abs().mean(dim=(0, 1))  # the person: x 12..36, y 12..
    person, beside = change[20:, 16:32].mean(), torch.cat([change[:, :6], change[:, 42:]], 1).mean()
    assert person > 2 * beside
    assert result.settings["mask"] == "person" and result.settings["segmentation"] == "known"
    assert read_settings(result.save(tmp_path / "out.png"))["segmentation"] == "known"


def test_one_segmentation_serves_masks_and_keep_and_names_mix_with_files(segmented, tmp_path):
    path = tmp_path / "left.png"
    Image.fromarray((half(48, 48)[0, 0].numpy() * 255).astype("uint8")).save(path)
    photo, styles = sample("astronaut"), [sample("mosaic"), sample("great_wave")]
    result = transfer(photo, styles, mask=["background", str(path)], keep="face", steps=2, **RUN)
    assert len(segmented) == 1 and result.settings["keep"] == "face"
    assert result.settings["mask"] == ["background", str(path)] and result.settings["segmentation"] == "known"
    plain = transfer(photo, styles[0], steps=2, **RUN)
    assert len(segmented) == 1 and "segmentation" not in plain.settings  # nothing named, nothing segmented


def test_init_universal_reuses_the_runs_segmentation(segmented):
    transfer(sample("astronaut"), sample("mosaic"), mask="background", init="universal", steps=1, **RUN)
    assert len(segmented) == 1


def test_universal_takes_the_shorthands(segmented):
    photo = sample("astronaut")
    masked, plain = (universal(photo, sample("mosaic"), size=64, mask=mask) for mask in ("background", None))
    assert len(segmented) == 1 and masked.settings["segmentation"] == "known" and "segmentation" not in plain.settings
    change = [(r.image - load_image(photo, 64)).abs().mean(dim=(0, 1))[24:, 20:44].mean() for r in (masked, plain)]
    assert change[0] < 0.7 * change[1]  # the person (x 16..48, y 16..) styled less than without the mask


def test_a_live_run_segments_again_only_for_a_new_content_image(segmented):
    live = LiveTransfer(sample("astronaut"), sample("mosaic"), mask="person", keep="face", **LIVE)
    live.run(1)
    live.update(style=sample("great_wave"), style_weight=20, size=64)  # rebuilt, the same photo
    live.run(1)
    assert len(segmented) == 1
    live.update(content=sample("chelsea"))
    live.run(1)
    assert len(segmented) == 2 and live.result().settings["segmentation"] == "known"


def test_a_misspelt_mask_name_is_refused_everywhere(photo, texture):
    message = "mask must be person, background or an image file, not 'persn'"
    runs = (lambda: transfer(photo, texture, mask="persn", **RUN),
            lambda: LiveTransfer(photo, texture, mask="persn", **LIVE),
            lambda: universal(photo, texture, size=48, mask="persn"))  # fmt: skip
    for run in runs:
        with pytest.raises(SettingsError) as caught:
            run()
        assert str(caught.value) == message


def test_keep_face_on_a_photo_with_no_face_is_one_line(monkeypatch, photo, texture, tmp_path, capsys):
    found = Segmentation(torch.ones(1, 1, 48, 64), None, "network", name="the content image")  # a person, no face
    monkeypatch.setattr("stylekit.segment.segment", lambda p, *a, **k: found)
    out = tmp_path / "out.png"
    assert main(["transfer", str(photo), str(texture), "-o", str(out), "--keep", "face", "--size", "32"]) == 2
    assert capsys.readouterr().err.strip().startswith("stylekit: error: the content image: no face was found")
    assert not out.exists()


def test_cli_mask_person_and_portrait_preset(segmented, tmp_path, capsys):
    out = tmp_path / "out.png"
    photo, painting = str(sample("astronaut")), str(sample("mosaic"))
    argv = ["transfer", photo, painting, "-o", str(out), "--mask", "person", "--size", "48", "--steps", "2"]
    assert main([*argv, "--preset", "portrait"]) == 0, capsys.readouterr().err
    saved = read_settings(out)
    assert saved["mask"] == "person" and saved["keep"] == "face" and saved["segmentation"] == "known"
    again = tmp_path / "again.png"
    assert main(["transfer", "--settings-from", str(out), "-o", str(again)]) == 0
    assert read_settings(again) == saved and len(segmented) == 2


def test_the_real_segmentation_serves_a_portrait_run_once(monkeypatch):
    import stylekit.segment

    calls, real = [], stylekit.segment.segment
    monkeypatch.setattr("stylekit.segment.segment", lambda *a, **k: calls.append(a) or real(*a, **k))
    photo = sample("astronaut")
    result = transfer(photo, sample("mosaic"), "portrait", mask="background", steps=2, **RUN)
    assert len(calls) == 1 and result.settings["segmentation"]
    person = real(photo).person[0, 0]  # her face, her body (bottom left) and the shuttle model (top right)
    assert person[80:160, 190:260].mean() > 0.9 and person[350:500, 80:250].mean() > 0.9
    assert person[:250, 400:].mean() < 0.1
