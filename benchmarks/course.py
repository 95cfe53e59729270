"""The course's running times: each notebook run to the end as a student runs it, one at a time.

    python benchmarks/course.py                 # every solution notebook at full size, ~35 min on 2 CPU cores
    python benchmarks/course.py 05 06           # some of them
    python benchmarks/course.py --fast --student --no-write   # CI's small size, the student versions

Nothing is pinned: precision is "auto" (bf16 on a CPU that has it) unless STYLEKIT_PRECISION is set, and the full
size is the default, as people get it. Each notebook runs in a fresh kernel (nbclient, the kernel's start
included) from its own folder. A notebook that stops with an error is reported and the run goes on; its time is not
written. Full-size times go into notebooks/times.json (CPU or GPU, by what ran them), which notebooks/build.py
puts under each title and into notebooks/README.md's table.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from report import machine

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TIMES = NOTEBOOKS / "times.json"


def run(path):
    """Seconds ``path`` took to run to the end in a fresh kernel, or the error that stopped it."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=3600, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        return None, str(error).strip().splitlines()[-1]
    return time.perf_counter() - start, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers (default: all)")
    parser.add_argument("--student", action="store_true", help="the student versions (blank pieces)")
    parser.add_argument("--fast", action="store_true", help="the small size CI runs (STYLEKIT_FAST=1)")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not update {TIMES.name}")
    args = parser.parse_args()
    os.environ["STYLEKIT_FAST"] = "1" if args.fast else "0"
    folder = NOTEBOOKS if args.student else NOTEBOOKS / "solutions"
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not args.student:  # the playground has no solution version
        paths = sorted([*paths, *NOTEBOOKS.glob("07_*.ipynb")], key=lambda p: p.name)
    paths = [p for p in paths if not args.numbers or p.name[:2] in args.numbers]
    where = machine()
    kind = "gpu" if torch.cuda.is_available() else "cpu"
    print(f"{where}; precision {os.environ.get('STYLEKIT_PRECISION', 'auto')}; {'fast' if args.fast else 'full'} size")
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    failed = 0
    for path in paths:
        seconds, error = run(path)
        if error:
            failed += 1
            print(f"{path.relative_to(NOTEBOOKS)}: stopped: {error}", flush=True)
            continue
        print(f"{path.relative_to(NOTEBOOKS)}: {seconds:.0f} s", flush=True)
        if not (args.fast or args.no_write or args.student):
            times.setdefault(path.name[:2], {})[kind] = {
                "seconds": round(seconds),
                "machine": where,
                "date": time.strftime("%Y-%m"),
            }
            TIMES.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
