"""stylekit: neural style transfer (Gatys et al.) with VGG16/VGG19, small enough to read in one sitting.

The transfer path, after notebook 4: vgg.py (named layers) -> losses.py (Gram matrices, the objective) ->
stages.py (each scale's images and objective) -> transfer.py (``optimise``, notebook 4's loop, then the run) and
steps.py (what every loop records); result.py is what it returns and settings.py what decides it. docs/design.md
has every module in the order to read them.

``import stylekit`` is light: each name below is imported when first used (torch takes seconds to load), so the
command line is in control, Ctrl-C included, from its first instant.
"""

import importlib
import importlib.util
import sys
import types

# Each public name and the module it comes from.
_PUBLIC = {
    ".errors": ("ImageError", "SettingsError", "StylekitError", "WeightsUnavailable"),
    ".fast": ("FastModel", "TransformNet", "load_fast", "stylize"),
    ".fast.train": ("train_fast",),
    ".images": ("load_image", "read_settings", "save_png", "to_pil"),
    ".losses": ("Objective", "content_loss", "gram", "style_layer_loss", "tv_loss"),
    ".result": ("Result",),
    ".samples": ("sample",),
    ".settings": ("CHOICES", "PRESETS", "Settings"),
    ".transfer": ("optimise", "transfer"),
    ".universal": ("universal",),
    ".universal.magenta": ("magenta",),
    ".universal.train": ("train_decoder",),
    ".vgg": ("LAYERS", "VGG"),
    ".video": ("video",),
    ".weights": ("available", "load_vgg"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_HOME)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name], __name__), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f".{name}", __name__)  # a module: stylekit.images, stylekit.vgg, ...
    else:
        raise AttributeError(f"module 'stylekit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_HOME})


class _Package(types.ModuleType):
    """Loading the module ``stylekit/transfer.py`` (or the packages ``universal``, ``video``) would make
    ``stylekit.transfer`` that module; it stays the function of that name, as ``from stylekit import transfer``
    gives."""

    def __setattr__(self, name, value):
        if not (isinstance(value, types.ModuleType) and name in _HOME):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
