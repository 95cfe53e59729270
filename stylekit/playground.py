"""An ipywidgets playground: pick images and settings, press Run, watch the image form, press Stop.

    from stylekit.playground import Playground
    Playground().widget          # in JupyterLab, Colab, or served by Voilà (notebooks/08_playground.ipynb)

Runs happen in a background thread so the page stays responsive; ``blocking=True`` runs them in the
click handler instead (tests). Works with ipywidgets 7 (Colab) and 8.
"""

import base64
import io
import threading
import time

import torch
from PIL import ImageOps

from . import images, samples
from .course import loss_figure
from .errors import StylekitError, need
from .instant import Instant
from .settings import CHOICES, PRESETS, Settings
from .transfer import transfer
from .vgg import LAYERS, gatys_style_layers
from .weights import available
from .widgets import NONE, ImagePicker, error_html, labelled, thumbnail

w = need("ipywidgets", "the playground")


def _loss_plot(history):
    terms = [term for term in ("content", "style", "tv") if any(history.get(term, []))]
    figure = loss_figure([history], [None], terms or ["content"], panel=(2.6, 2.4), dpi=80)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class Runner:
    """One background run at a time, with a preview, a loss plot, a progress bar and a status line."""

    def __init__(self, blocking, preview_every=5):
        self.blocking, self.preview_every = blocking, preview_every
        # Hidden until the first image arrives (an empty Image shows as a broken picture).
        self.preview = w.Image(format="png", layout=w.Layout(width="512px", display="none"))
        self.plot = w.Image(format="png", layout=w.Layout(width="420px", display="none"))
        self.progress = w.IntProgress(value=0, min=0, max=1, description="progress")
        self.status = w.HTML("Ready.")
        self.run_button = w.Button(description="Run", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.stop_button.on_click(lambda _: self.stop())
        # Stable hooks for the browser test and for styling.
        for widget, name in (
            (self.preview, "preview"),
            (self.status, "status"),
            (self.run_button, "run"),
            (self.stop_button, "stop"),
        ):
            widget.add_class(f"stylekit-{name}")
        self.result, self.thread, self._stop = None, None, threading.Event()
        self.history = {}

    @property
    def busy(self):
        return self.thread is not None and self.thread.is_alive()

    def start(self, job, steps):
        """``job(callback, stop)`` runs a transfer; returns False if a run is already going."""
        if self.busy:
            return False
        self._stop.clear()
        self.progress.max, self.progress.value = steps, 0
        self.history = {k: [] for k in ("content", "style", "tv")}
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.status.value = "Starting…"
        self._started = time.perf_counter()
        if self.blocking:
            self._work(job)
        else:
            self.thread = threading.Thread(target=self._work, args=(job,), daemon=True)
            self.thread.start()
        return True

    def stop(self):
        self._stop.set()

    def wait(self, timeout=None):
        if self.thread is not None:
            self.thread.join(timeout)

    def _callback(self, step, losses, image):
        for k in self.history:
            self.history[k].append(losses[k])
        self.progress.value = step
        elapsed = time.perf_counter() - self._started
        eta = elapsed / step * (self.progress.max - step)
        self.status.value = (
            f"Running: step {step}/{self.progress.max} · {elapsed:.0f} s elapsed · "
            f"about {eta:.0f} s left · total loss {losses['total']:.4g}"
        )
        if step % self.preview_every == 0 or step == 1:
            self._show(image, self.history)

    def _show(self, image, history):
        self.preview.value, self.plot.value = images.png_bytes(image), _loss_plot(history)
        self.preview.layout.display = self.plot.layout.display = None

    def _work(self, job):
        try:
            self.result = job(self._callback, self._stop)
            self._show(self.result.image, self.result.history)
            done = self.result.steps_done
            self.status.value = (
                f"Stopped at step {done}; the latest image is kept."
                if self.result.stopped
                else f"Done: {done} steps in {self.result.seconds:.1f} s."
            )
        except StylekitError as e:
            self.status.value = error_html(str(e))
        except Exception as e:  # shown in the page, never as a traceback
            oom = isinstance(e, MemoryError) or "out of memory" in str(e).lower()
            self.status.value = error_html(
                "out of memory; choose a smaller image size." if oom else f"{type(e).__name__}: {e}"
            )
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True


class Playground:
    def __init__(self, blocking=False):
        self.runner = Runner(blocking)
        self._make_image_pickers()
        self._make_model_menu()
        self._make_settings()
        self.preset.observe(lambda _: self.apply_preset(), "value")
        self.model.observe(lambda _: self._refresh_layers(), "value")
        self.apply_preset()
        self.runner.run_button.on_click(lambda _: self.run())
        self.save_button = w.Button(description="Save PNG", icon="download")
        self.save_button.on_click(lambda _: self.save())
        self.download = w.HTML()
        self.content_thumb, self.style_thumb = (w.Image(format="png", layout=w.Layout(width="120px")) for _ in "cs")
        for picker in (self.content, self.style):
            for control in (picker.choice, picker.upload):
                control.observe(lambda _: self._show_thumbnails(), "value")
        self._show_thumbnails()
        self.reconstruct = Reconstructions(self, blocking)
        # Instant first: a student's first move gets an answer in under a second.
        self.instant = Instant(ImagePicker("photo", samples.contents(), "chelsea"))
        tabs = {"Instant (fast model)": self.instant.widget, "Style transfer": self._transfer_tab(),
                "Reconstructions": self.reconstruct.widget}  # fmt: skip
        self.widget = w.Tab(children=list(tabs.values()))
        for i, (title, tab) in enumerate(tabs.items()):
            self.widget.set_title(i, title)
            tab.add_class(f"stylekit-tab-{i}")

    def _make_image_pickers(self):
        self.content = ImagePicker("content", samples.contents(), "chelsea")
        self.style = ImagePicker("style", samples.styles(), "brushstrokes")
        self.style2 = ImagePicker("style 2", samples.styles(), NONE, optional=True)
        self.share = w.FloatSlider(
            value=0.5,
            min=0,
            max=1,
            step=0.05,
            description="style 2 share",
            style={"description_width": "initial"},
            continuous_update=False,
        )
        # White: the (first) style applies; black: no style, or style 2 when there is one.
        self.mask = ImagePicker("mask", [], NONE, optional=True)

    def _make_model_menu(self):
        self.models = {
            f"{arch} · {source}": (arch, source, reason)
            for arch in CHOICES["model"]
            for source, reason in available(arch).items()
        }
        usable = [k for k, (_, _, reason) in self.models.items() if reason is None]
        self.model = w.Dropdown(options=usable, description="model")
        unavailable = [k for k, (_, _, reason) in self.models.items() if reason]
        self.model_note = w.HTML(
            f"<small>Need the internet once (or a cached download): {', '.join(unavailable)}</small>"
            if unavailable
            else ""
        )

    def _make_settings(self):
        self.preset = w.Dropdown(options=list(PRESETS), value="default", description="preset")
        log = dict(continuous_update=False, readout_format=".3g")
        self.content_weight = w.FloatLogSlider(base=10, min=-3, max=4, description="content α", **log)
        self.style_weight = w.FloatLogSlider(base=10, min=-3, max=9, description="style β", **log)
        self.tv_weight = w.FloatLogSlider(base=10, min=-6, max=2, description="TV γ", **log)
        self.use_tv = w.Checkbox(description="use TV")
        self.lr = w.FloatLogSlider(base=10, min=-4, max=1, description="lr", **log)
        self.steps = w.IntSlider(min=1, max=1000, description="steps", continuous_update=False)
        self.size = w.IntSlider(min=32, max=1024, step=16, description="size", continuous_update=False)
        for name in ("optimizer", "init", "pooling", "colours", "style_loss"):
            setattr(self, name, w.Dropdown(options=CHOICES[name], description=name.replace("_", " ")))
        self.style_scale = w.FloatLogSlider(base=2, min=-2, max=2, description="style scale", **log)
        self.layer_kind = w.ToggleButtons(options=["relu", "conv"], description="layers")
        self.style_layers = {
            name[4:]: (
                w.Checkbox(value=True, description=f"block {name[4:]}", indent=False),
                w.BoundedFloatText(value=0.2, min=0, max=100, step=0.1, layout=w.Layout(width="80px")),
            )
            for name in gatys_style_layers()
        }
        self.content_layer = w.Dropdown(
            options=LAYERS["vgg19"],
            value="relu4_2",
            description="content layer",
            style={"description_width": "initial"},
        )

    def apply_preset(self):
        p = PRESETS[self.preset.value]
        self.content_weight.value, self.style_weight.value, self.lr.value = p.content_weight, p.style_weight, p.lr
        self.use_tv.value, self.tv_weight.value = bool(p.tv_weight), p.tv_weight or 1e-3
        self.steps.value, self.optimizer.value = p.total_steps, p.optimizer
        self.init.value, self.pooling.value = p.init, p.pooling
        self.colours.value, self.style_scale.value, self.style_loss.value = p.colours, p.style_scale, p.style_loss
        # On a CPU start at 256 px, a few seconds a run; the slider goes up to 1024 (docs/performance.md).
        largest = p.size if isinstance(p.size, int) else max(p.size)
        self.size.value = largest if torch.cuda.is_available() else min(largest, 256)
        kind = next(iter(p.style_layers))[:4]
        self.layer_kind.value = kind
        for b, (box, weight) in self.style_layers.items():
            box.value, weight.value = f"{kind}{b}" in p.style_layers, p.style_layers.get(f"{kind}{b}", 0.2)
        self.content_layer.value = next(iter(p.content_layers))

    def _steps(self):
        """The preset's steps per scale while the slider shows their total; else the slider's count."""
        preset = PRESETS[self.preset.value]
        return preset.steps if self.steps.value == preset.total_steps else self.steps.value

    def _refresh_layers(self):
        arch = self.models[self.model.value][0] if self.model.value else "vgg19"
        current = self.content_layer.value
        self.content_layer.options = LAYERS[arch]
        self.content_layer.value = current if current in LAYERS[arch] else "relu4_2"

    def settings(self):
        arch, source, _ = self.models[self.model.value]
        layers = {
            f"{self.layer_kind.value}{b}": weight.value for b, (box, weight) in self.style_layers.items() if box.value
        }
        return dict(
            model=arch,
            weights=source,
            content_weight=self.content_weight.value,
            style_weight=self.style_weight.value,
            tv_weight=self.tv_weight.value if self.use_tv.value else 0.0,
            lr=self.lr.value,
            steps=self._steps(),
            size=self.size.value,
            optimizer=self.optimizer.value,
            init=self.init.value,
            pooling=self.pooling.value,
            style_layers=layers,
            colours=self.colours.value,
            style_scale=self.style_scale.value,
            style_loss=self.style_loss.value,
            content_layers={self.content_layer.value: 1.0},
        )

    def run(self):
        """Starts a transfer with the current settings (one at a time)."""
        try:
            if not self.model.value:
                raise StylekitError("no model has weights available here")
            content, style, style2, mask = self.content.get(), self.style.get(), self.style2.get(), self.mask.get()
            settings = self.settings()
        except StylekitError as e:
            self.runner.status.value = error_html(str(e))
            return False
        if style2 is not None:
            style = [style, style2]
            if mask is None:
                settings["style_blend"] = [1 - self.share.value, self.share.value]
            else:
                mask = [mask, ImageOps.invert(mask.convert("L"))]
        preset = self.preset.value
        return self.runner.start(
            lambda callback, stop: transfer(
                content,
                style,
                preset,
                mask=mask,
                callback=callback,
                callback_every=1,
                stop=stop,
                progress=False,
                **settings,
            ),
            Settings(steps=settings["steps"]).total_steps,
        )

    def save(self, path="stylekit-result.png"):
        """Writes the latest result (settings in its metadata) and offers it as a download link."""
        if self.runner.result is None:
            self.runner.status.value = "Nothing to save yet: press Run first."
            return None
        saved = self.runner.result.save(path)
        data = base64.b64encode(saved.read_bytes()).decode()
        self.download.value = (
            f'<a download="{saved.name}" href="data:image/png;base64,{data}">'
            f"Download {saved.name}</a> (also saved as {saved.resolve()})"
        )
        return saved

    def _transfer_tab(self):
        """The essentials in view, the rarely used settings folded away, the image large."""
        r = self.runner
        pictures = w.HBox([labelled(self.content_thumb, "content"), labelled(self.style_thumb, "style")])
        essentials = [self.content.widget, self.style.widget, pictures, self.preset, self.size, self.steps,
                      self.style_weight, self.colours]  # fmt: skip
        layer_rows = [w.HBox([box, weight]) for box, weight in self.style_layers.values()]
        more = {
            "Second style and mask": [self.style2.widget, self.share, self.mask.widget],
            "Network": [
                self.model,
                self.model_note,
                self.pooling,
                self.layer_kind,
                self.content_layer,
                w.HTML("style layers and weights w<sub>l</sub>"),
                *layer_rows,
            ],
            "Loss and optimiser": [
                self.content_weight,
                w.HBox([self.use_tv, self.tv_weight]),
                self.style_loss,
                self.style_scale,
                self.optimizer,
                self.lr,
                self.init,
            ],
        }
        folded = w.Accordion(children=[w.VBox(rows) for rows in more.values()], selected_index=None)
        for i, title in enumerate(more):
            folded.set_title(i, title)
        controls = w.VBox([*essentials, folded], layout=w.Layout(width="440px"))
        output = w.VBox([w.HBox([r.run_button, r.stop_button, self.save_button]), r.progress, r.status, r.preview,
                         r.plot, self.download])  # fmt: skip
        return w.HBox([controls, output])

    def _show_thumbnails(self):
        for picker, image in ((self.content, self.content_thumb), (self.style, self.style_thumb)):
            try:
                image.value = thumbnail(picker.get())
            except StylekitError:
                image.value = b""  # an upload not made yet: the Run button names the problem


class Reconstructions:
    """Second tab: what one layer keeps of the content, what a set of layers keeps of the style."""

    def __init__(self, playground, blocking):
        self.playground = playground
        self.runner = Runner(blocking)
        self.kind = w.ToggleButtons(options=["content", "style"], description="reconstruct")
        self.layer = w.Dropdown(
            options=[n for n in LAYERS["vgg19"] if not n.startswith("pool")], value="conv4_2", description="layer"
        )
        self.layers = w.SelectMultiple(
            options=gatys_style_layers("conv"), value=["conv1_1", "conv2_1"], description="layers", rows=5
        )
        self.steps = w.IntSlider(value=100, min=1, max=1000, description="steps", continuous_update=False)
        self.size = w.IntSlider(value=128, min=32, max=512, step=16, description="size", continuous_update=False)
        self.runner.run_button.on_click(lambda _: self.run())
        r = self.runner
        self.widget = w.HBox(
            [
                w.VBox(
                    [
                        self.kind,
                        w.HTML("content: one layer"),
                        self.layer,
                        w.HTML("style: a set of layers"),
                        self.layers,
                        self.steps,
                        self.size,
                    ]
                ),
                w.VBox([w.HBox([r.run_button, r.stop_button]), r.progress, r.status, r.preview, r.plot]),
            ]
        )

    def run(self):
        p = self.playground
        try:
            arch, source, _ = p.models[p.model.value]
            if self.kind.value == "content":
                content, style = p.content.get(), None
                layers = dict(content_layers={self.layer.value: 1.0}, style_layers={})
            else:
                content, style = None, p.style.get()
                layers = dict(content_layers={}, style_layers={name: 1.0 for name in self.layers.value})
        except StylekitError as e:
            self.runner.status.value = error_html(str(e))
            return False
        steps, size = self.steps.value, self.size.value
        return self.runner.start(
            lambda callback, stop: transfer(
                content,
                style,
                model=arch,
                weights=source,
                init="noise",
                steps=steps,
                size=size,
                callback=callback,
                callback_every=1,
                stop=stop,
                progress=False,
                **layers,
            ),
            steps,
        )
