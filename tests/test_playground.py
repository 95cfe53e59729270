"""Drives the playground's widgets as a user would, without a browser."""

import importlib.util
import io
import time
from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from stylekit import PRESETS, images, read_settings, sample, train_fast
from stylekit.playground import Playground, Reconstructions
from stylekit.playground import instant as instant_module
from stylekit.playground.instant import MAGENTA, UNIVERSAL, Instant
from stylekit.playground.widgets import UPLOAD, ImagePicker, uploaded
from stylekit.universal.decoder import shipped_decoders


@pytest.fixture
def playground(offline_torchvision):
    """The style transfer tab of a playground whose runs happen in the click handler."""
    tab = Playground(blocking=True).transfer
    tab.size.value, tab.steps.value = 48, 4
    return tab


def upload(data, name):
    """What a browser upload sets on an ipywidgets 8 FileUpload."""
    return (
        {
            "name": name,
            "type": "image/png",
            "size": len(data),
            "last_modified": datetime.now(timezone.utc),
            "content": memoryview(data),
        },
    )


def png_bytes(size=(40, 30), colour=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_run_updates_preview_losses_and_status(playground):
    r = playground.runner
    assert r.preview.value == b""
    r.run_button.click()
    assert r.result is not None and r.result.steps_done == 4
    assert len(r.history["style"]) == 4 and r.history["style"][-1] < r.history["style"][0]
    assert Image.open(io.BytesIO(r.preview.value)).size == (48, 32)
    assert r.plot.value and "Done: 4 steps" in r.status.value
    assert r.progress.value == 4 and not r.run_button.disabled and r.stop_button.disabled


def test_stop_mid_run_keeps_the_image(offline_torchvision):
    pg = Playground().transfer  # background thread, as in the browser
    pg.size.value, pg.steps.value = 48, 1000
    r = pg.runner
    r.run_button.click()
    deadline = time.time() + 60
    while r.progress.value < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert pg.run() is False  # one run at a time
    r.stop_button.click()
    r.wait(60)
    assert r.result.stopped and 2 <= r.result.steps_done < 1000
    assert f"Stopped at step {r.result.steps_done}" in r.status.value and r.preview.value


def test_control_changes_do_not_start_runs(offline_torchvision, monkeypatch):
    started = []
    monkeypatch.setattr("stylekit.playground.transfer_tab.transfer", lambda *args, **kwargs: started.append(kwargs))
    pg = Playground().transfer  # background threads, as in the browser: a run would start one
    pg.style_weight.value, pg.steps.value, pg.size.value, pg.preset.value = 1000, 7, 64, "strong"
    pg.style.choice.value = "mosaic"
    assert started == [] and pg.runner.thread is None and pg.runner.status.value == "Ready."
    pg.runner.run_button.click()  # the same hook a click uses does start one
    pg.runner.wait(60)
    assert len(started) == 1 and started[0]["steps"] == 240


def test_presets_fill_the_controls(playground):
    playground.preset.value = "seed"
    assert (playground.lr.value, playground.optimizer.value, playground.pooling.value) == (0.004, "adam", "avg")
    assert playground.layer_kind.value == "conv" and playground.content_layer.value == "conv4_2"
    assert playground.settings()["style_layers"] == {f"conv{b}_1": 0.2 for b in range(1, 6)}


def test_only_available_models_are_selectable(playground):
    assert playground.model.options == ("vgg19 · original",)
    note = playground.model_note.value
    assert "vgg16 · torchvision" in note and "internet" in note and "checkpoints" not in note  # no cache paths


def test_uploads_with_ipywidgets_7_and_8_values():
    v8 = SimpleNamespace(value=({"name": "a.png", "content": memoryview(b"abc")},))
    v7 = SimpleNamespace(value={"b.png": {"content": b"xyz", "metadata": {}}})
    assert uploaded(v8) == ("a.png", b"abc") and uploaded(v7) == ("b.png", b"xyz")
    assert uploaded(SimpleNamespace(value=())) is None


def test_uploaded_content_is_used(playground):
    playground.content.choice.value = UPLOAD
    playground.content.upload.value = upload(png_bytes(), "red.png")
    playground.runner.run_button.click()
    assert playground.runner.result.image.shape[-2:] == (36, 48)


def jpeg_bytes(size, orientation):
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new("RGB", size, (30, 120, 200)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_uploads_are_turned_upright_by_their_exif_orientation(playground):
    playground.content.choice.value = UPLOAD
    playground.content.upload.value = upload(jpeg_bytes((64, 32), orientation=6), "phone.jpg")  # shot portrait
    playground.runner.run_button.click()
    assert playground.runner.result.image.shape[-2:] == (48, 24)


def test_a_decompression_bomb_upload_is_refused(playground, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    playground.style.choice.value = UPLOAD
    playground.style.upload.value = upload(png_bytes((100, 100)), "bomb.png")
    playground.runner.run_button.click()
    status = playground.runner.status.value
    assert "bomb.png" in status and "decompression bomb" in status and playground.runner.result is None


def test_bad_upload_is_a_readable_error(playground):
    playground.style.choice.value = UPLOAD
    playground.runner.run_button.click()
    assert "Error" in playground.runner.status.value and "upload" in playground.runner.status.value
    playground.style.upload.value = upload(b"junk", "junk.png")
    playground.runner.run_button.click()
    assert (
        "junk.png: not an image" in playground.runner.status.value and "Traceback" not in playground.runner.status.value
    )


@pytest.mark.parametrize(
    "error, shown",
    [
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "out of memory; choose a smaller image size"),
        (ValueError("bad <thing>"), "ValueError: bad &lt;thing&gt;"),
    ],
)
def test_errors_during_a_run_appear_in_the_status(playground, monkeypatch, error, shown):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("stylekit.playground.transfer_tab.transfer", fail)
    playground.runner.run_button.click()
    assert shown in playground.runner.status.value and "Traceback" not in playground.runner.status.value
    assert not playground.runner.run_button.disabled


def test_save_writes_png_with_settings_and_a_download_link(playground, tmp_path):
    assert playground.save(tmp_path / "x.png") is None
    playground.runner.run_button.click()
    saved = playground.save(tmp_path / "result.png")
    assert read_settings(saved)["steps"] == 4
    assert 'download="result.png"' in playground.download.value and "base64," in playground.download.value


@pytest.mark.parametrize("kind", ["content", "style"])
def test_reconstruction_tab(playground, kind):
    rec = Reconstructions(playground, blocking=True)
    rec.kind.value, rec.steps.value, rec.size.value = kind, 3, 48
    rec.runner.run_button.click()
    assert rec.runner.result.steps_done == 3 and rec.runner.preview.value
    assert rec.runner.result.settings["init"] == "noise"


def test_colours_style_scale_and_style_loss_reach_the_run(playground):
    playground.colours.value, playground.style_scale.value = "luminance", 2.0
    playground.style_loss.value = "histogram"
    playground.runner.run_button.click()
    settings = playground.runner.result.settings
    assert (
        settings["colours"] == "luminance" and settings["style_scale"] == 2.0 and settings["style_loss"] == "histogram"
    )


def test_second_style_blend_and_mask(playground):
    playground.style2.choice.value = "mosaic"
    playground.share.value = 0.25
    playground.runner.run_button.click()
    settings = playground.runner.result.settings
    assert settings["style_blend"] == [0.75, 0.25] and playground.runner.result.steps_done == 4
    mask = Image.new("L", (48, 32), 0)
    mask.paste(255, (24, 0, 48, 32))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    playground.mask.choice.value = UPLOAD
    playground.mask.upload.value = upload(buffer.getvalue(), "mask.png")
    playground.runner.run_button.click()
    assert "Done" in playground.runner.status.value and playground.runner.result.settings["style_blend"] is None
    playground.mask.upload.value = upload(b"not a png", "mask.png")
    playground.runner.run_button.click()
    assert "mask.png: not an image" in playground.runner.status.value


def test_mask_person_and_keep_reach_the_run_and_the_portrait_preset_sets_keep(playground, segmented):
    playground.mask.choice.value = "person"
    assert playground.mask.choice.label == "person (found automatically)"
    playground.keep_region.value = "face"
    playground.runner.run_button.click()
    settings = playground.runner.result.settings
    assert settings["mask"] == "person" and settings["keep"] == "face" and settings["segmentation"] == "known"
    playground.style2.choice.value = "mosaic"  # style 2 where the first is not: on the background
    playground.runner.run_button.click()
    assert playground.runner.result.settings["mask"] == ["person", "background"], playground.runner.status.value
    assert len(segmented) == 2  # once per run
    playground.keep_region.value = ""
    playground.preset.value = "portrait"
    assert playground.keep_region.value == PRESETS["portrait"].keep == "face"


def test_the_presets_steps_per_scale_reach_the_run_until_the_slider_moves(offline_torchvision, monkeypatch):
    started = []
    monkeypatch.setattr(
        "stylekit.playground.transfer_tab.transfer", lambda *args, **kwargs: started.append(kwargs["steps"])
    )
    pg = Playground(blocking=True).transfer
    assert pg.steps.value == sum(PRESETS["default"].steps)  # the slider shows the total
    pg.run()
    pg.steps.value = 7
    pg.run()
    assert started == [PRESETS["default"].steps, 7]


@pytest.fixture
def instant(tmp_path, texture, photo):
    train_fast(texture, [photo], size=64, steps=2, batch=1, style_size=64, progress=False).save(tmp_path / "mine.pt")
    tab = Instant(ImagePicker("photo", ["chelsea", "coffee"], "chelsea"), folder=tmp_path)
    tab.model.value = str(tmp_path / "mine.pt")
    tab.refine.value = False  # the instant images alone: no refinement moving them in the background
    return tab


def test_instant_mode_restyles_as_the_controls_move(instant):
    assert instant.photo_thumb.value and instant.style_thumb.value  # what goes in, side by side
    first = instant.result.value
    assert Image.open(io.BytesIO(first)).size == (512, 341) and "512×341 px in" in instant.status.value
    shown = []
    for change in (lambda: setattr(instant.strength, "value", 0.4),
                   lambda: setattr(instant.keep_colours, "value", True),
                   lambda: setattr(instant.size, "value", 256),
                   lambda: setattr(instant.photo.choice, "value", "coffee")):  # fmt: skip
        change()
        shown.append(instant.result.value)
    assert len({first, *shown}) == 5  # every change showed a new image
    assert Image.open(io.BytesIO(shown[-1])).size == (256, 171)


def test_instant_mode_styles_any_painting_through_the_universal_path(instant):
    instant.size.value = 128
    fast_image = instant.result.value
    instant.method.value = UNIVERSAL  # the shipped decoders
    assert instant.model.layout.display == "none" and instant.painting_row.layout.display is None
    levels = f"universal, {len(shipped_decoders())} levels"
    assert "128×85 px in" in instant.status.value and levels in instant.status.value
    shown = [fast_image, instant.result.value]
    instant.painting.choice.value = "mosaic"
    shown.append(instant.result.value)
    instant.strength.value = 0.3
    shown.append(instant.result.value)
    assert len(set(shown)) == 4  # a new painting, a new strength: a new image each time
    instant.painting.choice.value = UPLOAD
    instant.painting.upload.value = upload(b"not a painting", "painting.png")
    assert "painting.png: not an image" in instant.status.value and instant.result.value == shown[-1]


def test_instant_mode_without_a_model_or_upload_says_why(instant, tmp_path):
    instant.photo.choice.value = UPLOAD
    assert "choose a file to upload first" in instant.status.value
    empty = Instant(ImagePicker("photo", ["chelsea"], "chelsea"), folder=tmp_path / "nowhere")
    empty.model.options = []
    empty.update()
    assert "no fast model here" in empty.status.value


def test_live_mode_follows_the_controls_without_a_new_run_and_names_a_bad_change(offline_torchvision):
    pg = Playground().transfer  # background thread, as in the browser
    pg.size.value = 48
    pg.live_mode.value = True
    assert (pg.optimizer.value, pg.lr.value) == ("lbfgs", 1.0)  # live mode's own optimiser
    r = pg.runner

    def wait_for(condition):
        deadline = time.time() + 60
        while not condition() and time.time() < deadline and r.busy:
            time.sleep(0.05)
        assert condition()

    try:
        r.run_button.click()
        wait_for(lambda: pg.live is not None and pg.live.step >= 2)
        assert "Live: step" in r.status.value and r.preview.value
        pg.style_weight.value = 90.0
        assert pg.live.settings.style_weight == 90.0 and pg.live.changes[-1][1] == {"style_weight": 90.0}
        steps = pg.live.step
        wait_for(lambda: pg.live.step >= steps + 2)  # the same run goes on
        style = pg.live.inputs["style"]
        pg.style.choice.value = UPLOAD
        pg.style.upload.value = upload(b"not an image", "broken.png")
        assert "broken.png: not an image" in pg.live_note.value and pg.live.inputs["style"] == style
        wait_for(lambda: pg.live.step >= steps + 6 and pg.bars.value)  # and keeps going after the bad change
    finally:
        r.stop_button.click()
        r.wait(60)
    assert r.result.stopped == "stopped" and r.result.settings["style_weight"] == 90.0
    assert r.thread is not None and not r.busy
    pg.keep_button.click()  # pinned with the settings that made it
    assert len(pg.kept) == 1 and "β 90" in pg.strip.children[0].children[1].value
    live, steps, image = pg.live, pg.live.step, pg.live.image
    assert r.run_button.description == "Resume"
    pg.style.choice.value, pg.style_weight.value = "brushstrokes", 30.0  # changed while stopped
    try:
        r.run_button.click()  # the same run goes on from its image, with what changed
        wait_for(lambda: live.step >= steps + 2)
    finally:
        r.stop_button.click()
        r.wait(60)
    assert pg.live is live and live.changes[-1] == (steps, {"style_weight": 30.0})
    assert not torch.equal(live.image, image)


installed = pytest.mark.skipif(
    not instant_module.magenta_installed(), reason='the instant extra is not installed: pip install "stylekit[instant]"'
)


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)), dtype=np.float32) / 255


def wait_for(condition, timeout=60):
    deadline = time.time() + timeout
    while not condition() and time.time() < deadline:
        time.sleep(0.02)
    assert condition()


@pytest.fixture
def painting_tab(tmp_path, monkeypatch, offline_torchvision):
    """Makes Instant tabs at 128 px whose refinements take 3 passes, each pass's image shown."""
    monkeypatch.setattr(instant_module, "REFINE_PASSES", 3)
    monkeypatch.setattr(instant_module, "SHOW_EVERY", 0)
    made = []

    def make(blocking=True, method=UNIVERSAL):
        tab = Instant(ImagePicker("photo", ["chelsea", "coffee"], "chelsea"), folder=tmp_path, blocking=blocking)
        made.append(tab)
        tab.size.value = 128  # a fast model's image: nothing to refine yet
        assert tab.live is None
        tab.method.value = method
        return tab

    yield make
    for tab in made:
        tab.stop()


def test_magenta_is_a_choice_where_the_instant_extra_is_found(painting_tab, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    assert MAGENTA not in painting_tab().method.options


@installed
def test_magenta_paints_in_the_instant_tab_and_says_what_it_is(painting_tab):
    tab = painting_tab(method=MAGENTA)
    assert tab.model.layout.display == "none" and tab.painting_row.layout.display is None
    said = tab.status.value
    assert "128×85 px in" in said and "Ghiasi et al. 2017" in said and "not stylekit's own method" in said
    assert "refined 3 passes" in said  # and refined like universal's
    shown = tab.result.value
    tab.refine.value, tab.keep_colours.value = False, True
    assert tab.result.value != shown and "refined" not in tab.status.value and tab.live.step == 3


def test_a_paintings_image_is_refined_from_the_instant_one(painting_tab):
    tab = painting_tab(blocking=False)
    tab.stop()  # the first photo's refinement: shown below only what the next change makes
    shown = []
    tab.result.observe(lambda change: shown.append(change["new"]), "value")
    tab.photo.choice.value = "coffee"
    wait_for(lambda: not tab._thread.is_alive())
    assert len(shown) == 4  # the instant image, then each of the 3 passes'
    instant, first, last = (pixels(png) for png in (shown[0], shown[1], shown[-1]))
    photo = pixels(images.png_bytes(images.as_tensor(sample("coffee"), 128)))
    assert 0 < np.abs(first - instant).mean() < np.abs(first - photo).mean() / 4  # started there, not from the photo
    history = tab.live.history["total"]
    assert len(history) == 3 and history[-1] < history[0]
    assert "refined 3 passes · judged content" in tab.status.value and "· style" in tab.status.value
    assert tab.live.settings.size == 128 and tab.live.settings.style_weight == PRESETS["default"].style_weight
    assert np.array_equal(pixels(tab.result.value), last)  # stopped by itself, the latest image kept


def test_a_control_change_restarts_the_refinement_and_unticking_stops_it(painting_tab, monkeypatch):
    monkeypatch.setattr(instant_module, "REFINE_PASSES", 10_000)
    tab = painting_tab(blocking=False)  # a background thread, as in the browser
    wait_for(lambda: tab.live is not None and tab.live.step >= 2)
    old, thread = tab.live, tab._thread
    tab.strength.value = 0.5
    assert not thread.is_alive()  # stopped before the new instant image
    steps = old.step
    wait_for(lambda: tab.live is not old and tab.live.step >= 2 and "refined" in tab.status.value)
    assert old.step == steps and tab.live.settings.style_weight == PRESETS["default"].style_weight * 0.5
    live, thread = tab.live, tab._thread
    tab.refine.value = False
    assert tab._thread is None and not thread.is_alive()
    image, steps = tab.result.value, live.step
    time.sleep(0.3)
    assert tab.result.value == image and live.step == steps and f"refined {steps} passes" in tab.status.value
    tab.refine.value = True  # ticked again: a new instant image, refined
    wait_for(lambda: tab.live is not live and tab.live.step >= 1)


def test_an_uploaded_painting_is_refined_and_judged(painting_tab):
    tab = painting_tab()
    tab.painting.choice.value = UPLOAD
    tab.painting.upload.value = upload(sample("mosaic").read_bytes(), "mosaic.jpg")
    assert "refined 3 passes · judged content" in tab.status.value, tab.status.value
