"""The course notebooks' shared setup cell (notebooks/setup_cell.py); nbval runs the notebooks themselves."""

import json
import os
import re
import runpy
import sys
import types
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SETUP = runpy.run_path(str(NOTEBOOKS / "setup_cell.py"))
# The playground (07) has guided things to try instead of exercises.
WITHOUT_EXERCISES = {"07"}


def test_every_notebook_starts_with_the_shared_setup_cell():
    assert SETUP["main"](check=True) == 0, "run: python notebooks/setup_cell.py"


class FakeShell:
    """What the cell asks of IPython (shell commands, %pip), recorded instead of run."""

    def __init__(self):
        self.calls = []

    def system(self, command):
        self.calls.append(command)

    def run_line_magic(self, name, line, _stack_depth=1):
        self.calls.append(f"%{name} {line}")


def run_cell(source, cloned, monkeypatch):
    shell = FakeShell()
    monkeypatch.setattr("os.path.isdir", lambda path: cloned if path == "stylekit" else False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(TransformerManager().transform_cell(source), {"get_ipython": lambda: shell})
    return shell.calls, sys.path


@pytest.mark.parametrize("extras", ["course", "course,video"])
def test_in_colab_it_installs_once_and_survives_a_restart(extras, monkeypatch):
    source = SETUP["setup_source"](extras)
    assert run_cell(source, cloned=False, monkeypatch=monkeypatch)[0] == []  # not in Colab: nothing at all
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    calls, path = run_cell(source, cloned=False, monkeypatch=monkeypatch)
    assert calls[0] == f"git clone -q --depth 1 {SETUP['REPOSITORY']} stylekit"
    assert calls[1].startswith("%pip install") and f'"./stylekit[{extras}]"' in calls[1]
    assert path[0] == os.path.abspath("stylekit")
    calls, path = run_cell(source, cloned=True, monkeypatch=monkeypatch)  # after "Restart runtime"
    assert calls == [] and path[0] == os.path.abspath("stylekit")


def sources(notebook, kind):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == kind]


@pytest.mark.parametrize(
    "notebook", [n for n in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if n.name[:2] not in WITHOUT_EXERCISES]
)
def test_every_exercise_has_a_scaffold_a_self_check_and_a_solution_that_runs_the_notebook_first(notebook):
    numbers = [m.group(1) for text in sources(notebook, "markdown") if (m := re.match(r"\*\*(\d+) ★{1,3} ", text))]
    assert numbers, f"{notebook.name}: no exercise marked **N ★ (★★, ★★★)"
    code = sources(notebook, "code")
    scaffolds = [i for i, text in enumerate(code) if "= ...  # YOUR CODE" in text]
    solution = NOTEBOOKS / "solutions" / notebook.name
    solved = "\n".join(sources(solution, "code"))
    assert f'%run {{stylekit.course.NOTEBOOKS / "{notebook.name}"}}' in solved
    for n in numbers:
        checked = [i for i, text in enumerate(code) if re.search(rf"^check_{n}\(", text, re.M)]
        assert checked and any(i < checked[0] for i in scaffolds), f"exercise {n}: a scaffold, then its check"
        assert re.search(rf"^check_{n}\(", solved, re.M), f"exercise {n} has no checked solution in {solution.name}"


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
