"""The ``stylekit`` command (and ``python -m stylekit``). This module imports nothing heavy, so that Ctrl-C while
torch loads, or before a run's first step, ends the command with one line and exit code 130 like any other moment
(a run interrupted after its first step keeps its latest image: cli.py)."""

import sys


def main(argv=None):
    try:
        from .cli import main as run

        return run(argv)
    except KeyboardInterrupt:
        print("stylekit: interrupted; nothing half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
