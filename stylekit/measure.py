"""Measures the memory a block of work adds (``PeakMemory``), and what a transfer takes against what
``memory.estimate_bytes`` says (``measure_run``: how the tests and benchmarks/large.py check the estimate); counts
the host's reads of tensor values (``HostReads``: each one a wait for a GPU)."""

import collections
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from . import images
from .device import pick_device, pick_dtype
from .memory import estimate_bytes, weight_bytes
from .samples import sample
from .settings import resolve, scale_plan
from .transfer import transfer


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


class HostReads(TorchDispatchMode):
    """Counts, in a block, the reads of a tensor's value by Python: ``float()``, ``.item()``, ``bool()``, a tensor
    given where torch wants a number (``alpha=``), ``.tolist()``. On a GPU each one waits for every kernel queued
    before it. ``by`` counts them by the module that read: the innermost caller outside torch, or torch.optim's
    module (``"lbfgs"``: the optimiser's own reads)."""

    def __enter__(self):
        self.by, self._tolist = collections.Counter(), torch.Tensor.tolist
        counted = self._tolist

        def tolist(tensor):  # not an operator torch dispatches: counted by hand
            self.by[_reader()] += 1
            return counted(tensor)

        torch.Tensor.tolist = tolist
        return super().__enter__()

    def __exit__(self, *exc):
        torch.Tensor.tolist = self._tolist
        return super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:  # what every read of one value comes down to
            self.by[_reader()] += 1
        return func(*args, **(kwargs or {}))

    @property
    def count(self):
        return sum(self.by.values())


TORCH = str(Path(torch.__file__).parent)


def _reader():
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(TORCH) and "optim" not in frame.f_code.co_filename:
        frame = frame.f_back
    return Path(frame.f_code.co_filename).stem if frame is not None else "?"


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
    if device.type == "cuda":
        return dict(steps=[1] * len(scale_plan(s.size, s.steps, s.scales)))
    return dict(size=64, tile=0, steps=1, scales=1)


def measure_in_fresh_process(**settings):
    """``measure_run`` in a process of its own, so that nothing this one did before counts."""
    code = f"from stylekit.measure import measure_run; print(list(measure_run(**{settings!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"measure_run{settings} failed: {out.stderr[-2000:]}")
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))
