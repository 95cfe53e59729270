"""Gatys et al.'s losses, computed in fp32 whatever precision the network ran in.

Notation of the thesis: F is a layer's response to the generated image, N filters by M positions;
P the content image's response; A the style image's Gram matrix.
"""

import warnings

import torch

from .errors import SettingsError


def content_loss(features, target):
    """½ Σ (F − P)²"""
    return 0.5 * ((features.float() - target) ** 2).sum()


def gram(features, mask=None):
    """G = F Fᵀ / M for features of shape (1, N, H, W), M = H·W.

    Dividing by M keeps G comparable between a style image and a generated image of different
    sizes; with equal sizes the style loss below equals the thesis's E_l exactly. A ``mask``
    (1, 1, h, w) in [0, 1] restricts G to a region (Gatys et al. 2017's guided Gram matrix).
    """
    return gram_of_sums(*gram_sums(features, mask))


def gram_sums(features, mask=None):
    """(F Fᵀ, M): G's numerator and denominator, both sums over positions, so tiles can add theirs up (tiles.py).
    With a mask, F is weighted by it and M is the sum of its squares."""
    # (M, N) positions × filters: a view, not a copy, of the channels_last activations VGG produces.
    f = features.permute(0, 2, 3, 1).reshape(-1, features.shape[-3])
    if mask is None:
        return _SelfProduct.apply(f), f.shape[0]
    m = torch.nn.functional.interpolate(mask.float(), size=features.shape[-2:], mode="area").reshape(-1, 1)
    return _SelfProduct.apply(f * m), (m**2).sum()


def gram_of_sums(product, weight):
    """G from ``gram_sums``' two sums (a mask that is black everywhere leaves M = 0: clamped)."""
    return product / (weight.clamp_min(1e-8) if torch.is_tensor(weight) else weight)


def style_layer_loss(features, target_gram, mask=None):
    """E_l = 1 / (4 N² M²) Σ (F Fᵀ − A)², written with the M-normalised Gram: Σ (G − A)² / (4 N²)."""
    return _gram_loss(gram(features, mask), target_gram)


def tv_loss(image):
    """Mean squared difference between neighbouring pixels: penalises high-frequency noise."""
    return ((image[..., 1:, :] - image[..., :-1, :]) ** 2).mean() + (
        (image[..., :, 1:] - image[..., :, :-1]) ** 2
    ).mean()


class Objective:
    """α·content + β·Σ w_l E_l + γ·TV for a content image and style image(s), from a single VGG pass.

    The targets (P and A) are computed once here; calling the objective on an image returns every term.
    ``style`` may be a list of images, their targets mixed by ``blend`` or placed by ``masks``;
    ``style_loss`` picks how style is compared (``STYLE_LOSSES``). ``relative=True`` divides each
    layer's term by its value for an all-zero response (½ΣP², ΣA²/4N²), making it a relative squared
    error: layers then weigh what their w_l says, whatever their activation scale (raw E_l differs by
    orders of magnitude between layers: notebook 3), and α, β mean the same for every image size and
    weight source. ``relative=False`` is the thesis's sum.
    """

    def __init__(
        self,
        model,
        content,
        style,
        content_layers,
        style_layers,
        content_weight,
        style_weight,
        tv_weight=0.0,
        relative=False,
        blend=None,
        style_loss="gram",
        masks=None,
    ):
        self.model = model
        self.weights = dict(content=content_weight, style=style_weight, tv=tv_weight)
        self.layers = list(dict.fromkeys([*content_layers, *style_layers]))
        # Either image may be None when its layers are empty (reconstructions use one of the two).
        self.content_layers, self.relative, self.kind = content_layers, relative, STYLE_LOSSES[style_loss]
        self.extra = {}  # more terms: name -> function of the image giving a weighted loss
        self.set_content(content)
        with torch.no_grad():
            # Several style images: one blended target, or with masks one target per style and region.
            styles = style if isinstance(style, (list, tuple)) else [style]
            blend = blend_weights(None, len(styles)) if blend is None else blend
            groups = [(None, styles, blend)] if masks is None else [(m, [x], [1.0]) for m, x in zip(masks, styles)]
            self.style = []
            for mask, images, weights in groups:
                targets = self._style_targets(images, weights, style_layers) if style_layers else {}
                self.style.append(
                    (mask, {k: (t, style_layers[k] / _norm(self.kind.zero(t), relative)) for k, t in targets.items()})
                )

    def set_content(self, content):
        """New content targets, the style's kept: a fast model's training gives every batch of photos its own."""
        with torch.no_grad():
            targets = self._features(content, self.content_layers) if self.content_layers else {}
            self.content = {
                k: (p.float(), self.content_layers[k] / _norm(content_loss(torch.zeros_like(p), p), self.relative))
                for k, p in targets.items()
            }

    def _features(self, image, layers):
        return self.model(image, layers)

    def _style_targets(self, images, weights, layers):
        features = [self._features(image, layers) for image in images]
        return {k: self.kind.target([f[k] for f in features], weights) for k in layers}

    @classmethod
    def for_settings(cls, model, content, style, settings, blend=None, masks=None, **more):
        """The objective a ``Settings`` describes (its layers, weights, loss kind)."""
        s = settings
        layers, weights = (s.content_layers, s.style_layers), (s.content_weight, s.style_weight, s.tv_weight)
        return cls(model, content, style, *layers, *weights, s.relative_losses, blend, s.style_loss, masks, **more)

    def backward(self, image):
        """Every term (detached), after adding the total's gradient to ``image.grad``."""
        terms = self(image)
        terms["total"].backward()
        return {k: v.detach() for k, v in terms.items()}

    def __call__(self, image):
        features = self.model(image, self.layers)
        zero = torch.zeros((), device=image.device)
        terms = {
            "content": sum((w * content_loss(features[k], p) for k, (p, w) in self.content.items()), zero),
            "style": sum(
                (w * self.kind(features[k], a, mask) for mask, layers in self.style for k, (a, w) in layers.items()),
                zero,
            ),
            "tv": tv_loss(image) if self.weights["tv"] else zero,
        }
        for name, term in self.extra.items():
            terms[name] = term(image)
        terms["total"] = self.total(terms)
        return terms

    def total(self, terms):
        """α·content + β·style + γ·TV + the extra terms (e.g. video's temporal loss, weighted by its own λ)."""
        return sum(self.weights[k] * terms[k] for k in ("content", "style", "tv")) + sum(terms[k] for k in self.extra)


def blend_weights(weights, count):
    """One weight per style image, summing to one: equal when ``weights`` is None (with a warning when they
    did not sum to one)."""
    if weights is None:
        return [1 / count] * count if count else []
    if len(weights) != count:
        raise SettingsError(f"style_blend has {len(weights)} weights for {count} style image(s)")
    total = sum(weights)
    if abs(total - 1) > 1e-6:
        warnings.warn(f"style_blend weights sum to {total:g}, not 1; normalised", stacklevel=3)
    return [w / total for w in weights]


class GramLoss:
    """Gatys et al.: style as feature correlations. Several styles blend their Gram matrices."""

    def target(self, features, blend):
        return sum(b * gram(f) for f, b in zip(features, blend))

    def __call__(self, features, target, mask=None):
        # A batch (a fast model's training) averages its images' losses: each image should carry the style.
        return sum(style_layer_loss(f[None], target, mask) for f in features) / len(features)

    def zero(self, target):
        return _gram_loss(torch.zeros_like(target), target)


class HistogramLoss:
    """Risser et al. 2017: each channel's histogram of activations, matched by remapping sorted values.

    The target is 256 quantiles per channel (several styles: quantiles blended, their 1-D barycentre);
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

    def target(self, features, blend):
        return torch.cat([_patches(f) for f in features], dim=1)

    def __call__(self, features, target, mask=None):
        return self.errors(_patches(features), target).mean()

    def errors(self, patches, target):
        """Each patch's squared differences from its nearest style patch."""
        with torch.no_grad():
            unit = target / target.norm(dim=0, keepdim=True).clamp_min(1e-8)
            nearest = torch.cat([(unit.T @ chunk).argmax(dim=0) for chunk in patches.split(1024, dim=1)])
        return (patches - target[:, nearest]) ** 2

    def zero(self, target):
        return (target**2).mean()


def _patches(features):
    return torch.nn.functional.unfold(features.float(), kernel_size=3)[0]  # (N·9, patches)


STYLE_LOSSES = {"gram": GramLoss(), "histogram": HistogramLoss(), "mrf": MRFLoss()}


def _gram_loss(gram_matrix, target_gram):
    n = target_gram.shape[0]
    return ((gram_matrix - target_gram) ** 2).sum() / (4 * n * n)


def _norm(zero_response_loss, relative):
    """What a layer's loss is divided by: its value for an all-zero response, or 1 for the raw sum."""
    return zero_response_loss.clamp_min(1e-12) if relative else 1.0


class _SelfProduct(torch.autograd.Function):
    """FᵀF in fp32 whatever F's dtype, without keeping an fp32 copy of F for the backward pass.

    Autograd would treat Fᵀ and F as two inputs: two products and a sum. The gradient of FᵀF is one
    product, F (g + gᵀ), computed in F's dtype: with bf16 activations it flows into a bf16 network
    anyway, and bf16 products with fp32 accumulation are faster than converting F to fp32 (docs/performance.md).
    """

    @staticmethod
    def forward(ctx, f):
        ctx.save_for_backward(f)
        f32 = f.float()
        return f32.T @ f32

    @staticmethod
    def backward(ctx, g):
        (f,) = ctx.saved_tensors
        return f @ (g + g.T).to(f.dtype)
