"""Universal style transfer (Li et al. 2017): any style image, no training per style; decoders trained once.

``whiten.py`` is the whitening and colouring transform, which gives a photo's VGG features a style's mean and
covariance in closed form; ``decoder.py`` the networks that turn one level's features back into an image, and
their files; ``stylize.py`` the pipeline over the levels, coarse to fine; ``train.py`` trains a decoder, with
``training.py``'s loop, and is imported when first used. ``magenta.py`` is another instant path for any painting,
Magenta's arbitrary-style network (the optional instant extra; ``stylekit.magenta``).
"""

from .decoder import FORMAT, LEVELS, VERSION, Decoder, DecoderNet, load_decoder, load_decoders, shipped_decoders
from .stylize import universal
from .whiten import whiten_colour

__all__ = [
    "FORMAT",
    "LEVELS",
    "VERSION",
    "Decoder",
    "DecoderNet",
    "DecoderOptions",
    "load_decoder",
    "load_decoders",
    "shipped_decoders",
    "train_decoder",
    "universal",
    "whiten_colour",
]


def __getattr__(name):
    if name in ("DecoderOptions", "train_decoder"):
        from . import train

        return getattr(train, name)
    raise AttributeError(f"module 'stylekit.universal' has no attribute {name!r}")
