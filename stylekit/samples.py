"""The bundled sample images in data/ (see data/README.md for their sources and licences)."""

import os
from pathlib import Path

from .errors import StylekitError

DATA = Path(os.environ.get("STYLEKIT_DATA", Path(__file__).resolve().parent.parent / "data"))


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
    if not DATA.is_dir():
        raise StylekitError(
            f"no sample images at {DATA}: install stylekit from a clone (pip install -e .) "
            "or set STYLEKIT_DATA to its data folder"
        )
    raise StylekitError(f"no sample {name!r}; samples: {', '.join(contents() + styles())}")
