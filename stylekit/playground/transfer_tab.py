"""The playground's style transfer tab: pick images and settings, press Run, watch the image form, press Stop."""

import base64

import torch
from PIL import ImageOps

from .. import samples
from ..course import judged_figure
from ..errors import StylekitError, need
from ..live import LIVE, LiveTransfer
from ..settings import CHOICES, PRESETS, STYLE_LAYER_WEIGHT, Settings
from ..transfer import transfer
from ..vgg import LAYERS, gatys_style_layers
from ..weights import available
from .runner import Runner, png
from .widgets import NONE, ImagePicker, error_html, labelled, thumbnail

w = need("ipywidgets", "the playground")

OPPOSITE = {"person": "background", "background": "person"}  # the mask shorthands, each the other's complement


class TransferTab:
    """The essentials in view, the rarely used settings folded away, the image large."""

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
        self.live, self._live_inputs = None, None
        self.live_mode.observe(lambda change: self._live_mode(change["new"]), "value")
        self.keep_button = w.Button(description="Keep", icon="thumb-tack", tooltip="pin this image and its settings")
        self.keep_button.on_click(lambda _: self.keep())
        self.kept, self.strip = [], w.HBox(layout=w.Layout(flex_flow="row wrap"))
        for control in self._controls():
            control.observe(lambda _: self.follow(), "value")
        self.widget = self._layout()

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
        # White: the (first) style applies; black: no style, or style 2 when there is one. Or a region of the content
        # photo, found by stylekit.segment.
        regions = {"person (found automatically)": "person", "background": "background"}
        self.mask = ImagePicker("mask", [], NONE, optional=True, named=regions)
        # Where the content weighs more (the preset's keep_weight times): a portrait's face or person.
        self.keep_region = w.Dropdown(
            options=[("none", ""), ("face", "face"), ("person", "person")], description="keep"
        )

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
        self.tv_weight = w.FloatLogSlider(base=10, min=-1, max=3, description="TV γ", **log)
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
                w.BoundedFloatText(value=STYLE_LAYER_WEIGHT, min=0, max=100, step=0.1, layout=w.Layout(width="80px")),
            )
            for name in gatys_style_layers()
        }
        self.content_layer = w.Dropdown(
            options=LAYERS["vgg19"],
            value="relu4_2",
            description="content layer",
            style={"description_width": "initial"},
        )
        self.live_mode = w.Checkbox(description="live: keep optimising, follow the controls", indent=False)
        self.live_mode.add_class("stylekit-live")
        self.live_note = w.HTML()  # the last change the live run took, or why it could not take one
        self.live_note.add_class("stylekit-live-note")
        self.bars = w.Image(format="png", layout=w.Layout(width="420px", display="none"))
        self.bars.add_class("stylekit-bars")
        self.bars_numbers = w.HTML()  # the bars' means in figures (and for the browser test to read)
        self.bars_numbers.add_class("stylekit-bars-numbers")
        self._bars_due = False  # a change was made: redraw the bars after the next step

    def _controls(self):
        """Every control a live run follows."""
        pickers = [c for p in (self.content, self.style, self.style2, self.mask) for c in (p.choice, p.upload)]
        layers = [control for pair in self.style_layers.values() for control in pair]
        return [self.content_weight, self.style_weight, self.tv_weight, self.use_tv, self.lr, self.size,
                self.optimizer, self.pooling, self.colours, self.style_scale, self.style_loss, self.layer_kind,
                self.content_layer, self.model, self.share, self.keep_region, *layers, *pickers]  # fmt: skip

    def _live_mode(self, on):
        if self.live is not None:
            self.runner.stop()  # a live run ends with live mode
        self.live = None  # the next run starts afresh
        self.runner.run_button.description = "Run"
        self.steps.layout.display = "none" if on else None  # a live run has no step count
        if on:
            self._live_defaults()

    def _live_defaults(self):
        """Live mode's optimiser, whatever the preset's: L-BFGS, started afresh at every change (docs/live.md)."""
        self.optimizer.value, self.lr.value = LIVE["optimizer"], LIVE["lr"]

    def apply_preset(self):
        p = PRESETS[self.preset.value]
        self.content_weight.value, self.style_weight.value, self.lr.value = p.content_weight, p.style_weight, p.lr
        # TV is a mean squared neighbour difference, small beside relative losses: weights below ~1 do nothing.
        self.use_tv.value, self.tv_weight.value = bool(p.tv_weight), p.tv_weight or 10.0
        self.steps.value, self.optimizer.value = p.total_steps, p.optimizer
        self.init.value, self.pooling.value = p.init, p.pooling
        self.colours.value, self.style_scale.value, self.style_loss.value = p.colours, p.style_scale, p.style_loss
        # On a CPU start at 256 px, a few seconds a run; the slider goes up to 1024 (docs/performance.md).
        largest = p.size if isinstance(p.size, int) else max(p.size)
        self.size.value = largest if torch.cuda.is_available() else min(largest, 256)
        kind = next(iter(p.style_layers))[:4]
        self.layer_kind.value = kind
        for b, (box, weight) in self.style_layers.items():
            box.value, weight.value = (
                f"{kind}{b}" in p.style_layers,
                p.style_layers.get(f"{kind}{b}", STYLE_LAYER_WEIGHT),
            )
        self.content_layer.value = next(iter(p.content_layers))
        self.keep_region.value = p.keep
        if self.live_mode.value:
            self._live_defaults()

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
            keep=self.keep_region.value,
        )

    def inputs(self):
        """{content, style, mask, settings} from the controls; a StylekitError names what is missing."""
        if not self.model.value:
            raise StylekitError("no model has weights available here")
        content, style, style2, mask = self.content.get(), self.style.get(), self.style2.get(), self.mask.get()
        settings = self.settings()
        if style2 is not None:
            style = [style, style2]
            if mask is None:
                settings["style_blend"] = [1 - self.share.value, self.share.value]
            else:  # style 2 where the first is not
                mask = [mask, OPPOSITE[mask] if isinstance(mask, str) else ImageOps.invert(mask.convert("L"))]
        return dict(content=content, style=style, mask=mask, **settings)

    def run(self):
        """Starts a transfer with the current settings (one at a time); in live mode, one that runs until Stop."""
        try:
            given = self.inputs()
        except StylekitError as e:
            self.runner.status.value = error_html(str(e))
            return False
        if self.live_mode.value:
            return self.runner.start(lambda callback, stop: self._live(given, callback, stop), 0)
        content, style, mask, settings = given.pop("content"), given.pop("style"), given.pop("mask"), given
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

    def _live(self, given, callback, stop, bars_every=5):
        """A live run: LiveTransfer steps in its own thread until Stop while ``follow`` passes it the controls;
        Run after Stop resumes it from its image. Every ``bars_every`` steps the per-layer bars are redrawn."""

        bars_broken = False

        def step(number, losses, image):
            nonlocal bars_broken
            callback(number, losses, image)
            if (number % bars_every == 0 or self._bars_due) and not bars_broken:
                self._bars_due = False
                try:
                    scores = live.judged()
                    self.bars.value, self.bars.layout.display = png(judged_figure(scores, dpi=80)), None
                    self.bars_numbers.value = (
                        f"<small>step {number}: judged style error {scores['style']:.3g} (Gatys layers), "
                        f"{scores['style_unused']:.3g} (unused layers), content {scores['content']:.3g}</small>"
                    )
                except Exception as e:  # the bars are an extra: the run goes on without them
                    bars_broken, self.bars.layout.display = True, "none"
                    self.live_note.value = error_html(f"no per-layer bars: {type(e).__name__}: {e}")

        if self.live is None:
            given = {k: v for k, v in given.items() if k not in ("steps", "init")}  # a live run has no schedule
            self._live_inputs = dict(given)
            content, style, mask = given.pop("content"), given.pop("style"), given.pop("mask")
            self.live = LiveTransfer(content, style, self.preset.value, mask=mask, callback=step, **given)
        self.live.callback = step
        self.follow(resuming=True)  # what the controls changed while it was built, or while it was stopped
        live = self.live  # kept here: unticking live mode lets go of self.live
        live.start()
        while not stop.wait(0.05) and live.running:
            pass
        result = live.stop()
        if self.live is live:
            self.runner.run_button.description = "Resume"
        if live.error:
            self.live_note.value = error_html(f"{live.error} (the live run stopped; its latest image is kept)")
        return result

    def follow(self, resuming=False):
        """In a live run, passes what the controls changed to it; a bad change is one line in the page, and the
        run goes on as it was."""
        if self.live is None or not (self.runner.busy or resuming):
            return
        try:
            given = {k: v for k, v in self.inputs().items() if k not in ("steps", "init")}
            changes = {k: v for k, v in given.items() if self._live_inputs.get(k) != v}
            preset = PRESETS[self.preset.value]
            changes |= {k: getattr(preset, k) for k in set(self._live_inputs) - set(given)}  # e.g. a blend, gone
            if changes:
                if self.live.update(**changes):  # the image changed at once: shown before the next step
                    self.runner.show_image(self.live.image)
                self._bars_due = True
                said = f"Step {self.live.step}: {', '.join(changes)} changed; the run goes on."
                self.live_note.value = f"<small>{said}</small>"
            self._live_inputs = given
        except Exception as e:  # one line in the page, never a traceback
            message = str(e) if isinstance(e, StylekitError) else f"{type(e).__name__}: {e}"
            self.live_note.value = error_html(f"{message} (the live run goes on as it was)")

    def keep(self):
        """Pins the current image and the settings that made it to the strip of thumbnails below it."""
        live = self.live is not None and (self.runner.busy or self.live.step)
        result = self.live.result() if live else self.runner.result
        if result is None:
            self.runner.status.value = "Nothing to keep yet: press Run first."
            return None
        self.kept.append(result)
        pinned = labelled(w.Image(value=thumbnail(result.image, 120)), caption(result))
        self.strip.children = [*self.strip.children, pinned]
        return result

    def save(self, path="stylekit-result.png"):
        """Writes the latest result (settings in its metadata) and offers it as a download link."""
        live = self.live is not None and self.runner.busy
        if self.runner.result is None and not live:
            self.runner.status.value = "Nothing to save yet: press Run first."
            return None
        saved = (self.live.result() if live else self.runner.result).save(path)
        data = base64.b64encode(saved.read_bytes()).decode()
        self.download.value = (
            f'<a download="{saved.name}" href="data:image/png;base64,{data}">'
            f"Download {saved.name}</a> (also saved as {saved.resolve()})"
        )
        return saved

    def _layout(self):
        r = self.runner
        pictures = w.HBox([labelled(self.content_thumb, "content"), labelled(self.style_thumb, "style")])
        essentials = [self.content.widget, self.style.widget, pictures, self.preset, self.live_mode, self.size,
                      self.steps, self.style_weight, self.colours]  # fmt: skip
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
                self.keep_region,
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
        buttons = w.HBox([r.run_button, r.stop_button, self.save_button, self.keep_button])
        judged = w.VBox([self.bars, self.bars_numbers])
        output = w.VBox([buttons, r.progress, r.status, self.live_note, r.preview, w.HBox([r.plot, judged]),
                         self.download, self.strip])  # fmt: skip
        return w.HBox([controls, output])

    def _show_thumbnails(self):
        for picker, image in ((self.content, self.content_thumb), (self.style, self.style_thumb)):
            try:
                image.value = thumbnail(picker.get())
            except StylekitError:
                image.value = b""  # an upload not made yet: the Run button names the problem


def caption(result):
    """A kept image's caption: the settings a student tunes, in a line."""
    s = result.settings
    blocks, content = " ".join(name[4:] for name in s["style_layers"]), ", ".join(s["content_layers"])
    return (f"α {s['content_weight']:.3g} · β {s['style_weight']:.3g} · style {blocks} · content {content} · "
            f"{s['colours']} · step {result.steps_done}")  # fmt: skip
