"""Training a fast model: ``transfer``'s objective, minimised over a network's weights and many photos.

Each step crops a batch of photos at random, runs them through the ``TransformNet``, and scores the
outputs with ``losses.Objective`` exactly as ``transfer`` scores its image: content against that batch,
style against the one style image's Gram matrices. Without internet the photos are the ones installed
packages ship (``default_photos``).
"""

import math
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import images
from .device import pick_device, pick_dtype
from .errors import ImageError, StylekitError, need
from .fast import THUMBNAIL, FastModel, TransformNet, _read
from .losses import Objective
from .samples import DATA
from .settings import PRESETS
from .transfer import TERMS
from .weights import cached_vgg

# Sample photos of installed packages, by package and file: those whose docstrings or sources say public domain
# or CC0 (data/README.md). Drawings, charts, text pages and photos of unstated licence are left out. Two bundled
# photos are held out of the default set, so that how a model does on photos it never saw can be measured
# (benchmarks/fast.py).
PACKAGE_PHOTOS = {
    "skimage": ("astronaut.png", "brick.png", "camera.png", "cell.png", "clock_motion.png", "coffee.png", "coins.png",
                "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "retina.jpg"),
    "matplotlib": ("grace_hopper.jpg",),
}  # fmt: skip
HELD_OUT = ("chelsea", "rocket")
PHOTO_SIDE = 1024  # photos are kept in memory with their longest side at most this
SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
# The last tenth of the steps run at a tenth of the learning rate: at full rate Adam keeps the weights jumping
# with each batch of crops. Measured on the shipped models (docs/performance.md: Fast models): the judged errors
# of 3000 steps fell by up to 14% in 300-333 cooler steps (one of 16 rose 1%).
COOLDOWN = 0.1


def default_photos():
    """The photos to train on when the user gives none: bundled content photos (except ``HELD_OUT``) and the
    sample photos of scikit-image and matplotlib (the `train` extra), one file per name."""
    found = {p.stem.removeprefix("content_"): p for p in sorted(DATA.glob("content_*.jpg"))}
    for package, files in PACKAGE_PHOTOS.items():
        module = need(package, "training on the default photo set", extra="train")
        folder = Path(module.__file__).parent / "data"
        folder = folder if package == "skimage" else Path(module.get_data_path()) / "sample_data"
        found.update({Path(f).stem: folder / f for f in files if (folder / f).is_file()})
    return [path for name, path in found.items() if name not in HELD_OUT]


def read_photos(photos=None):
    """``photos`` (a folder, or a list of files and folders; None: ``default_photos``) as tensors in memory."""
    if photos is None:
        paths = default_photos()
    else:
        paths = []
        for item in [photos] if isinstance(photos, (str, Path)) else photos:
            item = Path(item)
            if item.is_dir():
                paths += sorted(p for p in item.rglob("*") if p.suffix.lower() in SUFFIXES)
            elif not item.exists():
                raise ImageError(f"{item}: no such file or folder")
            else:
                paths.append(item)
    decoded = []
    for path in paths:
        try:
            photo = images.open_image(path)
        except ImageError:
            continue  # one unreadable file in a folder of photos is skipped; none readable is an error below
        photo.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
        decoded.append(images.to_tensor(photo)[0])
    if not decoded:
        raise ImageError(f"{photos or 'the default photo set'}: no readable image to train on")
    return decoded


def train_fast(style, photos=None, *, size=None, steps=2000, batch=4, style_weight=9.0, style_size=512, lr=1e-3,
               checkpoint=None, checkpoint_every=100, seed=0, device="auto", precision="auto", progress=True,
               stop=None):  # fmt: skip
    """Trains a ``FastModel`` for ``style`` (a path or image) on random ``size`` px crops of ``photos``.

    ``size`` defaults to Johnson et al.'s 256 on a GPU and 192 on a CPU, where a step costs half as much
    (docs/performance.md: Fast models).
    ``style_size`` is the style image's longest side while training: the model paints strokes of the size a
    ``transfer`` at that output size would. ``style_weight`` is β of the default preset (α is 1). Adam runs at
    ``lr``, and at ``lr / 10`` for the last ``COOLDOWN`` of the steps. With
    ``checkpoint`` (a path), the state is saved every ``checkpoint_every`` steps and on Ctrl-C or ``stop``,
    and a later call with the same settings resumes from it; more ``steps`` than before trains on.
    """
    device, dtype = pick_device(device), pick_dtype(precision, device)
    size = size or (256 if device.type == "cuda" else 192)
    settings = dict(size=size, batch=batch, style_weight=style_weight, style_size=style_size, lr=lr, seed=seed,
                    photos=None if photos is None else str(photos))  # fmt: skip
    name = Path(style).stem.removeprefix("style_") if isinstance(style, (str, Path)) else "style"
    if not (isinstance(size, int) and size >= 64 and isinstance(steps, int) and steps >= 1 and batch >= 1):
        raise StylekitError(f"size must be an integer >= 64 and steps, batch >= 1 (got {size}, {steps}, {batch})")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise StylekitError(f"lr must be a finite number > 0, not {lr!r}")
    s = PRESETS["default"].replace(style_weight=style_weight)
    style_image = images.as_tensor(style, style_size, "style").to(device)
    if min(style_image.shape[-2:]) < images.MIN_SIDE:  # VGG's deeper layers would have nothing left to describe
        raise ImageError(
            f"the style image is {style_image.shape[-1]}×{style_image.shape[-2]} px at style_size {style_size}; "
            f"training needs at least {images.MIN_SIDE} px per side"
        )
    pictures = read_photos(photos)
    from torchvision.transforms import v2  # importing torchvision is slow: only when training

    crop = v2.Compose([v2.RandomResizedCrop(size, scale=(0.1, 1.0), antialias=True), v2.RandomHorizontalFlip()])
    vgg = cached_vgg(s.model, s.weights, s.pooling, str(device), dtype)
    with torch.random.fork_rng(devices=[]):  # reproducible weights and crops; the caller's RNG is left alone
        torch.manual_seed(seed)

        def photo_batch():
            chosen = torch.randint(len(pictures), (batch,))
            return torch.stack([crop(pictures[i]) for i in chosen]).to(device)

        objective = Objective.for_settings(vgg, photo_batch(), style_image, s)  # each step sets its own content
        model, optimizer = _start(checkpoint, name, settings, device, lr)
        model.thumbnail = images.as_tensor(style, THUMBNAIL, "style")
        stopped = _train_loop(model, objective, photo_batch, optimizer, steps, device, dtype, progress, stop,
                              lambda: checkpoint and model.save(checkpoint, _resume_state(optimizer), torch.float32),
                              checkpoint_every if checkpoint else 0)  # fmt: skip
    model.net.eval()
    model.stopped = stopped
    return model


def _start(checkpoint, name, settings, device, lr):
    """A new model and optimiser, or both as ``checkpoint`` left them (with the random state)."""
    if checkpoint is None or not Path(checkpoint).exists():
        model = FastModel(TransformNet().to(device), name, settings, {k: [] for k in (*TERMS, "seconds")})
        return model, torch.optim.Adam(model.net.parameters(), lr)
    model, data = _read(checkpoint, device)
    if model.settings != settings:
        saved = model.settings
        changed = ", ".join(f"{k} {saved.get(k)!r} -> {v!r}" for k, v in settings.items() if saved.get(k) != v)
        raise StylekitError(f"{checkpoint}: a checkpoint of other settings ({changed}); delete it or use them")
    optimizer = torch.optim.Adam(model.net.parameters(), lr)
    optimizer.load_state_dict(data["optimizer"])
    torch.set_rng_state(data["rng"])
    return model, optimizer


def _train_loop(model, objective, photo_batch, optimizer, steps, device, dtype, progress, stop, save, every):
    """Steps until ``steps`` are done (or Ctrl-C / ``stop``): returns None, 'interrupted' or 'stopped'."""
    history, net = model.history, model.net.train()
    done, started = len(history["total"]), time.perf_counter() - (history["seconds"] or [0])[-1]
    cool_from, lr = round(steps * (1 - COOLDOWN)), model.settings["lr"]
    # bf16 where VGG runs in it: the network's convolutions too (its weights and the optimiser stay fp32).
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)
    with tqdm(total=steps, initial=done, desc=f"training {model.style}", disable=not progress, unit="step") as bar:
        try:
            for step in range(done + 1, steps + 1):
                for group in optimizer.param_groups:
                    group["lr"] = lr / 10 if step > cool_from else lr
                photos = photo_batch()
                objective.set_content(photos)
                with autocast:
                    output = net(photos)
                terms = objective(output.float())
                optimizer.zero_grad(set_to_none=True)
                terms["total"].backward()
                optimizer.step()
                for k, v in terms.items():
                    history[k].append(float(v.detach()))
                history["seconds"].append(time.perf_counter() - started)
                bar.update(1)
                bar.set_postfix(content=f"{history['content'][-1]:.3f}", style=f"{history['style'][-1]:.3f}")
                if every and step % every == 0:
                    save()
                if stop is not None and stop.is_set():
                    save()
                    return "stopped"
        except KeyboardInterrupt:
            save()
            return "interrupted"
    return None


def _resume_state(optimizer):
    return dict(optimizer=optimizer.state_dict(), rng=torch.get_rng_state())
