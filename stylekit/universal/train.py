"""Training a decoder: photos encoded by the frozen VGG19 to one level, decoded, and scored against themselves.

The loop, the crops, the checkpoints and resuming are ``fast.train``'s; only the model and the loss differ. Li et
al. train on MS-COCO; without internet the photos are the ones installed packages ship (``default_photos``).
"""

import math
from dataclasses import dataclass

import torch
from torch.nn.functional import mse_loss

from .. import training
from ..device import pick_device, pick_dtype
from ..errors import StylekitError
from ..photos import read_photos
from ..settings import option
from ..weights import cached_vgg
from .decoder import WIDTH, Decoder, DecoderNet, check_level, read_decoder

TERMS = ("pixels", "features", "total")


@dataclass(frozen=True)
class DecoderOptions:
    """What decides a decoder's training (``train_decoder``'s options, the CLI's ``train-decoders`` flags)."""

    size: int = option(None, "side of the training crops (default: 256 on a GPU, 128 on a CPU)")
    steps: int = option(2000, "training steps")
    batch: int = option(4, "photos per step")
    lr: float = option(1e-3, "Adam's rate (a tenth of it for the last tenth of the steps)")
    feature_weight: float = option(0.1, "weight of the feature reconstruction error against the pixels'")
    width: float = option(WIDTH, "the decoder's hidden channels, as a share of VGG19's")
    checkpoint_every: int = option(100, "with a checkpoint: save it every N steps")
    seed: int = option(0, "random seed of the decoder's first weights and of the crops")
    device: str = option("auto", "auto, cpu, cuda, cuda:1, ...")
    precision: str = option("auto", "fp32, or bf16 where the hardware has it")


def train_decoder(level, photos=None, *, checkpoint=None, progress=True, stop=None, **options):
    """Trains the ``Decoder`` of ``level`` (relu1_1 … relu5_1) on random ``size`` px crops of ``photos`` (a folder
    or files; None: the default photo set).

    ``options`` are ``DecoderOptions``'. The loss is Li et al.'s: the pixels' mean squared error plus
    ``feature_weight`` × that of the decoded image's features at ``level`` against the photo's, the latter divided
    by the photo's mean square feature: the five levels' features differ 600-fold in scale, so one weight serves
    all of them. Adam runs at ``lr``, a tenth of it for the last tenth of the steps. With ``checkpoint`` (a path)
    the state is saved every ``checkpoint_every`` steps and on Ctrl-C or ``stop``, and a later call with the same
    settings resumes from it, its step count and loss record carrying on; more ``steps`` than before trains on.
    """
    o = training.checked_options(DecoderOptions, options)
    check_level(level)
    device, dtype = pick_device(o.device), pick_dtype(o.precision, o.device)
    size = o.size or (256 if device.type == "cuda" else 128)
    training.check_schedule(size, o.steps, o.batch, o.lr)
    if not (isinstance(o.feature_weight, (int, float)) and math.isfinite(o.feature_weight) and o.feature_weight >= 0):
        raise StylekitError(f"feature_weight must be a finite number >= 0, not {o.feature_weight!r}")
    settings = dict(level=level, size=size, batch=o.batch, lr=o.lr, feature_weight=o.feature_weight, width=o.width,
                    seed=o.seed, photos=None if photos is None else str(photos))  # fmt: skip
    photo_batch = training.random_crops(read_photos(photos), size, o.batch, device)
    vgg = cached_vgg("vgg19", "original", "max", str(device), dtype)
    with torch.random.fork_rng(devices=[]):  # reproducible weights and crops; the caller's RNG is left alone
        torch.manual_seed(o.seed)

        def new():
            return Decoder(DecoderNet(level, o.width).to(device), settings, training.empty_history(TERMS))

        model, optimizer = training.start_or_resume(checkpoint, settings, new, lambda path: read_decoder(path, device))
        # bf16 where VGG runs in it: the decoder's convolutions too (its weights and the optimiser stay fp32).
        autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)

        def step():
            photos = photo_batch()
            with torch.no_grad():
                target = vgg(photos, [level])[level]
            with autocast:
                output = model.net(target)
            return reconstruction_terms(vgg, level, output.float(), photos, target, o.feature_weight)

        def save():
            if checkpoint:
                model.save(checkpoint, training.resume_state(optimizer), torch.float32)

        stopped = training.train_loop(
            model, step, optimizer, o, save, progress, stop, f"training decoder {level}", TERMS[:2]
        )
    model.net.eval()
    model.stopped = stopped
    return model


def reconstruction_terms(vgg, level, output, photos, target, feature_weight):
    """{'pixels', 'features', 'total'} of a decoded batch ``output`` against ``photos`` and their features
    ``target`` at ``level``."""
    # Each pool halves with the remainder dropped: the decoded image is the photos' size rounded down to 2^k.
    pixels = mse_loss(output, photos[..., : output.shape[-2], : output.shape[-1]])
    target = target.float()
    features = mse_loss(vgg(output, [level])[level].float(), target) / target.square().mean().clamp_min(1e-12)
    return dict(pixels=pixels, features=features, total=pixels + feature_weight * features)
