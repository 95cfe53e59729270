"""Each style loss kind, taught to work tile by tile: its targets from the tiles of a style image, a first pass
over the generated image's tiles (what the whole image's loss needs before any tile's gradient), and each tile's
share of the style term. ``objective.TiledObjective`` calls these hooks; it never asks which kind it has.

A share is (a surrogate whose gradient is the tile's share of the style term's gradient, the tile's share of the
term's value).
"""

import torch

from ..beyond_gram import HistogramLoss, MRFLoss, patches
from ..losses import GramLoss, gram_error, gram_of_sums, gram_sums
from .sketches import merged, quantiles, rank, sketch


class TiledGram(GramLoss):
    name = "gram"

    def targets(self, objective, images, weights, layers):
        targets = {}
        for image, weight in zip(images, weights):
            sums = dict.fromkeys(layers)
            for _, features in objective.encode(image, list(layers)):
                sums = {k: _added(sums[k], gram_sums(features[k])) for k in layers}
            targets = {k: targets.get(k, 0) + weight * gram_of_sums(*sums[k]) for k in layers}
        return targets

    def first_pass(self, objective, image):
        """(the style term's value, ∂ of each target's w·E_l by its F Fᵀ): the cores' F Fᵀ added up without autograd,
        the loss and its gradient by G computed once for the whole image."""
        sums = [None] * len(objective.style)
        for tile, features in objective.encode(image, _style_layers(objective)):
            for i, t in enumerate(objective.style):
                sums[i] = _added(
                    sums[i], gram_sums(features[t.layer], objective.style_mask(t.mask, t.layer, image.shape, tile))
                )
        value, gradients = torch.zeros((), device=image.device), []
        for t, (product, weight) in zip(objective.style, sums):
            product.requires_grad_(True)
            term = t.weight * gram_error(gram_of_sums(product, weight), t.target)
            gradients.append(torch.autograd.grad(term, product)[0])
            value = value + term.detach()
        return value, gradients

    def share(self, objective, tile, features, gradients, shape):
        """⟨∂L/∂(F Fᵀ), this core's F Fᵀ⟩; the value was counted in the first pass."""
        surrogate = torch.zeros(())
        for t, gradient in zip(objective.style, gradients):
            f = features[t.layer][objective.core(tile, t.layer)]
            product = gram_sums(f, objective.style_mask(t.mask, t.layer, shape, tile))[0]
            surrogate = surrogate + (gradient * product).sum()
        return surrogate, 0.0


class TiledHistogram(HistogramLoss):
    name = "histogram"

    def targets(self, objective, images, weights, layers):
        targets = {}
        for image, weight in zip(images, weights):
            own = {k: quantiles(*m, self.QUANTILES) for k, m in _distributions(objective, image, layers).items()}
            targets = {k: targets.get(k, 0) + weight * own[k] for k in layers}
        return targets

    def first_pass(self, objective, image):
        """(0: the value is the tiles' shares, each layer's distribution over the whole image to rank values in)."""
        return torch.zeros((), device=image.device), _distributions(objective, image, _style_layers(objective))

    def share(self, objective, tile, features, distributions, shape):
        share = torch.zeros(())
        for t in objective.style:
            f = features[t.layer][objective.core(tile, t.layer)].float()
            f = f.reshape(f.shape[-3], -1)
            errors = (f - self.remap(rank(f, *distributions[t.layer]), t.target)) ** 2
            share = share + t.weight * errors.sum() / (f.shape[0] * _cells(shape, objective.pools(t.layer)))
        return share, share.detach()


class TiledMRF(MRFLoss):
    name = "mrf"

    def targets(self, objective, images, weights, layers):
        """Every style patch, of every image."""
        tiles = [f for image in images for _, f in objective.encode(image, list(layers), cells=1)]
        return {k: torch.cat([core_patches(f[k]) for f in tiles], dim=1) for k in layers}

    def first_pass(self, objective, image):
        return torch.zeros((), device=image.device), None

    def share(self, objective, tile, features, _, shape):
        """The patches centred on this core, one cell of the halo around it included."""
        share = torch.zeros(())
        for t in objective.style:
            pools = objective.pools(t.layer)
            generated = core_patches(features[t.layer][objective.core(tile, t.layer, cells=1)])
            if generated.shape[1]:
                count = ((shape[-2] >> pools) - 2) * ((shape[-1] >> pools) - 2) * generated.shape[0]
                share = share + t.weight * self.errors(generated, t.target).sum() / count
        return share, share.detach()


TILED = {kind.name: kind for kind in (TiledGram(), TiledHistogram(), TiledMRF())}


def core_patches(f):
    """The 3×3 patches (as columns) centred on a core, from its features one cell wider: none where the core
    has no cell off the image's edge."""
    return patches(f) if min(f.shape[-2:]) >= 3 else f.new_zeros(f.shape[-3] * 9, 0)


def _style_layers(objective):
    """The layers the objective's style targets read, each once."""
    return list(dict.fromkeys(t.layer for t in objective.style))


def _distributions(objective, image, layers):
    """{layer: its values' distribution over the whole image}, merged from the tiles' sketches."""
    parts = {k: [] for k in layers}
    for _, features in objective.encode(image, layers):
        for k in layers:
            parts[k].extend(sketch(features[k]))
    return {k: merged(p) for k, p in parts.items()}


def _cells(shape, pools):
    """Positions in a layer halved ``pools`` times of an image of ``shape``."""
    return (shape[-2] >> pools) * (shape[-1] >> pools)


def _added(total, part):
    """Sums of tiles, added: ``part`` and ``total`` are tuples (None: nothing yet)."""
    return part if total is None else tuple(a + b for a, b in zip(total, part))
