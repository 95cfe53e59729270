"""What every step loop shares — transfer's, live's, a training's, video's frames: the record of each step (history,
time, progress bar), a stop asked for by an event, and Ctrl-C. The loops themselves stay plain ``for`` loops.

    with Steps(total, stop=event) as steps:
        for ...:
            terms = ...                  # one step
            steps.record(terms)
            if steps.stopped():
                break
    steps.ended                          # None (ran to the end), 'stopped' (the event) or 'interrupted' (Ctrl-C)
"""

import math
import time

import torch
from tqdm.auto import tqdm

from .errors import SettingsError


class Steps:
    """The steps of one run. ``history`` (a dict of lists) gets every recorded value and ``seconds`` since the first
    step; given one with steps in it (a training resumed), the count and the clock carry on from there."""

    def __init__(self, total=None, history=None, *, stop=None, progress=True, desc=None, unit="step"):
        self.history = {} if history is None else history
        seconds = self.history.setdefault("seconds", [])
        self.done, self.stop, self.ended = len(seconds), stop, None
        self.started = time.perf_counter() - (seconds[-1] if seconds else 0.0)
        self.bar = tqdm(total=total, initial=self.done, desc=desc, unit=unit, disable=not progress)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        """Ctrl-C ends the loop, not the program: ``ended`` says so, and what the loop made so far is kept."""
        self.bar.close()
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.ended = "interrupted"
            return True
        return False

    def record(self, values, **more):
        """One step done: ``values`` and ``more`` appended to the history as they are (a tensor is read at the end,
        ``floats``: reading one now would wait for a GPU every step), the time since the first step, the bar on."""
        for k, v in {**values, **more}.items():
            self.history.setdefault(k, []).append(v)
        self.history["seconds"].append(time.perf_counter() - self.started)
        self.done += 1
        self.bar.update(1)

    def checked(self, values, step=None):
        """``values`` as floats (``read``), refusing a loss that is no longer finite (an ``lr`` too large)."""
        values = read(values)
        if not all(map(math.isfinite, values.values())):
            raise SettingsError(f"the loss became {values['total']} at step {step or self.done}; lower lr")
        return values

    def show(self, values):
        """``values`` beside the progress bar."""
        self.bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()})

    def label(self, text):
        """What the bar says the loop is doing now (a scale's size)."""
        self.bar.set_description(text)

    def advance(self):
        """A step done before this run (a video frame found finished): the bar moves on, nothing is recorded."""
        self.bar.update(1)

    def skip(self, steps):
        """``steps`` planned steps will not run (a scale that converged early): the bar's total shrinks."""
        self.bar.total -= steps

    def stopped(self):
        """True when the stop event is set (``ended`` is then 'stopped')."""
        if self.stop is not None and self.stop.is_set():
            self.ended = "stopped"
            return True
        return False

    def floats(self):
        """The history with every value a float, tensors read at once."""
        return {
            k: torch.stack(v).float().tolist() if v and torch.is_tensor(v[0]) else v for k, v in self.history.items()
        }


def read(values):
    """``values`` (a dict) as floats, its tensors read together: one wait for a GPU, not one per value."""
    tensors = [k for k, v in values.items() if torch.is_tensor(v)]
    floats = torch.stack([values[k].detach().double() for k in tensors]).tolist() if tensors else []
    got = dict(zip(tensors, floats))
    return {k: got[k] if k in got else float(v) for k, v in values.items()}
