"""VGG16 and VGG19 as feature extractors with named layers.

The layers sit in one ``nn.Sequential`` laid out exactly like torchvision's ``vgg*.features``, so
``LAYERS['vgg19'].index('conv4_2') == 21`` is the same index torchvision uses, and torchvision
state dicts load without renaming.
"""

import torch
from torch import nn

from .errors import SettingsError

# Convolutions per block; everything else about the two networks is identical.
_BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}


def _layer_names(blocks):
    names = []
    for b, convs in enumerate(blocks, start=1):
        for i in range(1, convs + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


LAYERS = {arch: _layer_names(blocks) for arch, blocks in _BLOCKS.items()}
POOLING = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}  # average pooling: Gatys et al.'s suggestion, the thesis's choice


def channels(name):
    """Output channels of a layer: 64 in block 1, doubling per block up to 512 ('pool4' has its block's)."""
    return 64 * 2 ** min(int(name[4]) - 1, 3)


def gatys_style_layers(kind="relu"):
    """Gatys et al.'s style layers, the first of each block: relu1_1 ... relu5_1 (or conv1_1 ... conv5_1)."""
    return tuple(f"{kind}{block}_1" for block in range(1, 6))


def deepest(arch, layers):
    """The requested layer furthest into the network: a forward pass can stop there."""
    order = LAYERS[arch]
    unknown = [name for name in layers if name not in order]
    if unknown:
        raise SettingsError(f"unknown layer {unknown[0]!r} for {arch}; valid layers: {', '.join(order)}")
    return max(layers, key=order.index)


def pools_before(arch, name):
    """How many times the image is halved before ``name``: its smallest input is ``2 ** pools_before`` px."""
    order = LAYERS[arch]
    return sum(n.startswith("pool") for n in order[: order.index(name)])


def reach(arch, name):
    """How far (px) a feature at ``name`` sees on each side of its own pixels: each 3×3 conv adds one step of
    its input's grid (1 px before the first pool, 2 after it, ...); the 2×2 pools add nothing beyond the cell
    they summarise. 70 px for VGG19's relu5_1. Tiles need that much margin (``tiles/``)."""
    order = LAYERS[arch]
    return sum(2 ** pools_before(arch, n) for n in order[: order.index(name) + 1] if n.startswith("conv"))


class Preprocess(nn.Module):
    """Maps RGB in [0, 1] to what a network was trained on: ``(x[channels] - mean) / std``.

    ``mean`` and ``std`` are in the network's channel order; ``bgr`` flips RGB first (Caffe).
    """

    def __init__(self, mean, std, bgr=False):
        super().__init__()
        self.bgr = bgr
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x):
        if self.bgr:
            x = x.flip(1)
        return (x - self.mean) / self.std


# torchvision's VGG weights were trained on ImageNet-standardised RGB.
IMAGENET = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
# The original (Caffe) weights: BGR, 0-255, minus the ImageNet mean pixel.
CAFFE = dict(mean=(103.939 / 255, 116.779 / 255, 123.68 / 255), std=(1 / 255,) * 3, bgr=True)


class VGG(nn.Module):
    """A frozen VGG feature extractor. ``vgg(image, ["relu4_2"])`` -> ``{"relu4_2": tensor}``.

    ``image`` is RGB in [0, 1]; the model owns its preprocessing, so callers never normalise.
    The forward pass stops at the deepest requested layer.
    """

    def __init__(self, arch="vgg19", pooling="max", preprocess=IMAGENET):
        super().__init__()
        if arch not in LAYERS:
            raise SettingsError(f"unknown model {arch!r}; choose from {', '.join(LAYERS)}")
        if pooling not in POOLING:
            raise SettingsError(f"unknown pooling {pooling!r}; choose from {', '.join(POOLING)}")
        self.arch, self.pooling = arch, pooling
        self.names = LAYERS[arch]
        self.preprocess = Preprocess(**preprocess)
        layers, previous = [], 3
        for name in self.names:
            if name.startswith("conv"):
                layers.append(nn.Conv2d(previous, channels(name), kernel_size=3, padding=1))
                previous = channels(name)
            elif name.startswith("relu"):
                # Not in-place: a requested conv output must survive the ReLU after it.
                layers.append(nn.ReLU(inplace=False))
            else:
                layers.append(POOLING[pooling](kernel_size=2, stride=2))
        self.features = nn.Sequential(*layers)
        self.memory_format = torch.contiguous_format
        self.requires_grad_(False)
        self.eval()

    def place(self, device="cpu", dtype=torch.float32, channels_last=False):
        """Moves the weights; activations follow the first conv's dtype and layout in ``forward``."""
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.features.to(device=device, dtype=dtype, memory_format=self.memory_format)
        self.preprocess.to(device)
        return self

    def forward(self, image, layers):
        last = self.names.index(deepest(self.arch, layers))
        wanted = {self.names.index(name): name for name in layers}
        x = self.preprocess(image)
        # The input's dtype and layout decide those of the whole pass.
        x = x.to(self.features[0].weight.dtype).contiguous(memory_format=self.memory_format)
        out = {}
        for i, layer in enumerate(self.features[: last + 1]):
            x = layer(x)
            if i in wanted:
                out[wanted[i]] = x
        return out


class ThesisInput(nn.Module):
    """Feeds a VGG what the thesis's ``Normalize(mean=0.5, std=0.5)`` made its torchvision VGG see.

    That network expects ``(x - IMAGENET mean) / IMAGENET std``; given ``2x - 1`` it sees ``mean + std * (2x - 1)``:
    less than half the contrast, squeezed towards ImageNet's mean colour (greyer, not darker). Handing that image
    to any VGG's own preprocessing reproduces the mistake whatever the weights.
    """

    def __init__(self, vgg):
        super().__init__()
        self.vgg = vgg
        self.register_buffer("mean", torch.tensor(IMAGENET["mean"]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET["std"]).view(1, 3, 1, 1))

    def forward(self, image, layers):
        return self.vgg(self.mean + self.std * (2 * image - 1), layers)
