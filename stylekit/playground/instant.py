"""The playground's first tab: a fast model restyles a photo as the controls move (one forward pass, < 1 s).

Models are the shipped ones (data/models) and any ``*.pt`` model in the folder the playground starts in
(``stylekit train STYLE -o name.pt`` puts one there).
"""

from pathlib import Path

from .. import images
from ..errors import StylekitError, need
from ..fast import cached_fast, shipped_models, stylize
from .widgets import error_html, labelled, thumbnail

w = need("ipywidgets", "the playground")


class Instant:
    def __init__(self, photo_picker, folder="."):
        self.photo = photo_picker
        trained = sorted(str(p) for p in Path(folder).glob("*.pt") if not p.name.endswith(".checkpoint.pt"))
        self.model = w.Dropdown(options=shipped_models() + trained, description="style")
        self.size = w.IntSlider(value=512, min=128, max=1024, step=32, description="size", continuous_update=False)
        self.strength = w.FloatSlider(value=1.0, min=0, max=1, step=0.05, description="strength",
                                      continuous_update=False)  # fmt: skip
        self.keep_colours = w.Checkbox(description="keep the photo's colours", indent=False)
        self.result = w.Image(format="png", layout=w.Layout(max_width="640px", display="none"))
        self.photo_thumb, self.style_thumb = (w.Image(format="png", layout=w.Layout(width="120px")) for _ in "ps")
        self.status = w.HTML()
        self.result.add_class("stylekit-instant")
        self.status.add_class("stylekit-instant-status")
        for control in (self.model, self.size, self.strength, self.keep_colours, self.photo.choice, self.photo.upload):
            control.observe(lambda _: self.update(), "value")
        self.widget = self._layout()
        self.update()

    def _layout(self):
        note = w.HTML(
            "<small>A network trained once per style paints any photo in one pass (notebook 9). "
            "Train your own: <code>stylekit train STYLE.jpg -o mine.pt</code>, then reopen the playground.</small>"
        )
        pictures = w.HBox([labelled(self.photo_thumb, "photo"), labelled(self.style_thumb, "style")])
        controls = w.VBox([self.photo.widget, self.model, pictures, self.size, self.strength, self.keep_colours, note],
                          layout=w.Layout(width="420px"))  # fmt: skip
        return w.HBox([controls, w.VBox([self.result, self.status])])

    def _fast_model(self):
        name = self.model.value
        if name is None:
            raise StylekitError("no fast model here: train one with 'stylekit train STYLE -o model.pt'")
        return cached_fast(name)

    def update(self):
        """Restyles the photo with the current controls; errors appear in the status line."""
        try:
            model, photo = self._fast_model(), self.photo.get()
            colours = "luminance" if self.keep_colours.value else "style"
            result = stylize(model, photo, self.size.value, self.strength.value, colours)
        except StylekitError as e:
            self.status.value = error_html(str(e))
            return None
        self.photo_thumb.value = thumbnail(photo)
        self.style_thumb.value = images.png_bytes(model.thumbnail) if model.thumbnail is not None else b""
        self.result.value = images.png_bytes(result.image)
        self.result.layout.display = None
        height, width = result.image.shape[-2:]
        self.status.value = f"{width}×{height} px in {result.seconds:.2f} s · style: {model.style}"
        return result
