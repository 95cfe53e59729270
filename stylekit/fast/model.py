"""A trained fast model as one file: ``FastModel`` (the network, the style's name and thumbnail, what made it),
written atomically and read back with one-line errors for anything else; the shipped models by name."""

import functools
from pathlib import Path

import torch

from ..device import pick_device
from ..errors import StylekitError
from ..files import atomic_save, read_file
from ..samples import DATA
from .network import TransformNet

FORMAT, VERSION = "stylekit-fast", 2  # a model file names itself; VERSION changes when TransformNet does
SHIPPED = DATA / "models"  # models this project trained (stylekit/data/README.md says how)
THUMBNAIL = 160  # px: the style's picture kept in a model file, for the playground


class FastModel:
    """A trained ``TransformNet`` with the style's name and a thumbnail of it, the training settings and the loss
    record (``history``: each loss term and 'seconds', one entry per step)."""

    def __init__(self, net, style, settings, history, thumbnail=None):
        self.net, self.style, self.settings, self.history = net.eval(), style, settings, history
        self.thumbnail = thumbnail  # (1, 3, h, w) in [0, 1], longest side THUMBNAIL
        self.stopped = None  # why training stopped early, or None

    def __repr__(self):
        return f"FastModel(style={self.style!r}, steps={len(self.history['total'])}, size={self.settings['size']})"

    def save(self, path, extra=None, dtype=torch.float16):
        """Writes the model atomically (never a half-written file): weights in fp16 (half the file, no visible
        difference) and plain data. A training checkpoint keeps fp32 weights and adds ``extra`` entries."""
        weights = {k: v.detach().to("cpu", dtype) for k, v in self.net.state_dict().items()}
        thumbnail = None if self.thumbnail is None else (self.thumbnail * 255).round().to(torch.uint8)
        meta = dict(style=self.style, settings=self.settings, history=self.history, thumbnail=thumbnail)
        atomic_save(dict(format=FORMAT, version=VERSION, weights=weights, **meta, **(extra or {})), path)
        return Path(path)


def shipped_models():
    return [p.stem for p in model_files(SHIPPED)]


def model_files(folder):
    """The fast models in ``folder``: its ``*.pt`` files but training checkpoints and universal style transfer's
    decoders (they share stylekit/data/models, universal/decoder.py, and style nothing alone)."""
    return sorted(p for p in Path(folder).glob("*.pt")
                  if not p.name.endswith(".checkpoint.pt") and not p.name.startswith("decoder_"))  # fmt: skip


def load_fast(path, device="auto"):
    """A model file saved by ``FastModel.save`` (or a training checkpoint), or a shipped model's name ('mosaic').
    Anything else: a one-line ``StylekitError``."""
    return read_model(_located(path), device)[0]


def cached_fast(path, device="auto"):
    """``load_fast`` once per process and model file: the playground and batch runs style many photos with one. A
    file written again since (a model retrained under the same name) is read again."""
    located = _located(path)
    stamp = (located.stat().st_ino, located.stat().st_mtime_ns) if located.is_file() else None  # saves: new files
    return _cached_fast(located, device, stamp)


@functools.lru_cache(maxsize=8)
def _cached_fast(path, device, stamp):
    return load_fast(path, device)


def _located(path):
    """The file ``path`` names: itself, or a shipped model's file when it is a shipped model's name."""
    shipped = SHIPPED / f"{path}.pt"
    return Path(path) if Path(path).is_file() or not shipped.is_file() else shipped


def read_model(path, device="auto"):
    """(the model, everything in the file): a checkpoint's optimiser state is among the latter."""
    shipped = f" (shipped models: {', '.join(shipped_models()) or 'none'})"
    data = read_file(path, FORMAT, VERSION, "fast model", shipped)
    try:
        net = TransformNet()
        net.load_state_dict({k: v.float() for k, v in data["weights"].items()})
        thumbnail = None if data.get("thumbnail") is None else data["thumbnail"].float() / 255
        style, settings, history = data["style"], data["settings"], data["history"]
    except (KeyError, AttributeError, TypeError, ValueError, RuntimeError) as e:  # entries missing or of other shapes
        raise StylekitError(f"{path}: a damaged stylekit fast model ({type(e).__name__} reading its weights)") from None
    model = FastModel(net.to(pick_device(device)), style, settings, history, thumbnail)
    return model, data
