"""The course notebooks' shared setup cell (notebooks/setup_cell.py); nbval runs the notebooks themselves."""

import os
import runpy
import sys
import types
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

SETUP = runpy.run_path(str(Path(__file__).resolve().parent.parent / "notebooks" / "setup_cell.py"))


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
