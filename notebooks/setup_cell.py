"""The setup cell at the top of every course notebook, written once here.

    python notebooks/setup_cell.py           # writes it (and the Colab metadata) into every notebook
    python notebooks/setup_cell.py --check   # exits 1 naming the notebooks that differ (the test suite runs it)

In Colab the cell clones the repository (the sample images come with it) into /content/stylekit and installs it
with the extras the notebook needs; after "Restart runtime" the clone and the packages are still there, and the
cell only puts the clone on the path again. Anywhere else (JupyterLab, Voilà, the test suite) it does nothing:
there stylekit is installed from a clone (README.md).
"""

import json
import sys
from pathlib import Path

REPOSITORY = "https://github.com/stylekit/stylekit.git"
FOLDER = Path(__file__).resolve().parent
# Each notebook's extras beyond the core, and whether Colab should give it a GPU (long optimisations or training).
NEEDS = {
    "01": ("course", False),
    "02": ("course", True),
    "03": ("course", True),
    "04": ("course", False),
    "05": ("course", True),
    "06": ("course", False),
    "07": ("course", True),
    "08": ("course", False),
    "09": ("course", True),
    "10": ("course,train", True),
    "11": ("course,video", True),
    "12": ("course", True),
}
CELL = """\
# Setup: in Colab, install stylekit with the sample images; anywhere else this cell does nothing.
import os
import sys

if "google.colab" in sys.modules:
    if not os.path.isdir("/content/stylekit"):
        !git clone -q --depth 1 {repository} /content/stylekit
        %pip install -q -e "/content/stylekit[{extras}]"
    sys.path.insert(0, "/content/stylekit")  # also after a runtime restart"""


def setup_source(extras):
    return CELL.format(repository=REPOSITORY, extras=extras)


def updated(notebook):
    """The notebook with its setup cell and Colab metadata as this file says."""
    extras, gpu = NEEDS[notebook.name[:2]]
    data = json.loads(notebook.read_text(encoding="utf-8"))
    cell = next(c for c in data["cells"] if c["cell_type"] == "code")
    if not "".join(cell["source"]).startswith("# Setup"):
        raise SystemExit(f"{notebook.name}: its first code cell is not the setup cell")
    lines = setup_source(extras).split("\n")
    cell["source"] = [line + "\n" for line in lines[:-1]] + lines[-1:]
    meta = data["metadata"]
    meta.pop("accelerator", None)
    meta["colab"] = {"provenance": []} | ({"gpuType": "T4"} if gpu else {})
    if gpu:
        meta["accelerator"] = "GPU"
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"  # as nbformat writes


def main(check=False):
    differ = []
    for notebook in sorted(FOLDER.glob("[0-9][0-9]_*.ipynb")):
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
