"""Where a run happens and in which precision the network runs there (losses are fp32 everywhere)."""

import os
import threading
from contextlib import contextmanager

import torch

from .errors import SettingsError

# What precision='auto' means can be pinned for a whole process tree (tests, notebook kernels, a batch's
# workers): STYLEKIT_PRECISION=fp32 makes results independent of the CPU's instructions.
PRECISION_VARIABLE = "STYLEKIT_PRECISION"


def pick_device(name="auto"):
    """``name`` as a ``torch.device``; 'auto' is the GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise SettingsError(f"device must be auto, cpu, cuda or cuda:N, not {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError(f"device {name!r}: no CUDA GPU is available here; use auto or cpu")
    return device


def free_bytes(device):
    """Memory a run on ``device`` can take: what the GPU has free, or what Linux says is available (free memory and
    the page cache it can drop: MemAvailable); unbounded where the system does not say."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return float("inf")


def check_fits(need, device, what):
    """Refuses work that needs ``need`` bytes when ``device`` has less free (a margin left): one line naming
    ``what`` instead of a MemoryError after minutes."""
    free = free_bytes(device)
    if need > 0.9 * free:
        raise SettingsError(
            f"{what} needs about {need / 2**30:.1f} GiB but {free / 2**30:.1f} GiB are free on {device}: "
            "choose a smaller size"
        )


def pick_dtype(precision="auto", device="auto"):
    """The network's dtype: 'fp32', 'bf16', or 'auto' = bf16 only where the hardware makes it fast (or what
    the environment variable STYLEKIT_PRECISION says, when it is set)."""
    if precision == "auto":
        precision = os.environ.get(PRECISION_VARIABLE) or "auto"
        if precision not in ("auto", "fp32", "bf16"):
            raise SettingsError(f"{PRECISION_VARIABLE} must be auto, fp32 or bf16, not {precision!r}")
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if fast_bf16(pick_device(str(device))) else torch.float32


def fast_bf16(device):
    """True where bf16 runs natively: GPUs of compute capability 8.0 and above, CPUs with AMX or AVX-512 bf16.

    Older GPUs (Colab's free T4 is 7.5) only emulate bf16, though ``torch.cuda.is_bf16_supported()`` says yes;
    CPUs without those instructions emulate it too, far slower than fp32. fp16 is not used there: the relative
    losses give gradients below fp16's range — an argument, not yet a measurement (docs/performance.md: GPU).
    """
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    if device.type == "cpu":
        cpu = torch.cpu
        return any(getattr(cpu, f, lambda: False)() for f in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return False


# One caller at a time changes the thread count, so that each restores the count it found (see ``one_thread``).
_THREADS = threading.RLock()


@contextmanager
def one_thread():
    """Runs the block on one intra-op thread, then restores ``torch.get_num_threads()``: for small linear algebra
    (universal's C × C eigendecompositions, C ≤ 512), faster on one thread than on two and never stalled by another
    process holding a core (a parallel region waits for its slowest thread; docs/performance.md: universal-busy).
    OpenMP and MKL keep the count per thread, so the playground's other thread keeps its own; PyTorch also keeps it
    for threads not yet started, so two blocks in two threads must not interleave (one would restore the other's
    1): the lock."""
    with _THREADS:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
