"""``TiledObjective``: ``losses.Objective``'s terms and gradient, computed tile by tile (the package docstring)."""

import torch

from ..losses import Objective, content_loss, tv_loss
from ..vgg import pools_before
from .geometry import layout
from .kinds import TILED


class TiledObjective(Objective):
    """``Objective`` with the same terms and gradient, computed on ``tile``-px tiles.

    ``backward(image)`` is how it is used; calling it on an image evaluates the whole image at once
    (what the tests compare the tiles with).
    """

    kinds = TILED

    def __init__(self, *args, arch, tile, **kwargs):
        self.arch, self.tile, self._mask_maps = arch, tile, {}
        super().__init__(*args, **kwargs)

    def backward(self, image):
        if image.grad is None:
            image.grad = torch.zeros_like(image)
        style, state = self.kind.first_pass(self, image)
        content = torch.zeros((), device=image.device)
        for tile in self.tiles(image):
            crop = tile.pixels(image).detach().requires_grad_(True)
            features = self.model(crop, self.layers)
            tile_content = torch.zeros((), device=image.device)
            for k, (p, w, keep) in self.content.items():  # the whole image's target and weights, cut to the tile
                at = tile.region(self.pools(k))
                mine = features[k][self.core(tile, k)]
                tile_content = tile_content + w * content_loss(mine, p[at], None if keep is None else keep[at])
            share, value = self.kind.share(self, tile, features, state, image.shape)
            surrogate = self.weights["content"] * tile_content + self.weights["style"] * share
            if surrogate.requires_grad:
                surrogate.backward()
                image.grad[..., tile.crop[2] : tile.crop[3], tile.crop[0] : tile.crop[1]] += crop.grad
            content = content + tile_content.detach()
            style = style + value
        return self._with_pixel_terms(image, {"content": content, "style": style})

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

    def features(self, image, layers):
        """Whole feature maps (the content's targets), each tile writing its core."""
        maps = {}
        for tile, features in self.encode(image, layers):
            for k, f in features.items():
                p = self.pools(k)
                if k not in maps:
                    maps[k] = f.new_empty(*f.shape[:2], image.shape[-2] >> p, image.shape[-1] >> p)
                maps[k][tile.region(p)] = f
        return maps

    def style_targets(self, images, weights, layers):
        return self.kind.targets(self, images, weights, layers)

    # Tiles: what the kinds' hooks read.

    def tiles(self, image):
        """The tiles ``image`` is cut into."""
        return layout(self.arch, self.layers, self.kind.name, image.shape[-1], image.shape[-2], self.tile)

    def encode(self, image, layers, cells=0):
        """(tile, {layer: its core's features, ``cells`` wider}) for every tile of ``image``, without autograd."""
        if not layers:
            return
        for tile in self.tiles(image):
            with torch.no_grad():
                features = self.model(tile.pixels(image), layers)
            yield tile, {k: f[self.core(tile, k, cells)] for k, f in features.items()}

    def pools(self, layer):
        return pools_before(self.arch, layer)

    def core(self, tile, layer, cells=0):
        """Index of the tile's core (``cells`` wider) in its own pass's features at ``layer``."""
        return tile.region(self.pools(layer), cells, within_crop=True)

    def style_mask(self, mask, layer, shape, tile):
        """A style's mask as the whole image's Gram matrix sees it at ``layer``, cut to the tile's core."""
        if mask is None:
            return None
        p = self.pools(layer)
        key = (id(mask), layer)
        if key not in self._mask_maps:
            size = (shape[-2] >> p, shape[-1] >> p)
            self._mask_maps[key] = torch.nn.functional.interpolate(mask.float(), size=size, mode="area")
        return self._mask_maps[key][tile.region(p)]
