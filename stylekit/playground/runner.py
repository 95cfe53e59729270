"""What every optimisation tab shares: one background run at a time, its preview, loss plot, progress and status.

Runs happen in a background thread so the page stays responsive; ``blocking=True`` runs them in the click
handler instead (tests).
"""

import io
import threading
import time

from .. import images
from ..course import loss_figure
from ..errors import StylekitError, need
from .widgets import error_html

w = need("ipywidgets", "the playground")


def png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _loss_plot(history):
    terms = [term for term in ("content", "style", "tv") if any(history.get(term, []))]
    return png(loss_figure([history], [None], terms or ["content"], panel=(2.6, 2.4), dpi=80))


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
        """``job(callback, stop)`` runs a transfer of ``steps`` steps (0: a live run, until Stop); returns False if
        a run is already going."""
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
        elapsed = time.perf_counter() - self._started
        live, due = not self.progress.max, step % self.preview_every == 0 or step == 1
        if live:  # every step's image, the controls steering
            self.status.value = (
                f"Live: step {step} · {elapsed:.0f} s · total loss {losses['total']:.4g} · move any control; "
                "Stop keeps the image"
            )
        else:
            self.progress.value = step
            eta = elapsed / step * (self.progress.max - step)
            self.status.value = (
                f"Running: step {step}/{self.progress.max} · {elapsed:.0f} s elapsed · "
                f"about {eta:.0f} s left · total loss {losses['total']:.4g}"
            )
        if live or due:
            self.show_image(image)
        if due:
            self._show_plot(self.history)

    def _show(self, image, history):
        self.show_image(image)
        self._show_plot(history)

    def show_image(self, image):
        self.preview.value, self.preview.layout.display = images.png_bytes(image), None

    def _show_plot(self, history):
        self.plot.value, self.plot.layout.display = _loss_plot(history), None

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
