"""The playground's first tab: a photo restyled as the controls move, in one pass — by a fast model trained for
its style, or for any painting by universal style transfer (whitening and colouring with the shipped decoders).

Fast models are the shipped ones (stylekit/data/models) and any ``*.pt`` model in the folder the playground starts in
(``stylekit train STYLE -o name.pt`` puts one there); paintings are the bundled style images or an upload.
"""

from .. import images, samples
from ..errors import StylekitError, need
from ..fast import cached_fast, shipped_models, stylize
from ..fast.model import model_files
from ..universal import universal
from .widgets import ImagePicker, error_html, labelled, thumbnail

w = need("ipywidgets", "the playground")

FAST, UNIVERSAL = "fast model", "any painting"


class Instant:
    def __init__(self, photo_picker, folder="."):
        self.photo = photo_picker
        trained = [str(p) for p in model_files(folder)]
        self.method = w.ToggleButtons(options=[FAST, UNIVERSAL], value=FAST, description="how")
        self.model = w.Dropdown(options=shipped_models() + trained, description="style")
        self.painting = ImagePicker("painting", samples.styles(), "great_wave")
        self.painting_row = self.painting.widget  # kept: ``widget`` makes a new row each time
        self.size = w.IntSlider(value=512, min=128, max=1024, step=32, description="size", continuous_update=False)
        self.strength = w.FloatSlider(value=1.0, min=0, max=1, step=0.05, description="strength",
                                      continuous_update=False)  # fmt: skip
        self.keep_colours = w.Checkbox(description="keep the photo's colours", indent=False)
        self.result = w.Image(format="png", layout=w.Layout(max_width="640px", display="none"))
        self.photo_thumb, self.style_thumb = (w.Image(format="png", layout=w.Layout(width="120px")) for _ in "ps")
        self.status = w.HTML()
        self.result.add_class("stylekit-instant")
        self.status.add_class("stylekit-instant-status")
        self.method.add_class("stylekit-instant-method")
        controls = (self.method, self.model, self.size, self.strength, self.keep_colours, self.photo.choice,
                    self.photo.upload, self.painting.choice, self.painting.upload)  # fmt: skip
        for control in controls:
            control.observe(lambda _: self.update(), "value")
        self.widget = self._layout()
        self.update()

    def _layout(self):
        note = w.HTML(
            "<small><b>fast model</b>: a network trained once per style paints any photo in one pass (notebook 9); "
            "train your own with <code>stylekit train STYLE.jpg -o mine.pt</code>, then reopen the playground. "
            "<b>any painting</b>: the photo's VGG features get the painting's mean and covariance in closed form, "
            "level by level, and decoders trained on photos only turn them back into pixels (notebook 12).</small>"
        )
        pictures = w.HBox([labelled(self.photo_thumb, "photo"), labelled(self.style_thumb, "style")])
        controls = w.VBox([self.photo.widget, self.method, self.model, self.painting_row, pictures, self.size,
                           self.strength, self.keep_colours, note], layout=w.Layout(width="440px"))  # fmt: skip
        return w.HBox([controls, w.VBox([self.result, self.status])])

    def _fast_model(self):
        name = self.model.value
        if name is None:
            raise StylekitError("no fast model here: train one with 'stylekit train STYLE -o model.pt'")
        return cached_fast(name)

    def update(self):
        """Restyles the photo with the current controls; errors appear in the status line."""
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
                result = universal(photo, style, size=self.size.value, strength=self.strength.value, colours=colours)
                named = f"{self.painting.choice.value} (universal, {len(result.settings['universal'])} levels)"
        except StylekitError as e:
            self.status.value = error_html(str(e))
            return None
        self.photo_thumb.value = thumbnail(photo)
        self.style_thumb.value = b"" if style is None else thumbnail(style)
        self.result.value = images.png_bytes(result.image)
        self.result.layout.display = None
        height, width = result.image.shape[-2:]
        self.status.value = f"{width}×{height} px in {result.seconds:.2f} s · style: {named}"
        return result
