"""What a run returns: the image, every step's losses and cost, the settings that made it."""

from dataclasses import dataclass, field

import torch

from . import images


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
