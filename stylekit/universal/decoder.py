"""The decoders of universal style transfer: one network per VGG19 level (relu1_1 … relu5_1) that turns that level's
features back into the image, trained once for all styles (``train.py``); each one file, like a fast model's:
``Decoder`` (the network and what made it), written atomically and read back with one-line errors for anything
else; the shipped decoders by level."""

import math
from pathlib import Path

import torch
from torch import nn

from ..device import pick_device
from ..errors import SettingsError, StylekitError
from ..files import atomic_save, read_file
from ..samples import DATA
from ..vgg import LAYERS, channels, gatys_style_layers

FORMAT, VERSION = "stylekit-decoder", 1  # a decoder file names itself; VERSION changes when DecoderNet does
LEVELS = gatys_style_layers("relu")  # Li et al.'s five, shallowest first
SHIPPED = DATA / "models"  # beside the fast models: decoder_relu1_1.pt … decoder_relu5_1.pt
WIDTH = 0.5  # the hidden channels' share of VGG's: the five decoders in 10.5 MB of fp16, trainable on a CPU
# The size of VGG19's features (root mean square, original weights, the default photo set at 256 px; rounded): the
# decoder divides by it, so that its first convolution sees values near 1 at every level. Unscaled (up to ~900 at
# relu4_1) they would drive the default-initialised convolutions into the sigmoid's flat ends, where no gradient
# passes.
FEATURE_SCALE = {"relu1_1": 50, "relu2_1": 200, "relu3_1": 300, "relu4_1": 900, "relu5_1": 120}


class DecoderNet(nn.Sequential):
    """Features at ``level`` (N, C, h, w) -> the image (N, 3, h·2^k, w·2^k) in [0, 1], k the pools before
    ``level``: VGG19 up to ``level`` mirrored, as Li et al.'s decoders are. Each of VGG's 3×3 convolutions becomes
    one from its output channels to its input channels, each pool a nearest-neighbour doubling (a transposed
    convolution would leave a checkerboard); the first takes the level's full channels, the hidden ones are
    ``width`` times VGG's, the last gives 3. Replicate padding: zero padding would darken the borders, and the
    reflection ``fast.network`` pads with needs two pixels a side, more than relu5_1 has of a 16 px image. A sigmoid
    keeps the pixels in [0, 1], so training scores the image ``universal`` returns."""

    def __init__(self, level, width=WIDTH):
        check_level(level)
        if not isinstance(width, (int, float)) or not (math.isfinite(width) and width > 0):
            raise SettingsError(f"width must be a number > 0, not {width!r}")
        mirrored, previous = [], 3  # VGG's layers up to level: each conv's input channels, or None for a pool
        for name in LAYERS["vgg19"][: LAYERS["vgg19"].index(level)]:
            if name.startswith("conv"):
                mirrored.append(previous)
                previous = channels(name)
            elif name.startswith("pool"):
                mirrored.append(None)
        layers, c_in = [], channels(level)
        for c_out in reversed(mirrored):
            if c_out is None:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
                continue
            c_out = 3 if c_out == 3 else max(1, round(width * c_out))
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="replicate")]
            layers += [nn.ReLU()] if c_out != 3 else []
            c_in = c_out
        super().__init__(*layers)
        self.level, self.width = level, width

    def forward(self, features):
        return torch.sigmoid(super().forward(features / FEATURE_SCALE[self.level]))


class Decoder:
    """A trained ``DecoderNet`` with the training settings and the loss record (``history``: each loss term and
    'seconds', one entry per step)."""

    def __init__(self, net, settings, history):
        self.net, self.settings, self.history = net.eval(), settings, history
        self.stopped = None  # why training stopped early, or None

    @property
    def level(self):
        return self.net.level

    def __repr__(self):
        return f"Decoder(level={self.level!r}, width={self.net.width}, steps={len(self.history['total'])})"

    def save(self, path, extra=None, dtype=torch.float16):
        """Writes the decoder atomically (never a half-written file): weights in fp16 (half the file) and plain
        data. A training checkpoint keeps fp32 weights and adds ``extra`` entries."""
        weights = {k: v.detach().to("cpu", dtype) for k, v in self.net.state_dict().items()}
        data = dict(format=FORMAT, version=VERSION, level=self.level, width=self.net.width, weights=weights,
                    settings=self.settings, history=self.history, **(extra or {}))  # fmt: skip
        atomic_save(data, path)
        return Path(path)


def check_level(level):
    if level not in LEVELS:
        raise SettingsError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    return level


def decoder_file(level, folder=SHIPPED):
    return Path(folder) / f"decoder_{level}.pt"


def shipped_decoders(folder=SHIPPED):
    """The levels that have a decoder file in ``folder``, shallowest first."""
    return [level for level in LEVELS if decoder_file(level, folder).is_file()]


def load_decoders(levels=None, folder=None, device="auto"):
    """{level: ``Decoder``} from ``folder`` (default: the shipped ones) for ``levels`` (default: every level there
    is a file for); a level without one is a one-line ``StylekitError`` saying how to train it."""
    folder = Path(folder or SHIPPED)
    if levels is None:
        levels = shipped_decoders(folder)
        if not levels:
            raise StylekitError(f"no decoders in {folder}: train them with 'stylekit train-decoders --out {folder}'")
    for level in map(check_level, levels):
        if not decoder_file(level, folder).is_file():
            raise StylekitError(
                f"no decoder for {level} in {folder}: train it with 'stylekit train-decoders --levels {level} "
                f"--out {folder}'"
            )
    found = {level: load_decoder(decoder_file(level, folder), device) for level in levels}
    for level, decoder in found.items():
        if decoder.level != level:  # a file renamed, or copied under another level's name
            raise StylekitError(f"{decoder_file(level, folder)}: a decoder for {decoder.level}, not {level}")
    return found


def load_decoder(path, device="auto"):
    """A file saved by ``Decoder.save`` (or a training checkpoint). Anything else: a one-line ``StylekitError``."""
    return read_decoder(path, device)[0]


def read_decoder(path, device="auto"):
    """(the decoder, everything in the file): a checkpoint's optimiser state is among the latter."""
    data = read_file(path, FORMAT, VERSION, "decoder")
    try:
        net = DecoderNet(data["level"], data["width"])
        net.load_state_dict({k: v.float() for k, v in data["weights"].items()})
        settings, history = data["settings"], data["history"]
    except (KeyError, AttributeError, TypeError, ValueError, RuntimeError) as e:  # entries missing or of other shapes
        raise StylekitError(f"{path}: a damaged stylekit decoder ({type(e).__name__} reading its weights)") from None
    return Decoder(net.to(pick_device(device)), settings, history), data
