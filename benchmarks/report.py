"""Benchmarks write their own tables into the docs, so that no figure is copied by hand.

A table lives between two markers in a Markdown file; ``write_table`` replaces what is between them with the
new rows and a line saying what measured them (the command, the machine, the date):

    <!-- table: video -->
    ...
    <!-- /table -->
"""

import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

PERFORMANCE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def machine():
    """The processor (or GPU) the numbers were measured on, as docs name it."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cores = len(names) or "?"
    return f"{names[0] if names else platform.processor() or platform.machine()}, {cores} cores"


def markdown(header, rows):
    """A Markdown table: ``header`` a list of column titles, ``rows`` lists of cells (str() each)."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def write_table(name, header, rows, doc=PERFORMANCE, argv=None):
    """Replaces the table ``name`` in ``doc``; the file is left as it was when its markers are missing."""
    start, end = f"<!-- table: {name} -->", "<!-- /table -->"
    text = Path(doc).read_text()
    before, found, rest = text.partition(start)
    _, closed, after = rest.partition(end)
    if not (found and closed):
        raise SystemExit(f"{doc} has no '{start} … {end}' block for this table")
    command = shlex.join(["python", *(sys.argv if argv is None else argv)])
    measured = f"`{command}`, measured on {machine()}, {datetime.date.today():%Y-%m-%d}."
    written = Path(doc).with_name(f".{Path(doc).name}.tmp")
    written.write_text(f"{before}{start}\n{markdown(header, rows)}\n\n{measured}\n{end}{after}")
    os.replace(written, doc)  # whole or not at all: a run cut short leaves the docs as they were
