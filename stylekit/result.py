"""What a run returns: the image, every step's losses and cost, the settings that made it."""

import hmac
import json
import secrets
from dataclasses import dataclass, field

import torch

from . import images

_KEY = secrets.token_bytes(32)  # this process's: no one else can make a seal that verifies, nor keep one in a file


@dataclass
class Result:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], on the CPU
    history: dict  # each loss term -> one float per step; 'seconds' since the first step, 'passes' (below) so far
    settings: dict
    stopped: str = None  # None when all steps ran, else why it stopped early
    snapshots: dict = field(default_factory=dict)  # step -> image

    @property
    def steps_done(self):
        return len(self.history.get("total", ()))  # a fast model's result has no steps

    @property
    def seconds(self):
        """Time spent optimising (model loading and targets not included)."""
        return self.history["seconds"][-1]

    @property
    def passes(self):
        """The run's cost in VGG evaluations at the final size: one at half the side counts 1/4."""
        return self.history["passes"][-1]

    def save(self, path):
        """The image in the format ``path``'s suffix names: a PNG with the settings in its metadata, or JPEG, WebP…"""
        return images.save_image(self.image, path, self.settings)

    def to_pil(self):
        return images.to_pil(self.image)

    def _repr_png_(self):
        return images.png_bytes(self.image)


def seal(made):
    """Marks ``made`` (what ``transfer`` returns, or ``train_fast``'s model) as stylekit made it: a keyed digest of
    what the course's checks read. Set here, not in ``__init__``: a copy with anything changed no longer verifies."""
    made._seal = _digest(made)
    return made


def sealed(made):
    """Whether ``made`` is as ``seal`` left it: its settings, history, image (or weights) and ``stopped`` unchanged."""
    try:
        return hmac.compare_digest(getattr(made, "_seal", b""), _digest(made))
    except (AttributeError, TypeError, ValueError, RuntimeError):  # not a run, or a seal that is not bytes
        return False


def _digest(made):
    record = json.dumps([made.settings, made.history, getattr(made, "stopped", None)], sort_keys=True, default=repr)
    mac = hmac.new(_KEY, record.encode(), "sha256")
    net = getattr(made, "net", None)
    for tensor in net.state_dict().values() if net is not None else [getattr(made, "image", None)]:
        if torch.is_tensor(tensor):
            mac.update(str(tuple(tensor.shape)).encode() + tensor.detach().cpu().float().numpy().tobytes())
    return mac.digest()
