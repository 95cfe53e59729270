"""Notebook 1's checks: picking VGG features by layer name, and the exercises' numbers."""

import math
from contextlib import contextmanager

import torch
from torch import nn

from ..images import load_image
from ..samples import sample
from ..tiles import geometry
from ..vgg import IMAGENET, LAYERS, VGG, Preprocess, pools_before, reach
from ..weights import cached_vgg
from . import Borrowed, check, pick, piece, without

SIZE = pick(512, 96)  # the notebook's photo size (it imports it), so that exercise 2's check asks for its photo
PROBE = 224  # exercise 3 measures on a PROBE × PROBE image, at relu5_1's position (PROBE // 32, PROBE // 32)

# The cases `features` is tried on: (arch, pooling, ReLUs in place, layer names, image shape). Out of order, conv
# and relu of one block, pools, VGG16's names (not VGG19's), and a network whose ReLUs overwrite their input.
CASES = (
    ("vgg19", "max", False, ["relu1_1"], (1, 3, 32, 32)),
    ("vgg19", "max", False, ["relu3_1", "conv1_2", "pool2"], (1, 3, 32, 48)),
    ("vgg16", "avg", False, ["conv4_3", "relu2_2", "pool4"], (1, 3, 32, 48)),
    ("vgg19", "avg", True, ["conv4_2", "relu5_1", "relu4_2", "conv1_1"], (1, 3, 32, 32)),
)
_NETWORKS = {}


def _network(arch, pooling, inplace):
    """A stylekit VGG laid out as ``arch`` but 8 channels wide, with random weights: as good as the real
    one for telling which layer a response comes from, and quick. ``inplace``: its ReLUs overwrite their input, as
    torchvision's do."""
    key = (arch, pooling, inplace)
    if key not in _NETWORKS:
        with torch.device("meta"):  # the layout without allocating VGG's own weights
            vgg = VGG(arch, pooling)
        g = torch.Generator().manual_seed(len(_NETWORKS) + 1)
        layers, previous = [], 3
        for layer in vgg.features:
            if isinstance(layer, nn.Conv2d):
                conv = nn.Conv2d(previous, 8, kernel_size=3, padding=1)
                with torch.no_grad():  # He's scale, so that responses neither vanish nor explode with depth
                    conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * math.sqrt(2 / (9 * previous)))
                    conv.bias.copy_(torch.randn(8, generator=g) * 0.1)
                layers.append(conv)
                previous = 8
            elif isinstance(layer, nn.ReLU):
                layers.append(nn.ReLU(inplace=inplace))
            else:
                layers.append(layer)
        vgg.features = nn.Sequential(*layers).requires_grad_(False)
        vgg.preprocess = Preprocess(**IMAGENET)
        _NETWORKS[key] = vgg
    return _NETWORKS[key]


def _responses(vgg, image, names):
    """The reference: for each name, the network's first layers up to that one, run as one Sequential."""
    order = LAYERS[vgg.arch]
    with torch.no_grad():
        return {name: vgg.features[: order.index(name) + 1](vgg.preprocess(image)) for name in names}


@contextmanager
def _forward_refused():
    """``vgg(image, names)`` (stylekit's own ``VGG.forward``) raises ``Borrowed`` while the block runs."""

    def forward(self, image, layers):
        raise Borrowed("stylekit's VGG.forward (`vgg(image, names)`)")

    original = VGG.forward
    VGG.forward = forward
    try:
        yield
    finally:
        VGG.forward = original


def _library_features(vgg, image, names):
    return vgg(image, names)


def check_features(features):
    """``features(vgg, image, names)``: {name: the response of ``vgg``'s layer ``name`` to ``image``} for the names
    asked, the image preprocessed as the model expects and the pass stopped after the deepest of them."""

    def problems(features):
        g = torch.Generator().manual_seed(1)
        for arch, pooling, inplace, names, shape in CASES:
            vgg, image = _network(arch, pooling, inplace), torch.rand(shape, generator=g)
            ran = []
            hooks = [
                layer.register_forward_hook(lambda *_, i=i, ran=ran: ran.append(i))
                for i, layer in enumerate(vgg.features)
            ]
            try:
                with torch.no_grad(), _forward_refused():
                    got = features(vgg, image, list(names))
            finally:
                for hook in hooks:
                    hook.remove()
            want = _responses(vgg, image, names)
            where = f"on {arch} ({pooling} pooling{', ReLUs in place' if inplace else ''}) asked for {names}"
            if not isinstance(got, dict) or set(got) != set(names):
                keys = sorted(got) if isinstance(got, dict) else type(got).__name__
                return f"{where} it gives {keys}, not a dict of those names"
            for name in names:
                response = got[name]
                if not torch.is_tensor(response) or tuple(response.shape) != tuple(want[name].shape):
                    return f"{where}: `{name}` should have shape {tuple(want[name].shape)}"
                if torch.allclose(response, want[name], rtol=1e-5, atol=1e-6):
                    continue
                if inplace and torch.allclose(response, want[name].clamp_min(0)):
                    return (
                        f"{where}: `{name}` has no negative values left: the in-place ReLU after it overwrote "
                        "the tensor you kept; keep a copy"
                    )
                unprocessed = _responses(vgg, vgg.preprocess.mean + vgg.preprocess.std * image, [name])[name]
                if torch.allclose(response, unprocessed, rtol=1e-5, atol=1e-6):
                    return (
                        f"{where}: `{name}` is the response to the image as given; the network expects it preprocessed"
                    )
                return f"{where}: `{name}` is not that layer's response"
            last = max(LAYERS[arch].index(name) for name in names)
            if max(ran, default=-1) > last:
                return f"{where} it ran layers past {LAYERS[arch][last]}, the deepest asked for: stop there"
        return None

    return piece(features, problems, "the pass through the layers", (VGG.forward,), fallback=_library_features)


def check_1(squeezed, kept, stretch):
    """``squeezed``: the coffee photo at exactly 300 × 300; ``kept``: with its longest side 300; ``stretch``: how
    many times wider than tall shapes become in the square version."""
    if any(answer is ... for answer in (squeezed, kept, stretch)):
        return check(..., None, "")
    coffee = sample("coffee")
    want_squeezed, want_kept = load_image(coffee, (300, 300)), load_image(coffee, 300)
    h, w = want_kept.shape[-2:]

    def same(x, want):
        return torch.is_tensor(x) and x.shape == want.shape and float((x - want).abs().max()) < 1e-3

    def right(answer):
        squeezed, kept, stretch = answer
        close = isinstance(stretch, (int, float)) and abs(stretch * w / h - 1) < 0.01
        return same(squeezed, want_squeezed) and same(kept, want_kept) and close

    hint = (
        "`squeezed` and `kept` are the coffee photo loaded with size=(300, 300) and size=300; a W × H photo "
        "squeezed into 300 × 300 has its widths scaled by 300/W and its heights by 300/H"
    )
    return check((squeezed, kept, stretch), right, hint)


def check_2(pair, removed):
    """``pair``: {"conv3_1": ..., "relu3_1": ...} of the notebook's photo; ``removed``: the share of conv3_1's values
    that relu3_1 sets to zero."""
    if pair is ... or removed is ...:
        return check(..., None, "")
    with torch.no_grad():  # the check's own network: one handed in could say anything
        want = cached_vgg("vgg19", "original", "max")(load_image(sample("chelsea"), SIZE), ["conv3_1", "relu3_1"])
    share = float((want["conv3_1"] <= 0).double().mean())

    def right(answer):
        pair, removed = answer
        if not isinstance(pair, dict) or set(pair) != set(want) or not isinstance(removed, (int, float)):
            return False
        maps = all(
            torch.is_tensor(pair[k])
            and pair[k].shape == want[k].shape
            and torch.allclose(pair[k], want[k], rtol=1e-4, atol=1e-2)  # values reach ~4000
            for k in want
        )
        return maps and abs(removed - share) < 1e-3

    hint = (
        f"`pair` is your `features` of `photo` ({SIZE} px) at conv3_1 and relu3_1; `removed` the share of conv3_1's "
        "values that are 0 in relu3_1 (a number between 0 and 1)"
    )
    return check((pair, removed), right, hint)


def _layout(blocks, pool_last):
    """A network's layer names, as stylekit.LAYERS gives VGG's: ``blocks`` convolutions (each with its ReLU) per
    block, a pooling after each block (after the last one only if ``pool_last``)."""
    names = []
    for b, convs in enumerate(blocks, start=1):
        names += [f"{kind}{b}_{i}" for i in range(1, convs + 1) for kind in ("conv", "relu")]
        names += [f"pool{b}"] if b < len(blocks) or pool_last else []
    return names


# Exercise 3's networks: VGG19, VGG16 and blocks of other lengths, so that no table of VGG's widths passes.
LAYOUTS = (LAYERS["vgg19"], LAYERS["vgg16"], _layout((1, 1, 1, 1, 1), False), _layout((3, 1, 2), True),
           _layout((2, 4), False))  # fmt: skip
# What a student's width may not hand the work to: stylekit's own arithmetic of what a layer sees.
WIDTH_LIBRARY = (reach, pools_before, geometry.halo, geometry.crop_side, geometry.layout)


def _width(layers, name):
    """The side of the square of input pixels one position of ``name`` depends on, from the other end: a position
    at ``name`` is a cell of 2^(poolings up to it) pixels, and each convolution up to it adds one step of its own
    grid on each side."""
    upto = layers[: layers.index(name) + 1]
    grids = [2 ** sum(n.startswith("pool") for n in upto[:i]) for i in range(len(upto))]  # each layer's input grid
    reach = sum(grid for n, grid in zip(upto, grids) if n.startswith("conv"))
    return 2 ** sum(n.startswith("pool") for n in upto) + 2 * reach


def _probe_gradient(x):
    """The gradient exercise 3 asks for, the check's own way: relu5_1's channels at the centre position, summed."""
    x = x.detach().float().requires_grad_(True)
    cached_vgg("vgg19", "original", "max")(x, ["relu5_1"])["relu5_1"][0, :, PROBE // 32, PROBE // 32].sum().backward()
    return x.grad


def check_3(width, measured, x):
    """``width(layers, name)``: the width worked out for the layer ``name`` of a network whose layers are, in order,
    ``layers`` (named as stylekit.LAYERS names VGG's); ``measured``: the width the gradient of one relu5_1
    position reaches; ``x``: the probe image, its ``.grad`` the gradient measured on."""
    if width is ... or measured is ...:
        return check(..., None, "")
    try:  # every layer of each network, worked out by the answer with stylekit's arithmetic unavailable
        with without(WIDTH_LIBRARY, getattr(width, "__globals__", {}), [_width]):
            widths = [[width(list(layers), name) for name in layers] for layers in LAYOUTS]
    except NotImplementedError:
        return check(..., None, "")
    except Borrowed as borrowed:
        raise AssertionError(f"Not yet: `width` calls {borrowed}; work the width out from the layers") from None
    except Exception as error:  # the student's code failing is an answer that is off, said in one line
        raise AssertionError(f"Not yet: `width` raised {type(error).__name__}: {error}") from None

    def right(answer):
        widths, measured, x = answer
        if widths != [[_width(layers, name) for name in layers] for layers in LAYOUTS]:
            return False
        grad = getattr(x, "grad", None)
        if grad is None or grad.shape != (1, 3, PROBE, PROBE):
            return False
        # The measurement is the probe's own: its gradient is relu5_1's at that position, and spans `measured` rows.
        rows = grad.abs().sum((0, 1)).nonzero()[:, 0]
        reaches = int(rows.max() - rows.min()) + 1 if len(rows) else 0
        own = _probe_gradient(x)  # max pooling's near-ties may route a little of it elsewhere: within 5 %
        same = float((grad.float() - own).norm() / own.norm()) < 0.05
        return same and measured == reaches == _width(LAYERS["vgg19"], "relu5_1")

    hint = (
        "each 3×3 convolution widens the square by 2 steps of its grid, each 2×2 pooling by 1 step, then doubles "
        "the grid, whatever the layers; `measured` is how many rows of `x` get a gradient from relu5_1's centre "
        "position (channels summed)"
    )
    return check((widths, measured, x), right, hint)
