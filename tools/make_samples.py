"""Writes the bundled samples: content photos from scikit-image's and matplotlib's public-domain/CC0 data, and style
images painted procedurally here, so the project owns them outright (see stylekit/data/README.md). A tool for
the project, not part of the package: it needs scikit-image and matplotlib, and the files it writes ship in the package.

    pip install scikit-image matplotlib && python tools/make_samples.py   # identical files on every run
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 512
DATA = Path(__file__).resolve().parent.parent / "stylekit" / "data"


def flow_field(rng, scale=3):
    """An angle per pixel from a few random sinusoids: smooth swirls for strokes to follow."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    angle = np.zeros((SIZE, SIZE))
    for _ in range(4):
        fx, fy, phase = rng.uniform(0.5, scale, 3)
        angle += np.sin(2 * np.pi * (fx * x + fy * y) + phase * 6)
    return angle * np.pi / 2


def brushstrokes(rng):
    """Short thick strokes along a swirling flow field, night-sky blues with yellow."""
    palette = np.array([(20, 40, 110), (40, 80, 160), (70, 120, 200), (230, 200, 60), (250, 235, 140), (15, 25, 60)])
    img = Image.new("RGB", (SIZE, SIZE), (30, 50, 120))
    draw = ImageDraw.Draw(img)
    angle = flow_field(rng)
    for _ in range(9000):
        x, y = rng.uniform(0, SIZE, 2)
        colour = palette[rng.choice(len(palette), p=[0.25, 0.25, 0.2, 0.12, 0.08, 0.1])] + rng.integers(-20, 20, 3)
        points = [(x, y)]
        for _ in range(6):
            a = angle[int(y) % SIZE, int(x) % SIZE]
            x, y = x + 4 * np.cos(a), y + 4 * np.sin(a)
            points.append((x, y))
        draw.line(points, fill=tuple(int(c) for c in np.clip(colour, 0, 255)), width=int(rng.integers(3, 7)))
    return img


def mosaic(rng):
    """Voronoi tiles in warm terracotta and teal, separated by dark grout."""
    seeds = rng.uniform(0, SIZE, (700, 2))
    colours = np.array([(200, 90, 50), (220, 160, 80), (40, 130, 130), (240, 220, 180), (120, 50, 40)])
    tile_colour = colours[rng.integers(0, len(colours), len(seeds))] + rng.integers(-25, 25, (len(seeds), 3))
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    d = (x[..., None] - seeds[:, 0]) ** 2 + (y[..., None] - seeds[:, 1]) ** 2
    nearest = np.argsort(d, axis=-1)[..., :2]
    d1 = np.take_along_axis(d, nearest[..., :1], -1)[..., 0] ** 0.5
    d2 = np.take_along_axis(d, nearest[..., 1:], -1)[..., 0] ** 0.5
    out = tile_colour[nearest[..., 0]].astype(float)
    out[(d2 - d1) < 2.5] = (35, 30, 30)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def pointillism(rng):
    """Dense dots of complementary colours over a soft gradient, Seurat-like."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    base = np.stack([120 + 100 * x, 160 + 60 * y, 90 + 120 * (1 - x)], -1)
    img = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    palette = [(240, 120, 40), (40, 90, 200), (250, 220, 70), (120, 60, 170), (60, 170, 90), (250, 250, 240)]
    for _ in range(6000):
        cx, cy = rng.uniform(0, SIZE, 2)
        r = rng.uniform(2, 4.5)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=palette[rng.integers(len(palette))])
    return img


def shards(rng):
    """Overlapping angular shards with heavy black outlines, in a cubist primary palette."""
    img = Image.new("RGB", (SIZE, SIZE), (235, 225, 200))
    draw = ImageDraw.Draw(img)
    palette = [(200, 40, 40), (30, 60, 150), (240, 190, 30), (235, 225, 200), (40, 40, 40), (90, 140, 90)]
    for _ in range(260):
        cx, cy = rng.uniform(-40, SIZE + 40, 2)
        n = int(rng.integers(3, 6))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radius = rng.uniform(20, 90, n)
        polygon = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a, r in zip(angles, radius)]
        draw.polygon(polygon, fill=palette[rng.integers(len(palette))], outline=(15, 15, 15), width=4)
    return img.filter(ImageFilter.SMOOTH)


CONTENT = ("astronaut", "chelsea", "coffee", "rocket")
MATPLOTLIB = ("grace_hopper",)  # matplotlib's sample data: a second portrait (US Navy photograph, public domain)
STYLES = {"brushstrokes": brushstrokes, "mosaic": mosaic, "pointillism": pointillism, "shards": shards}

if __name__ == "__main__":
    import skimage.data

    for name in CONTENT:
        Image.fromarray(getattr(skimage.data, name)()).save(DATA / f"content_{name}.jpg", quality=92)
        print(f"wrote {DATA / f'content_{name}.jpg'}")
    import matplotlib.cbook

    for name in MATPLOTLIB:
        with Image.open(matplotlib.cbook.get_sample_data(f"{name}.jpg")) as photo:
            photo.convert("RGB").save(DATA / f"content_{name}.jpg", quality=92)
        print(f"wrote {DATA / f'content_{name}.jpg'}")
    for i, (name, paint) in enumerate(STYLES.items()):
        paint(np.random.default_rng(i)).save(DATA / f"style_{name}.jpg", quality=92)
        print(f"wrote {DATA / f'style_{name}.jpg'}")
