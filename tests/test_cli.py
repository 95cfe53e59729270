import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from PIL import Image
from processes import interrupt, started, wait_until

from stylekit import read_settings
from stylekit.cli import main
from stylekit.samples import DATA

FAST = ["--size", "40", "--steps", "3"]
CLIP = DATA / "clip_coffee.mp4"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_layers_lists_vgg16_with_torchvision_indices(capsys):
    code, out, _ = run(capsys, "layers", "--model", "vgg16")
    rows = {line.split()[1]: int(line.split()[0]) for line in out.splitlines()[1:]}
    assert code == 0 and rows["conv4_2"] == 19 and rows["conv5_1"] == 24 and len(rows) == 31


def test_transfer_writes_png_with_settings(capsys, photo, texture, tmp_path):
    out = tmp_path / "out.png"
    code, stdout, _ = run(capsys, "transfer", photo, texture, "-o", out, *FAST, "--style-weight", "7")
    assert code == 0 and "saved" in stdout
    assert Image.open(out).size == (40, 30)
    settings = read_settings(out)
    assert settings["style_weight"] == 7 and settings["content"] == str(photo)


def test_steps_per_scale_and_the_cost_on_the_last_line(capsys, photo, texture, tmp_path):
    out = tmp_path / "out.png"
    code, stdout, _ = run(capsys, "transfer", photo, texture, "-o", out, "--size", "48", "--steps", "4,2")
    assert code == 0 and "(6 steps, 3.0 full-size VGG passes," in stdout
    assert read_settings(out)["steps"] == [4, 2]
    code, _, err = run(capsys, "transfer", photo, texture, "-o", out, "--steps", "4,x")
    assert code == 2 and "steps must be N or N,N,..., not '4,x'" in err


def test_settings_from_png_repeats_the_run(capsys, photo, texture, tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    run(capsys, "transfer", photo, texture, "-o", first, *FAST, "--pooling", "avg")
    code, _, _ = run(capsys, "transfer", "--settings-from", first, "-o", second)
    assert code == 0 and read_settings(second) == read_settings(first)
    assert Image.open(first).tobytes() == Image.open(second).tobytes()


def _corrupt(tmp_path, photo):
    return {
        "missing": tmp_path / "nope.png",
        "not an image": _write(tmp_path / "notes.png", b"hello, not a picture"),
        "truncated": _write(tmp_path / "cut.png", photo.read_bytes()[: len(photo.read_bytes()) // 2]),
    }


def _write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such file"),
        ("not an image", "not an image"),
        ("truncated", "cannot read image"),
    ],
)
def test_bad_content_file(capsys, photo, texture, tmp_path, case, message):
    bad = _corrupt(tmp_path, photo)[case]
    code, _, err = run(capsys, "transfer", bad, texture, "-o", tmp_path / "out.png", *FAST)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "8"], "needs at least 16 px"),
        (["--style-layers", "relu1_1,conv9_1"], "unknown layer 'conv9_1' for vgg19; valid layers:"),
        (["--style-weight", "nan"], "style_weight must be a finite number"),
        (["--content-weight", "-3"], "content_weight must be a finite number >= 0"),
        (["--steps", "0"], "steps must be an integer >= 1"),
        (["--model", "vgg16"], "original weights exist for vgg19 only"),
        (["--preset", "fancy"], "invalid choice"),
        (["--scales", "two"], "--scales: expected auto or an integer, not 'two'"),
    ],
)
def test_bad_settings(capsys, photo, texture, tmp_path, args, message):
    code, _, err = run(capsys, "transfer", photo, texture, "-o", tmp_path / "out.png", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def test_weights_unavailable_offline(capsys, photo, texture, tmp_path, offline_torchvision):
    code, _, err = run(
        capsys,
        "transfer",
        photo,
        texture,
        "-o",
        tmp_path / "o.png",
        "--model",
        "vgg16",
        "--weights",
        "torchvision",
        *FAST,
    )
    assert code == 2 and "connect to the internet once" in err


def test_decompression_bomb(capsys, photo, texture, tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    code, _, err = run(capsys, "transfer", photo, texture, "-o", tmp_path / "out.png", *FAST)
    assert code == 2 and "decompression bomb" in err


def test_output_equal_to_input_is_refused_and_input_kept(capsys, photo, texture):
    before = photo.read_bytes()
    code, _, err = run(capsys, "transfer", photo, texture, "-o", photo, *FAST)
    assert code == 2 and "is also an input" in err and photo.read_bytes() == before


def test_output_folder_missing(capsys, photo, texture, tmp_path):
    code, _, err = run(capsys, "transfer", photo, texture, "-o", tmp_path / "no" / "out.png", *FAST)
    assert code == 2 and "does not exist" in err


def test_console_script_errors_without_traceback(photo, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "stylekit",
            "transfer",
            photo,
            tmp_path / "missing.jpg",
            "-o",
            tmp_path / "o.png",
            "--size",
            "64",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"stylekit: error: {tmp_path / 'missing.jpg'}: no such file"


def test_tiny_image_is_refused_and_a_large_enlargement_warned_in_one_line(capsys, photo, texture, tmp_path):
    dot = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), "red").save(dot)
    code, _, err = run(capsys, "transfer", dot, texture, "-o", tmp_path / "out.png")
    assert (
        code == 2
        and err.strip()
        == "stylekit: error: the content image is 1×1 px; images need at least 16 px on "
        "their shorter side, or VGG's deeper layers have nothing to describe"
    )
    assert not (tmp_path / "out.png").exists()
    code, _, err = run(capsys, "transfer", photo, texture, "-o", tmp_path / "out.png", "--size", "320", "--steps", "1")
    warned = [line for line in err.splitlines() if "warning" in line]  # the rest is the progress bar
    assert code == 0 and warned == [
        f"stylekit: warning: the {name} image is only {size} px: enlarged more than 4×, it gives a blurry result"
        for name, size in (("content", "64×48"), ("style", "64×64"))
    ]


def test_ctrl_c_saves_latest_image_and_exits_130(photo, texture, tmp_path):
    out = tmp_path / "out.png"
    argv = [sys.executable, "-m", "stylekit", "transfer", photo, texture, "-o", out, "--size", "40",
            "--steps", "100000", "--save-every", "1"]  # fmt: skip
    with started(argv) as proc:
        wait_until(lambda: list(tmp_path.glob("out_step*.png")), proc)
        code, err = interrupt(proc)
    assert code == 130, err
    assert "interrupted at step" in err and out.exists()
    assert read_settings(out)["steps"] == 100000
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_two_styles_blended_and_colours_kept(capsys, photo, texture, tmp_path):
    out = tmp_path / "out.png"
    code, _, err = run(
        capsys,
        "transfer",
        photo,
        texture,
        photo,
        "-o",
        out,
        *FAST,
        "--style-blend",
        "0.8,0.2",
        "--colours",
        "luminance",
        "--style-scale",
        "1.5",
    )
    assert code == 0, err
    settings = read_settings(out)
    assert settings["style"] == [str(texture), str(photo)] and settings["style_blend"] == [0.8, 0.2]
    assert settings["colours"] == "luminance" and settings["style_scale"] == 1.5
    code, _, err = run(capsys, "transfer", photo, texture, "-o", out, *FAST, "--colours", "sepia")
    assert code == 2 and "colours must be one of style, match, luminance" in err


def test_mask_and_style_loss_flags(capsys, photo, texture, tmp_path):
    mask = tmp_path / "mask.png"
    Image.new("L", (64, 48), 255).save(mask)
    out, again = tmp_path / "out.png", tmp_path / "again.png"
    code, _, err = run(capsys, "transfer", photo, texture, "-o", out, *FAST, "--mask", mask)
    assert code == 0, err
    assert read_settings(out)["mask"] == str(mask)
    assert run(capsys, "transfer", "--settings-from", out, "-o", again)[0] == 0
    assert Image.open(out).tobytes() == Image.open(again).tobytes()
    code, _, err = run(
        capsys, "transfer", photo, texture, "-o", out, *FAST, "--style-loss", "mrf", "--style-layers", "relu3_1"
    )
    assert code == 0 and read_settings(out)["style_loss"] == "mrf"
    code, _, err = run(capsys, "transfer", photo, texture, "-o", out, *FAST, "--style-loss", "wasserstein")
    assert code == 2 and "style_loss must be one of gram, histogram, mrf" in err
    code, _, err = run(capsys, "transfer", photo, texture, "-o", out, *FAST, "--mask", photo.parent / "none.png")
    assert code == 2 and "no such file" in err


def test_demo_writes_its_result(capsys, tmp_path):
    out = tmp_path / "demo.png"
    code, stdout, err = run(capsys, "demo", "-o", out, "--size", "48", "--steps", "2")
    assert code == 0, err
    assert Image.open(out).size == (48, 48) and f"saved {out.resolve()} (2 steps" in stdout
    assert read_settings(out)["style"].endswith("style_brushstrokes.jpg")


def test_size_as_width_by_height(capsys, photo, texture, tmp_path):
    out = tmp_path / "out.png"
    code, _, err = run(capsys, "transfer", photo, texture, "-o", out, "--size", "40x24", "--steps", "2")
    assert code == 0 and Image.open(out).size == (40, 24), err
    code, _, err = run(capsys, "transfer", photo, texture, "-o", out, "--size", "40by24")
    assert code == 2 and "size must be N or WxH, not '40by24'" in err


def test_layer_weights_on_the_command_line(capsys, photo, texture, tmp_path):
    out = tmp_path / "out.png"
    layers = ("--style-layers", "relu1_1:0.5,relu2_1", "--content-layers", "relu3_2:2")
    code, _, err = run(capsys, "transfer", photo, texture, "-o", out, *FAST, *layers)
    assert code == 0, err
    settings = read_settings(out)
    assert settings["style_layers"] == {"relu1_1": 0.5, "relu2_1": 1.0} and settings["content_layers"] == {"relu3_2": 2}
    for bad, message in (("relu1_1:heavy", "bad layer weight in 'relu1_1:heavy'"), ("relu1_1:-1", "weight of relu1_1")):
        code, _, err = run(capsys, "transfer", photo, texture, "-o", out, *FAST, "--style-layers", bad)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_the_installed_command(tmp_path):
    """The console script pip installs (README: `stylekit demo`), not only `python -m stylekit`."""
    command = shutil.which("stylekit")
    assert command, "no `stylekit` command on PATH: install the package (pip install -e .)"
    listed = subprocess.run([command, "layers", "--model", "vgg16"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "conv5_3" in listed.stdout
    wrong = subprocess.run([command, "transfer"], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and wrong.stderr.startswith("stylekit: error:") and "Traceback" not in wrong.stderr


def test_stylize_video_and_batch_with_a_shipped_model(capsys, photo, texture, tmp_path):
    out = tmp_path / "styled.png"
    code, stdout, err = run(capsys, "stylize", "mosaic", photo, "-o", out, "--size", "48")
    assert code == 0 and Image.open(out).size == (48, 36) and "saved" in stdout, err
    assert read_settings(out)["fast_model"] == "mosaic"
    clip = tmp_path / "clip.mp4"
    code, stdout, err = run(capsys, "video", CLIP, "-o", clip, "--model", "mosaic", "--size", "32")
    assert code == 0 and "(48 frames" in stdout, err
    folder = tmp_path / "many"
    folder.mkdir()
    code, stdout, err = run(capsys, "batch", photo, texture, "--model", "mosaic", "-o", folder,
                            "--size", "32")  # fmt: skip
    assert code == 0 and "2 done" in stdout, err
    assert sorted(p.name for p in folder.glob("*.png")) == ["photo__mosaic.png", "texture__mosaic.png"]


def test_ctrl_c_while_torch_loads_is_one_line_and_130(tmp_path, photo, texture):
    """The command is in control from its first instant: Ctrl-C while torch is still loading ends it with one line
    and 130, no traceback, nothing written."""
    log = tmp_path / "stderr.txt"
    argv = [sys.executable, "-X", "importtime", "-m", "stylekit", "transfer", photo, texture, "-o",
            tmp_path / "out.png", "--size", "40", "--steps", "100000"]  # fmt: skip
    with open(log, "w") as stderr, started(argv, stderr=stderr) as proc:
        # -X importtime writes a line as each module finishes, indented by depth: an indented torch submodule's
        # means torch itself is still loading.
        wait_until(lambda: re.search(r"\|\s{2,}torch\.", log.read_text()), proc)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    said = [line for line in log.read_text().splitlines() if not line.startswith("import time:")]
    assert proc.returncode == 130 and said == ["stylekit: interrupted; nothing half-written"], said
    assert sorted(os.listdir(tmp_path)) == sorted(["stderr.txt", "photo.png", "texture.png"])
