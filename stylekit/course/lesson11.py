"""Notebook 11's checks: the Gram matrix summed over tiles, and the exercises' numbers."""

from functools import cache

import torch

from .. import losses
from ..images import as_tensor
from ..samples import sample
from ..settings import PRESETS
from ..tiles import Tile, layout
from ..vgg import pools_before
from ..weights import cached_vgg
from . import check, pick, piece

# The notebook's (it imports them): the photo's size, the tiles' cores, and the runs' steps (a list: per scale).
SIZE, TILE, STEPS = pick(768, 192), pick(384, 96), pick(PRESETS["default"].steps, [5, 3])
MARGINS = range(0, 97, 16)  # the halos exercise 1 tries, in px


def _network():
    return cached_vgg("vgg19", "original", "max", "cpu", torch.float32)  # the notebook's: loaded once per process


def _photo():
    return as_tensor(sample("astronaut"), SIZE, "content")


def _tiles(image):
    """The tiles the notebook's ``TiledObjective`` cuts ``image`` into with the default preset."""
    s = PRESETS["default"]
    layers = [*s.content_layers, *s.style_layers]
    return layout("vgg19", layers, s.style_loss, image.shape[-1], image.shape[-2], TILE)


# The Gram matrix over tiles ------------------------------------------------------------------------------------


def _gram(f):
    """The reference: the mean over positions of each position's outer product, f of shape (1, N, H, W)."""
    columns = f[0].flatten(1)  # N × M
    return (columns[:, None, :] * columns[None, :, :]).mean(-1)


def _cut(f, rows, columns):
    """``f`` cut along ``rows`` and ``columns`` (the cuts, first 0 and last the side): its tiles, row by row."""
    return [
        f[..., y0:y1, x0:x1] for y0, y1 in zip(rows, rows[1:]) for x0, x1 in zip(columns, columns[1:])
    ]  # fmt: skip


def _tiled_cases():
    """(what, responses, the whole response): random responses (float64) cut into tiles of unequal sizes, and one
    left whole."""
    g = torch.Generator().manual_seed(11)
    cases = []
    for (n, h, w), rows, columns in (
        ((4, 7, 9), (0, 2, 7), (0, 6, 9)),  # four tiles: 2×6, 2×3, 5×6 and 5×3 positions
        ((6, 10, 3), (0, 1, 4, 10), (0, 3)),  # three in a column: 1, 3 and 6 rows
        ((3, 5, 4), (0, 5), (0, 4)),  # one tile: the whole response
    ):
        f = torch.randn((1, n, h, w), generator=g, dtype=torch.float64)
        f = f + torch.linspace(-1, 2, h, dtype=torch.float64)[:, None]  # the tiles' statistics differ
        tiles = _cut(f, rows, columns)
        sizes = "+".join(str(t.shape[-2] * t.shape[-1]) for t in tiles)
        cases.append((f"{len(tiles)} tile(s) of {sizes} positions, N={n}", tiles, f))
    return cases


def check_tiled_gram(tiled_gram):
    """``tiled_gram(responses)``: from the tiles' responses (1, N, h, w) (each its core's positions, no halo), the
    whole image's N×N Gram matrix F Fᵀ / M."""

    def problems(tiled_gram):
        for what, tiles, whole in _tiled_cases():
            got, want = tiled_gram([t.clone() for t in tiles]), _gram(whole)
            if not torch.is_tensor(got) or tuple(got.shape) != tuple(want.shape):
                return f"for {what} it gives {getattr(got, 'shape', type(got).__name__)}, not N×N"
            got = got.double()
            if torch.allclose(got, want, rtol=1e-9, atol=1e-12):
                continue
            if torch.allclose(got, sum(_gram(t) for t in tiles) / len(tiles), rtol=1e-6):
                return f"for {what} it averages the tiles' Gram matrices: a small tile then counts as much as a big one"
            return f"for {what} it is off (its sum is {float(got.sum() / want.sum()):.3g}× the right one)"
        return None

    library = (losses.gram, losses.gram_sums, losses.gram_of_sums)
    return piece(tiled_gram, problems, "the Gram matrix over tiles", library, fallback=_library_tiled_gram)


def _library_tiled_gram(responses):
    sums = [losses.gram_sums(f) for f in responses]
    return losses.gram_of_sums(sum(p for p, _ in sums), sum(m for _, m in sums))[0]


# The exercises -------------------------------------------------------------------------------------------------


@cache  # a check run again (or the suite's several answers) does not run VGG again
def _core_differences():
    """{margin: how far a 32 px core at the photo's centre, read with ``margin`` px around it, has other relu5_1
    features than the whole photo's, as a share of their range}, cut with stylekit's ``Tile``."""
    vgg, photo = _network(), _photo()
    pools = pools_before("vgg19", "relu5_1")
    grid, height, width = 2**pools, *photo.shape[-2:]
    y, x = height // 2 // grid * grid, width // 2 // grid * grid
    with torch.no_grad():
        whole = vgg(photo, ["relu5_1"])["relu5_1"]
        found = {}
        for margin in MARGINS:
            crop = (max(x - margin, 0), min(x + 32 + margin, width), max(y - margin, 0), min(y + 32 + margin, height))
            tile = Tile((x, x + 32, y, y + 32), crop)
            part = vgg(tile.pixels(photo), ["relu5_1"])["relu5_1"][tile.region(pools, within_crop=True)]
            found[margin] = float((part - whole[tile.region(pools)]).abs().max() / whole.abs().max())
    return found


def check_1(differences, needed):
    """``differences``: {margin: core_difference(margin)} for every margin of MARGINS; ``needed``: the smallest
    margin whose difference is below 1e-4."""
    if differences is ... or needed is ...:
        return check(..., None, "")
    want = _core_differences()

    def right(answer):
        differences, needed = answer
        if not isinstance(differences, dict) or set(differences) != set(MARGINS):
            return False
        close = all(abs(float(differences[m]) - want[m]) <= 1e-3 * want[m] + 1e-9 for m in MARGINS)
        return close and needed == next(m for m in MARGINS if want[m] < 1e-4)

    hint = "core_difference(m) for every m of MARGINS, then the first m whose difference is below 1e-4"
    return check((differences, needed), right, hint)


@cache
def _layer(layer):
    """(the photo's whole features at ``layer``, every tile's core's features there from its own VGG pass)."""
    vgg, photo, pools = _network(), _photo(), pools_before("vgg19", layer)
    with torch.no_grad():
        whole = vgg(photo, [layer])[layer]
        return whole, [vgg(t.pixels(photo), [layer])[layer][t.region(pools, within_crop=True)] for t in _tiles(photo)]


def check_2(spread):
    """The largest ‖G_tile − G_whole‖ / ‖G_whole‖ over the tiles, at relu3_1."""
    if spread is ...:
        return check(..., None, "")

    def gram(f):  # F Fᵀ / M, in float64
        columns = f[0].flatten(1).double()
        return columns @ columns.T / columns.shape[1]

    whole, cores = _layer("relu3_1")
    whole = gram(whole)
    want = max(float(torch.linalg.matrix_norm(gram(f) - whole) / torch.linalg.matrix_norm(whole)) for f in cores)
    hint = (
        "for each tile, the Gram matrix of its core's relu3_1 features alone against whole_gram, relative; the largest"
    )
    return check(spread, lambda value: abs(float(value) / want - 1) < 1e-3, hint)


def check_3(rank_error):
    """The largest difference, over channel 0 of conv3_1 in the core of the notebook's ``checked_tile``
    (tiles[len(tiles) // 2]), between each value's rank fraction among the core's values and among the whole
    layer's."""
    if rank_error is ...:
        return check(..., None, "")
    whole, cores = _layer("conv3_1")
    whole, core = whole[0, 0].flatten(), cores[len(cores) // 2][0, 0].flatten().contiguous()

    def fractions(among):  # how many of ``among`` lie below each value, as a share of the rest
        return torch.bucketize(core, among.sort().values).double() / (len(among) - 1)

    want = float((fractions(core) - fractions(whole)).abs().max())
    hint = (
        "for channel 0 of checked_tile's core, |rank among the core's values − rank among the whole layer's|, largest"
    )
    return check(rank_error, lambda value: abs(float(value) - want) < 1e-3, hint)
