"""Notebook 12's checks: whitening, colouring, the blend with a strength, and the exercises' numbers.

The references here take the covariance as the Gram matrix less the means' outer product and its roots through
the singular value decomposition, where the notebook's solutions and stylekit's ``whiten_colour`` centre the
features and go through the eigendecomposition: the same matrices, reached another way. They are also what the
cells after a blank piece use."""

import math
from functools import cache

import torch

from .. import colour as colours
from ..images import load_image
from ..samples import sample
from ..universal import decoder as decoders
from ..universal import stylize, whiten_colour
from ..universal import whiten as whitening
from ..weights import cached_vgg
from . import Borrowed, check, pick, piece, predicted, without

SIZE = pick(512, 128)  # the notebook's (it imports it), so that the checks measure its images
PHOTO, PAINTING = "chelsea", "mosaic"
LEVELS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]  # Li et al.'s five
EPSILON = whitening.EPSILON  # eigenvalues below EPSILON × their mean are raised to it before whitening
# What a student's whitening or colouring may not hand the work to: stylekit's transform and its parts.
LIBRARY = (
    whiten_colour,
    whitening.statistics,
    whitening._transform,
    whitening._pooled,
    colours.sqrtm,
    colours.match_colours,
)


def _features(channels, positions, generator):
    """channels × positions float64 features with correlated channels and means far from 0, as after a ReLU."""
    mixing, _ = torch.linalg.qr(torch.randn(channels, channels, generator=generator, dtype=torch.float64))
    scales = torch.logspace(-1, 1, channels, dtype=torch.float64)  # variances spanning four orders of magnitude
    means = torch.rand(channels, 1, generator=generator, dtype=torch.float64) * 3
    return (
        mixing @ (scales[:, None] * torch.randn(channels, positions, generator=generator, dtype=torch.float64)) + means
    )


def _root(F, power):
    """(C^power, the channel means) of F's columns, C their covariance taken as the Gram matrix less the means'
    outer product (G − μμᵀ) and raised to the power through its singular value decomposition (C is symmetric
    and positive semi-definite: its singular values are its eigenvalues). For whitening (power < 0) the values
    below EPSILON × their mean are raised to it."""
    mean = F.mean(1, keepdim=True)
    covariance = torch.einsum("ik,jk->ij", F, F) / F.shape[1] - mean @ mean.T
    u, values, _ = torch.linalg.svd(covariance)
    if power < 0:
        values = values.clamp_min(EPSILON * values.mean())
    return u @ torch.diag(values**power) @ u.T, mean


def _whiten(F):
    root, mean = _root(F, -0.5)
    return root @ (F - mean)


def _colour(W, style):
    root, mean = _root(style, 0.5)
    return root @ W + mean


# (channels, positions): more positions than channels, as at relu1_1-relu3_1 of an image; and more channels than
# positions, as at a deep level of a small image, where some directions do not vary at all.
SHAPES = [(3, 40), (8, 30), (16, 400), (12, 8)]


def _cases(seed):
    g = torch.Generator().manual_seed(seed)
    return [_features(n, m, g) for n, m in SHAPES]


def _same(got, want, tolerance=1e-6):
    return float((got - want).norm() / want.norm()) < tolerance


def _covariance(F):
    centred = F - F.mean(1, keepdim=True)
    return centred @ centred.T / F.shape[1]


def check_whiten(whiten):
    """``whiten(F)``: F (N channels × M positions) with channel means 0 and covariance I, by the symmetric (ZCA)
    matrix E D^(-1/2) Eᵀ of F's covariance (1/M), its eigenvalues below EPSILON × their mean raised to it."""

    def problems(whiten):
        for F in _cases(12):
            n, m = F.shape
            got = whiten(F.clone())
            if not torch.is_tensor(got) or tuple(got.shape) != (n, m):
                return f"for F of shape {(n, m)} it gives {getattr(got, 'shape', type(got).__name__)}, not {n}×{m}"
            if not torch.isfinite(got).all():
                return f"for F with {n} channels and {m} positions it gives inf or nan: small eigenvalues?"
            if got.dtype != torch.float64:
                return f"it gives {got.dtype} for float64 features: keep their dtype"
            if m > n:  # every direction varies: the result must be exactly white
                if got.mean(1).abs().max() > 1e-8:
                    return f"for F of shape {(n, m)} the channel means are not 0 (up to {got.mean(1).abs().max():.2g})"
                off = (_covariance(got) - torch.eye(n, dtype=got.dtype)).abs().max()
                if off > 1e-8:
                    return (
                        f"for F of shape {(n, m)} the result's covariance is off I by up to {off:.2g}: is F's "
                        "covariance centred, and divided by M?"
                    )
            if not _same(got, _whiten(F)):
                if m > n:
                    return (
                        f"for F of shape {(n, m)} the means are 0 and the covariance I, but it is not the symmetric "
                        "(ZCA) whitening, the one that moves the features least"
                    )
                return f"for F with more channels ({n}) than positions ({m}) it is off: the small eigenvalues?"
        return None

    return piece(whiten, problems, "the whitening", LIBRARY, fallback=_whiten)


def check_colour(colour):
    """``colour(W, style)``: whitened features W (N × M) given the channel means and covariance (1/M') of
    ``style`` (N × M', any M') by E_s D_s^(1/2) E_sᵀ W + μ_s."""

    def problems(colour):
        g = torch.Generator().manual_seed(13)
        for (n, m), style in zip(SHAPES, _cases(14)):
            W = _whiten(_features(n, 3 * n + 7, g))
            got = colour(W.clone(), style.clone())
            if not torch.is_tensor(got) or tuple(got.shape) != tuple(W.shape):
                return f"for W of shape {tuple(W.shape)} it gives {getattr(got, 'shape', type(got).__name__)}"
            if not torch.isfinite(got).all():
                return f"for a style with {n} channels and {m} positions it gives inf or nan: negative eigenvalues?"
            means = got.mean(1, keepdim=True)
            if not _same(means, style.mean(1, keepdim=True)):
                return f"for a style of shape {(n, m)} the coloured features' means are not the style's"
            if not _same(_covariance(got), _covariance(style)):
                return f"for a style of shape {(n, m)} the coloured features' covariance is not the style's"
            if not _same(got, _colour(W, style)):
                return (
                    f"for a style of shape {(n, m)} the means and covariance are the style's, but it is not the "
                    "symmetric square root of its covariance that coloured them"
                )
        return None

    return piece(colour, problems, "the colouring", LIBRARY, fallback=_colour)


@cache
def _mean_shares(name):
    """{level: ‖μ‖² / trace(G)} of sample ``name`` at SIZE, from the network stylekit.judge uses (fp32): the mean
    square of each channel's mean, Σ_i (Σ_k F_ik / M)², against the mean square response Σ F² / M."""
    with torch.no_grad():
        responses = cached_vgg("vgg19", "original", "max")(load_image(sample(name), SIZE), LEVELS)
    return {
        k: float((f[0].double().mean((1, 2)) ** 2).sum() / f.double().pow(2).mean((2, 3)).sum())
        for k, f in responses.items()
    }


def check_1(mean_share, larger):
    """``mean_share``: {level: ‖μ‖² / trace(G)} of the painting at each of LEVELS; ``larger``: "a" if the means are
    the larger share at relu1_1, "b" at relu5_1."""
    first = predicted("lesson12.check_1", larger, "ab")
    if mean_share is ... or first is ...:
        return check(..., None, "")
    want = _mean_shares(PAINTING)

    def right(shares):
        if not isinstance(shares, dict) or list(shares) != LEVELS:
            return False
        return all(abs(float(shares[k]) - want[k]) <= 1e-4 for k in LEVELS)

    hint = (
        "for each of LEVELS in order, the squared length of the painting's channel means (μ) over the trace of "
        "its Gram matrix"
    )
    larger_at = "a" if want["relu1_1"] > want["relu5_1"] else "b"
    return check(mean_share, right, hint, (first, larger_at))


# The references too: the pieces' fallbacks hold them directly, so a blank piece still serves `wct`.
LIBRARY += (_whiten, _colour)

# check_2's cases: (1, N, H, W) responses of a content and a style of other sizes, and a strength.
WCT_CASES = [((1, 4, 5, 6), (1, 4, 7, 3), 0.6), ((1, 8, 6, 6), (1, 8, 4, 9), 1.0), ((1, 6, 3, 5), (1, 6, 6, 6), 0.0),
             ((1, 10, 4, 8), (1, 10, 5, 5), 0.25)]  # fmt: skip


def check_2(wct):
    """``wct(content_features, style_features, strength)`` on (1, N, H, W) responses: strength × the content's
    features whitened and coloured with the style's + (1 − strength) × the content's, in the content's shape."""
    g = torch.Generator().manual_seed(22)
    cases = [
        (_features(c[1], math.prod(c[2:]), g).reshape(c), _features(s[1], math.prod(s[2:]), g).reshape(s), a)
        for c, s, a in WCT_CASES
    ]
    try:
        with without(LIBRARY, wct.__globals__):
            answers = [wct(c.clone(), s.clone(), a) for c, s, a in cases]
    except Borrowed as borrowed:
        raise AssertionError(f"Not yet: `wct` calls {borrowed}; use your `whiten` and `colour`") from None
    if any(answer is ... for answer in answers):
        return check(..., None, "")

    def right(answers):
        for answer, (c, s, a) in zip(answers, cases):
            F = c.flatten(2)[0]
            want = (a * _colour(_whiten(F), s.flatten(2)[0]) + (1 - a) * F).reshape(c.shape)
            if not torch.is_tensor(answer) or answer.shape != c.shape or not _same(answer.double(), want):
                return False
        return True

    hint = (
        "the content's features whitened, coloured with the style's, then blended with the content's own by "
        "strength (0: the content's, 1: the coloured ones), returned in the content's (1, N, H, W) shape"
    )
    return check(answers, right, hint)


LETTERS = "abc"  # exercise 3's choices, one per shipped level, shallowest first


def check_3(changes, most, every):
    """``changes``: {level: mean |universal without that level − ``every``|} for each shipped level, ``every`` the
    notebook's universal image with every shipped level; ``most``: the letter of the level whose absence changes
    the image most (a: the shallowest)."""
    shipped = decoders.shipped_decoders()
    first = predicted("lesson12.check_3", most, LETTERS[: len(shipped)])
    if changes is ... or first is ...:
        return check(..., None, "")
    photo, painting = sample(PHOTO), sample(PAINTING)
    want = {}
    for level in shipped:
        others = [other for other in shipped if other != level]
        image = (
            stylize.universal(photo, painting, size=SIZE, levels=others).image if others else load_image(photo, SIZE)
        )
        want[level] = float((image - every.image).abs().mean())

    def right(changes):
        if not isinstance(changes, dict) or sorted(changes, key=LEVELS.index) != shipped:
            return False
        return all(abs(float(changes[k]) - want[k]) <= 1e-4 for k in shipped)

    hint = (
        "for each shipped level: stylekit.universal with the other shipped levels, then the mean absolute pixel "
        "difference from every.image"
    )
    most_at = LETTERS[shipped.index(max(want, key=want.get))]
    return check(changes, right, hint, (first, most_at))
