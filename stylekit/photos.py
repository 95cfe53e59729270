"""The photos a fast model trains on: a folder of the user's, or by default the bundled photos and the sample
photos installed packages ship (there is no internet to fetch a photo set from)."""

from pathlib import Path

from . import images
from .errors import ImageError, need
from .samples import DATA

# Sample photos of installed packages, by package and file: those whose docstrings or sources say public domain
# or CC0 (stylekit/data/README.md). Drawings, charts, text pages and photos of unstated licence are left out. Two
# bundled photos are held out of the default set, so that how a model does on photos it never saw can be measured
# (benchmarks/fast.py).
PACKAGE_PHOTOS = {
    "skimage": ("astronaut.png", "brick.png", "camera.png", "cell.png", "clock_motion.png", "coffee.png", "coins.png",
                "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg"),
    "matplotlib": ("grace_hopper.jpg",),
}  # fmt: skip
HELD_OUT = ("chelsea", "rocket")
PHOTO_SIDE = 1024  # photos are kept in memory with their longest side at most this


def default_photos():
    """The photos to train on when the user gives none: bundled content photos (except ``HELD_OUT``) and the
    sample photos of scikit-image and matplotlib (the `train` extra), one file per name."""
    found = {p.stem.removeprefix("content_"): p for p in sorted(DATA.glob("content_*.jpg"))}
    for package, files in PACKAGE_PHOTOS.items():
        module = need(package, "training on the default photo set", extra="train")
        folder = Path(module.__file__).parent / "data"
        folder = folder if package == "skimage" else Path(module.get_data_path()) / "sample_data"
        found.update({Path(f).stem: folder / f for f in files if (folder / f).is_file()})
    return [path for name, path in found.items() if name not in HELD_OUT]


def read_photos(photos=None):
    """``photos`` (a folder, or a list of files and folders; None: ``default_photos``) as tensors in memory."""
    if photos is None:
        paths = default_photos()
    else:
        paths = []
        for item in [photos] if isinstance(photos, (str, Path)) else photos:
            item = Path(item)
            if item.is_dir():
                paths += sorted(p for p in item.rglob("*") if p.suffix.lower() in images.SUFFIXES)
            elif not item.exists():
                raise ImageError(f"{item}: no such file or folder")
            else:
                paths.append(item)
    decoded = []
    for path in paths:
        try:
            photo = images.open_image(path)
        except ImageError:
            continue  # one unreadable file in a folder of photos is skipped; none readable is an error below
        photo.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
        decoded.append(images.to_tensor(photo)[0])
    if not decoded:
        raise ImageError(f"{photos or 'the default photo set'}: no readable image to train on")
    return decoded
