"""Widgets the playground's tabs share: image pickers with uploads, thumbnails, and how errors are shown."""

import html
import io

from .. import images, samples
from ..errors import StylekitError, need

w = need("ipywidgets", "the playground")

UPLOAD = "upload…"
NONE = "none"


def uploaded(upload):
    """(name, bytes) of a FileUpload's latest file, for ipywidgets 8 (tuple of dicts) and 7 (dict by name)."""
    value = upload.value
    if not value:
        return None
    if isinstance(value, dict):  # ipywidgets 7
        name, item = list(value.items())[-1]
        return name, bytes(item["content"])
    item = value[-1]
    return item["name"], bytes(item["content"])


def error_html(message):
    """How every error appears in the page: one line, escaped, never a traceback."""
    return f"<b>Error:</b> {html.escape(message)}"


class ImagePicker:
    """A bundled sample, an uploaded file, (``optional``) none, or one of ``named``, {label: a name ``get`` gives
    as it is} (a mask's "person")."""

    def __init__(self, label, names, value, optional=False, named=None):
        self.named = dict(named or {})
        plain = ([NONE] if optional else []) + names
        self.choice = w.Dropdown(options=[(x, x) for x in plain] + list(self.named.items()) + [(UPLOAD, UPLOAD)],
                                 value=value, description=label)  # fmt: skip
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="Upload")

    def get(self):
        """A path, a PIL image, a name of ``named`` or None; raises StylekitError for a missing or unreadable
        upload."""
        if self.choice.value == NONE:
            return None
        if self.choice.value in self.named.values():
            return self.choice.value
        if self.choice.value != UPLOAD:
            return samples.sample(self.choice.value)
        file = uploaded(self.upload)
        if file is None:
            raise StylekitError(f"{self.choice.description}: choose a file to upload first")
        name, data = file
        return images.open_image(io.BytesIO(data), name=name)

    @property
    def widget(self):
        return w.HBox([self.choice, self.upload])


def thumbnail(image, side=160):
    """PNG bytes of ``image`` (path, PIL image or tensor) with its longest side ``side``."""
    return images.png_bytes(images.as_tensor(image, side, "thumbnail"))


def labelled(image, label):
    return w.VBox([image, w.HTML(f"<small>{label}</small>")])
