"""stylekit: neural style transfer (Gatys et al.) with VGG16/VGG19, small enough to read in one sitting.

Reading order, the transfer path: vgg.py (named layers) -> losses.py (Gram matrices, the objective) ->
transfer.py (the loop) -> result.py (what it returns); settings.py holds what decides a result and the
presets. Side rooms, read when needed: weights.py (where VGG's weights come from), device.py (CPU/GPU,
fp32/bf16), memory.py (the peak memory estimate), images.py (files in and out), colour.py, judge.py,
cli.py, playground.py. Fast models (Johnson et al.): fast.py (the network, its file, stylize) and
train.py. Video (Ruder et al.): flow.py (optical flow and where to trust it) and video.py. Notebook 4
writes the whole algorithm out in one cell of plain PyTorch.
"""

from .errors import ImageError, SettingsError, StylekitError, WeightsUnavailable
from .fast import FastModel, TransformNet, load_fast, stylize
from .images import load_image, read_settings, save_png, to_pil
from .losses import Objective, content_loss, gram, style_layer_loss, tv_loss
from .result import Result
from .samples import sample
from .settings import CHOICES, PRESETS, Settings
from .train import train_fast
from .transfer import transfer
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
    "read_settings",
    "sample",
    "save_png",
    "style_layer_loss",
    "stylize",
    "to_pil",
    "train_fast",
    "transfer",
    "tv_loss",
    "video",
]
__version__ = "0.1.0"
