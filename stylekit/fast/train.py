"""Training a fast model: ``transfer``'s objective, minimised over a network's weights and many photos.

Each step crops a batch of photos at random, runs them through the ``TransformNet``, and scores the
outputs with ``losses.Objective`` exactly as ``transfer`` scores its image: content against that batch,
style against the one style image's Gram matrices. Without internet the photos are the ones installed
packages ship (``default_photos``).
"""

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .. import images
from ..device import pick_device, pick_dtype
from ..errors import ImageError, StylekitError
from ..losses import Objective
from ..settings import PRESETS, Settings, option
from ..transfer import TERMS
from ..weights import cached_vgg
from .model import THUMBNAIL, FastModel, read_model
from .network import TransformNet
from .photos import read_photos

# The last tenth of the steps run at a tenth of the learning rate: at full rate Adam keeps the weights jumping
# with each batch of crops (docs/performance.md: Fast models, measured on the shipped models).
COOLDOWN = 0.1


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
    o = checked_options(TrainOptions, options)
    size, steps, batch, style_weight, style_size, lr = o.size, o.steps, o.batch, o.style_weight, o.style_size, o.lr
    device, dtype = pick_device(o.device), pick_dtype(o.precision, o.device)
    size = size or (256 if device.type == "cuda" else 192)
    settings = dict(size=size, batch=batch, style_weight=style_weight, style_size=style_size, lr=lr, seed=o.seed,
                    photos=None if photos is None else str(photos))  # fmt: skip
    name = Path(style).stem.removeprefix("style_") if isinstance(style, (str, Path)) else "style"
    check_schedule(size, steps, batch, lr)
    s = PRESETS["default"].replace(style_weight=style_weight)
    style_image = _style_image(style, style_size, device)
    photo_batch = random_crops(read_photos(photos), size, batch, device)
    vgg = cached_vgg(s.model, s.weights, s.pooling, str(device), dtype)
    with torch.random.fork_rng(devices=[]):  # reproducible weights and crops; the caller's RNG is left alone
        torch.manual_seed(o.seed)
        objective = Objective.for_settings(vgg, photo_batch(), style_image, s)  # each step sets its own content
        history = empty_history(TERMS)
        model, optimizer = start_or_resume(
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
                model.save(checkpoint, resume_state(optimizer), torch.float32)

        stopped = train_loop(model, step, optimizer, o, save, progress, stop, f"training {name}", ("content", "style"))
    model.net.eval()
    model.stopped = stopped
    return model


def _style_image(style, style_size, device):
    style_image = images.as_tensor(style, style_size, "style").to(device)
    if min(style_image.shape[-2:]) < images.MIN_SIDE:  # VGG's deeper layers would have nothing left to describe
        raise ImageError(
            f"the style image is {style_image.shape[-1]}×{style_image.shape[-2]} px at style_size {style_size}; "
            f"training needs at least {images.MIN_SIDE} px per side"
        )
    return style_image


def checked_options(kind, options):
    """``options`` as ``kind``, a frozen dataclass of training options (``TrainOptions``), or a ``StylekitError``
    naming those it does not have."""
    unknown = set(options) - {f.name for f in dataclasses.fields(kind)}
    if unknown:
        raise StylekitError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    return kind(**options)


def check_schedule(size, steps, batch, lr):
    if not (isinstance(size, int) and size >= 64 and isinstance(steps, int) and steps >= 1 and batch >= 1):
        raise StylekitError(f"size must be an integer >= 64 and steps, batch >= 1 (got {size}, {steps}, {batch})")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise StylekitError(f"lr must be a finite number > 0, not {lr!r}")


def random_crops(pictures, size, batch, device):
    """A function giving ``batch`` crops of ``pictures`` on ``device``, each of a random photo, at a random scale,
    flipped at random: the global RNG draws them (the caller forks and seeds it)."""
    from torchvision.transforms import v2  # importing torchvision is slow: only when training

    crop = v2.Compose([v2.RandomResizedCrop(size, scale=(0.1, 1.0), antialias=True), v2.RandomHorizontalFlip()])

    def photo_batch():
        chosen = torch.randint(len(pictures), (batch,))
        return torch.stack([crop(pictures[i]) for i in chosen]).to(device)

    return photo_batch


def start_or_resume(checkpoint, settings, new, read):
    """A model (``new()``) and its Adam optimiser, or both as ``checkpoint`` left them (with the random state):
    ``read(path)`` gives (the model, the file's entries). ``settings`` must be the checkpoint's."""
    lr = settings["lr"]
    if checkpoint is None or not Path(checkpoint).exists():
        model = new()
        return model, torch.optim.Adam(model.net.parameters(), lr)
    model, data = read(checkpoint)
    if model.settings != settings:
        saved = model.settings
        changed = ", ".join(f"{k} {saved.get(k)!r} -> {v!r}" for k, v in settings.items() if saved.get(k) != v)
        raise StylekitError(f"{checkpoint}: a checkpoint of other settings ({changed}); delete it or use them")
    optimizer = torch.optim.Adam(model.net.parameters(), lr)
    optimizer.load_state_dict(data["optimizer"])
    torch.set_rng_state(data["rng"])
    return model, optimizer


def train_loop(model, step_terms, optimizer, options, save, progress=True, stop=None, label="training", shown=()):
    """Steps until ``options.steps`` are done (or Ctrl-C / ``stop``): returns None, 'interrupted' or 'stopped'.

    ``step_terms()`` runs one batch through ``model.net`` and returns its loss terms, 'total' among them; each goes
    into ``model.history``, and those ``shown`` beside the progress bar (``label``)."""
    history, steps, every = model.history, options.steps, options.checkpoint_every
    model.net.train()
    done, started = len(history["total"]), time.perf_counter() - (history["seconds"] or [0])[-1]
    cool_from, lr = round(steps * (1 - COOLDOWN)), model.settings["lr"]
    with tqdm(total=steps, initial=done, desc=label, disable=not progress, unit="step") as bar:
        try:
            for step in range(done + 1, steps + 1):
                for group in optimizer.param_groups:
                    group["lr"] = lr / 10 if step > cool_from else lr
                terms = step_terms()
                optimizer.zero_grad(set_to_none=True)
                terms["total"].backward()
                optimizer.step()
                for k, v in terms.items():
                    history[k].append(float(v.detach()))
                history["seconds"].append(time.perf_counter() - started)
                bar.update(1)
                bar.set_postfix({k: f"{history[k][-1]:.3f}" for k in shown})
                if every and step % every == 0:
                    save()
                if stop is not None and stop.is_set():
                    save()
                    return "stopped"
        except KeyboardInterrupt:
            save()
            return "interrupted"
    return None


def empty_history(terms):
    """A training's loss record before its first step: each term, and 'seconds'."""
    return {k: [] for k in (*terms, "seconds")}


def resume_state(optimizer):
    return dict(optimizer=optimizer.state_dict(), rng=torch.get_rng_state())
