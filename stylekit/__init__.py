"""stylekit: neural style transfer (Gatys et al.) with VGG16/VGG19, small enough to read in one sitting.

Read in this order: vgg.py (named layers) -> weights.py -> losses.py -> transfer.py.
"""
from .errors import ImageError, SettingsError, StylekitError, WeightsUnavailable
from .images import load_image, read_settings, save_png, to_pil
from .losses import Objective, content_loss, gram, style_layer_loss, tv_loss
from .samples import sample
from .transfer import PRESETS, Result, Settings, transfer
from .vgg import LAYERS, VGG
from .weights import available, load_vgg

__all__ = [
    "ImageError", "SettingsError", "StylekitError", "WeightsUnavailable", "load_image", "read_settings", "save_png",
    "to_pil", "Objective", "content_loss", "gram", "style_layer_loss", "tv_loss", "sample", "PRESETS", "Result",
    "Settings", "transfer", "LAYERS", "VGG", "available", "load_vgg",
]
__version__ = "0.1.0"
