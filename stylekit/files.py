"""stylekit's own model files (fast models, decoders): written atomically, read back with a one-line error for
anything else (a missing file, another kind of file, another format version)."""

import warnings
from pathlib import Path

import torch

from . import images
from .errors import StylekitError


def read_file(path, format, version, what, missing=""):
    """The entries of a stylekit file of ``format`` and ``version`` (a fast model, a decoder: ``what``); a missing
    file (``missing`` added to the message), any other file or another version is a one-line ``StylekitError``."""
    path = Path(path)
    if not path.is_file():
        raise StylekitError(f"{path}: no such {what} file{missing}")
    try:
        with warnings.catch_warnings():  # torch warns before refusing a pickle: the one line below says it all
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # pickle, zip and unpickling errors all mean the same to a user
        raise StylekitError(f"{path}: not a stylekit {what} (unreadable as one)") from None
    if not isinstance(data, dict) or data.get("format") != format:
        other = data.get("format") if isinstance(data, dict) and isinstance(data.get("format"), str) else None
        raise StylekitError(f"{path}: not a stylekit {what}" + (f" (a {other} file)" if other else ""))
    if data.get("version") != version:
        raise StylekitError(
            f"{path}: a {what} of format version {data.get('version')}; this stylekit reads version {version}"
        )
    return data


def atomic_save(data, path):
    """``torch.save`` that never leaves a half-written file (``images.atomic_path``)."""
    # Opened here, not by torch: its C++ writer reports a read-only or full disk as a RuntimeError, not an OSError.
    with images.atomic_path(path) as tmp, open(tmp, "xb") as f:
        torch.save(data, f)
