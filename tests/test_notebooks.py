"""The course notebooks' shared setup cell (notebooks/setup_cell.py); nbval runs the notebooks themselves."""

import importlib.util
import json
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


def test_in_colab_a_solutions_notebook_also_clones_the_notebook_it_runs_first(monkeypatch):
    source = SETUP["setup_source"]("course", solutions=True)
    assert run_cell(source, monkeypatch) == []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    clone = f"test -d stylekit-course || git clone -q --depth 1 {SETUP['REPOSITORY']} stylekit-course"
    assert run_cell(source, monkeypatch, installed=True) == [clone]


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
