"""Small helpers shared by the course notebooks and the playground: the fast/full size switch and the plots."""

import os

from .errors import need
from .images import to_pil

plt = need("matplotlib.pyplot", "the course")
Figure = need("matplotlib.figure", "the course").Figure

FAST = os.environ.get("STYLEKIT_FAST", "") not in ("", "0")  # set by the test suite, so nbval runs quickly


def pick(full, fast):
    """``full`` for people, ``fast`` under STYLEKIT_FAST=1 (CI)."""
    return fast if FAST else full


def show_images(images, titles=None, columns=None, size=3.0, suptitle=None):
    """A row (or grid) of images: tensors, PIL images or ``Result``s."""
    images = [getattr(i, "image", i) for i in images]
    columns = columns or len(images)
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles or [None] * len(images)):
        ax.imshow(image if not hasattr(image, "detach") else to_pil(image))
        ax.set_title(title or "", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    plt.show()


def loss_figure(histories, labels, terms=("content", "style"), x="step", log=True, panel=(5, 3.5), dpi=None):
    """A figure with one panel per loss term and one line per history (``Result.history`` or the same shape).

    Made without pyplot, so a background thread (the playground) can draw it too.
    """
    fig = Figure(figsize=(panel[0] * len(terms), panel[1]), dpi=dpi)
    for ax, term in zip(fig.subplots(1, len(terms), squeeze=False)[0], terms):
        for history, label in zip(histories, labels):
            values = history[term]
            xs = history["seconds"][: len(values)] if x == "seconds" else range(1, len(values) + 1)
            ax.plot(xs, values, label=label, marker="." if len(values) < 20 else None)
        ax.set(title=f"{term} loss", xlabel=x, ylabel="loss")
        if log:
            ax.set_yscale("log")
        if any(labels):
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_losses(results, labels, terms=("content", "style"), x="step", log=True):
    """``loss_figure`` of ``Result``s, shown in the notebook."""
    from IPython.display import display

    display(loss_figure([r.history for r in results], labels, terms, x, log))


def quality_figure(curves, labels, x="passes", axes=("content", "style")):
    """Judged errors against full-size VGG passes (or seconds), one line per ``judge.quality_curve``."""
    fig = Figure(figsize=(5 * len(axes), 3.5))
    for ax, axis in zip(fig.subplots(1, len(axes), squeeze=False)[0], axes):
        draw_quality(ax, curves, labels, x, axis)
    fig.tight_layout()
    return fig


def draw_quality(ax, curves, labels, x, axis):
    for points, label in zip(curves, labels):
        ax.plot([p[x] for p in points], [p[axis] for p in points], label=label, marker=".")
    ax.set(title=f"judged {axis} error", xlabel="full-size VGG passes" if x == "passes" else x, yscale="log")
    ax.legend(fontsize=8)
