"""The playground's reconstructions tab: what one layer keeps of the content, what a set of layers keeps of the
style (notebooks 2 and 3)."""

from ..errors import StylekitError, need
from ..transfer import transfer
from ..vgg import LAYERS, gatys_style_layers
from .runner import Runner
from .widgets import error_html

w = need("ipywidgets", "the playground")


class Reconstructions:
    """Takes its network and images from the style transfer tab, so both tabs show the same picture."""

    def __init__(self, transfer_tab, blocking=False):
        self.transfer_tab = transfer_tab
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
        p = self.transfer_tab
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
