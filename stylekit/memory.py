"""Estimates a run's peak memory before it starts, so a run that cannot fit is refused, not swapped or killed.

Peak = weights + the activations autograd keeps for one forward and backward pass + the optimiser's
state. Activations are counted layer by layer (channels / 4**pools per pixel). How close the estimate
comes to measured peaks: README, Performance and memory.
"""

import os

import torch

from .errors import SettingsError
from .vgg import LAYERS, channels

SHORT_HISTORY = 10  # the L-BFGS memory the refusal suggests (README: Why these defaults)


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


def estimate_bytes(settings, width, height, dtype=torch.float32):
    """Peak bytes of one run at ``width``×``height`` (the finest scale)."""
    pixels = width * height
    element = torch.finfo(dtype).bits // 8
    weights = 20e6 * element  # VGG19's convolutions; VGG16's are smaller
    activations = activations_per_pixel(settings.model, settings.deepest) * pixels * element * 1.1
    if dtype != torch.float32:
        # The content loss keeps an fp32 copy of its layers for the backward pass (the Gram matrix does not).
        values = values_per_pixel(settings.model)
        activations += sum(values[k] for k in settings.content_layers) * pixels * 4
    # torch.optim.LBFGS keeps two image-sized vectors per remembered step; image, grad, optimiser state besides.
    remembered = min(settings.lbfgs_history, settings.total_steps)
    image_vectors = 2 * remembered + 4 if settings.optimizer == "lbfgs" else 4
    return int(weights + activations + image_vectors * 3 * pixels * 4)


def free_bytes(device):
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits(settings, width, height, device, dtype=torch.float32, free=None):
    """Raises ``SettingsError`` naming the largest size that fits when a run would not fit in free memory."""
    free = free_bytes(device) if free is None else free
    need = estimate_bytes(settings, width, height, dtype)
    if need <= 0.9 * free:
        return need
    scale = 1.0
    while scale > 0.01 and estimate_bytes(settings, round(width * scale), round(height * scale), dtype) > 0.9 * free:
        scale *= 0.95
    largest = max(round(width * scale), round(height * scale))
    hint = ""
    if settings.optimizer == "lbfgs" and settings.lbfgs_history > SHORT_HISTORY:
        shorter = settings.replace(lbfgs_history=SHORT_HISTORY)
        if estimate_bytes(shorter, width, height, dtype) <= 0.9 * free:
            hint = f", or keep the size with lbfgs_history={SHORT_HISTORY} (L-BFGS remembers fewer steps)"
    raise SettingsError(
        f"a {width}×{height} run needs about {need / 2**30:.1f} GiB but {free / 2**30:.1f} GiB are free "
        f"on {device}; the largest size that fits is about {largest} px (size={largest}){hint}"
    )
