"""The whitening and colouring transform (Li et al. 2017): the content's features given the style's mean and
covariance in closed form, where ``transfer`` optimises pixels until their Gram matrices match.

Whitening removes the content's correlations between channels (its covariance becomes the identity) and keeps
the arrangement of the features, which carries the content; colouring gives them the style's correlations and
mean. The decoder of that level then turns the features back into an image.
"""

import torch

from ..colour import sqrtm
from ..device import one_thread
from ..errors import ImageError, SettingsError
from ..losses import blend_weights

# Eigenvalues below EPSILON × the mean eigenvalue are raised to it before whitening: directions the content barely
# varies in (there are more channels than positions in a small image's relu5_1) would otherwise be divided by ~0,
# blowing their rounding noise up to the style's full contrast. Above it whitening is exact.
EPSILON = 1e-5
# An image, or a region, whose total variance is below FLAT × its features' mean square has nothing to whiten.
FLAT = 1e-10


def whiten_colour(content_features, style_features, strength=1.0, *, weights=None, masks=None, names=None):
    """``content_features`` (1, C, H, W) with the channel mean and covariance of ``style_features``.

    ``strength`` blends the result with the content's features (0: the content's, 1: the style's statistics).
    ``style_features`` may be a list, one per style image (each (1, C, h, w), any size):

    - without ``masks`` the styles are blended by ``weights`` (summing to one; default equal): the target is the
      mean and covariance of their features pooled, each image counting as its weight. That is the blend
      ``transfer`` makes of Gram matrices, and one colouring serves all styles. (Li et al. blend the coloured
      results instead; the covariance of that blend is none of the styles' nor their mixture's.)
    - with ``masks`` (one (1, 1, h, w) in [0, 1] per style, at any resolution) each style is placed: the content's
      features under a mask are whitened with that region's own statistics (weighted by the mask) and coloured
      with that style's; where masks overlap the styles share by their weights, where they sum to less than one
      the content's features show through.

    Eigendecompositions (``torch.linalg.eigh``) are float64 whatever the input's dtype; the sums over positions
    (means, covariances, the transform itself) are float32 for bf16 or fp32 features — in float64 they took 2.5 s
    of a 3 s relu1_1 level at 512 px on 2 cores — and float64 for float64 ones. The result has
    ``content_features``' dtype. Features
    that do not vary (a flat image's) raise an ``ImageError`` naming them: ``names`` = (the content's, [each
    style's]).
    """
    styles = list(style_features) if isinstance(style_features, (list, tuple)) else [style_features]
    numbered = [f"style {i + 1}" for i in range(len(styles))] if len(styles) > 1 else ["the style"]
    content_name, style_names = names or ("the content", numbered)
    check_strength(strength)
    if masks is not None and len(masks) != len(styles):
        raise SettingsError(f"{len(masks)} masks for {len(styles)} style images: give one mask per style")
    f = _matrix(content_features)
    targets = [statistics(_matrix(s, f.shape[0]), None, name) for s, name in zip(styles, style_names)]
    if masks is None:
        out = _transform(f, statistics(f, None, content_name), _pooled(targets, blend_weights(weights, len(styles))))
    else:
        out, covered = torch.zeros_like(f), torch.zeros(f.shape[1], dtype=f.dtype, device=f.device)
        for i, (mask, target) in enumerate(zip(masks, targets)):
            m = _mask_weights(mask, content_features)
            if m.sum() > 0:  # a mask black at this resolution places nothing
                out += m * _transform(f, statistics(f, m, f"{content_name} under mask {i + 1}"), target)
                covered += m
        out = out / covered.clamp_min(1) + (1 - covered).clamp_min(0) * f
    blended = strength * out + (1 - strength) * f
    return blended.reshape(content_features.shape).to(content_features.dtype)


def check_strength(strength):
    if not isinstance(strength, (int, float)) or isinstance(strength, bool) or not 0 <= strength <= 1:
        raise SettingsError(f"strength must be between 0 and 1, not {strength!r}")


def statistics(f, weights=None, name="the image"):
    """(mean, covariance) of ``f``'s columns (channels × positions), each position counting as its weight (None:
    all alike), returned in float64; an ``ImageError`` naming ``name`` when it does not vary."""
    if weights is None:
        mean = f.mean(1)
        centred = f - mean[:, None]
        covariance = centred @ centred.T / f.shape[1]
    else:
        w = weights / weights.sum()
        mean = f @ w
        centred = f - mean[:, None]
        covariance = (centred * w) @ centred.T
    mean, covariance = mean.double(), covariance.double()
    if covariance.trace() <= FLAT * (covariance.trace() + mean.square().sum()):
        raise ImageError(f"{name} is flat (nothing in it varies: one colour?), so there is nothing to whiten or colour")
    return mean, covariance


def _transform(f, source, target):
    """``f`` whitened with ``source``'s (mean, covariance), coloured with ``target``'s."""
    (mean, covariance), (target_mean, target_covariance) = source, target
    with one_thread():  # C × C matrices: multi-threaded, they stall when another process holds a core
        values, vectors = torch.linalg.eigh(covariance)
        values = values.clamp_min(EPSILON * values.mean().clamp_min(0))
        whiten = vectors @ torch.diag(values.rsqrt()) @ vectors.T
        transform = (sqrtm(target_covariance) @ whiten).to(f.dtype)
    return transform @ (f - mean.to(f.dtype)[:, None]) + target_mean.to(f.dtype)[:, None]


def _pooled(targets, weights):
    """The mean and covariance of several feature sets pooled, set k counting as ``weights[k]``: the mixture's
    covariance is the weighted covariances plus the spread of the means."""
    mean = sum(w * m for w, (m, _) in zip(weights, targets))
    second = sum(w * (c + torch.outer(m, m)) for w, (m, c) in zip(weights, targets))
    return mean, second - torch.outer(mean, mean)


def _matrix(features, channels=None):
    """(1, C, H, W) features as a C × (H·W) matrix: float64 if they are, else float32."""
    if features.dim() != 4 or features.shape[0] != 1 or channels not in (None, features.shape[1]):
        raise SettingsError(
            f"features must be (1, C, H, W) with the content's channels, not of shape {tuple(features.shape)}"
        )
    matrix = features.detach().flatten(2)[0]
    return matrix.double() if matrix.dtype == torch.float64 else matrix.float()


def _mask_weights(mask, features):
    """A (1, 1, h, w) mask at the features' resolution, one weight per position (averaged, not sampled: a thin
    region keeps its share at a coarse level)."""
    resized = torch.nn.functional.interpolate(mask.to(features.device, torch.float64), features.shape[-2:], mode="area")
    return resized.flatten().clamp(0, 1).to(torch.float64 if features.dtype == torch.float64 else torch.float32)
