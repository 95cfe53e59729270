"""Keeping the content's colours (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

Two ways: recolour the style image so its colour statistics (mean and covariance) match the content's
before the transfer, or transfer luminance only and put the content's chroma back afterwards.
"""

import torch

# RGB -> YIQ (NTSC): Y is luminance, I and Q carry the colour.
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def to_yiq(image):
    return torch.einsum("ij,bjhw->bihw", _YIQ.to(image), image)


def from_yiq(image):
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_YIQ).to(image), image)


def match_colours(style, content):
    """``style`` recoloured so its pixels' mean and covariance equal ``content``'s (linear colour transfer)."""
    s, c = style.flatten(2)[0].double(), content.flatten(2)[0].double()  # 3 × pixels
    mean_s, mean_c = s.mean(1, keepdim=True), c.mean(1, keepdim=True)
    transform = sqrtm(torch.cov(c)) @ torch.linalg.inv(sqrtm(torch.cov(s) + 1e-6 * torch.eye(3, dtype=s.dtype)))
    out = transform @ (s - mean_s) + mean_c
    return out.reshape(style.shape).to(style.dtype).clamp(0, 1)


def sqrtm(matrix):
    """The square root of a covariance matrix (symmetric, positive semi-definite): the colouring of
    ``match_colours`` here and of universal's ``whiten_colour``."""
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T  # eigh rounds zeros to ±1e-17


def luminance(image, like=None):
    """Y replicated to three channels; with ``like``, Y's mean and std matched to ``like``'s Y first."""
    y = to_yiq(image)[:, :1]
    if like is not None:
        target = to_yiq(like)[:, :1]
        y = (y - y.mean()) / y.std().clamp_min(1e-6) * target.std() + target.mean()
    return y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def with_chroma(luma, content):
    """The luminance of ``luma`` (a grey RGB image) with the I and Q of ``content``: the content's colours back."""
    yiq = to_yiq(content)
    yiq[:, :1] = to_yiq(luma)[:, :1]
    return from_yiq(yiq).clamp(0, 1)


def prepared(colours, content, styles):
    """(content, styles, present) for a ``colours`` setting ('style', 'match' or 'luminance'): the images to work
    on, and ``present``, which turns the image made from them into the result."""
    if colours == "match":
        return content, [match_colours(x, content) for x in styles], _clamped
    if colours == "luminance":
        styles = [luminance(x, like=content) for x in styles]
        return luminance(content), styles, lambda image: with_chroma(image, content)
    return content, styles, _clamped


def _clamped(image):
    return image.clamp(0, 1)
