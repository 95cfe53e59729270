"""Images too large for one VGG pass, optimised tile by tile with the whole image's loss and gradient.

A feature at a layer depends on the pixels within ``vgg.reach`` of its own (70 px for relu5_1). A tile is
a core plus a halo at least that wide, cut on the pooling grid, so its core's features are the whole image's
(up to rounding). Every term is then assembled from the cores:

- content and MRF terms are sums over positions: each tile adds its core's share;
- a Gram matrix is a sum over positions too, but its loss is not: a first pass without autograd adds up
  the cores' F Fᵀ, the loss and ∂L/∂G are computed once for the whole image, and the second pass sends
  each tile's share ⟨∂L/∂G, F Fᵀ⟩ back through its own VGG pass;
- the histogram loss ranks each value among the whole layer's: the first pass keeps ``SKETCH`` quantiles
  per tile and channel, and ranks are read from their merged distribution (off by ≤ 1/SKETCH of a tile).

TV and video's temporal loss are computed on the whole image. No tile boundary is special to the objective,
so there is nothing to feather and no seam to hide; the price is the halo and the first pass
(docs/large-images.md).
"""

from dataclasses import dataclass

import torch

from .losses import (
    GramLoss,
    HistogramLoss,
    MRFLoss,
    Objective,
    _gram_loss,
    _patches,
    content_loss,
    gram_of_sums,
    gram_sums,
    tv_loss,
)
from .vgg import deepest, pools_before, reach

SKETCH = 256  # quantiles per tile and channel from which the histogram loss reads ranks


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


class TiledObjective(Objective):
    """``Objective`` with the same terms and gradient, computed on ``tile``-px tiles (module docstring).

    ``backward(image)`` is how it is used; calling it on an image evaluates the whole image at once
    (what the tests compare the tiles with).
    """

    def __init__(self, *args, arch, tile, **kwargs):
        self.arch, self.tile, self._mask_maps = arch, tile, {}
        super().__init__(*args, **kwargs)

    def backward(self, image):
        if image.grad is None:
            image.grad = torch.zeros_like(image)
        style, gram_gradients, ranks = self._first_pass(image)
        content = torch.zeros((), device=image.device)
        for tile in self.tiles(image):
            crop = tile.pixels(image).detach().requires_grad_(True)
            features = self.model(crop, self.layers)
            tile_content = sum(
                w * content_loss(features[k][self._core(tile, k)], p[tile.region(self._pools(k))])
                for k, (p, w) in self.content.items()
            )
            shares = [self._style_share(tile, i, features, k, a, w, gram_gradients, ranks, image.shape)
                      for i, (_, layers) in enumerate(self.style) for k, (a, w) in layers.items()]  # fmt: skip
            surrogate = self.weights["content"] * tile_content + self.weights["style"] * sum(s for s, _ in shares)
            if surrogate.requires_grad:
                surrogate.backward()
                image.grad[..., tile.crop[2] : tile.crop[3], tile.crop[0] : tile.crop[1]] += crop.grad
            content = content + tile_content.detach()
            style = style + sum(v for _, v in shares)
        return self._with_pixel_terms(image, {"content": content, "style": style})

    def _first_pass(self, image):
        """(the Gram terms' value, ∂ of each w·E_l by its F Fᵀ, each histogram layer's rank table) of the whole
        image, from one pass over its tiles without autograd."""
        gram_layers = isinstance(self.kind, GramLoss) and [k for _, layers in self.style for k in layers]
        histogram_layers = isinstance(self.kind, HistogramLoss) and list(self.style[0][1])
        sums, sketches = {}, {}
        for tile, features in self._encode(image, list(dict.fromkeys(gram_layers or histogram_layers or []))):
            for i, (mask, layers) in enumerate(self.style if gram_layers else []):
                for k in layers:
                    sums[(i, k)] = _added(
                        sums.get((i, k)), gram_sums(features[k], self._mask(mask, k, image.shape, tile))
                    )
            for k in histogram_layers or []:
                sketches.setdefault(k, []).extend(_sketch(features[k]))
        value, gradients = torch.zeros((), device=image.device), {}
        for (i, k), (product, weight) in sums.items():
            product.requires_grad_(True)
            target, w = self.style[i][1][k]
            term = w * _gram_loss(gram_of_sums(product, weight), target)
            gradients[(i, k)] = torch.autograd.grad(term, product)[0]
            value = value + term.detach()
        return value, gradients, {k: _merged(parts) for k, parts in sketches.items()}

    def _style_share(self, tile, i, features, k, target, w, gram_gradients, ranks, shape):
        """(what this tile adds to the style term's gradient, to its value) for layer ``k`` of style group ``i``."""
        pools = self._pools(k)
        if isinstance(self.kind, GramLoss):
            mask = self._mask(self.style[i][0], k, shape, tile)
            f = features[k][self._core(tile, k)]
            return (gram_gradients[(i, k)] * gram_sums(f, mask)[0]).sum(), 0.0
        layer_shape = (shape[-2] >> pools, shape[-1] >> pools)
        if isinstance(self.kind, HistogramLoss):
            f = features[k][self._core(tile, k)].float()
            f = f.reshape(f.shape[-3], -1)
            errors = (f - self.kind.remap(_rank(f, *ranks[k]), target)) ** 2
            share = w * errors.sum() / (f.shape[0] * layer_shape[0] * layer_shape[1])
        else:  # MRF: the patches centred on this core, one cell of the halo around it included
            patches = _patches_of(features[k][self._core(tile, k, cells=1)])
            count = (layer_shape[0] - 2) * (layer_shape[1] - 2) * patches.shape[0]
            share = w * self.kind.errors(patches, target).sum() / count if patches.shape[1] else patches.sum()
        return share, share.detach()

    def _with_pixel_terms(self, image, terms):
        """Adds TV and extra terms, computed on the whole image (their gradient to ``image.grad``), and the total."""
        pixel = {"tv": torch.zeros((), device=image.device)}
        if self.weights["tv"]:
            pixel["tv"] = tv_loss(image)
        for name, term in self.extra.items():
            pixel[name] = term(image)
        total = sum(self.weights.get(k, 1.0) * v for k, v in pixel.items())
        if total.requires_grad:
            total.backward()
        terms.update({k: v.detach() for k, v in pixel.items()})
        terms["total"] = self.total(terms)
        return terms

    # Targets: the whole image's, assembled tile by tile.

    def _features(self, image, layers):
        """Whole feature maps (the content's targets), each tile writing its core."""
        maps = {}
        for tile, features in self._encode(image, layers):
            for k, f in features.items():
                p = self._pools(k)
                if k not in maps:
                    maps[k] = f.new_empty(*f.shape[:2], image.shape[-2] >> p, image.shape[-1] >> p)
                maps[k][tile.region(p)] = f
        return maps

    def _style_targets(self, images, weights, layers):
        if isinstance(self.kind, MRFLoss):  # every style patch, of every image
            tiles = [f for image in images for _, f in self._encode(image, list(layers), cells=1)]
            return {k: torch.cat([_patches_of(f[k]) for f in tiles], dim=1) for k in layers}
        targets = {}
        for image, weight in zip(images, weights):
            if isinstance(self.kind, GramLoss):
                sums = dict.fromkeys(layers)
                for _, features in self._encode(image, list(layers)):
                    sums = {k: _added(sums[k], gram_sums(features[k])) for k in layers}
                own = {k: gram_of_sums(*sums[k]) for k in layers}
            else:
                sketches = {k: [] for k in layers}
                for _, features in self._encode(image, list(layers)):
                    for k in layers:
                        sketches[k].extend(_sketch(features[k]))
                own = {k: _quantiles(*_merged(parts), HistogramLoss.QUANTILES) for k, parts in sketches.items()}
            targets = {k: targets.get(k, 0) + weight * own[k] for k in layers}
        return targets

    # Tiles

    def tiles(self, image):
        """The tiles ``image`` is cut into."""
        style_loss = "mrf" if isinstance(self.kind, MRFLoss) else "gram"
        return layout(self.arch, self.layers, style_loss, image.shape[-1], image.shape[-2], self.tile)

    def _encode(self, image, layers, cells=0):
        """(tile, {layer: its core's features, ``cells`` wider}) for every tile of ``image``, without autograd."""
        if not layers:
            return
        for tile in self.tiles(image):
            with torch.no_grad():
                features = self.model(tile.pixels(image), layers)
            yield tile, {k: f[self._core(tile, k, cells)] for k, f in features.items()}

    def _pools(self, layer):
        return pools_before(self.arch, layer)

    def _core(self, tile, layer, cells=0):
        """Index of the tile's core (``cells`` wider) in its own pass's features at ``layer``."""
        return tile.region(self._pools(layer), cells, within_crop=True)

    def _mask(self, mask, layer, shape, tile):
        """A style's mask as the whole image's Gram matrix sees it at ``layer``, cut to the tile's core."""
        if mask is None:
            return None
        p = self._pools(layer)
        key = (id(mask), layer)
        if key not in self._mask_maps:
            size = (shape[-2] >> p, shape[-1] >> p)
            self._mask_maps[key] = torch.nn.functional.interpolate(mask.float(), size=size, mode="area")
        return self._mask_maps[key][tile.region(p)]


def _added(total, part):
    """Sums of tiles, added: ``part`` and ``total`` are tuples (None: nothing yet)."""
    return part if total is None else tuple(a + b for a, b in zip(total, part))


def _patches_of(f):
    """The 3×3 patches (as columns) centred on a core, from its features one cell wider: none where the core
    has no cell off the image's edge."""
    return _patches(f) if min(f.shape[-2:]) >= 3 else f.new_zeros(f.shape[-3] * 9, 0)


def _sketch(features):
    """[(SKETCH quantiles per channel, how many values they stand for)] of one tile's layer; [] for a tile with
    no feature at that layer (a last core narrower than the layer's cells)."""
    f = features.float().reshape(features.shape[-3], -1)
    q = torch.linspace(0, 1, SKETCH, device=f.device)
    return [(torch.quantile(f, q, dim=1).T, f.shape[1])] if f.shape[1] else []


def _merged(sketches):
    """(values, cumulative fraction) per channel: the distribution of a whole layer from its tiles' sketches."""
    values = torch.cat([q for q, _ in sketches], dim=1)
    weights = torch.cat([torch.full((q.shape[1],), n / q.shape[1], device=q.device) for q, n in sketches])
    values, order = values.sort(dim=1)
    fraction = weights[order].cumsum(dim=1)
    return values, (fraction - fraction[:, :1]) / (fraction[:, -1:] - fraction[:, :1]).clamp_min(1e-12)


def _rank(f, values, fraction):
    """Each value's rank fraction within its channel of the whole layer (0: lowest, 1: highest), from the merged
    sketch. Values tied with sketch values (ReLU's zeros) spread over the tied range in this tile's order, as
    the whole layer's argsort spreads them."""
    f, last = f.contiguous(), values.shape[1] - 1
    low, high = torch.searchsorted(values, f), torch.searchsorted(values, f, side="right")
    ordered = f.sort(dim=1).values
    fewer = torch.searchsorted(ordered, f)
    ties = torch.searchsorted(ordered, f, side="right") - fewer
    position = (f.argsort(dim=1).argsort(dim=1) - fewer + 0.5) / ties
    first, final = fraction.gather(1, low.clamp(max=last)), fraction.gather(1, (high - 1).clamp(0, last))
    return torch.where(high > low, first + (final - first) * position, _interpolate(f, values, fraction))


def _quantiles(values, fraction, count):
    """``count`` evenly spaced quantiles per channel of a merged distribution."""
    q = torch.linspace(0, 1, count, device=values.device).expand(values.shape[0], -1)
    return _interpolate(q, fraction, values)


def _interpolate(x, xs, ys):
    """Row by row, ``ys`` at ``x`` between the increasing ``xs`` (linear; the end values beyond them)."""
    index = torch.searchsorted(xs.contiguous(), x.contiguous()).clamp(1, xs.shape[1] - 1)
    x0, x1 = xs.gather(1, index - 1), xs.gather(1, index)
    t = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
    return ys.gather(1, index - 1) * (1 - t) + ys.gather(1, index) * t
