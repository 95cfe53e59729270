"""A transfer that keeps running while its settings change: the engine of the playground's live mode.

    live = LiveTransfer(photo, painting, size=256).start()   # steps in a background thread
    live.update(style_weight=27)        # the objective changes; the image carries on from where it is
    live.update(style="other.jpg")      # new targets, from the images already given
    live.image, live.history            # the latest image, every step's losses
    result = live.stop()                # a Result, as transfer returns

A change is applied between two steps. A change of α, β or γ reweighs the objective, one of the optimiser's
settings keeps it; any other change rebuilds it (its targets, at the current image's size, or at a new size with
the image resized), and the network passes only for the images and layers whose responses it has not seen. A
change of what the image should look like (a new image, colours, style scale or blend) also moves the image part
of the way back to the photo (``FRESH_SHARE``): the old texture no longer pays, and the new objective is reached
sooner from there. The optimiser starts afresh at every change: its state (Adam's gradient averages, L-BFGS's
curvature pairs) describes the old objective. A change that fails (a setting out of range, an image too small)
raises and leaves the run as it was.
"""

import contextlib
import threading

import torch

from . import colour, images, stages
from .judge import judge, judge_targets
from .losses import TERMS
from .regions import Regions
from .result import Result
from .settings import resolve
from .steps import Steps, read
from .transfer import make_optimizer, take_step

WEIGHTS = {"content_weight": "content", "style_weight": "style", "tv_weight": "tv"}  # reweighed in place
OPTIMISER = ("optimizer", "lr", "lbfgs_history")  # a new optimiser, the objective kept
IMAGES = ("content", "style", "mask")
LIVE = {"optimizer": "lbfgs", "lr": 1.0, "size": 256}  # a live run's defaults, chosen by benchmarks/live.py
RESTYLE = (*IMAGES, "colours", "style_scale", "style_blend")  # changes of what the image should look like
FRESH_SHARE = 0.45  # of the photo (init's image) mixed in after a restyle (benchmarks/live.py, docs/live.md)
ONE_SCALE = {"scales": 1, "steps": 1}  # a live run has no schedule: it steps until stopped


class LiveTransfer:
    """One optimisation at one scale whose settings and images may change while it runs."""

    def __init__(self, content, style, preset="default", *, mask=None, start=None, callback=None, callback_every=1,
                 **settings):  # fmt: skip
        """``settings`` override the preset's and ``LIVE``'s; ``start`` (a tensor) replaces the starting image;
        ``callback(step, losses, image)`` runs every ``callback_every`` steps (the playground's preview), in the
        thread that steps."""
        self.inputs = {"content": content, "style": style, "mask": mask}
        self.settings = resolve(preset, {**LIVE, **settings, **ONE_SCALE})
        self.callback, self.callback_every = callback, callback_every
        self._stopping = threading.Event()
        self.changes = []  # (step, {what changed}) for every update
        self.error = None  # why the background run ended, when it failed
        self._lock, self._thread = threading.Lock(), None
        self._judging = None  # (content, style, shape, the judge's targets for them)
        self._targets = _Remembered()
        self._regions = Regions(content)  # segmented again only for a new content image
        self._stage = self._build(self.settings, self.inputs)
        if start is None and self.settings.init == "universal":
            start = stages.universal_start(self.settings, self._stage, content, style, self._regions.masks(mask))
        first = stages.start_image(self.settings, self._stage) if start is None else self._carried(start)
        self._pixels = stages.leaf(first)
        self._optimizer = self._new_optimizer()
        # The clock starts here, with the first step to come: building and the start are not the run's seconds.
        self._steps = Steps(history={k: [] for k in (*TERMS, "seconds", "passes")}, stop=self._stopping, progress=False)
        self.history = self._steps.history

    @property
    def step(self):
        return len(self.history["total"])

    @property
    def image(self):
        """The latest image, as the result would show it (on the CPU)."""
        with self._lock:
            return self._stage.present(self._pixels.detach()).cpu()

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def run(self, steps):
        """``steps`` steps in the calling thread; returns the latest step's losses."""
        losses = None
        for _ in range(steps):
            losses = self._one_step()
        return losses

    def start(self):
        """Keeps stepping in a background thread until ``stop``; returns itself."""
        if not self.running:
            self._stopping.clear()
            self.error = None
            self._thread = threading.Thread(target=self._work, daemon=True)
            self._thread.start()
        return self

    def stop(self):
        """Ends the background run after its current step; the result so far."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        return self.result()

    def update(self, **changes):
        """Changes settings (``style_weight=27``, ``style_layers={...}``, ``colours="luminance"``, ``size=384``, …)
        or images (``content=``, ``style=``, ``mask=``) while the run goes on. True when the image itself changed
        at once (a restyle, a new size): a preview can show it before the next step."""
        given = dict(changes)
        inputs = {**self.inputs, **{k: changes.pop(k) for k in IMAGES if k in changes}}
        same_images = all(inputs[k] is self.inputs[k] for k in IMAGES)
        restyled = not same_images or any(getattr(self.settings, k) != v for k, v in changes.items() if k in RESTYLE)
        with self._lock:
            s = self.settings.replace(**changes, **ONE_SCALE)
            moved = restyled or s.size != self.settings.size
            if same_images and set(changes) <= {*WEIGHTS, *OPTIMISER}:
                self._stage.objective.reweigh(**{WEIGHTS[k]: v for k, v in changes.items() if k in WEIGHTS})
            else:  # everything new is made before anything is replaced: a failure leaves the run as it was
                stage = self._build(s, inputs)
                was_luminance = self.settings.colours == "luminance"
                image = self._stage.present(self._pixels.detach()) if was_luminance else self._pixels
                image = self._carried(image, stage, s)
                if restyled:
                    image = (1 - FRESH_SHARE) * image + FRESH_SHARE * stages.start_image(s, stage)
                self._pixels, self._stage = stages.leaf(image), stage
            self.settings, self.inputs = s, inputs
            self._optimizer = self._new_optimizer()
            self.changes.append((self.step, given))
        return moved

    def judged(self):
        """The latest image judged against the content and the (first) style image (``stylekit.judge``: one ruler
        whatever the objective, so a style layer dropped from the objective shows its error rising)."""
        image, content, style = self.image, self.inputs["content"], images.as_list(self.inputs["style"])[0]
        j = self._judging
        if j is None or j[0] is not content or j[1] is not style or j[2] != image.shape:
            self._judging = j = (
                content,
                style,
                image.shape,
                judge_targets(content, style, image.shape[-1], image.shape[-2]),
            )
        return judge(image, content, style, j[3])

    def result(self):
        with self._lock:  # the image and its history from the same step
            settings = self.settings.replace(steps=max(self.step, 1))
            history = {k: list(v) for k, v in self.history.items()}
            image = self._stage.present(self._pixels.detach()).cpu()
        stopped = self.error or ("stopped" if self._stopping.is_set() else None)
        return Result(image, history, {**settings.describe(**self.inputs), **self._regions.described()}, stopped)

    def _build(self, s, inputs):
        regions = self._regions if self._regions.content is inputs["content"] else Regions(inputs["content"])
        with self._targets.building():
            (stage,) = stages.build(s, inputs["content"], inputs["style"], inputs["mask"], wrap=self._targets.wrap,
                                    regions=regions)  # fmt: skip
        self._regions = regions
        return stage

    def _carried(self, image, stage=None, settings=None):
        """``image`` (in colour) as ``stage`` optimises it (default: the current one): at its size, and in luminance
        when ``settings`` ask."""
        stage, settings = stage or self._stage, settings or self.settings
        image = images.resize_tensor(image.detach(), stage.reference).to(stage.reference.device)
        return colour.luminance(image) if settings.colours == "luminance" else image

    def _new_optimizer(self):
        s = self.settings
        return make_optimizer(self._pixels, s.optimizer, s.lr, s.lbfgs_history)

    def _one_step(self):
        with self._lock:
            losses = read(take_step(self._optimizer, self._pixels, self._stage.objective))
            self._steps.checked(losses, self.step + 1)  # a loss no longer finite is refused, not recorded
            self._steps.record(losses, passes=self.step + 1)  # one VGG evaluation a step, at the run's one size
            image = self._stage.present(self._pixels.detach()).cpu() if self._callback_due() else None
        if image is not None:
            self.callback(self.step, losses, image)
        return losses

    def _callback_due(self):
        return self.callback is not None and self.step % self.callback_every == 0

    def _work(self):
        try:
            while not self._steps.stopped():
                self._one_step()
        except Exception as e:  # kept for the page to show; the image stays the last good one
            self.error = f"{type(e).__name__}: {e}"


class _Remembered:
    """The encoder, remembering its responses to the images targets were made from, so that a rebuild passes only
    what it has not seen: a new style image its own pass, a new layer set none. Only while ``building``: steps go
    straight to the encoder. What the latest build did not use is forgotten after it."""

    def __init__(self):
        self.encoder, self.kept, self.used, self.active = None, {}, set(), False

    def wrap(self, encoder):
        if _network(encoder) is not _network(self.encoder):  # another network: its responses differ
            self.kept = {}
        self.encoder = encoder
        return self

    @contextlib.contextmanager
    def building(self):
        """A build's passes are remembered; a build that fails leaves the encoder and the memory as they were (the
        run's stage keeps stepping through them)."""
        before, self.active, self.used = (self.encoder, dict(self.kept)), True, set()
        try:
            yield
        except BaseException:
            self.encoder, self.kept = before
            raise
        else:
            self.kept = {key: value for key, value in self.kept.items() if key in self.used}
        finally:
            self.active = False

    def __call__(self, image, layers):
        if not self.active or torch.is_grad_enabled():
            return self.encoder(image, layers)
        key = (type(self.encoder), images.fingerprint(image))
        kept = self.kept.setdefault(key, {})
        missing = [layer for layer in layers if layer not in kept]
        if missing:
            kept.update(self.encoder(image, missing))
        self.used.add(key)
        return {layer: kept[layer] for layer in layers}


def _network(encoder):
    """The VGG behind an encoder (``ThesisInput`` wraps one)."""
    return getattr(encoder, "vgg", encoder)
