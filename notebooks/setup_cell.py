"""The setup cell at the top of every course notebook, written once here.

    python notebooks/setup_cell.py           # writes it (the badges, the Colab metadata, the times) into every notebook
    python notebooks/setup_cell.py --check   # exits 1 naming the files that differ (the test suite runs it)

The times go under each notebook's title and into the table of notebooks/README.md.

In Colab the cell installs stylekit, with the extras the notebook needs, as a package from the repository's git URL
(the sample images, models and expected results are inside it); packages outlive Runtime → Restart session, so
after a restart the cell installs nothing, and a failed install stops the notebook with one line. A solutions
notebook also clones the repository, for the notebook it runs first. Anywhere else (Binder, JupyterLab, Voilà, the
test suite) the cell does nothing: there stylekit is installed already (requirements.txt, README.md).

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
# how long it runs at full size (kernel start included), measured on a 2-core CPU (an AMD EPYC with AVX-512-bf16,
# precision="auto" so bf16, offline: nbclient, one notebook at a time, Dec 2026) and on a GPU (None: not yet).
NEEDS = {
    "01": ("course", False, "12 s", None),
    "02": ("course", True, "2 min 30 s", None),
    "03": ("course", True, "2 min", None),
    "04": ("course", False, "3 min 20 s", None),
    "05": ("course", True, "2 min 45 s", None),
    "06": ("course", True, "3 min 30 s (VGG16 and torchvision's VGG19 skipped offline)", None),
    "07": ("course", False, "7 s", None),
    "08": ("course", True, "1 min 35 s", None),
    "09": ("course,train", True, "4 min", None),
    "10": ("course,video", True, "4 min", None),
    "11": ("course", True, "4 min", None),
    "12": ("course,train", True, "1 min 5 s", None),
}
TIME = (
    "*Runs in about {cpu} on a 2-core CPU, {gpu} on a GPU. Open it in Colab (the badge; its first cell installs "
    "stylekit), in Binder or in JupyterLab from a clone: [how]({repository}/blob/{branch}/notebooks/README.md).*"
)
SOLUTIONS_TIME = (
    "*Runs notebook {number} first, then each worked solution with its check; in Colab its first cell installs "
    "stylekit.*"
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
# A solutions notebook runs its notebook first (%run), which the installed package does not hold: a clone does,
# where stylekit.course.NOTEBOOKS looks in Colab (it outlives a restart too).
CLONE = """
if "google.colab" in sys.modules:
    !test -d stylekit-course || git clone -q --depth 1 {repository} stylekit-course"""


def setup_source(extras, solutions=False):
    return (CELL + (CLONE if solutions else "")).format(repository=REPOSITORY, extras=extras)


def badges(path):
    """The Colab and Binder badges of the notebook at ``path`` (relative to the repository)."""
    return BADGES.format(github=GITHUB, branch=BRANCH, path=path, quoted=quote(path, safe=""))


def updated(notebook):
    """The notebook with its setup cell and Colab metadata as this file says."""
    extras, gpu, cpu_time, gpu_time = NEEDS[notebook.name[:2]]
    data = json.loads(notebook.read_text(encoding="utf-8"))
    title = data["cells"][0]
    if title["cell_type"] != "markdown" or not isinstance(title["source"], list):
        raise SystemExit(f"{notebook.name}: its first cell is not a markdown title as nbformat writes it")
    path = notebook.relative_to(FOLDER.parent).as_posix()
    kept = [line.rstrip("\n") for line in title["source"] if not line.startswith("*Runs ")]
    kept = [badges(path) if line.startswith("[![Open In Colab]") else line for line in kept]
    while kept and not kept[-1]:
        kept.pop()
    if notebook.parent.name == "solutions":
        time = SOLUTIONS_TIME.format(number=int(notebook.name[:2]))
    else:
        time = TIME.format(cpu=cpu_time, gpu=gpu_time or "not measured yet", repository=REPOSITORY, branch=BRANCH)
    title["source"] = [line + "\n" for line in kept] + ["\n", time]
    cell = next(c for c in data["cells"] if c["cell_type"] == "code")
    if not "".join(cell["source"]).startswith("# Setup"):
        raise SystemExit(f"{notebook.name}: its first code cell is not the setup cell")
    lines = setup_source(extras, solutions=notebook.parent.name == "solutions").split("\n")
    cell["source"] = [line + "\n" for line in lines[:-1]] + lines[-1:]
    meta = data["metadata"]
    meta.pop("accelerator", None)
    meta["colab"] = {"provenance": []} | ({"gpuType": "T4"} if gpu else {})
    if gpu:
        meta["accelerator"] = "GPU"
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"  # as nbformat writes


def readme_updated(text):
    """notebooks/README.md with its table's time column as ``NEEDS`` says."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("| `") and line[3:5] in NEEDS:
            cells = line.split(" | ")
            _, _, cpu, gpu = NEEDS[line[3:5]]
            lines[i] = " | ".join([*cells[:2], f"{cpu} / {gpu or 'not measured yet'} |"])
    return "\n".join(lines)


def main(check=False):
    differ = []
    readme = FOLDER / "README.md"
    text = readme_updated(readme.read_text(encoding="utf-8"))
    if text != readme.read_text(encoding="utf-8"):
        differ.append(readme.name)
        if not check:
            readme.write_text(text, encoding="utf-8")
    for notebook in sorted([*FOLDER.glob("[0-9][0-9]_*.ipynb"), *FOLDER.glob("solutions/[0-9][0-9]_*.ipynb")]):
        text = updated(notebook)
        if json.loads(text) != json.loads(notebook.read_text(encoding="utf-8")):
            differ.append(notebook.name)
            if not check:
                notebook.write_text(text, encoding="utf-8")
    if check and differ:
        print(f"setup cells differ from notebooks/setup_cell.py: {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
