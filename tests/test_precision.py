"""bf16 on its own: the rest of the suite runs fp32 (the root conftest pins precision='auto' to fp32), so that
no result depends on the CPU the tests run on. The bf16 gradient against fp32's: test_transfer.py."""

import pytest
import torch

from stylekit import SettingsError, sample, transfer
from stylekit.device import fast_bf16, pick_dtype
from stylekit.judge import judge

CPU = torch.device("cpu")


def test_auto_follows_the_hardware_unless_the_environment_pins_it(monkeypatch):
    monkeypatch.delenv("STYLEKIT_PRECISION")
    assert pick_dtype("auto", "cpu") == (torch.bfloat16 if fast_bf16(CPU) else torch.float32)
    monkeypatch.setenv("STYLEKIT_PRECISION", "bf16")
    assert pick_dtype("auto", "cpu") == torch.bfloat16 and pick_dtype("fp32", "cpu") == torch.float32
    monkeypatch.setenv("STYLEKIT_PRECISION", "fp16")
    with pytest.raises(SettingsError, match="STYLEKIT_PRECISION must be auto, fp32 or bf16, not 'fp16'"):
        pick_dtype("auto", "cpu")


@pytest.mark.device
def test_a_short_bf16_transfer_judges_like_the_fp32_one(device):
    """On every machine: where bf16 is not native it is emulated, slowly but correctly, so the run is tiny."""
    content, style = sample("astronaut"), sample("mosaic")
    run = dict(size=64, steps=[24, 24], device=device, progress=False)
    scores = {p: judge(transfer(content, style, precision=p, **run).image, content, style) for p in ("bf16", "fp32")}
    # L-BFGS amplifies the first steps' rounding; by 48 steps it has settled (margin: docs/testing.md).
    for axis in ("content", "style"):
        assert scores["bf16"][axis] == pytest.approx(scores["fp32"][axis], rel=0.25), axis
