import pytest
import torch

from stylekit import PRESETS, SettingsError, transfer
from stylekit.device import pick_dtype
from stylekit.losses import Objective
from stylekit.measure import measure_in_fresh_process, warm_up
from stylekit.memory import activations_per_pixel, choose_tile, estimate_bytes
from stylekit.settings import scale_plan
from stylekit.vgg import VGG

CPU = torch.device("cpu")


@pytest.mark.parametrize("arch, deepest", [("vgg19", "relu1_1"), ("vgg19", "pool1"), ("vgg19", "relu5_1"),
                                           ("vgg16", "relu4_2")])  # fmt: skip
def test_activations_counted_are_the_values_a_pass_produces(arch, deepest):
    vgg, produced = VGG(arch), []
    for layer in vgg.features:
        layer.register_forward_hook(lambda module, args, out: produced.append(out.numel()))
    vgg(torch.rand(1, 3, 64, 96), [deepest])
    assert activations_per_pixel(arch, deepest) == sum(produced) / (64 * 96)


def lbfgs_state_bytes(history, steps, pixels=48 * 40):
    """What torch.optim.LBFGS keeps between steps for an image of ``pixels`` after ``steps`` steps."""
    image = torch.rand(1, 3, pixels // 40, 40, requires_grad=True)
    target = torch.rand_like(image)
    optimizer = torch.optim.LBFGS([image], max_iter=1, history_size=history)

    def closure():
        optimizer.zero_grad()
        loss = ((image - target) ** 4).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    state = optimizer.state[optimizer._params[0]]
    return sum(t.numel() * t.element_size() for t in state["old_dirs"] + state["old_stps"])


def test_estimate_grows_with_pixels_and_counts_what_lbfgs_remembers():
    s = PRESETS["default"].replace(lbfgs_history=100, steps=100)
    small, large = estimate_bytes(s, 512, 512), estimate_bytes(s, 1024, 1024)
    assert 3.5 < (large - estimate_bytes(s, 0, 0)) / (small - estimate_bytes(s, 0, 0)) < 4.5
    assert estimate_bytes(s.replace(optimizer="adam"), 512, 512) < small
    # What a longer memory adds is what L-BFGS really keeps for it (at 48×40 here, scaled by the pixels).
    added = estimate_bytes(s.replace(lbfgs_history=8), 48, 40) - estimate_bytes(s.replace(lbfgs_history=2), 48, 40)
    assert added == lbfgs_state_bytes(8, 12) - lbfgs_state_bytes(2, 12)
    # A 10-step run never remembers more than 10 steps, whatever the history allows.
    assert estimate_bytes(s.replace(steps=10), 512, 512) == estimate_bytes(s.replace(lbfgs_history=10), 512, 512)


def test_refusal_names_the_largest_size_that_fits():
    s = PRESETS["default"].replace(lbfgs_history=100, steps=100, tile=0)
    free = estimate_bytes(s, 700, 700)
    with pytest.raises(SettingsError, match=r"the largest size that fits is about (\d+) px") as error:
        choose_tile(s, 2048, 2048, CPU, free=free)
    largest = int(str(error.value).split("about ")[-1].split(" px")[0])
    assert 560 <= largest <= 700
    assert "lbfgs_history" not in str(error.value)  # remembering fewer steps would not be enough at 2048
    assert choose_tile(s, largest, largest, CPU, free=free) is None
    # When remembering fewer L-BFGS steps is enough, the message names the longest memory that fits.
    with pytest.raises(SettingsError, match=r"or keep the size with lbfgs_history=(\d+)") as error:
        choose_tile(s, 760, 760, CPU, free=free)
    history = int(str(error.value).split("lbfgs_history=")[-1].split(" ")[0])
    assert choose_tile(s.replace(lbfgs_history=history), 760, 760, CPU, free=free) is None
    with pytest.raises(SettingsError):
        choose_tile(s.replace(lbfgs_history=history + 1), 760, 760, CPU, free=free)


def test_transfer_refuses_before_starting(photo, texture, monkeypatch):
    monkeypatch.setattr("stylekit.memory.free_bytes", lambda device: 1e6)  # less than the weights alone
    with pytest.raises(SettingsError, match=r"needs about .* GiB but 0\.0 GiB are free"):
        transfer(photo, texture, size=48, progress=False)


def test_a_finest_scale_that_cannot_fit_is_refused_before_any_target_is_made(photo, texture, monkeypatch):
    s, dtype = PRESETS["default"].replace(size=96, steps=[3, 3]), pick_dtype("auto", "cpu")
    free = (estimate_bytes(s, 48, 36, dtype) + estimate_bytes(s, 96, 72, dtype)) / 2 / 0.9  # the coarse scale fits
    monkeypatch.setattr("stylekit.memory.free_bytes", lambda device: free)
    made = []
    monkeypatch.setattr(Objective, "set_content", lambda self, content: made.append(content))
    with pytest.raises(SettingsError, match="a 96×72 run needs about"):
        transfer(photo, texture, size=96, steps=[3, 3], progress=False)
    assert made == []


@pytest.mark.parametrize("changes", [dict(size=1024), dict(size=512, steps=30, scales=3), dict(size=[640, 200])])
def test_a_gpu_warm_up_passes_every_scale_the_run_will(changes):
    s = PRESETS["default"].replace(**changes)
    sizes = [size for size, _ in scale_plan(s.size, s.steps, s.scales)]
    warm = s.replace(**warm_up(s, torch.device("cuda")))
    assert [(size, 1) for size in sizes] == scale_plan(warm.size, warm.steps, warm.scales)
    assert len(sizes) > 1  # a one-scale run would not tell


@pytest.mark.device
@pytest.mark.parametrize("run", [dict(size=320, tile=0), dict(size=384, tile=128)], ids=["whole", "tiled"])
def test_the_estimate_is_above_the_measured_peak(run, device):
    """A run the estimate lets through must fit: what it added to its process stays under the estimate (the
    weights, loaded before, left out of both). Its margin: docs/testing.md."""
    got, estimate = measure_in_fresh_process(**run, steps=1, scales=1, device=device)
    assert got <= estimate, f"measured {got / 2**20:.0f} MiB, estimated {estimate / 2**20:.0f} MiB"
