"""Optical flow between video frames, and where it can be trusted (Ruder, Dosovitskiy & Brox 2016).

Frames are (1, 3, H, W) tensors in [0, 1]. ``flow(a, b)`` gives, for each pixel of ``a``, where it went in ``b``
(OpenCV's DIS flow, on the CPU). With the backward flow ``flow(current, previous)``, ``warp(previous, back)``
lines the previous frame up with the current one; ``reliable`` is 0 where that cannot work: pixels the previous
frame did not show (disocclusions: forward and backward flow disagree) and motion boundaries.
"""

import numpy as np
import torch

from ..errors import need


def opencv():
    """OpenCV, or a ``MissingExtra`` naming the extra that brings it."""
    return need("cv2", "stylekit's optical flow (video)")


cv2 = opencv()


def flow(a, b):
    """(H, W, 2) float32: pixel (x, y) of frame ``a`` is at (x + u, y + v) in frame ``b``."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_grey(a), _grey(b), None)


def warp(image, flow_to_source):
    """``image`` (1, C, H, W) resampled so that pixel x takes the value at x + flow (bilinear; edges repeated)."""
    height, width = flow_to_source.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = image[0].detach().float().cpu().permute(1, 2, 0).numpy()
    moved = cv2.remap(planes, xs + flow_to_source[..., 0], ys + flow_to_source[..., 1], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    moved = moved[..., None] if moved.ndim == 2 else moved
    return torch.from_numpy(moved).permute(2, 0, 1)[None].contiguous().to(image.device)


def reliable(back, forward):
    """(1, 1, H, W) weights for the current frame, 1 where the previous frame warped by ``back`` can be trusted.

    ``back`` = flow(current, previous), ``forward`` = flow(previous, current). Ruder et al.'s tests: the
    forward flow at the point the backward flow lands on must undo it, |w_b + w_f|² <= 0.01 (|w_b|² + |w_f|²)
    + 0.5 (else the pixel was hidden in the previous frame), and no motion boundary, |∇u|² + |∇v|² <= 0.01 |w_b|²
    + 0.002. Pixels whose flow leaves the frame are not trusted either.
    """
    height, width = back.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    there_x, there_y = xs + back[..., 0], ys + back[..., 1]
    forward_there = cv2.remap(forward, there_x, there_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    consistent = ((back + forward_there) ** 2).sum(-1) <= 0.01 * ((back**2).sum(-1) + (forward_there**2).sum(-1)) + 0.5
    gradients = sum(g**2 for c in range(2) for g in np.gradient(back[..., c]))
    smooth = gradients <= 0.01 * (back**2).sum(-1) + 0.002
    inside = (there_x >= 0) & (there_x <= width - 1) & (there_y >= 0) & (there_y <= height - 1)
    return torch.from_numpy((consistent & smooth & inside).astype(np.float32))[None, None]


def temporal_error(frames):
    """Flicker of a sequence: RMS difference (0–255) between each frame and the previous one warped onto it,
    over the pixels ``reliable`` trusts, pooled over all frames. ``frames``: (styled, input) pairs; the flow is
    measured on the input frames, so a result is judged by how well it follows the scene's real motion."""
    squared, counted = 0.0, 0.0
    for (styled_prev, input_prev), (styled, current) in zip(frames, frames[1:]):
        back, forward = flow(current, input_prev), flow(input_prev, current)
        weights = reliable(back, forward)
        difference = (styled.float().cpu() - warp(styled_prev, back).cpu()) * 255
        squared += float((weights * difference**2).sum())
        counted += float(weights.sum()) * difference.shape[1]
    return (squared / max(counted, 1)) ** 0.5


def _grey(image):
    rgb = (image[0].detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
