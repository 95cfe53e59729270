"""What every training here shares — a fast model's (``fast/train.py``) and a decoder's (``universal/train.py``):
options checked, random crops of the photos, a checkpoint to resume from, and the loop itself (``train_loop``:
Adam over the network's weights, the learning rate cooled at the end, checkpoints, stop and Ctrl-C)."""

import dataclasses
import math
from pathlib import Path

import torch

from .errors import StylekitError
from .steps import Steps, read

# The last tenth of the steps run at a tenth of the learning rate: at full rate Adam keeps the weights jumping
# with each batch of crops (docs/performance.md: Fast models, measured on the shipped models).
COOLDOWN = 0.1


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
    into ``model.history``, and those ``shown`` beside the progress bar (``label``). ``save()`` runs every
    ``options.checkpoint_every`` steps and when the run is stopped or interrupted."""
    every, lr = options.checkpoint_every, model.settings["lr"]
    cool_from = round(options.steps * (1 - COOLDOWN))
    model.net.train()
    with Steps(options.steps, model.history, stop=stop, progress=progress, desc=label) as steps:
        for step in range(steps.done + 1, options.steps + 1):
            for group in optimizer.param_groups:
                group["lr"] = lr / 10 if step > cool_from else lr
            terms = step_terms()
            optimizer.zero_grad(set_to_none=True)
            terms["total"].backward()
            optimizer.step()
            steps.record(read(terms))
            steps.show({k: model.history[k][-1] for k in shown})
            stopped = steps.stopped()
            if (every and step % every == 0) or stopped:
                save()
            if stopped:
                break
    if steps.ended == "interrupted":
        save()
    return steps.ended


def empty_history(terms):
    """A training's loss record before its first step: each term, and 'seconds'."""
    return {k: [] for k in (*terms, "seconds")}


def resume_state(optimizer):
    return dict(optimizer=optimizer.state_dict(), rng=torch.get_rng_state())
