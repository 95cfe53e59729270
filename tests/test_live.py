import time

import pytest
import torch
from PIL import Image

from stylekit import load_image, transfer
from stylekit.errors import ImageError, SettingsError
from stylekit.live import FRESH_SHARE, LiveTransfer
from stylekit.measure import HostReads

TINY = dict(size=48, precision="fp32")


def test_a_live_run_lowers_its_loss_and_leaves_the_photo(photo, texture):
    live = LiveTransfer(photo, texture, **TINY)
    first = live.run(1)["total"]
    last = live.run(30)["total"]
    assert live.step == 31 and last < 0.5 * first
    assert (live.image - load_image(photo, 48)).abs().mean() > 0.01


def test_a_live_step_reads_its_losses_once(photo, texture):
    """A live run's history is floats, for the page: all of a step's terms in one read (one wait for a GPU)."""
    live = LiveTransfer(photo, texture, **TINY)
    with HostReads() as reads:
        live.run(3)
    assert reads.by["steps"] == 3 and set(reads.by) == {"steps", "lbfgs"}
    assert all(isinstance(v, float) for v in live.history["total"])


def test_a_new_weight_reweighs_the_objective_and_the_image_carries_on(photo, texture):
    live = LiveTransfer(photo, texture, **TINY)
    live.run(5)
    before, stage = live.image, live._stage
    live.update(style_weight=90.0)
    assert torch.equal(live.image, before) and live._stage is stage  # nothing restarts or is rebuilt
    losses = live.run(1)
    assert losses["total"] == pytest.approx(losses["content"] + 90.0 * losses["style"], rel=1e-5)
    assert live.changes == [(5, {"style_weight": 90.0})] and live.result().settings["style_weight"] == 90.0


@pytest.mark.parametrize(
    "change", [{"style_layers": {"relu1_1": 1.0}}, {"content_layers": {"relu2_2": 1.0}}, {"colours": "luminance"}]
)
def test_new_layers_give_the_objective_transfer_builds_for_them_at_the_current_image(photo, texture, change):
    live = LiveTransfer(photo, texture, **TINY)
    live.run(5)
    live.update(**change)
    start = live._pixels.detach().clone()
    losses = live.run(1)
    fresh = transfer(photo, texture, steps=1, scales=1, start=start, progress=False, **TINY, **change)
    for term in ("content", "style"):
        assert losses[term] == pytest.approx(fresh.history[term][0], rel=1e-4)


def test_a_new_style_image_or_size_is_rebuilt_and_the_image_carried_over(photo, texture, tmp_path):
    live = LiveTransfer(photo, texture, **TINY)
    live.run(10)
    stripes = tmp_path / "stripes.png"
    columns = (torch.arange(64).remainder(8).lt(4) * 255).byte()
    Image.fromarray(columns.expand(64, 64).contiguous().numpy()).save(stripes)
    live.update(style=stripes)
    start = live._pixels.detach().clone()
    one_step = dict(steps=1, scales=1, start=start, progress=False, **TINY)
    fresh, old = (transfer(photo, style, **one_step) for style in (stripes, texture))
    assert fresh.history["style"][0] != pytest.approx(old.history["style"][0], rel=1e-3)  # the check can tell them
    assert live.run(1)["style"] == pytest.approx(fresh.history["style"][0], rel=1e-4)
    small = live.image
    live.update(size=64)
    assert live.image.shape[-2:] == (48, 64)
    carried = torch.nn.functional.interpolate(small, size=(48, 64), mode="bilinear", antialias=False)
    photo_64 = load_image(photo, 64)
    assert (live.image - carried).abs().mean() < 0.5 * (live.image - photo_64).abs().mean()


def test_a_bad_change_is_named_and_the_run_keeps_its_state(photo, texture, tmp_path):
    live = LiveTransfer(photo, texture, **TINY)
    live.run(3)
    before, settings = live.image, live.settings
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 8), "red").save(tiny)
    with pytest.raises(SettingsError, match="style_weight"):
        live.update(style_weight=-1)
    with pytest.raises(ImageError, match="px"):
        live.update(style=tiny)
    assert live.settings == settings and live.inputs["style"] == texture and torch.equal(live.image, before)
    steps = live.step
    assert live.run(1)["total"] == live.history["total"][-1] and live.step == steps + 1 and live.changes == []


def test_the_background_run_follows_a_change_and_stops_with_the_latest_image(photo, texture):
    seen = []
    live = LiveTransfer(photo, texture, callback=lambda step, losses, image: seen.append(step), **TINY).start()
    try:
        for until in (3, 6):
            deadline = time.monotonic() + 60
            while live.step < until and time.monotonic() < deadline and live.running:
                time.sleep(0.05)
            if until == 3:
                live.update(style_weight=27.0)
    finally:
        result = live.stop()
    assert not live.running and live.error is None and result.stopped == "stopped"
    assert result.steps_done == live.step >= 6 and seen[:6] == [1, 2, 3, 4, 5, 6]
    ((step, change),) = live.changes
    assert step >= 3 and change == {"style_weight": 27.0} and result.settings["style_weight"] == 27.0
    assert torch.equal(result.image, live.image)


def test_a_start_image_given_is_left_as_it_was(photo, texture):
    start = load_image(photo, 48)
    kept = start.clone()
    result = transfer(photo, texture, steps=3, scales=1, start=start, progress=False, **TINY)
    live = LiveTransfer(photo, texture, start=start, **TINY)
    live.run(3)
    assert torch.equal(start, kept)
    assert not torch.equal(result.image, kept) and not torch.equal(live.image, kept)  # both runs moved


def test_a_restyle_moves_the_image_part_way_back_to_the_start_and_a_reweigh_does_not(photo, texture, tmp_path):
    live = LiveTransfer(photo, texture, **TINY)
    live.run(10)
    before = live._pixels.detach().clone()
    assert not live.update(style_weight=20.0) and torch.equal(live._pixels, before)
    assert not live.update(style_layers={"relu1_1": 1.0, "relu2_1": 1.0}) and torch.equal(live._pixels, before)
    stripes = tmp_path / "stripes.png"
    Image.fromarray((torch.arange(64).remainder(8).lt(4) * 255).byte().expand(64, 64).contiguous().numpy()).save(
        stripes
    )
    assert live.update(style=stripes)  # the image changed at once: a preview can show it
    expected = (1 - FRESH_SHARE) * before + FRESH_SHARE * load_image(photo, 48)
    assert torch.allclose(live._pixels, expected, atol=1e-6)


def test_a_rebuild_passes_the_network_only_for_what_changed(photo, texture):
    live = LiveTransfer(photo, texture, **TINY)
    live.run(2)
    passes = []
    network = live._stage.objective.model.encoder
    hook = network.features[0].register_forward_hook(lambda *_: passes.append(1))
    try:
        live.update(style_layers={"relu2_1": 1.0, "relu4_1": 1.0})  # responses seen already
        layers_only = len(passes)
        live.update(style=load_image(texture, 40))  # a new style image: its own pass
        new_style = len(passes) - layers_only
    finally:
        hook.remove()
    assert (layers_only, new_style) == (0, 1)
    start = live._pixels.detach().clone()
    fresh = transfer(photo, load_image(texture, 40), steps=1, scales=1, start=start, progress=False, **TINY,
                     style_layers={"relu2_1": 1.0, "relu4_1": 1.0})  # fmt: skip
    assert live.run(1)["style"] == pytest.approx(fresh.history["style"][0], rel=1e-4)  # the remembered targets


def test_a_failed_rebuild_leaves_the_network_the_run_steps_through(photo, texture, tmp_path):
    live = LiveTransfer(photo, texture, **TINY)
    live.run(2)
    remembered = live._stage.objective.model
    encoder, losses = remembered.encoder, live.run(1)
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 8), "red").save(tiny)
    with pytest.raises(ImageError, match="px"):
        live.update(normalization="thesis", style=tiny)  # a new network, then a failure
    assert remembered.encoder is encoder and live.settings.normalization == "model"
    assert live.run(1)["total"] < losses["total"]  # still stepping the old objective through the old network
