"""Finding the person: the classical path against the project's hand-drawn reference mask, the face, the regions,
the refusals, and the network's loading on checkpoints these tests make."""

import importlib
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from stylekit.errors import ImageError, MissingExtra, SettingsError, WeightsUnavailable
from stylekit.samples import DATA, sample

seg = importlib.import_module("stylekit.segment")  # the module (stylekit.segment may name the function)


def reference(name):
    """The project's hand-drawn person mask of a bundled portrait (stylekit/data/masks), as booleans."""
    return np.asarray(Image.open(DATA / "masks" / f"person_{name}.png").convert("L")) > 127


def iou(mask, truth):
    return (mask & truth).sum() / (mask | truth).sum()


@pytest.fixture(scope="module")
def astronaut():
    """The astronaut found with 'auto' where the network's weights cannot be had: the classical path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seg, "_network_reason", lambda: "offline in this test")
        return seg.segment(sample("astronaut"), "auto")


def test_the_astronauts_mask_covers_her_and_records_what_found_her(astronaut):
    person = astronaut.person
    assert astronaut.source == "classical"
    assert person.shape == (1, 1, 512, 512) and person.dtype == torch.float32
    assert person.min() >= 0 and person.max() <= 1
    # benchmarks/segment.py measures 0.92 (docs/control.md); the bound leaves room for other OpenCV versions
    assert iou(person[0, 0].numpy() > 0.5, reference("astronaut")) > 0.88
    edge = ((person > 0.05) & (person < 0.95)).float().mean()
    assert 0 < edge < 0.15  # feathered edges, not a blur of the whole


def test_the_face_box_is_on_her_head_and_the_regions_follow_the_mask(astronaut):
    truth = reference("astronaut")
    left, top, right, bottom = (round(v) for v in astronaut.face)
    assert truth[top:bottom, left:right].mean() > 0.9  # the box is on the person (its corners by the jaw may not)
    rows = np.flatnonzero(truth.any(1))
    assert top - rows[0] < (bottom - top)  # at the top of the person: her hair is all that is above the face
    head = np.flatnonzero(truth[rows[0] + (bottom - top) // 2])  # the head's width halfway down the box
    assert head[0] < (left + right) / 2 < head[-1]
    face = astronaut.region("face")
    assert face.shape == astronaut.person.shape and face[0, 0, (top + bottom) // 2, (left + right) // 2] == 1
    assert (face * astronaut.person).sum() / face.sum() > 0.95  # the face region lies inside the person
    assert torch.equal(astronaut.region("background"), 1 - astronaut.person)
    assert astronaut.region("person") is astronaut.person
    with pytest.raises(SettingsError, match="region must be one of person, background, face, not 'hair'"):
        astronaut.region("hair")


def test_a_greyscale_photo_works():
    grey = Image.open(sample("astronaut")).convert("L")
    found = seg.segment(grey, "classical")
    assert found.face is not None and iou(found.person[0, 0].numpy() > 0.5, reference("astronaut")) > 0.8


def test_no_person_a_tiny_photo_or_a_bad_input_is_refused_in_one_line(tmp_path):
    with pytest.raises(ImageError, match=r"content_coffee.jpg: no person found") as refused:
        seg.segment(sample("coffee"), "classical")
    assert "\n" not in str(refused.value)
    y, x = torch.meshgrid(torch.linspace(0, 1, 200), torch.linspace(0, 1, 300), indexing="ij")
    with pytest.raises(ImageError, match=r"^the gradient: no person found"):
        seg.segment(torch.stack([x, y, 1 - x])[None], "classical", name="the gradient")
    Image.new("RGB", (60, 40)).save(tmp_path / "tiny.png")
    with pytest.raises(ImageError, match=r"tiny.png is 60×40 px; finding the person needs at least 64 px"):
        seg.segment(tmp_path / "tiny.png")
    with pytest.raises(ImageError, match=r"missing.png: no such file"):
        seg.segment(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="must be a file path, a PIL image or a"):
        seg.segment(3)
    with pytest.raises(SettingsError, match="source must be one of auto, classical, torchvision or a checkpoint"):
        seg.segment(sample("astronaut"), "deeplab")
    nobody = seg.Segmentation(torch.zeros(1, 1, 8, 8), None, "classical", "portrait.jpg")
    with pytest.raises(ImageError, match=r"portrait.jpg: no face was found"):
        nobody.region("face")


@pytest.mark.parametrize("module", ["cv2", "skimage.feature"])
def test_a_missing_package_names_the_portrait_extra(monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(MissingExtra, match=r'finding the person offline needs .*: pip install "stylekit\[portrait\]"'):
        seg.segment(sample("astronaut"), "classical")


def test_a_checkpoint_of_the_network_loads_and_one_of_another_shape_is_refused(tmp_path):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
    state = model.state_dict()
    state["classifier.low_classifier.bias"][seg.PERSON_CLASS] = 20.0  # an untrained net that calls all a person
    torch.save(state, tmp_path / "person.pt")
    found = seg.segment(torch.rand(1, 3, 80, 96, generator=torch.Generator().manual_seed(0)), tmp_path / "person.pt")
    assert found.source == str(tmp_path / "person.pt") and found.person.shape == (1, 1, 80, 96)
    assert found.person.min() > 0.99
    del state["classifier.low_classifier.bias"]
    state["classifier.high_classifier.weight"] = torch.zeros(5, 128, 1, 1)
    torch.save(state, tmp_path / "five_classes.pt")
    with pytest.raises(WeightsUnavailable, match=r"checkpoint .*five_classes.pt does not fit lraspp") as refused:
        seg.segment(sample("astronaut"), str(tmp_path / "five_classes.pt"))
    assert "\n" not in str(refused.value)
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    with pytest.raises(WeightsUnavailable, match=r"cannot read checkpoint .*notes.pt"):
        seg.segment(sample("astronaut"), tmp_path / "notes.pt")


def test_the_network_offline_says_what_to_do_and_auto_then_takes_the_classical_path(offline_torchvision):
    with pytest.raises(WeightsUnavailable, match="connect to the internet once, or pass a checkpoint file as source"):
        seg.segment(sample("astronaut"), "torchvision")
    seg._network_reason.cache_clear()
    try:
        assert "could not be downloaded" in seg._network_reason()  # asked without downloading
    finally:
        seg._network_reason.cache_clear()
    assert not any(offline_torchvision.rglob("*.pth"))
