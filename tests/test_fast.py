import subprocess
import sys
import threading

import pytest
import torch
from PIL import Image
from processes import interrupt, started, wait_until

from stylekit import Objective, Settings, load_fast, load_vgg, read_settings, stylize, train_fast
from stylekit.cli import main
from stylekit.colour import to_yiq
from stylekit.errors import ImageError, StylekitError
from stylekit.fast import SHIPPED, VERSION, TransformNet, cached_fast, shipped_models
from stylekit.images import load_image
from stylekit.judge import judge, judge_targets
from stylekit.photos import HELD_OUT, default_photos
from stylekit.samples import sample

TINY = dict(size=64, batch=2, style_size=64, precision="fp32", progress=False)


@pytest.fixture
def photos(tmp_path, photo, texture):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, source in enumerate((photo, texture)):
        (folder / f"{i}.png").write_bytes(source.read_bytes())
    return folder


def test_transform_net_keeps_any_size_and_has_johnsons_size():
    net = TransformNet()
    for height, width in ((37, 50), (64, 64), (17, 90)):
        assert net(torch.rand(1, 3, height, width)).shape == (1, 3, height, width)
    assert 1.6e6 < sum(p.numel() for p in net.parameters()) < 1.8e6


def test_the_output_is_an_image_whatever_the_weights():
    """Training scores exactly what stylize returns: no pixel outside [0, 1] to be clamped afterwards."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(0)  # a fixed network: some random ones saturate few pixels one way
        net = TransformNet()
        net[-1][1].weight.mul_(100)  # drives the last layer's values far outside [0, 1]
        out = net(torch.rand(1, 3, 40, 40))
    assert out.min() >= 0 and out.max() <= 1
    assert (out < 0.01).float().mean() > 0.1 and (out > 0.99).float().mean() > 0.1  # saturated both ways


@pytest.mark.parametrize("path", [SHIPPED / f"{name}.pt" for name in shipped_models()], ids=lambda p: p.stem)
def test_each_shipped_model_is_small_and_paints_its_bundled_style(path):
    """What a fresh clone relies on: the file loads within the 4 MB budget with its record, and moves a photo it
    never saw towards its style (judged style error under half the photo's own) while keeping the photo
    (content error under that of the style image itself)."""
    assert path.stat().st_size <= 4e6
    model = load_fast(path, "cpu")
    assert len(model.history["total"]) == len(model.history["seconds"]) > 1000 and model.thumbnail is not None
    photo, style = sample(HELD_OUT[0]), sample(model.style)
    styled = stylize(model, photo, 256, precision="fp32").image  # the strokes are sized for 512 px: not much less
    original = load_image(photo, 256)
    painting = load_image(style, tuple(styled.shape[:-3:-1]))
    targets = judge_targets(photo, style, *styled.shape[:-3:-1])  # one set for the three images of that size
    ours, theirs, style_as_photo = (judge(image, photo, style, targets) for image in (styled, original, painting))
    assert ours["style"] < 0.5 * theirs["style"]
    assert ours["content"] < style_as_photo["content"]


def test_a_batch_scores_each_image_against_its_own_content():
    """One objective over a batch = the mean of the style terms and the summed relative content error."""
    vgg = load_vgg("vgg19", "original", "max")
    s = Settings()
    g = torch.Generator().manual_seed(0)
    photos, style, outputs = (torch.rand(n, 3, 32, 32, generator=g) for n in (2, 1, 2))
    objective = Objective.for_settings(vgg, photos[:1], style, s)
    single = []
    for i in range(2):
        objective.set_content(photos[i : i + 1])
        single.append(objective(outputs[i : i + 1]))
    objective.set_content(photos)
    batch = objective(outputs)
    torch.testing.assert_close(batch["style"], (single[0]["style"] + single[1]["style"]) / 2)
    zero = [objective.content["relu4_2"][1]]  # the batch's weight: 1 / (½ΣP² over both photos)
    objective.set_content(photos[:1])
    zero.append(objective.content["relu4_2"][1])
    objective.set_content(photos[1:])
    zero.append(objective.content["relu4_2"][1])
    expected = (single[0]["content"] / zero[1] + single[1]["content"] / zero[2]) * zero[0]
    torch.testing.assert_close(batch["content"], expected)


def test_training_lowers_the_loss_and_the_model_saves_small(tmp_path, photos, texture):
    model = train_fast(texture, photos, steps=40, **TINY)
    losses = model.history["total"]
    assert sum(losses[-5:]) < 0.5 * sum(losses[:5])
    path = model.save(tmp_path / "m.pt")
    assert path.stat().st_size < 4e6
    loaded = load_fast(path, "cpu")
    assert loaded.style == "texture" and loaded.settings["size"] == 64 and loaded.history == model.history
    ours, theirs = stylize(model, texture, size=48), stylize(loaded, texture, size=48)
    assert ours.image.shape == (1, 3, 48, 48)
    assert (ours.image - theirs.image).abs().max() < 0.02  # fp16 weights in the file
    assert (ours.image - stylize(model, texture, size=48, strength=0).image).abs().mean() > 0.02  # it does change


def test_resume_continues_exactly_where_training_stopped(tmp_path, photos, texture):
    whole = train_fast(texture, photos, steps=6, **TINY)
    checkpoint = tmp_path / "c.pt"
    stop = threading.Event()
    stop.set()  # stops after the first step, saving the checkpoint
    first = train_fast(texture, photos, steps=6, checkpoint=checkpoint, stop=stop, **TINY)
    assert first.stopped == "stopped" and len(first.history["total"]) == 1 and checkpoint.exists()
    resumed = train_fast(texture, photos, steps=6, checkpoint=checkpoint, checkpoint_every=2, **TINY)
    assert resumed.stopped is None
    assert resumed.history["total"] == pytest.approx(whole.history["total"], rel=1e-5)
    with pytest.raises(StylekitError, match=r"a checkpoint of other settings \(lr 0\.001 -> 0\.01\)"):
        train_fast(texture, photos, steps=6, checkpoint=checkpoint, lr=0.01, **TINY)


def test_the_last_tenth_of_the_steps_cools_down(monkeypatch, photos, texture):
    rates, step = [], torch.optim.Adam.step

    def recording_step(optimizer, *args, **kwargs):
        rates.append(optimizer.param_groups[0]["lr"])
        return step(optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    train_fast(texture, photos, steps=20, lr=0.002, **TINY)
    assert rates == [0.002] * 18 + [0.0002] * 2


def test_strength_and_original_colours(texture, photo):
    model = train_fast(texture, [photo], steps=2, **TINY)
    plain = stylize(model, photo, size=64, strength=0).image
    assert torch.equal(plain, load_image(photo, 64))  # strength 0 is the photo itself
    half, full = stylize(model, photo, size=64, strength=0.5).image, stylize(model, photo, size=64).image
    torch.testing.assert_close(half, (plain + full) / 2, atol=1e-6, rtol=0)
    kept = stylize(model, photo, size=64, colours="luminance").image
    inside = ((kept > 0.01) & (kept < 0.99)).all(1, keepdim=True).expand(-1, 2, -1, -1)  # no channel clipped
    assert inside.float().mean() > 0.3
    chroma_error = (to_yiq(kept)[:, 1:] - to_yiq(plain)[:, 1:])[inside].abs().max()
    assert chroma_error < 0.01 < (to_yiq(full)[:, 1:] - to_yiq(plain)[:, 1:])[inside].abs().max()
    with pytest.raises(StylekitError, match="strength must be between 0 and 1"):
        stylize(model, photo, strength=1.5)


def test_default_photos_hold_out_two_and_bad_photo_folders_are_named(tmp_path, texture, photos):
    names = {p.stem.removeprefix("content_") for p in default_photos()}
    assert len(names) >= 10 and not names & set(HELD_OUT)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.jpg").write_text("not a photo")
    with pytest.raises(ImageError, match=f"{empty}: no readable image to train on"):
        train_fast(texture, empty, steps=1, **TINY)
    (photos / "broken.png").write_text("skipped, the others train")
    assert len(train_fast(texture, photos, steps=1, **TINY).history["total"]) == 1
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 8)).save(tiny)
    with pytest.raises(ImageError, match="the style image is 8×8 px"):
        train_fast(tiny, photos, steps=1, **{**TINY, "style_size": None})


def test_foreign_and_future_model_files_are_refused(tmp_path):
    text, other, future = tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "c.pt"
    text.write_text("hello")
    torch.save({"conv.weight": torch.zeros(1)}, other)
    torch.save({"format": "stylekit-fast", "version": 99}, future)
    for path, message in ((text, "not a stylekit fast model"), (other, "not a stylekit fast model"),
                          (future, f"format version 99; this stylekit reads version {VERSION}"),
                          (tmp_path / "none.pt", "no such fast model file")):  # fmt: skip
        with pytest.raises(StylekitError, match=message):
            load_fast(path)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


CLI_TINY = ["--size", "64", "--batch", "2", "--style-size", "64", "--precision", "fp32"]


def test_cli_trains_then_stylizes_one_photo_and_a_folder(capsys, tmp_path, photos, photo, texture):
    model = tmp_path / "tex.pt"
    code, out, _ = run(capsys, "train", texture, "-o", model, "--photos", photos, "--steps", "3", *CLI_TINY)
    assert code == 0 and "3 steps" in out and model.exists() and not (tmp_path / "tex.checkpoint.pt").exists()
    code, out, _ = run(capsys, "stylize", model, photo, "-o", tmp_path / "one.png", "--size", "40")
    assert code == 0 and Image.open(tmp_path / "one.png").size == (40, 30)
    assert read_settings(tmp_path / "one.png")["fast_model"] == "texture"
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, _ = run(capsys, "stylize", model, photo, texture, "-o", folder, "--size", "32")
    assert code == 0 and sorted(p.name for p in folder.iterdir()) == ["photo_texture.png", "texture_texture.png"]


def test_cli_bad_fast_inputs_exit_2_and_write_nothing(capsys, tmp_path, photos, photo, texture):
    foreign = tmp_path / "foreign.pt"
    foreign.write_bytes(b"\x00" * 100)
    cases = [
        (("stylize", foreign, photo, "-o", tmp_path / "x.png"), "not a stylekit fast model"),
        (("stylize", foreign, photo, texture, "-o", tmp_path / "x.png"), "not a stylekit fast model"),
        (("train", texture, "-o", tmp_path / "m.pt", "--photos", tmp_path / "nothing", *CLI_TINY), "no such file"),
        (("train", texture, "-o", tmp_path / "m.pt", "--photos", tmp_path / "x.png", *CLI_TINY), "no such file"),
        (("train", texture, "-o", texture), "output must be a .pt file"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, *argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["foreign.pt", "photo.png", "texture.png", "photos"])
    before = photo.read_bytes()
    model = train_fast(texture, photos, steps=1, **TINY).save(tmp_path / "m.pt")
    code, _, err = run(capsys, "stylize", model, photo, "-o", photo)
    assert code == 2 and "is also an input" in err and photo.read_bytes() == before


def test_ctrl_c_while_training_keeps_a_checkpoint_and_the_rerun_resumes(tmp_path, photos, texture):
    model = tmp_path / "m.pt"
    argv = [sys.executable, "-m", "stylekit", "train", texture, "-o", model, "--photos", photos, *CLI_TINY]
    checkpoint = tmp_path / "m.checkpoint.pt"
    with started([*argv, "--steps", "100000", "--checkpoint-every", "2"]) as proc:
        wait_until(checkpoint.exists, proc)
        code, err = interrupt(proc)
    assert code == 130 and "run the same command to resume" in err, err
    done = len(load_fast(checkpoint).history["total"])
    assert done >= 2 and not model.exists()
    rerun = subprocess.run([*map(str, argv), "--steps", str(done + 2)], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0 and f"resuming from {checkpoint}" in rerun.stderr, rerun.stderr
    assert len(load_fast(model).history["total"]) == done + 2 and not checkpoint.exists()


def test_a_cached_model_is_read_again_after_its_file_is_rewritten(tmp_path, photo, texture):
    path = tmp_path / "m.pt"
    first = train_fast(texture, [photo], steps=1, **TINY)
    first.save(path)
    assert cached_fast(path) is cached_fast(str(path))  # read once
    second = train_fast(photo, [texture], steps=2, **TINY)  # another style, under the same name
    second.save(path)
    again = cached_fast(path)
    assert len(again.history["total"]) == 2 and again.style == second.style != first.style
    assert cached_fast("mosaic") is cached_fast("mosaic") and cached_fast("mosaic").style == "mosaic"
