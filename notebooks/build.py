"""Writes the course notebooks from their sources: the setup cell, the badges and times, and each student notebook.

    python notebooks/build.py           # writes them
    python notebooks/build.py --check   # exits 1 naming the files that differ (the test suite runs it)

One source per lesson: ``notebooks/solutions/NN_*.ipynb`` is the whole lesson with every piece and exercise done,
and the student notebook ``notebooks/NN_*.ipynb`` is made from it, so the two cannot drift. In a code cell the
lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers) are the worked answer; the
student gets the region's ``# student:`` lines instead, uncommented, or ``raise NotImplementedError`` at the
region's indentation (inside a function, whose check then says "not done yet" and hands the cells below stylekit's
own version). A markdown cell that starts with ``<!-- solution -->`` (a worked answer's discussion) is left out.
nbgrader and otter-grader do the same, but need their own cell metadata, folder layout and (nbgrader) a database;
about sixty lines here keep the notebooks plain Jupyter. The playground (07) has no exercises: it is its own source.

In Colab the setup cell installs stylekit, with the extras the notebook needs, as a package from the repository's
git URL (the sample images, models and expected results are inside it); packages outlive Runtime → Restart session,
so after a restart the cell installs nothing, and a failed install stops the notebook with one line. Anywhere else
(Binder, JupyterLab, Voilà, the test suite) the cell does nothing: there stylekit is installed already
(requirements.txt, README.md). The times go under each title and into the table of notebooks/README.md.

REPOSITORY is the one thing to set when the repository is published (or moves): the cell installs from it, and the
Colab and Binder badges and the links under each title point at it.
"""

import json
import sys
from pathlib import Path
from urllib.parse import quote

REPOSITORY = "https://github.com/stylekit/stylekit"  # on GitHub: Colab and Binder open notebooks from there
BRANCH = "main"
GITHUB = REPOSITORY.removeprefix("https://github.com/")
FOLDER = Path(__file__).resolve().parent
# Each notebook's extras beyond the core, whether Colab should give it a GPU (long optimisations or training), and
# what its time leaves out. The times themselves are measured: benchmarks/course.py runs each notebook at full size,
# as a student runs it (nothing pinned, one at a time, a fresh kernel), and writes them into times.json.
NEEDS = {
    "01": ("course", False, ""),
    "02": ("course", True, ""),
    "03": ("course", True, ""),
    "04": ("course", False, ""),
    "05": ("course", True, ""),
    "06": ("course", True, " (VGG16 and torchvision's VGG19 skipped offline)"),
    "07": ("course", False, ""),
    "08": ("course", True, ""),
    "09": ("course,train", True, ""),
    "10": ("course,video", True, ""),
    "11": ("course", True, ""),
    "12": ("course,train", True, ""),
    "13": ("course,portrait", True, ""),
}
TIMES = json.loads((FOLDER / "times.json").read_text(encoding="utf-8")) if (FOLDER / "times.json").is_file() else {}
TIME = (
    "*Runs in about {cpu} on a 2-core CPU, {gpu} on a GPU. Open it in Colab (the badge; its first cell installs "
    "stylekit), in Binder or in JupyterLab from a clone: [how]({repository}/blob/{branch}/notebooks/README.md).*"
)
SOLUTIONS_TIME = (
    " *The worked solutions of [notebook {number}]({student}): every piece and exercise done, each check passing. "
    "Try them there first.*"
)
BADGES = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/{github}/blob/{branch}/{path}) "
    "[![Launch Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/{github}/{branch}?labpath={quoted})"
)
CELL = """\
# Setup: in Colab, install stylekit (sample images and models inside); anywhere else this cell does nothing.
import importlib.util
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("stylekit") is None:  # packages outlive a restart
    %pip install -q "stylekit[{extras}] @ git+{repository}"
    importlib.invalidate_caches()
    if importlib.util.find_spec("stylekit") is None:
        raise SystemExit("stylekit did not install: pip's messages above say why")"""
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
STUDENT = "# student: "
SOLUTION_CELL = "<!-- solution -->"


def setup_source(extras):
    return CELL.format(repository=REPOSITORY, extras=extras)


def badges(path):
    """The Colab and Binder badges of the notebook at ``path`` (relative to the repository)."""
    return BADGES.format(github=GITHUB, branch=BRANCH, path=path, quoted=quote(path, safe=""))


def student_code(source, where):
    """A code cell's source with each solution region replaced by what the student starts from."""
    out, region = [], None
    for line in source.split("\n"):
        marker = line.strip()
        if marker == SOLUTION[0]:
            region = (line[: len(line) - len(line.lstrip())], [])
        elif marker == SOLUTION[1]:
            if region is None:
                raise SystemExit(f"{where}: {SOLUTION[1]} without {SOLUTION[0]}")
            indent, given = region
            if not given and not indent:
                raise SystemExit(f"{where}: a region outside a function needs a `{STUDENT}` line, or it stops there")
            out += given or [f'{indent}raise NotImplementedError("your code here")']
            region = None
        elif region is not None:
            if marker.startswith(STUDENT):
                region[1].append(region[0] + marker.removeprefix(STUDENT))
        else:
            out.append(line)
    if region is not None:
        raise SystemExit(f"{where}: {SOLUTION[0]} without {SOLUTION[1]}")
    return "\n".join(out)


def times(number):
    """{cpu, gpu}: how long notebook ``number`` runs at full size, in words, as times.json says."""
    measured = TIMES.get(number, {})
    said = {
        kind: in_words(measured[kind]["seconds"]) if kind in measured else "not measured yet" for kind in ("cpu", "gpu")
    }
    return said | {"cpu": said["cpu"] + NEEDS[number][2]}


def in_words(seconds):
    """'12 s', '2 min 30 s' (to 5 s above a minute)."""
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes, rest = divmod(5 * round(seconds / 5), 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def as_lines(text):
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def student_version(data, where):
    """The student notebook made from a lesson's source (``data``, parsed)."""
    cells = []
    for cell in data["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith(SOLUTION_CELL):
            continue
        if cell["cell_type"] == "code" and SOLUTION[0] in text:
            cell = cell | {"source": as_lines(student_code(text, where))}
        cells.append(cell)
    return data | {"cells": cells}


def with_setup(data, path):
    """A notebook (parsed) with its title's badges and time, its setup cell and Colab metadata as this file says;
    ``path`` relative to the repository."""
    number = Path(path).name[:2]
    extras, gpu, _ = NEEDS[number]
    title = data["cells"][0]
    if title["cell_type"] != "markdown" or not isinstance(title["source"], list):
        raise SystemExit(f"{path}: its first cell is not a markdown title as nbformat writes it")
    kept = [line.rstrip("\n") for line in title["source"] if not line.startswith("*Runs ")]
    kept = [badges(path) if line.startswith("[![Open In Colab]") else line for line in kept]
    while kept and not kept[-1]:
        kept.pop()
    time = TIME.format(**times(number), repository=REPOSITORY, branch=BRANCH)
    if Path(path).parent.name == "solutions":
        time += SOLUTIONS_TIME.format(number=int(number), student=f"../{Path(path).name}")
    title["source"] = [line + "\n" for line in kept] + ["\n", time]
    cell = next(c for c in data["cells"] if c["cell_type"] == "code")
    if not "".join(cell["source"]).startswith("# Setup"):
        raise SystemExit(f"{path}: its first code cell is not the setup cell")
    cell["source"] = as_lines(setup_source(extras))
    meta = data["metadata"]
    meta.pop("accelerator", None)
    meta["colab"] = {"provenance": []} | ({"gpuType": "T4"} if gpu else {})
    if gpu:
        meta["accelerator"] = "GPU"
    return data


def as_json(data):
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"  # as nbformat writes


def notebooks():
    """{path: text} of every notebook as this file writes it."""
    written = {}
    for source in sorted(FOLDER.glob("solutions/[0-9][0-9]_*.ipynb")):
        data = json.loads(source.read_text(encoding="utf-8"))
        student = student_version(json.loads(json.dumps(data)), source.name)
        written[source] = as_json(with_setup(data, source.relative_to(FOLDER.parent).as_posix()))
        target = FOLDER / source.name
        written[target] = as_json(with_setup(student, target.relative_to(FOLDER.parent).as_posix()))
    for own in sorted(FOLDER.glob("[0-9][0-9]_*.ipynb")):
        if own not in written:
            data = json.loads(own.read_text(encoding="utf-8"))
            written[own] = as_json(with_setup(data, own.relative_to(FOLDER.parent).as_posix()))
    return written


def readme_updated(text):
    """notebooks/README.md with its table's time column as ``NEEDS`` says."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("| `") and line[3:5] in NEEDS:
            cells = line.split(" | ")
            lines[i] = " | ".join([*cells[:2], "{cpu} / {gpu} |".format(**times(line[3:5]))])
    return "\n".join(lines)


def main(check=False):
    readme = FOLDER / "README.md"
    written = notebooks() | {readme: readme_updated(readme.read_text(encoding="utf-8"))}
    differ = []
    for path, text in written.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            differ.append(path.relative_to(FOLDER).as_posix())
            if not check:
                path.write_text(text, encoding="utf-8")
    if check and differ:
        print(f"not as notebooks/build.py writes them: {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
