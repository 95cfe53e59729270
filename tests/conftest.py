import os

import pytest
import torch
from PIL import Image


@pytest.fixture
def photo(tmp_path):
    """A small RGB photo-like file: smooth gradients plus a few edges."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 64), indexing="ij")
    rgb = torch.stack([x, y, (x * 7).sin().abs() * (y > 0.5)], -1)
    path = tmp_path / "photo.png"
    Image.fromarray((rgb.numpy() * 255).astype("uint8")).save(path)
    return path


@pytest.fixture
def texture(tmp_path):
    g = torch.Generator().manual_seed(1)
    path = tmp_path / "texture.png"
    Image.fromarray((torch.rand(64, 64, 3, generator=g).numpy() * 255).astype("uint8")).save(path)
    return path


@pytest.fixture
def offline_torchvision(tmp_path, monkeypatch):
    """An empty TORCH_HOME in which every download fails, as on a machine without internet."""
    import urllib.error
    import urllib.request

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path / "torch_home"


@pytest.fixture
def device():
    """Where the device-dependent tests (marked ``device``) run: the CPU, or what STYLEKIT_TEST_DEVICE names
    (benchmarks/gpu.sh runs them with cuda)."""
    return os.environ.get("STYLEKIT_TEST_DEVICE", "cpu")
