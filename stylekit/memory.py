"""Estimates a run's peak memory before it starts: a scale that does not fit whole is tiled (tiles/), and a
run that cannot fit even so is refused, not swapped or killed. ``measure.py`` measures what a run takes.

Peak = weights + the activations autograd keeps for one forward and backward pass (of the whole image, or
of one tile with its halo) + the optimiser's state. Activations are counted layer by layer (channels /
4**pools per pixel). How close the estimate comes to measured peaks: docs/performance.md, Memory.
"""

import torch

from .device import check_fits, free_bytes, pick_device
from .errors import SettingsError
from .tiles import crop_side
from .vgg import LAYERS, channels

# tile="auto" tiles a scale that does not fit whole with the first of these (px) that fits: the largest first,
# since the halo's extra work shrinks as tiles grow (docs/large-images.md has what each costs).
AUTO_TILES = (1024, 512, 256)
AUTOGRAD_SLACK = 1.1  # what autograd keeps beyond the layers' outputs (ReLU masks, pooling indices)
# What the allocator and oneDNN's scratch buffers hold beyond the tensors counted: it dominates small runs, tiles
# of several shapes most (docs/performance.md: Memory).
SCRATCH = 128 * 2**20


# What a forward pass without autograd holds per pixel at its widest: a layer's input and output, 64 fp32 channels
# each at full resolution (VGG's first block; the decoders' and a fast model's widest full-size layers are narrower).
INFERENCE_BYTES_PER_PIXEL = 2 * 64 * 4


def check_inference(width, height, device, what):
    """Refuses a one-pass run (universal style transfer, a fast model) at ``width``×``height`` that could not fit in
    the free memory of ``device``: one line instead of a MemoryError."""
    check_fits(width * height * INFERENCE_BYTES_PER_PIXEL, device, f"{what} at {width}×{height} px")


def values_per_pixel(arch):
    """{layer: activation values per input pixel}: its channels / 4**(pools before it)."""
    values, pools = {}, 0
    for name in LAYERS[arch]:
        pools += name.startswith("pool")
        values[name] = channels(name) / 4**pools
    return values


def activations_per_pixel(arch, deepest):
    """Activation values autograd keeps per input pixel for a pass to ``deepest`` (conv, ReLU and pool outputs)."""
    values = values_per_pixel(arch)
    return sum(values[name] for name in LAYERS[arch][: LAYERS[arch].index(deepest) + 1])


def estimate_bytes(settings, width, height, dtype=torch.float32, tile=None, device=None):
    """Peak bytes of one run at ``width``×``height`` (the finest scale), whole or in ``tile``-px tiles: an upper
    bound of the measured peak (benchmarks/large.py --runs estimate)."""
    pixels = width * height
    passed = pixels if tile is None else min(width, crop_side(settings, tile)) * min(height, crop_side(settings, tile))
    element = torch.finfo(dtype).bits // 8
    weights = weight_bytes(dtype)
    # On a CPU a bf16 pass is counted at fp32's size: on AMX CPUs it was measured to need nearly as much
    # (docs/performance.md: Memory).
    activation = element if (device or pick_device(settings.device)).type == "cuda" else 4
    values = values_per_pixel(settings.model)
    kept = activations_per_pixel(settings.model, settings.deepest) * AUTOGRAD_SLACK
    # The backward pass holds the gradients of a layer's output and of its input at once: at most two of the
    # widest layer's (64 channels at full resolution).
    kept += 2 * max(values.values())
    activations = kept * passed * activation
    if dtype != torch.float32:
        # The content loss keeps an fp32 copy of its layers for the backward pass (the Gram matrix does not).
        activations += sum(values[k] for k in settings.content_layers) * passed * 4
    if tile is not None:  # the content targets, kept for the whole image (fp32)
        activations += sum(values[k] for k in settings.content_layers) * pixels * 4
    # torch.optim.LBFGS keeps two image-sized vectors per remembered step, and its update holds seven more at
    # once (image, grad, flat gradient, previous gradient, old and new direction, a work copy); Adam's state is
    # two. The run holds two more: the content image and a copy on the way out.
    remembered = min(settings.lbfgs_history, settings.total_steps)
    image_vectors = (2 * remembered + 7 if settings.optimizer == "lbfgs" else 4) + 2
    return int(weights + activations + image_vectors * 3 * pixels * 4 + SCRATCH)


def weight_bytes(dtype):
    """VGG19's 20 M convolution weights (VGG16's are fewer)."""
    return 20e6 * torch.finfo(dtype).bits // 8


def choose_tile(settings, width, height, device, dtype=torch.float32, free=None):
    """None to optimise a scale whole, or the tile side to optimise it in tiles: whole when it fits in free
    memory (or ``tile=0``), else the first of ``AUTO_TILES`` that fits (or the ``tile`` asked for, when the image is
    larger). Raises ``SettingsError`` naming the largest size that fits when none does."""
    free = free_bytes(device) if free is None else free
    longest = max(width, height)
    if settings.tile == "auto":
        options = [None, *(t for t in AUTO_TILES if t < longest)]
    else:
        options = [settings.tile if 0 < settings.tile < longest else None]
    for tile in options:
        if estimate_bytes(settings, width, height, dtype, tile, device) <= 0.9 * free:
            return tile
    tile = options[-1]

    def fits(s, scale=1.0):
        return estimate_bytes(s, round(width * scale), round(height * scale), dtype, tile, device) <= 0.9 * free

    scale = 1.0
    while scale > 0.01 and not fits(settings, scale):
        scale *= 0.95
    largest = max(round(width * scale), round(height * scale))
    hint = ""
    if settings.optimizer == "lbfgs":
        shorter = [h for h in range(settings.lbfgs_history - 1, 1, -1) if fits(settings.replace(lbfgs_history=h))]
        if shorter:
            hint = f", or keep the size with lbfgs_history={shorter[0]} (L-BFGS remembers fewer steps)"
    need = estimate_bytes(settings, width, height, dtype, tile, device)
    how = "" if tile is None else f" in tiles of {tile} px"
    raise SettingsError(
        f"a {width}×{height} run needs about {need / 2**30:.1f} GiB{how} but {free / 2**30:.1f} GiB are free "
        f"on {device}; the largest size that fits is about {largest} px (size={largest}){hint}"
    )
