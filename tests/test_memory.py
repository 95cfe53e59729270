import pytest
import torch

from stylekit import PRESETS, SettingsError, transfer
from stylekit.device import pick_dtype
from stylekit.losses import Objective
from stylekit.memory import activations_per_pixel, choose_tile, estimate_bytes

CPU = torch.device("cpu")


def test_activation_count_by_hand():
    # conv1_1 + relu1_1 at full resolution: 64 + 64 values per pixel; pool1 then keeps 64 / 4.
    assert activations_per_pixel("vgg19", "relu1_1") == 128
    assert activations_per_pixel("vgg19", "pool1") == 4 * 64 + 16


def test_estimate_grows_with_pixels_and_lbfgs_history():
    s = PRESETS["default"].replace(lbfgs_history=100, steps=100)
    small, large = estimate_bytes(s, 512, 512), estimate_bytes(s, 1024, 1024)
    assert 3.5 < (large - 80e6) / (small - 80e6) < 4.5
    assert estimate_bytes(s.replace(optimizer="adam"), 512, 512) < small
    # Two image-sized fp32 vectors per remembered step: history 100 -> 10 saves 180 of them.
    assert small - estimate_bytes(s.replace(lbfgs_history=10), 512, 512) == 180 * 3 * 512 * 512 * 4
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
