"""Gatys et al.'s losses, computed in fp32 whatever precision the network ran in.

Notation of the thesis: F is a layer's response to the generated image, N filters by M positions;
P the content image's response; A the style image's Gram matrix.
"""
import torch


def gram(features):
    """G = F Fᵀ / M for features of shape (1, N, H, W), M = H·W.

    Dividing by M keeps G comparable between a style image and a generated image of different
    sizes; with equal sizes the style loss below equals the thesis's E_l exactly.
    """
    f = features.float().reshape(features.shape[-3], -1)
    return f @ f.T / f.shape[1]


def content_loss(features, target):
    """½ Σ (F − P)²"""
    return 0.5 * ((features.float() - target) ** 2).sum()


def style_layer_loss(features, target_gram):
    """E_l = 1 / (4 N² M²) Σ (F Fᵀ − A)², written with the M-normalised Gram: Σ (G − A)² / (4 N²)."""
    return _gram_loss(gram(features), target_gram)


def tv_loss(image):
    """Mean squared difference between neighbouring pixels: penalises high-frequency noise."""
    return ((image[..., 1:, :] - image[..., :-1, :]) ** 2).mean() + ((image[..., :, 1:] - image[..., :, :-1]) ** 2).mean()


class Objective:
    """α·content + β·Σ w_l E_l + γ·TV for one content and one style image, from a single VGG pass.

    The targets (P and A) are computed once here; calling the objective on an image returns every term.
    ``style`` may be a list of images, their Gram matrices mixed by ``blend``. ``relative=True`` divides each layer's term by its value for an all-zero response (½ΣP², ΣA²/4N²),
    making it a relative squared error: layers then weigh what their w_l says, whatever their
    activation scale (E_l at relu4_1 is ~10⁵× E_l at relu1_1 with the original weights), and α, β
    mean the same for every image size and weight source. ``relative=False`` is the thesis's sum.
    """

    def __init__(self, model, content, style, content_layers, style_layers, content_weight, style_weight,
                 tv_weight=0.0, relative=False, blend=None):
        self.model = model
        self.weights = dict(content=content_weight, style=style_weight, tv=tv_weight)
        self.layers = list(dict.fromkeys([*content_layers, *style_layers]))
        # Either image may be None when its layers are empty (reconstructions use one of the two).
        with torch.no_grad():
            targets = _features(model, content, content_layers)
            self.content = {k: (targets[k].float(), w / _scale(content_loss, targets[k], relative))
                            for k, w in content_layers.items()}
            # Several style images: their Gram matrices blended (weights summing to one).
            styles = style if isinstance(style, (list, tuple)) else [style]
            targets = {}
            for image, b in zip(styles, blend or [1 / max(len(styles), 1)] * len(styles)):
                for k, v in _features(model, image, style_layers).items():
                    targets[k] = targets.get(k, 0) + b * gram(v)
            self.style = {k: (targets[k], w / _scale(_gram_loss, targets[k], relative)) for k, w in style_layers.items()}

    def __call__(self, image):
        features = self.model(image, self.layers)
        zero = torch.zeros((), device=image.device)
        terms = {
            "content": sum((w * content_loss(features[k], p) for k, (p, w) in self.content.items()), zero),
            "style": sum((w * style_layer_loss(features[k], a) for k, (a, w) in self.style.items()), zero),
            "tv": tv_loss(image) if self.weights["tv"] else zero,
        }
        terms["total"] = sum(self.weights[k] * terms[k] for k in ("content", "style", "tv"))
        return terms


def _gram_loss(gram_matrix, target_gram):
    n = target_gram.shape[0]
    return ((gram_matrix - target_gram) ** 2).sum() / (4 * n * n)


def _scale(loss, target, relative):
    return loss(torch.zeros_like(target), target).clamp_min(1e-12) if relative else 1.0


def _features(model, image, layers):
    return model(image, layers) if layers else {}
