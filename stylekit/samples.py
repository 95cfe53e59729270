"""The bundled sample images in stylekit/data/ (see its README.md for their sources and licences)."""

import os
from importlib.resources import files
from pathlib import Path

from .errors import StylekitError

# The data ships inside the package, so a wheel, an sdist, a git URL and a clone all have it; files() finds it
# wherever stylekit is installed (a folder on disk: torch.load, glob and PyAV read it by path). STYLEKIT_DATA points
# stylekit at another folder laid out the same way.
DATA = Path(os.environ.get("STYLEKIT_DATA") or files(__package__) / "data")


def _names(prefix):
    return sorted(p.stem[len(prefix) :] for p in DATA.glob(f"{prefix}*.jpg"))


def contents():
    return _names("content_")


def styles():
    return _names("style_")


def sample(name):
    """Path of a bundled image: sample('astronaut'), sample('brushstrokes')."""
    for prefix in ("content_", "style_"):
        path = DATA / f"{prefix}{name}.jpg"
        if path.is_file():
            return path
    if not DATA.is_dir():  # only when STYLEKIT_DATA names no folder: the package brings its own
        raise StylekitError(f"no sample images at {DATA}: unset STYLEKIT_DATA for the bundled ones")
    raise StylekitError(f"no sample {name!r}; samples: {', '.join(contents() + styles())}")
