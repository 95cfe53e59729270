"""stylekit: neural style transfer (Gatys et al.) with VGG16/VGG19, small enough to read in one sitting.

The transfer path, after notebook 4: vgg.py (named layers) -> losses.py (Gram matrices, the objective) ->
transfer.py (``optimise``, notebook 4's loop, then the scales around it); result.py is what it returns and
settings.py what decides it. The core's other modules are side rooms, read when needed: weights.py, device.py,
memory.py, images.py, colour.py, judge.py, errors.py, cli.py. Features are packages: fast/ (Johnson et al.'s
fast models and their training), universal/ (Li et al.'s whitening and colouring transform and its decoders),
video/ (Ruder et al.), tiles/ (images too large for one pass), playground/ (the widgets, one module per tab);
beyond_gram.py holds the histogram and MRF style losses, batch.py batch runs.
"""

from .errors import ImageError, SettingsError, StylekitError, WeightsUnavailable
from .fast import FastModel, TransformNet, load_fast, stylize
from .fast.train import train_fast
from .images import load_image, read_settings, save_png, to_pil
from .losses import Objective, content_loss, gram, style_layer_loss, tv_loss
from .result import Result
from .samples import sample
from .settings import CHOICES, PRESETS, Settings
from .transfer import optimise, transfer
from .universal import train_decoder, universal
from .vgg import LAYERS, VGG
from .video import video
from .weights import available, load_vgg

__all__ = [
    "CHOICES",
    "LAYERS",
    "PRESETS",
    "VGG",
    "FastModel",
    "ImageError",
    "Objective",
    "Result",
    "Settings",
    "SettingsError",
    "StylekitError",
    "TransformNet",
    "WeightsUnavailable",
    "available",
    "content_loss",
    "gram",
    "load_fast",
    "load_image",
    "load_vgg",
    "optimise",
    "read_settings",
    "sample",
    "save_png",
    "style_layer_loss",
    "stylize",
    "to_pil",
    "train_decoder",
    "train_fast",
    "transfer",
    "tv_loss",
    "universal",
    "video",
]
__version__ = "0.1.0"
