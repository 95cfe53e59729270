"""Renders the hand-drawn reference person masks in tools/reference_masks.json to
stylekit/data/masks/person_<name>.png (white = person, black = background, no feathering): the ground truth that
benchmarks/segment.py scores the segmentation against (stylekit/data/README.md, *Reference masks*). A tool for the
project, not part of the package; it needs only Pillow, and writes the same files on every run.

    python tools/draw_reference_masks.py                  # the masks
    python tools/draw_reference_masks.py --overlay DIR    # also each photo with its outline in red, to check by eye
"""

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
DRAWING = ROOT / "tools" / "reference_masks.json"
MASKS = ROOT / "stylekit" / "data" / "masks"


def polygons(outlines):
    return [[tuple(vertex) for vertex in outline] for outline in outlines]


def render(drawing):
    """The mask of one drawing: its person outlines filled, then its holes (background seen through the person,
    or an object in front of them) cut out."""
    mask = Image.new("1", tuple(drawing["size"]), 0)
    draw = ImageDraw.Draw(mask)
    for outline in polygons(drawing["person"]):
        draw.polygon(outline, fill=1)
    for outline in polygons(drawing["holes"]):
        draw.polygon(outline, fill=0)
    return mask


def photo(name):
    """The photo a drawing was made on: the bundled sample, else the package's own copy (Grace Hopper is
    matplotlib's sample data, the camera scikit-image's)."""
    bundled = ROOT / "stylekit" / "data" / f"content_{name}.jpg"
    if bundled.is_file():
        return Image.open(bundled).convert("RGB")
    if name == "grace_hopper":
        from matplotlib import cbook

        return Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def overlay(name, drawing, mask):
    """The photo, the person tinted and every outline in red, at twice the size."""
    picture = photo(name)
    tinted = Image.composite(Image.blend(picture, Image.new("RGB", picture.size, (0, 80, 255)), 0.35), picture, mask)
    tinted = tinted.resize((picture.width * 2, picture.height * 2), Image.LANCZOS)
    draw = ImageDraw.Draw(tinted)
    for outline in polygons(drawing["person"] + drawing["holes"]):
        points = [(2 * x, 2 * y) for x, y in outline]
        draw.line(points + points[:1], fill=(255, 0, 0), width=1)
    return tinted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overlay", type=Path, help="also write <name>_overlay.png here")
    args = parser.parse_args()
    MASKS.mkdir(exist_ok=True)
    for name, drawing in json.loads(DRAWING.read_text(encoding="utf-8")).items():
        mask = render(drawing)
        mask.save(MASKS / f"person_{name}.png", optimize=True)
        vertices = sum(map(len, drawing["person"] + drawing["holes"]))
        area = mask.convert("L").histogram()[255] / (mask.width * mask.height)
        print(f"person_{name}.png: {mask.width}×{mask.height}, {vertices} vertices, person {area:.1%} of the image")
        if args.overlay:
            args.overlay.mkdir(parents=True, exist_ok=True)
            overlay(name, drawing, mask).save(args.overlay / f"{name}_overlay.png")


if __name__ == "__main__":
    main()
