"""An ipywidgets playground in three tabs: instant results that follow the controls (a fast model, or any painting
by universal style transfer or Magenta's network, then refined), style transfer with every setting, and
reconstructions from single layers.

    from stylekit.playground import Playground
    Playground().widget          # in JupyterLab, Colab, or served by Voilà (notebooks/07_playground.ipynb)

Works with ipywidgets 7 (Colab) and 8. One module per tab; ``runner`` and ``widgets`` are what they share.
"""

from .. import samples
from ..errors import need
from .instant import Instant
from .reconstructions import Reconstructions
from .transfer_tab import TransferTab
from .widgets import ImagePicker

__all__ = ["Instant", "Playground", "Reconstructions", "TransferTab"]

w = need("ipywidgets", "the playground")


class Playground:
    def __init__(self, blocking=False):
        # Instant first: a student's first move gets an answer in under a second.
        self.instant = Instant(ImagePicker("photo", samples.contents(), "chelsea"), blocking=blocking)
        self.transfer = TransferTab(blocking)
        self.reconstruct = Reconstructions(self.transfer, blocking)
        tabs = {"Instant": self.instant, "Style transfer": self.transfer,
                "Reconstructions": self.reconstruct}  # fmt: skip
        self.widget = w.Tab(children=[tab.widget for tab in tabs.values()])
        for i, (title, tab) in enumerate(tabs.items()):
            self.widget.set_title(i, title)
            tab.widget.add_class(f"stylekit-tab-{i}")
