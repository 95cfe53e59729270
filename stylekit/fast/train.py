"""Training a fast model: ``transfer``'s objective, minimised over a network's weights and many photos.

Each step crops a batch of photos at random, runs them through the ``TransformNet``, and scores the
outputs with ``losses.Objective`` exactly as ``transfer`` scores its image: content against that batch,
style against the one style image's Gram matrices. Without internet the photos are the ones installed
packages ship (``default_photos``).
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from .. import images, training
from ..device import pick_device, pick_dtype
from ..losses import TERMS, Objective
from ..photos import read_photos
from ..result import seal
from ..settings import PRESETS, Settings, option
from ..weights import cached_vgg
from .model import THUMBNAIL, FastModel, read_model
from .network import TransformNet


@dataclass(frozen=True)
class TrainOptions:
    """What decides a fast model's training (``train_fast``'s options, the CLI's ``train`` flags)."""

    size: int = option(None, "side of the training crops (default: 256 on a GPU, 192 on a CPU)")
    steps: int = option(2000, "training steps")
    batch: int = option(4, "photos per step")
    style_weight: float = option(Settings().style_weight, "beta, as transfer's default preset has it")
    style_size: int = option(512, "the style image's side while training: the size of its strokes")
    lr: float = option(1e-3, "Adam's rate (a tenth of it for the last tenth of the steps)")
    checkpoint_every: int = option(100, "with a checkpoint: save it every N steps")
    seed: int = option(0, "random seed of the network's first weights and of the crops")
    device: str = option("auto", "auto, cpu, cuda, cuda:1, ...")
    precision: str = option("auto", "fp32, or bf16 where the hardware has it")


def train_fast(style, photos=None, *, checkpoint=None, progress=True, stop=None, **options):
    """Trains a ``FastModel`` for ``style`` (a path or image) on random ``size`` px crops of ``photos``.

    ``options`` are ``TrainOptions``'. ``size`` defaults to Johnson et al.'s 256 on a GPU and 192 on a CPU, where
    a step costs half as much (docs/performance.md: Fast models). ``style_size`` is the style image's longest
    side while training: the model paints strokes of the size a ``transfer`` at that output size would.
    ``style_weight`` is β of the default preset (α is 1). Adam runs at ``lr``, and at ``lr / 10`` for the last
    ``COOLDOWN`` of the steps. With ``checkpoint`` (a path), the state is saved every ``checkpoint_every`` steps
    and on Ctrl-C or ``stop``, and a later call with the same settings resumes from it; more ``steps`` than
    before trains on.
    """
    o = training.checked_options(TrainOptions, options)
    size, steps, batch, style_weight, style_size, lr = o.size, o.steps, o.batch, o.style_weight, o.style_size, o.lr
    device, dtype = pick_device(o.device), pick_dtype(o.precision, o.device)
    size = size or (256 if device.type == "cuda" else 192)
    settings = dict(size=size, batch=batch, style_weight=style_weight, style_size=style_size, lr=lr, seed=o.seed,
                    photos=None if photos is None else str(photos))  # fmt: skip
    name = Path(style).stem.removeprefix("style_") if isinstance(style, (str, Path)) else "style"
    training.check_schedule(size, steps, batch, lr)
    s = PRESETS["default"].replace(style_weight=style_weight)
    style_image = _style_image(style, style_size, device)
    photo_batch = training.random_crops(read_photos(photos), size, batch, device)
    vgg = cached_vgg(s.model, s.weights, s.pooling, str(device), dtype)
    with torch.random.fork_rng(devices=[]):  # reproducible weights and crops; the caller's RNG is left alone
        torch.manual_seed(o.seed)
        objective = Objective.for_settings(vgg, photo_batch(), style_image, s)  # each step sets its own content
        history = training.empty_history(TERMS)
        model, optimizer = training.start_or_resume(
            checkpoint, settings, lambda: FastModel(TransformNet().to(device), name, settings, history),
            lambda path: read_model(path, device),
        )  # fmt: skip
        model.thumbnail = images.as_tensor(style, THUMBNAIL, "style")
        # bf16 where VGG runs in it: the network's convolutions too (its weights and the optimiser stay fp32).
        autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)

        def step():
            photos = photo_batch()
            objective.set_content(photos)
            with autocast:
                output = model.net(photos)
            return objective(output.float())

        def save():
            if checkpoint:
                model.save(checkpoint, training.resume_state(optimizer), torch.float32)

        stopped = training.train_loop(
            model, step, optimizer, o, save, progress, stop, f"training {name}", ("content", "style")
        )
    model.net.eval()
    model.stopped = stopped
    return seal(model)  # the course's checks tell it from a model whose record was changed since


def _style_image(style, style_size, device):
    style_image = images.as_tensor(style, style_size, "style").to(device)
    # VGG's deeper layers would have nothing left to describe
    images.check_side(style_image, "the style image", images.MIN_SIDE, "training", style_size)
    return style_image
