"""Notebook 10's checks: the warp, the temporal loss, and the exercises' runs and numbers."""

import json
from pathlib import Path

import numpy as np
import torch

from ..samples import DATA, sample
from ..video import TemporalLoss, VideoOptions, flow, read_frames
from ..video.styler import FrameStyler
from . import check, pick, piece

SIZE, FRAMES = pick(256, 64), pick(24, 6)  # the notebook's (it imports them), so that the checks ask for its run
STEPS_FIRST = pick(None, [8, 4])  # the first frame's steps; None: the default preset's schedule
CLIP = DATA / "clip_coffee.mp4"
T = FRAMES // 2  # the frame the notebook looks at closely


def clip_frames():
    """The clip's first FRAMES frames at SIZE, cut to even sides (H.264 needs them): the notebook's ``frames``,
    read again here so that a check does not depend on what the notebook did to them."""
    frames = read_frames(CLIP, SIZE)[:FRAMES]
    return frames[..., : frames.shape[-2] // 2 * 2, :].contiguous()


# The warp ------------------------------------------------------------------------------------------------------


def _shifted(image, u, v):
    """The answer for a flow of whole pixels (u, v) everywhere: pixel (x, y) takes (x + u, y + v), clamped."""
    height, width = image.shape[-2:]
    rows = (torch.arange(height) + v).clamp(0, height - 1)
    columns = (torch.arange(width) + u).clamp(0, width - 1)
    return image.double()[..., rows, :][..., columns]


def _warp(image, flow_to_source):
    """The reference: bilinear interpolation written out, the four neighbours of each (x + u, y + v) weighted by
    their distance, positions outside the frame clamped to its edge."""
    image = image.double()[0]
    height, width = image.shape[-2:]
    f = torch.as_tensor(np.asarray(flow_to_source), dtype=torch.float64)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=f.dtype), torch.arange(width, dtype=f.dtype), indexing="ij")
    x, y = (xs + f[..., 0]).clamp(0, width - 1), (ys + f[..., 1]).clamp(0, height - 1)
    x0, y0 = x.floor().long().clamp(max=width - 2), y.floor().long().clamp(max=height - 2)
    ax, ay = x - x0, y - y0
    top = image[:, y0, x0] * (1 - ax) + image[:, y0, x0 + 1] * ax
    bottom = image[:, y0 + 1, x0] * (1 - ax) + image[:, y0 + 1, x0 + 1] * ax
    return (top * (1 - ay) + bottom * ay)[None]


def _warp_cases():
    """(what, image, flow, the right answer): whole-pixel shifts, where the answer is exact, a shift by fractions
    of a pixel, and random flows that reach past the edges; images of several shapes, in float32 and float64."""
    g = torch.Generator().manual_seed(10)

    def image(*shape, dtype=torch.float64):
        return torch.rand(shape, generator=g, dtype=dtype)

    def constant(height, width, u, v, dtype=np.float32):
        return np.broadcast_to(np.array([u, v], dtype=dtype), (height, width, 2)).copy()

    cases = []
    for shape, (u, v) in (((1, 3, 5, 7), (2, -1)), ((1, 1, 6, 4), (-1, 3))):
        x = image(*shape)
        cases.append((f"a flow of ({u}, {v}) px everywhere", x, constant(*shape[2:], u, v), _shifted(x, u, v)))
    x = image(1, 3, 6, 8)
    f = constant(6, 8, 0.5, -1.25)
    cases.append(("a flow of (0.5, -1.25) px everywhere", x, f, _warp(x, f)))
    for shape, dtype in (((1, 3, 7, 9), torch.float32), ((1, 2, 9, 5), torch.float64)):
        x = image(*shape, dtype=dtype)
        f = (torch.randn(*shape[2:], 2, generator=g, dtype=torch.float64) * 3).numpy().astype(np.float32)
        cases.append((f"a random flow on a {shape[-1]}×{shape[-2]} image", x, f, _warp(x, f)))
    return cases


def check_warp(warp):
    """``warp(image, flow_to_source)``: the (1, C, H, W) image resampled so that pixel (x, y) takes the value at
    (x + u, y + v), the flow (H, W, 2) as ``flow.flow`` gives it; bilinear, positions outside the frame clamped;
    the image's shape and dtype."""

    def problems(warp):
        for what, image, f, want in _warp_cases():
            got = warp(image, f)
            if not torch.is_tensor(got) or tuple(got.shape) != tuple(image.shape):
                return f"for {what} it gives {getattr(got, 'shape', type(got).__name__)}, not the image's shape"
            if got.dtype != image.dtype:
                return f"for a {image.dtype} image it gives {got.dtype}: give back the image's dtype"
            if torch.allclose(got.detach().double().cpu(), want, atol=1e-5):
                continue
            for wrong, mistake in (((f * -1), "the flow's sign flipped"), (f[..., ::-1].copy(), "x and y swapped")):
                if torch.allclose(got.detach().double().cpu(), _warp(image, wrong), atol=1e-5):
                    return f"for {what} it gives what the right warp gives with {mistake}"
            error = float((got.detach().double().cpu() - want).abs().max())
            return f"for {what} it is off by up to {error:.3g} (values are 0…1)"
        return None

    return piece(warp, problems, "the warp", (flow.warp,))


# The temporal loss ---------------------------------------------------------------------------------------------


def _temporal(image, warped, reliable, weight):
    """The reference: λ times the squared distance over the reliable values alone, divided by ω's squared norm
    over them; 0 where none is reliable."""
    keep = reliable.expand_as(image) > 0.5
    if not keep.any():
        return image.sum() * 0
    moved, there = image[keep], warped[keep]
    return weight * torch.dot(moved - there, moved - there) / torch.dot(there, there)


def _temporal_cases():
    """(what, image, warped, reliable, weight): random images of two shapes, masks with zeros where the image and
    ω differ most, a mask of ones, and an all-zero mask (a cut: nothing to hold)."""
    g = torch.Generator().manual_seed(11)
    cases = []
    for shape, weight, share in (((1, 3, 6, 5), 30.0, 0.6), ((1, 3, 4, 8), 1.5, 1.0), ((1, 3, 5, 5), 7.0, 0.0)):
        image = torch.rand(shape, generator=g, dtype=torch.float64)
        warped = torch.rand(shape, generator=g, dtype=torch.float64)
        reliable = (torch.rand((1, 1, *shape[2:]), generator=g) < share).double()
        warped = warped + 3 * (1 - reliable)  # far off where the flow is not known: a loss that counts it is off
        what = {0.6: "a mask with zeros", 1.0: "a mask of ones", 0.0: "an all-zero mask"}[share]
        cases.append((f"{what}, weight {weight}", image, warped, reliable, weight))
    return cases


def check_temporal_loss(temporal_loss):
    """``temporal_loss(image, warped, reliable, weight)``: λ Σ c (x − ω)² / Σ c ω², one number that autograd can
    differentiate; 0 when no pixel is reliable."""

    def problems(temporal_loss):
        for what, image, warped, reliable, weight in _temporal_cases():
            x = image.clone().requires_grad_(True)
            got = temporal_loss(x, warped, reliable, weight)
            if not torch.is_tensor(got) or got.numel() != 1:
                return f"it should give one number (a tensor), not {type(got).__name__} {getattr(got, 'shape', '')}"
            if not got.requires_grad:
                return "its result has no gradient: autograd cannot move the image with it (no .item(), no .detach())"
            got, want = got.detach(), _temporal(image, warped, reliable, weight)
            if not torch.allclose(got.double(), want.double(), rtol=1e-6, atol=1e-12):
                if not want:
                    return f"for {what} it gives {float(got):.4g}; with nothing reliable there is nothing to hold: 0"
                return f"for {what} it gives {float(got / want):.4g}× the right value"
        return None

    return piece(temporal_loss, problems, "the temporal loss", (TemporalLoss,), fallback=_library_temporal_loss)


def _library_temporal_loss(image, warped, reliable, weight):
    return TemporalLoss(warped, reliable, weight)(image)


# The exercises -------------------------------------------------------------------------------------------------


def _temporal_error(styled, frames):
    return flow.temporal_error(list(zip(styled[:, None], frames[:, None])))


def _reliable_share(frames, t, back):
    a, b = frames[t : t + 1], frames[t - back : t - back + 1]
    return float(flow.reliable(flow.flow(a, b), flow.flow(b, a)).mean())


def _work_folder(run):
    output = Path(run.output)
    return output.with_name(output.stem + ".frames") if output.suffix.lower() == ".mp4" else output


RESTYLED = 2  # the frame (from 1) the check styles again: the first that the temporal loss holds


def _restyled(styled, frames, weight):
    """Frame RESTYLED styled again as stylekit.video styles a later frame with the notebook's settings and
    ``weight`` as λ, from the run's own previous frame: the frame the run should have written, or the other."""
    options = VideoOptions(size=SIZE, steps_first=STEPS_FIRST, temporal_weight=weight)
    styler = FrameStyler(sample("mosaic"), "default", None, options, {})
    n = RESTYLED - 1
    image, _ = styler(frames[n : n + 1], RESTYLED, (styled[n - 1 : n], frames[n - 1 : n], None))
    return image


def _rms(a, b):
    return float((a.float() - b.float()).square().mean().sqrt())


def check_1(run, start_only):
    """``run``: what ``stylekit.video`` returned for the clip styled with temporal_weight=0 and otherwise the
    notebook's settings; ``start_only``: its temporal error."""
    if run is ... or start_only is ...:
        return check(..., None, "")

    def right(answer):
        run, value = answer
        try:
            settings = json.loads((_work_folder(run) / "settings.json").read_text())
        except (AttributeError, OSError, ValueError):
            return False
        asked = {"temporal_weight": 0, "size": SIZE, "steps_first": STEPS_FIRST, "steps": VideoOptions().steps}
        if any(settings.get(k) != v for k, v in asked.items()) or settings.get("model") is not None:
            return False
        if Path(str(settings.get("style"))).name != sample("mosaic").name or run.frames != FRAMES:
            return False
        styled, frames = read_frames(_work_folder(run)), clip_frames()
        if len(styled) != FRAMES or abs(float(value) / _temporal_error(styled, frames) - 1) >= 1e-3:
            return False
        # The frames themselves, not only the record: a frame the loss held (the lesson's run, resumed under these
        # settings) is nearer the same frame styled again with the loss than without it, and frames not styled by
        # the run are nearer neither.
        n = RESTYLED - 1
        written = styled[n : n + 1]
        free, held = (_restyled(styled, frames, weight) for weight in (0.0, VideoOptions().temporal_weight))
        return _rms(written, free) < min(_rms(written, held), _rms(written, frames[n : n + 1]))

    hint = (
        "stylekit.video on the clip's frames with the mosaic, size=SIZE, steps_first=STEPS_FIRST and "
        "temporal_weight=0 (nothing else changed), and the temporal error of the frames it wrote"
    )
    return check((run, start_only), right, hint)


def check_2(shares, least_reliable):
    """``shares``: {t: the reliable share between frame t and frame t−1} for t = 1 … FRAMES−1; ``least_reliable``:
    the t where it is smallest."""
    if shares is ... or least_reliable is ...:
        return check(..., None, "")
    frames = clip_frames()
    want = {t: _reliable_share(frames, t, 1) for t in range(1, FRAMES)}

    def right(answer):
        shares, least = answer
        if not isinstance(shares, dict) or set(shares) != set(want):
            return False
        close = all(abs(float(shares[t]) - want[t]) < 1e-4 for t in want)
        return close and least == min(want, key=want.get)

    hint = (
        "for every t from 1 to FRAMES - 1 the mean of flow.reliable between frame t and frame t-1 (both flows, "
        "as in *Optical flow*), then the t where it is smallest"
    )
    return check((shares, least_reliable), right, hint)


def check_3(reliable_two_back):
    """The reliable share between frame T and frame T−2."""
    want = _reliable_share(clip_frames(), T, 2) if reliable_two_back is not ... else None
    hint = "the mean of flow.reliable between frame t and frame t-2, with the two flows between those frames"
    return check(reliable_two_back, lambda share: abs(float(share) - want) < 1e-4, hint)
