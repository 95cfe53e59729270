"""Where tiles are cut: cores on the pooling grid, halos as wide as the deepest layer's reach."""

from dataclasses import dataclass

from ..vgg import deepest, pools_before, reach


def halo(arch, layers, style_loss):
    """(grid, halo): tiles start on multiples of ``grid`` px so that pooling windows fall as in the whole
    image, and read ``halo`` px around their core, enough for exact features at every one of ``layers``."""
    last = deepest(arch, layers)
    grid = 2 ** pools_before(arch, last)
    extra = grid if style_loss == "mrf" else 0  # MRF patches centred on a core's edge reach one cell further
    return grid, -(-(reach(arch, last) + extra) // grid) * grid


def layout(arch, layers, style_loss, width, height, tile):
    """The tiles a ``width``×``height`` image is cut into: cores of at most ``tile`` px (rounded up to the pooling
    grid), halos for exact features at ``layers``."""
    step, margin = halo(arch, layers, style_loss)
    return grid(width, height, -(-tile // step) * step, margin, step)


def crop_side(settings, tile):
    """The longest side a tile's VGG pass reads: its core and a halo on both sides."""
    grid, margin = halo(settings.model, [*settings.content_layers, *settings.style_layers], settings.style_loss)
    return -(-tile // grid) * grid + 2 * margin


@dataclass(frozen=True)
class Tile:
    core: tuple  # (x0, x1, y0, y1): the pixels whose features this tile computes
    crop: tuple  # (x0, x1, y0, y1): the pixels its VGG pass reads, the core and its halo

    def pixels(self, image):
        x0, x1, y0, y1 = self.crop
        return image[..., y0:y1, x0:x1]

    def region(self, pools, cells=0, within_crop=False):
        """Index of the core's features in a layer halved ``pools`` times (of the whole layer, or of this tile's
        pass), ``cells`` wider on each side where there are features to take."""
        x0, x1, y0, y1 = (v >> pools for v in self.core)
        dx, dy = (self.crop[0] >> pools, self.crop[2] >> pools) if within_crop else (0, 0)
        return (..., slice(max(y0 - cells, 0) - dy, y1 + cells - dy), slice(max(x0 - cells, 0) - dx, x1 + cells - dx))


def grid(width, height, core, margin, step):
    """Tiles covering ``width``×``height`` row by row: cores of at most ``core`` px, as even as cuts on
    multiples of ``step`` px allow, and crops ``margin`` px wider wherever the image goes on."""

    def spans(length):
        count = -(-length // core)
        cuts = sorted({0, length, *(min(-(-i * length // (count * step)) * step, length) for i in range(1, count))})
        return list(zip(cuts, cuts[1:]))

    return [
        Tile(
            (x0, x1, y0, y1),
            (max(x0 - margin, 0), min(x1 + margin, width), max(y0 - margin, 0), min(y1 + margin, height)),
        )
        for y0, y1 in spans(height)
        for x0, x1 in spans(width)
    ]
