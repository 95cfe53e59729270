"""Where the person is in a photo: ``segment(photo)`` → a soft person mask, the face, and what found them.

INTERFACE ONLY (issue 46, in progress): helper 46a writes the body; 46c/46d code against these names.
"""

from dataclasses import dataclass

import torch

NAMES = ("person", "background")  # the mask shorthands transfer, universal, live, video and the CLI accept
REGIONS = ("person", "background", "face")  # what Segmentation.region gives


@dataclass
class Segmentation:
    """``person``: (1, 1, H, W) float32 in [0, 1] at the photo's size, 1 on the person, 0 on the background, its
    edges feathered. ``face``: (left, top, right, bottom) in pixels of the face found, or None. ``source``: what
    found the person ("classical": face cascade + GrabCut; "torchvision:<model>"; or a checkpoint's path)."""

    person: torch.Tensor
    face: tuple
    source: str

    def region(self, name):
        """(1, 1, H, W) in [0, 1]: 'person', 'background' (1 − person) or 'face' (a feathered ellipse over the face
        box; an ImageError naming the photo when no face was found)."""
        raise NotImplementedError


def segment(photo, source="auto", *, name="the photo"):
    """The person in ``photo`` (a path, PIL image or (1, 3, H, W) tensor in [0, 1]).

    ``source``: 'auto' (torchvision's network when its weights are cached or can be downloaded, else the classical
    path), 'classical', 'torchvision', or a checkpoint file of the network. Raises ImageError (one line naming
    ``name``, or the file's name) when no person is found or the photo is too small, MissingExtra when the
    classical path's packages are not installed, WeightsUnavailable for 'torchvision' offline.
    """
    raise NotImplementedError
