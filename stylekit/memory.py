"""Estimates a run's peak memory before it starts: a scale that does not fit whole is tiled (tiles/), and a
run that cannot fit even so is refused, not swapped or killed.

Peak = weights + the activations autograd keeps for one forward and backward pass (of the whole image, or
of one tile with its halo) + the optimiser's state. Activations are counted layer by layer (channels /
4**pools per pixel). How close the estimate comes to measured peaks: docs/performance.md, Memory.
"""

import json
import os
import subprocess
import sys
import threading

import torch

from . import images
from .device import pick_device, pick_dtype
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


def free_bytes(device):
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


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


class PeakMemory:
    """The peak memory a block adds on ``device``: the process's resident memory sampled every 20 ms on a CPU
    (Linux: /proc/self/statm), what PyTorch's caching allocator reserved on a GPU."""

    def __init__(self, device="cpu"):
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()  # blocks cached by earlier work would hide what this block needs
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = self.mb = torch.cuda.memory_reserved(self.device) / 2**20
            return self
        self.start = self.mb = resident_mb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._done.wait(0.02):
            self.mb = max(self.mb, resident_mb())

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.synchronize(self.device)
            self.mb = torch.cuda.max_memory_reserved(self.device) / 2**20
            return
        self._done.set()
        self._thread.join()
        self.mb = max(self.mb, resident_mb())

    @property
    def added_mb(self):
        """What the block added at its peak."""
        return self.mb - self.start


def resident_mb():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: no measurement
        return 0.0


def measure_run(**settings):
    """(bytes a transfer of astronaut × mosaic added to its device's memory at its peak (``PeakMemory``), what
    ``estimate_bytes`` says less the weights): how benchmarks/large.py and the tests check the estimate. Run it in
    a fresh process (``measure_in_fresh_process``): the model is loaded and a small run warms the allocator and
    kernels before measuring."""
    from .samples import sample
    from .settings import resolve
    from .transfer import transfer

    s = resolve("default", settings)
    device = pick_device(s.device)
    dtype = pick_dtype(s.precision, device)
    transfer(sample("astronaut"), sample("mosaic"), **{**settings, **warm_up(s, device)}, progress=False)
    with PeakMemory(device) as peak:
        transfer(sample("astronaut"), sample("mosaic"), **settings, progress=False)
    width, height = images.target_size(*images.open_image(sample("astronaut")).size, s.size)
    tile = s.tile if s.tile not in (0, "auto") and s.tile < max(width, height) else None
    estimated = estimate_bytes(s, width, height, dtype, tile, device) - weight_bytes(dtype)
    return peak.added_mb * 2**20, estimated


def warm_up(s, device):
    """Changes to settings ``s`` for ``measure_run``'s warm-up run on ``device``. On a GPU the first pass at a
    shape autotunes cuDNN (weights.cached_vgg), trying algorithms with workspaces as large as the free memory
    allows (8 GiB on an H200): a step at each of the run's own scales, so that the peak is what the run needs."""
    from .settings import scale_plan

    if device.type == "cuda":
        return dict(steps=[1] * len(scale_plan(s.size, s.steps, s.scales)))
    return dict(size=64, tile=0, steps=1, scales=1)


def measure_in_fresh_process(**settings):
    """``measure_run`` in a process of its own, so that nothing this one did before counts."""
    code = f"from stylekit.memory import measure_run; print(list(measure_run(**{settings!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"measure_run{settings} failed: {out.stderr[-2000:]}")
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))
