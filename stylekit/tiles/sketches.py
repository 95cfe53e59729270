"""A layer's distribution of values per channel from its tiles: a few quantiles per tile, merged (the histogram
loss ranks each value among the whole layer's)."""

import torch

SKETCH = 256  # quantiles per tile and channel: a rank read from them is off by at most 1/SKETCH of a tile


def sketch(features):
    """[(SKETCH quantiles per channel, how many values they stand for)] of one tile's layer; [] for a tile with
    no feature at that layer (a last core narrower than the layer's cells)."""
    f = features.float().reshape(features.shape[-3], -1)
    q = torch.linspace(0, 1, SKETCH, device=f.device)
    return [(torch.quantile(f, q, dim=1).T, f.shape[1])] if f.shape[1] else []


def merged(sketches):
    """(values, cumulative fraction) per channel: the distribution of a whole layer from its tiles' sketches."""
    values = torch.cat([q for q, _ in sketches], dim=1)
    weights = torch.cat([torch.full((q.shape[1],), n / q.shape[1], device=q.device) for q, n in sketches])
    values, order = values.sort(dim=1)
    fraction = weights[order].cumsum(dim=1)
    return values, (fraction - fraction[:, :1]) / (fraction[:, -1:] - fraction[:, :1]).clamp_min(1e-12)


def rank(f, values, fraction):
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
    return torch.where(high > low, first + (final - first) * position, interpolate(f, values, fraction))


def quantiles(values, fraction, count):
    """``count`` evenly spaced quantiles per channel of a merged distribution."""
    q = torch.linspace(0, 1, count, device=values.device).expand(values.shape[0], -1)
    return interpolate(q, fraction, values)


def interpolate(x, xs, ys):
    """Row by row, ``ys`` at ``x`` between the increasing ``xs`` (linear; the end values beyond them)."""
    index = torch.searchsorted(xs.contiguous(), x.contiguous()).clamp(1, xs.shape[1] - 1)
    x0, x1 = xs.gather(1, index - 1), xs.gather(1, index)
    t = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
    return ys.gather(1, index - 1) * (1 - t) + ys.gather(1, index) * t
