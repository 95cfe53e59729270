"""Fast style transfer (Johnson et al. 2016): a network trained once per style, then one forward pass per photo.

``network.py`` is the network; ``model.py`` a trained one with what made it, saved as one file; ``stylize.py``
applies it; ``train.py`` trains it on ``photos.py``'s photos with the same ``losses.Objective`` as ``transfer``,
the network's weights as the variables instead of the pixels.
"""

from .model import FORMAT, SHIPPED, THUMBNAIL, VERSION, FastModel, cached_fast, load_fast, read_model, shipped_models
from .network import TransformNet
from .stylize import check_options, recorded_settings, stylize

__all__ = [
    "FORMAT",
    "SHIPPED",
    "THUMBNAIL",
    "VERSION",
    "FastModel",
    "TransformNet",
    "cached_fast",
    "check_options",
    "load_fast",
    "read_model",
    "recorded_settings",
    "shipped_models",
    "stylize",
]
