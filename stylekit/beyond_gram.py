"""Two other ways to compare style than Gram matrices (notebook 8), as kinds of ``losses.Objective``'s style term.

A kind has ``target(features, blend)`` (the style's statistics, several styles blended), ``__call__(features,
target, mask)`` (the layer's loss) and ``zero(target)`` (the loss of an all-zero response, for relative losses).
"""

import torch


class HistogramLoss:
    """Risser et al. 2017: each channel's histogram of activations, matched by remapping sorted values.

    The target is ``QUANTILES`` quantiles per channel (several styles: quantiles blended, their 1-D barycentre);
    the loss is the squared distance from F to F with its values replaced by the target's at equal rank.
    """

    QUANTILES = 256

    def target(self, features, blend):
        q = torch.linspace(0, 1, self.QUANTILES, device=features[0].device)
        return sum(b * torch.quantile(f.float().reshape(f.shape[-3], -1), q, dim=1).T for f, b in zip(features, blend))

    def __call__(self, features, target, mask=None):
        f = features.float().reshape(features.shape[-3], -1)
        with torch.no_grad():
            fraction = f.argsort(dim=1).argsort(dim=1).float() / max(f.shape[1] - 1, 1)
        return ((f - self.remap(fraction, target)) ** 2).mean()

    def remap(self, fraction, target):
        """The target's value at each rank ``fraction`` (0: a channel's lowest value, 1: its highest)."""
        with torch.no_grad():
            ranks = fraction * (self.QUANTILES - 1)
            low = ranks.floor().long().clamp(max=self.QUANTILES - 2)
            frac = ranks - low
            return target.gather(1, low) * (1 - frac) + target.gather(1, low + 1) * frac

    def zero(self, target):
        return (target**2).mean()


class MRFLoss:
    """Li & Wand 2016: every 3×3 feature patch should look like its nearest style patch (normalised
    cross-correlation). Patches of all style images are pooled. Meant for mid layers (relu3_1, relu4_1):
    the cost grows with (generated patches × style patches)."""

    CHUNK = 1024  # generated patches compared with every style patch at once: bounds the similarity matrix

    def target(self, features, blend):
        return torch.cat([patches(f) for f in features], dim=1)

    def __call__(self, features, target, mask=None):
        return self.errors(patches(features), target).mean()

    def errors(self, generated, target):
        """Each patch's squared differences from its nearest style patch."""
        with torch.no_grad():
            unit = target / target.norm(dim=0, keepdim=True).clamp_min(1e-8)
            nearest = torch.cat([(unit.T @ chunk).argmax(dim=0) for chunk in generated.split(self.CHUNK, dim=1)])
        return (generated - target[:, nearest]) ** 2

    def zero(self, target):
        return (target**2).mean()


def patches(features):
    """A layer's 3×3 patches as columns: (N·9, patches)."""
    return torch.nn.functional.unfold(features.float(), kernel_size=3)[0]
