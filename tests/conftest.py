import os

import pytest
import torch
from PIL import Image

from stylekit.errors import ImageError
from stylekit.images import as_tensor
from stylekit.segment import Segmentation


@pytest.fixture(autouse=True)
def forget_predictions(tmp_path, monkeypatch):
    """Each test starts with no "predict first" letter kept (``stylekit.course.predicted``); calling the fixture's
    value forgets those kept since."""
    path = tmp_path / "predictions.json"
    monkeypatch.setenv("STYLEKIT_PREDICTIONS", str(path))
    return lambda: path.unlink(missing_ok=True)


@pytest.fixture
def wrong_prediction(forget_predictions, capsys):
    """``wrong_prediction(check, *answers)`` asserts that ``check`` says its prediction, handed in first, is wrong:
    said and not raised, since a prediction is kept once made."""

    def said_wrong(check, *answers):
        forget_predictions()
        capsys.readouterr()
        assert check(*answers) is False
        assert "Right, but for the prediction" in capsys.readouterr().out
        forget_predictions()  # the next answer's letter is a first one again

    return said_wrong


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


class Known(Segmentation):
    """A segmentation whose regions are given: the person a box in the middle, the face a box in its top."""

    def region(self, name):
        if name == "face":
            if self.face is None:
                raise ImageError("no face found in the content image")
            left, top, right, bottom = self.face
            box = torch.zeros_like(self.person)
            box[..., top:bottom, left:right] = 1
            return box
        return self.person if name == "person" else 1 - self.person


@pytest.fixture
def segmented(monkeypatch):
    """``stylekit.segment.segment`` replaced by one that finds a known person (the middle half of the photo, below
    its top quarter) and face; returns the names of the photos it was called on."""
    calls = []

    def segment(photo, source="auto", *, name="the photo"):
        calls.append(name)
        image = as_tensor(photo, None, name)
        height, width = image.shape[-2:]
        person = torch.zeros(1, 1, height, width)
        person[..., height // 4 :, width // 4 : 3 * width // 4] = 1
        face = (width // 3, height // 4, 2 * width // 3, height // 2)
        return Known(person, face, "known")

    monkeypatch.setattr("stylekit.segment.segment", segment)
    return calls
