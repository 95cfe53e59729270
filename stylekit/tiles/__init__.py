"""Images too large for one VGG pass, optimised tile by tile with the whole image's loss and gradient.

A feature at a layer depends on the pixels within ``vgg.reach`` of its own. A tile is a core plus a halo at
least that wide, cut on the pooling grid, so its core's features are the whole image's (up to rounding):
``geometry.py``. Every term is then assembled from the cores (``objective.py``), each style loss kind in its
own way (``kinds.py``):

- content and MRF terms are sums over positions: each tile adds its core's share;
- a Gram matrix is a sum over positions too, but its loss is not: a first pass without autograd adds up
  the cores' F Fᵀ, the loss and ∂L/∂G are computed once for the whole image, and the second pass sends
  each tile's share ⟨∂L/∂G, F Fᵀ⟩ back through its own VGG pass;
- the histogram loss ranks each value among the whole layer's: the first pass keeps a few quantiles per tile
  and channel, and ranks are read from their merged distribution (``sketches.py``).

TV and video's temporal loss are computed on the whole image. No tile boundary is special to the objective,
so there is nothing to feather and no seam to hide; the price is the halo and the first pass
(docs/large-images.md).
"""

from .geometry import Tile, crop_side, grid, halo, layout
from .objective import TiledObjective

__all__ = ["Tile", "TiledObjective", "crop_side", "grid", "halo", "layout"]
