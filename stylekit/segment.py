"""Where the person is in a photo: ``segment(photo)`` → a soft person mask, the face, and what found them.

Two sources. The classical one runs offline on what installs from the package registries (the `portrait` extra):
scikit-image's bundled LBP frontal-face cascade finds the face, OpenCV's GrabCut grows the person from it, seeded
with the face (sure person), the head and a body region below it sized from the face (probably person) and the
image's border away from the body (background). The network is torchvision's LR-ASPP MobileNetV3 trained on COCO
with the VOC classes, whose person probability is the mask; it needs its weights (downloaded once) or a checkpoint.
"""

import functools
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import images, weights
from .errors import ImageError, SettingsError, WeightsUnavailable, need

NAMES = ("person", "background")  # the mask shorthands transfer, universal, live, video and the CLI accept
REGIONS = ("person", "background", "face")  # what Segmentation.region gives
SOURCES = ("auto", "classical", "torchvision")

MIN_SIDE = 64  # px: below this a face is a few pixels and no path can tell a person from the rest
WORK_SIDE = 512  # px on the long side: both paths look at the photo this size, the mask is scaled back up
NETWORK = "lraspp_mobilenet_v3_large"  # 3.2 M parameters: seconds on a CPU, where DeepLabV3 takes many more
PERSON_CLASS = 15  # "person" among the 21 VOC classes the COCO_WITH_VOC_LABELS weights predict
MIN_PERSON = 0.01  # the least share of the photo a found person covers: less is noise, not a person

# The classical path's parameters, tuned on the astronaut only (against its reference mask,
# data/masks/person_astronaut.png: NECK's depth and BODY_WIDTH searched on a small grid, the rest set by eye on
# her) and then frozen; benchmarks/segment.py scores the other portraits with them.
FACE_SCALE = 1.1  # the cascade's step between window sizes
FACE_VOTES = 5  # raw cascade windows that must agree on a face: fewer is a chance pattern (a cat, a spoon)
FACE_LOWEST = 0.6  # the face's centre must lie above this share of the height, leaving room for a body below
HEAD = (0.25, 0.6)  # the head (hair, ears) beyond the face box: face widths to each side, face heights above
BODY_WIDTH = 3.6  # the body region below the face, in face widths
NECK = (0.6, 1.5)  # sure person below the chin: face widths wide, face heights deep (a dark collar is no edge)
SURE_BORDER = 0.03  # the image's border, as a share of the long side, taken as sure background away from the body
ITERATIONS = 5  # GrabCut's rounds of colour-model fitting
FEATHER = 0.006  # the mask's edge blur (Gaussian sigma) as a share of the long side
FACE_TALL = 1.3  # the face region's ellipse: taller than the box by this, to take in forehead and chin


@dataclass
class Segmentation:
    """``person``: (1, 1, H, W) float32 in [0, 1] at the photo's size, 1 on the person, 0 on the background, its
    edges feathered. ``face``: (left, top, right, bottom) in pixels of the face found, or None. ``source``: what
    found the person ("classical": face cascade + GrabCut; "torchvision:<model>"; or a checkpoint's path).
    ``name``: the photo's name in messages."""

    person: torch.Tensor
    face: tuple
    source: str
    name: str = "the photo"

    def region(self, name):
        """(1, 1, H, W) in [0, 1]: 'person', 'background' (1 − person) or 'face' (a feathered ellipse over the face
        box; an ImageError naming the photo when no face was found)."""
        if name == "person":
            return self.person
        if name == "background":
            return 1 - self.person
        if name != "face":
            raise SettingsError(f"region must be one of {', '.join(REGIONS)}, not {name!r}")
        if self.face is None:
            raise ImageError(f"{self.name}: no face was found, so there is no face region")
        height, width = self.person.shape[-2:]
        left, top, right, bottom = self.face
        y, x = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
        radius_x, radius_y = (right - left) / 2, FACE_TALL * (bottom - top) / 2
        # The distance from the centre in radii; the edge ramps from 1 to 0 over a tenth of a radius either side.
        distance = (((x - (left + right) / 2) / radius_x) ** 2 + ((y - (top + bottom) / 2) / radius_y) ** 2).sqrt()
        return ((1 - distance) / 0.2 + 0.5).clamp(0, 1)[None, None]


def segment(photo, source="auto", *, name=None):
    """The person in ``photo`` (a path, PIL image or (1, 3, H, W) tensor in [0, 1]).

    ``source``: 'auto' (torchvision's network when its weights are cached or can be downloaded, else the classical
    path), 'classical', 'torchvision', or a checkpoint file of the network. ``name``: the photo in messages (default:
    its path, or "the photo"). Raises ImageError (one line naming the photo, or the checkpoint) when no person is
    found or the photo is too small, MissingExtra when the classical path's packages are not installed,
    WeightsUnavailable for 'torchvision' offline or a checkpoint that is not the network's.
    """
    name = name or (str(photo) if isinstance(photo, (str, Path)) else "the photo")
    picture = _picture(photo, name)
    if min(picture.size) < MIN_SIDE:
        raise ImageError(
            f"{name} is {picture.width}×{picture.height} px; finding the person needs at least {MIN_SIDE} px per side"
        )
    if source == "auto":
        source = "torchvision" if _network_reason() is None else "classical"
    if source == "classical":
        return _classical(picture, name)
    if source == "torchvision" or Path(source).is_file():
        return _network(picture, source, name)
    raise SettingsError(f"source must be one of {', '.join(SOURCES)} or a checkpoint file; {source!r} is neither")


def _picture(photo, name):
    """``photo`` as an RGB PIL image at its own size, or an ImageError naming it."""
    images.check_source(photo, name.removeprefix("the "))
    if torch.is_tensor(photo):
        return images.to_pil(images.as_tensor(photo, None, name.removeprefix("the ")))
    return images.open_image(photo, name) if isinstance(photo, (str, Path)) else images.to_rgb(photo)


def _work_size(picture):
    scale = WORK_SIDE / max(picture.size)
    return max(1, round(picture.width * scale)), max(1, round(picture.height * scale))


def _soft(mask, picture, sigma):
    """A float mask (h, w) at the working size, blurred by ``sigma`` px, as (1, 1, H, W) at the photo's size."""
    mask = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None]
    if sigma > 0:
        radius = int(3 * sigma + 1)
        kernel = torch.exp(-((torch.arange(-radius, radius + 1) / sigma) ** 2) / 2)
        kernel = kernel / kernel.sum()
        padded = torch.nn.functional.pad(mask, (radius,) * 4, mode="replicate")
        mask = torch.nn.functional.conv2d(padded, kernel.view(1, 1, 1, -1))
        mask = torch.nn.functional.conv2d(mask, kernel.view(1, 1, -1, 1))
    size = (picture.height, picture.width)
    return torch.nn.functional.interpolate(mask, size=size, mode="bilinear", align_corners=False).clamp(0, 1)


def find_face(grey):
    """(left, top, right, bottom) of the face in ``grey`` (a (h, w) float array in [0, 1]), or None.

    The cascade answers many windows, on the face and on patterns like one (a badge, a helmet's rim): the face is
    the place the most windows agree on, if enough do and it lies high enough for a body below it.
    """
    feature = need("skimage.feature", "finding the person offline", extra="portrait")
    data = need("skimage.data", "finding the person offline", extra="portrait")
    height, width = grey.shape
    smallest = max(24, min(height, width) // 12)
    windows = _cascade(feature, data).detect_multi_scale(
        img=grey, scale_factor=FACE_SCALE, step_ratio=1, min_size=(smallest, smallest),
        max_size=(min(height, width),) * 2, min_neighbor_number=1, intersection_score_threshold=2,  # no merging
    )  # fmt: skip
    groups = []
    for box in ((w["c"], w["r"], w["c"] + w["width"], w["r"] + w["height"]) for w in windows):
        for group in groups:
            if _overlap(box, group[0]) > 0.5:
                group.append(box)
                break
        else:
            groups.append([box])
    faces = [g for g in groups if len(g) >= FACE_VOTES and (g[0][1] + g[0][3]) / 2 < FACE_LOWEST * height]
    if not faces:
        return None
    return tuple(np.mean(max(faces, key=len), axis=0).tolist())


@functools.lru_cache(maxsize=1)
def _cascade(feature, data):
    return feature.Cascade(data.lbp_frontal_face_cascade_filename())


def _overlap(a, b):
    """The area two boxes share, as a share of the smaller one."""
    shared = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return shared / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


def _scaled(face, picture, work):
    if face is None:
        return None
    scale = picture.width / work[0]
    return tuple(round(v * scale) for v in face)


def _classical(picture, name):
    cv2 = need("cv2", "finding the person offline", extra="portrait")
    work = _work_size(picture)
    small = picture.resize(work, Image.LANCZOS)
    face = find_face(np.asarray(small.convert("L"), dtype=np.float32) / 255)
    if face is None:
        raise ImageError(f"{name}: no person found (the offline path looks for a frontal face and found none)")
    person = _grabcut(cv2, np.asarray(small), face)
    if person.mean() < MIN_PERSON:
        raise ImageError(f"{name}: no person found (too little of the photo around the face is a person)")
    return Segmentation(_soft(person, picture, FEATHER * WORK_SIDE), _scaled(face, picture, work), "classical", name)


def _grabcut(cv2, rgb, face):
    """A 0/1 person mask (h, w) from GrabCut, seeded from the face box."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = face
    side, above = HEAD[0] * (right - left), HEAD[1] * (bottom - top)
    centre, half = (left + right) / 2, BODY_WIDTH * (right - left) / 2
    seeds = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    border = max(2, round(SURE_BORDER * max(height, width)))
    seeds[:border], seeds[:, :border], seeds[:, -border:], seeds[-border:] = (cv2.GC_BGD,) * 4

    def box(x0, y0, x1, y1, label):
        seeds[max(0, round(y0)) : max(0, round(y1)), max(0, round(x0)) : max(0, round(x1))] = label

    box(centre - half, bottom, centre + half, height, cv2.GC_PR_FGD)  # the body, to the bottom edge
    box(left - side, top - above, right + side, bottom, cv2.GC_PR_FGD)  # the head
    inset_x, inset_y = 0.2 * (right - left), 0.15 * (bottom - top)
    box(left + inset_x, top + inset_y, right - inset_x, bottom - inset_y, cv2.GC_FGD)  # the face itself
    neck = NECK[0] * (right - left) / 2
    box(centre - neck, bottom - inset_y, centre + neck, bottom + NECK[1] * (bottom - top), cv2.GC_FGD)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models by k-means: the same mask every run
    cv2.grabCut(bgr, seeds, None, *models, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    person = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8)
    return _fill(cv2, _touching(cv2, person, face))


def _touching(cv2, person, face):
    """The parts of ``person`` that reach into the face box or the neck and chest just below it (a dark collar can
    cut the head off the body): GrabCut's islands elsewhere are background."""
    _, labels = cv2.connectedComponents(person)
    left, top, right, bottom = (round(v) for v in face)
    below = round(bottom + (bottom - top))
    kept = np.setdiff1d(np.concatenate([np.unique(labels[top:bottom, left:right]),
                                        np.unique(labels[bottom:below, left:right])]), [0])  # fmt: skip
    return np.isin(labels, kept).astype(np.uint8)


def _fill(cv2, person):
    """``person`` with its holes filled: background enclosed by the person is the person's (a badge, an eye)."""
    count, labels = cv2.connectedComponents(1 - person)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    holes = np.isin(labels, np.setdiff1d(np.arange(1, count), edge))
    return person | holes.astype(np.uint8)


def _network_weights():
    from torchvision.models.segmentation import LRASPP_MobileNet_V3_Large_Weights

    return LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1


@functools.lru_cache(maxsize=1)
def _network_reason():
    """None when the network's weights are cached or can be downloaded, else why not; asked once per process."""
    return weights.hub_reason(NETWORK, _network_weights().url, instead="as source")


def _network_model(source):
    """The network with torchvision's weights or a checkpoint's, loaded once per process (per checkpoint version)."""
    return _load_network(source, None if source == "torchvision" else Path(source).stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _load_network(source, version):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
    if source == "torchvision":
        state = weights.hub_state(NETWORK, _network_weights().url, instead="as source")
    else:
        state = weights.read_checkpoint(source)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:  # torch lists every key that does not fit: its first line after the header says what
        lines = str(e).strip().splitlines()
        raise WeightsUnavailable(f"checkpoint {source} does not fit {NETWORK}: {lines[-1].strip()}") from None
    return model.eval()


def torchvision_normalize(image, preset):
    from torchvision.transforms.functional import normalize

    return normalize(image, preset.mean, preset.std)


def _network(picture, source, name):
    model = _network_model(source)
    preset = _network_weights().transforms()  # its mean and std; the photo is already at the working size
    batch = torchvision_normalize(images.to_tensor(picture.resize(_work_size(picture), Image.LANCZOS)), preset)
    with torch.inference_mode():
        person = model(batch)["out"].softmax(1)[0, PERSON_CLASS]
    if (person > 0.5).float().mean() < MIN_PERSON:
        raise ImageError(f"{name}: no person found (the network sees a person in under {MIN_PERSON:.0%} of it)")
    face = None
    if find_spec("skimage") is not None:  # the face is the cascade's: without scikit-image there is none to give
        face = _scaled(find_face(np.asarray(picture.resize(_work_size(picture)).convert("L"), np.float32) / 255),
                       picture, _work_size(picture))  # fmt: skip
    label = f"torchvision:{NETWORK}" if source == "torchvision" else str(source)
    return Segmentation(_soft(person.numpy(), picture, 0), face, label, name)
