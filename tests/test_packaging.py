"""The package as users get it: a wheel that holds the data, requirements.txt that agrees with pyproject.toml,
a version in one place that the changelog and `stylekit --version` name."""

import os
import re
import runpy
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import stylekit
from stylekit.cli import main

try:
    import tomllib
except ImportError:  # Python < 3.11: the test extra brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NEEDS = runpy.run_path(str(ROOT / "notebooks" / "build.py"))["NEEDS"]
# Colab downloads the wheel's contents on every fresh runtime: 12.2 MB today, nearly all of it the three fast models.
WHEEL_BYTES = 15_000_000


def files_of_the_tree(under="."):
    """What a commit of this working tree holds (tracked, or new and not ignored), relative to the root."""
    listed = subprocess.check_output(["git", "ls-files", "-co", "--exclude-standard", under], cwd=ROOT, text=True)
    return [line for line in listed.splitlines() if (ROOT / line).is_file()]


def test_the_wheel_built_from_the_sdist_holds_all_the_data_and_stays_small(tmp_path):
    source = tmp_path / "source"  # the tree as a clone would have it: no build/, no checkpoints
    for name in files_of_the_tree():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    # python -m build makes the sdist, then the wheel from the sdist alone: so the sdist holds what the wheel needs
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("stylekit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = {name for name in names if name.startswith("stylekit/data/")}
    assert data == set(files_of_the_tree("stylekit/data")), "the wheel's data differs from stylekit/data/"
    for shipped in ("content_astronaut.jpg", "style_mosaic.jpg", "models/mosaic.pt", "models/decoder_relu1_1.pt",
                    "expected/02_depths.jpg", "masks/person_astronaut.png", "clip_coffee.mp4",
                    "README.md"):  # fmt: skip
        assert f"stylekit/data/{shipped}" in data
    assert {name.split("/")[0] for name in names} == {"stylekit", wheel.name.split("-py3")[0] + ".dist-info"}
    assert wheel.stat().st_size < WHEEL_BYTES, f"{wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB"


def requirement_lines(path):
    lines = (line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def test_requirements_txt_asks_for_pyprojects_ranges_and_every_notebooks_extras():
    project = PROJECT["optional-dependencies"]
    declared = [Requirement(r) for r in PROJECT["dependencies"] + [r for extra in project.values() for r in extra]]
    ranges = {r.name: {str(d.specifier) for d in declared if d.name == r.name} for r in declared}
    *named, editable = requirement_lines(ROOT / "requirements.txt")
    for requirement in map(Requirement, named):
        assert ranges.get(requirement.name) == {str(requirement.specifier)}, f"{requirement} as in pyproject.toml"
    student = {"torch", "torchvision", "pillow", "matplotlib", "ipywidgets", "jupyterlab", "nbval"}
    assert {Requirement(line).name for line in named} == student
    extras = re.fullmatch(r"-e \.\[([a-z,]+)\]", editable).group(1).split(",")  # stylekit from this clone
    assert set(extras) <= set(project), f"extras pyproject.toml lacks: {set(extras) - set(project)}"
    assert {extra for needs in NEEDS.values() for extra in needs[0].split(",")} | {"lab"} <= set(extras)


def test_binder_gets_the_same_requirements_with_a_cpu_only_torch():
    assert requirement_lines(ROOT / "binder" / "requirements.txt") == [
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        "-r ../requirements.txt",
    ]


def test_the_version_is_written_once_and_named_by_the_changelog_and_the_command(capsys):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in PROJECT["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "stylekit.__version__"}
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    top = re.search(r"^## (.+)$", changelog, re.M).group(1)
    assert top.split()[0] == stylekit.__version__, f"CHANGELOG.md's top entry {top!r} is not {stylekit.__version__}"
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"stylekit {stylekit.__version__}\n"


def test_stylekit_data_points_at_another_folder_laid_out_the_same_way(tmp_path, photo):
    shutil.copy(photo, tmp_path / "content_mine.jpg")
    code = "import stylekit.samples as s; print(s.contents(), s.sample('mine'))"
    env = {**os.environ, "STYLEKIT_DATA": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['mine']", str(tmp_path / "content_mine.jpg")]
