"""The course notebooks as notebooks/build.py writes them (setup cell, student versions); nbval runs them."""

import importlib.util
import json
import os
import re
import runpy
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from IPython.core.inputtransformer2 import TransformerManager

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SETUP = runpy.run_path(str(NOTEBOOKS / "build.py"))
# The playground (07) has guided things to try instead of exercises.
WITHOUT_EXERCISES = {"07"}


def test_every_notebook_is_as_build_writes_it_setup_cell_and_student_versions():
    assert SETUP["main"](check=True) == 0, "run: python notebooks/build.py"


def test_a_student_notebook_gets_the_scaffold_in_place_of_each_solution():
    source = (
        "def gram(f):\n"
        '    """doc"""\n'
        "    ### BEGIN SOLUTION\n"
        "    return f @ f.T\n"
        "    ### END SOLUTION\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "# student: answer = ...  # YOUR CODE: a number\n"
        "answer = 4\n"
        "### END SOLUTION\n"
        "check(answer)"
    )
    assert SETUP["student_code"](source, "test") == (
        'def gram(f):\n    """doc"""\n    raise NotImplementedError("your code here")\n\n'
        "answer = ...  # YOUR CODE: a number\ncheck(answer)"
    )
    with pytest.raises(SystemExit, match="a region outside a function needs a `# student: ` line"):
        SETUP["student_code"]("### BEGIN SOLUTION\nanswer = 4\n### END SOLUTION", "test")
    with pytest.raises(SystemExit, match="without ### END SOLUTION"):
        SETUP["student_code"]("### BEGIN SOLUTION\n# student: answer = ...", "test")
    talk = {"cell_type": "markdown", "metadata": {}, "source": ["<!-- solution -->\n", "It is 4."]}
    code = {"cell_type": "code", "metadata": {}, "source": ["answer = 4"]}
    assert SETUP["student_version"]({"cells": [talk, code]}, "test")["cells"] == [code]


class FakeShell:
    """What the cell asks of IPython (shell commands, %pip), recorded instead of run; %pip "installs" stylekit
    when ``pip_works``."""

    def __init__(self, installed, pip_works):
        self.calls, self.installed, self.pip_works = [], installed, pip_works

    def system(self, command):
        self.calls.append(command)

    def run_line_magic(self, name, line, _stack_depth=1):
        self.calls.append(f"%{name} {line}")
        self.installed = self.installed or (name == "pip" and self.pip_works)


def run_cell(source, monkeypatch, installed=False, pip_works=True):
    """The shell's calls when the cell runs; it must leave sys.path alone."""
    shell = FakeShell(installed, pip_works)
    real = importlib.util.find_spec

    def find_spec(name):  # stylekit is found once the shell has installed it
        return (object() if shell.installed else None) if name == "stylekit" else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    path = list(sys.path)
    exec(TransformerManager().transform_cell(source), {"get_ipython": lambda: shell})
    assert sys.path == path
    return shell.calls


@pytest.mark.parametrize("extras", ["course", "course,video"])
def test_in_colab_it_installs_the_package_once_and_survives_a_restart(extras, monkeypatch):
    source = SETUP["setup_source"](extras)
    assert run_cell(source, monkeypatch) == []  # not in Colab: nothing at all
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert run_cell(source, monkeypatch) == [f'%pip install -q "stylekit[{extras}] @ git+{SETUP["REPOSITORY"]}"']
    assert run_cell(source, monkeypatch, installed=True) == []  # after Runtime → Restart session


def test_in_colab_a_failed_install_stops_the_notebook_with_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    with pytest.raises(SystemExit, match=r"^stylekit did not install: pip's messages above say why$"):
        run_cell(SETUP["setup_source"]("course"), monkeypatch, pip_works=False)


def sources(notebook, kind):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == kind]


@pytest.mark.parametrize(
    "notebook", [n for n in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if n.name[:2] not in WITHOUT_EXERCISES]
)
def test_every_exercise_has_a_scaffold_then_its_check_and_a_worked_solution_in_the_source(notebook):
    numbers = [m.group(1) for text in sources(notebook, "markdown") if (m := re.match(r"\*\*(\d+) ★{1,3} ", text))]
    assert numbers, f"{notebook.name}: no exercise marked **N ★ (★★, ★★★)"
    code = sources(notebook, "code")
    scaffolds = [i for i, text in enumerate(code) if "= ...  # YOUR CODE" in text or "NotImplementedError(" in text]
    solved = sources(NOTEBOOKS / "solutions" / notebook.name, "code")
    for n in numbers:
        checked = [i for i, text in enumerate(code) if re.search(rf"^(\w+\.)?check_{n}\(", text, re.M)]
        assert checked and any(i < checked[0] for i in scaffolds), f"exercise {n}: a scaffold, then its check"
        (at,) = [i for i, text in enumerate(solved) if re.search(rf"^(\w+\.)?check_{n}\(", text, re.M)]
        assert "### BEGIN SOLUTION" in "".join(solved[:at]), f"exercise {n}: no worked solution before its check"


def test_the_playground_notebook_has_things_to_try_each_asking_for_a_prediction():
    (tries,) = [t for t in sources(NOTEBOOKS / "07_playground.ipynb", "markdown") if t.startswith("## Things to try")]
    items = re.findall(r"^\d+\. \*\*(.+?)\*\*(.+?)(?=^\d+\. |\Z)", tries, re.M | re.S)
    assert len(items) >= 5 and all("?" in text and "notebook" in text.lower() for _, text in items), items


def test_an_exercise_check_waits_for_an_answer_then_says_right_or_what_is_off(capsys):
    from stylekit.course import check

    assert check(..., lambda answer: answer == 4, "two and two") is False
    assert "Not done yet" in capsys.readouterr().out
    assert check(4, lambda answer: answer == 4, "two and two") is True
    assert capsys.readouterr().out.strip() == "Right."
    with pytest.raises(AssertionError, match="Not yet: two and two"):
        check(5, lambda answer: answer == 4, "two and two")


def test_a_prediction_counts_once_trying_the_letters_in_turn_or_restarting_does_not_change_it(capsys):
    from stylekit.course import check, predicted

    assert predicted("lesson99.check_1", ...) is ...
    assert predicted("lesson99.check_1", " (C) ") == "c"
    assert predicted("lesson99.check_1", "a") == "c"  # the first is kept
    assert predicted("lesson99.check_2", "a") == "a"  # each question its own
    restarted = subprocess.run(  # a new kernel reads the letters kept
        [sys.executable, "-c", "from stylekit.course import predicted; print(predicted('lesson99.check_1', 'a'))"],
        capture_output=True, text=True, check=True, env=os.environ,
    )  # fmt: skip
    assert restarted.stdout.strip() == "c"
    with pytest.raises(AssertionError, match="one letter of 'a', 'b', 'c'"):
        predicted("lesson99.check_3", "d", "abc")
    capsys.readouterr()
    assert check(4, lambda answer: answer == 4, "", prediction=("c", "a")) is False
    assert "you predicted (c)" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="Not yet"):  # the rest is checked first
        check(5, lambda answer: answer == 4, "", prediction=("a", "a"))


def test_every_expected_result_a_notebook_shows_is_shipped_small_and_every_shipped_one_is_shown():
    from stylekit.samples import DATA

    shown = {
        name
        for notebook in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
        for text in sources(notebook, "code")
        for name in re.findall(r'show_expected\("([^"]+)"\)', text)
    }
    shipped = {p.stem: p.stat().st_size for p in (DATA / "expected").glob("*.jpg")}
    assert shown and shown == set(shipped), f"shown but not shipped, or shipped but not shown: {shown ^ set(shipped)}"
    assert max(shipped.values()) < 200_000, shipped


def test_without_refuses_a_functions_code_however_it_is_reached_and_puts_a_profiler_back():
    from stylekit import losses
    from stylekit.course import Borrowed, _copy, without

    image, calls = torch.rand(1, 3, 5, 6), []
    copy = _copy(losses.tv_loss)

    def profiler(frame, event, arg):
        calls.append(event)

    sys.setprofile(profiler)
    try:
        for answer in (
            lambda: losses.tv_loss(image),
            lambda: copy(image),
            lambda: (sys.setprofile(None), copy(image)),  # the refusals switched off
        ):
            with pytest.raises(Borrowed), without((losses.tv_loss,), {}):
                answer()
            assert sys.getprofile() is profiler
        with without((losses.tv_loss,), {}):
            pass
        assert sys.getprofile() is profiler
    finally:
        sys.setprofile(None)
    assert torch.equal(copy(image), losses.tv_loss(image))
