"""Small helpers shared by the course notebooks: the fast/full size switch and the plots they repeat."""
import os

import matplotlib.pyplot as plt

from .images import to_pil

FAST = os.environ.get("STYLEKIT_FAST", "") not in ("", "0")  # set by the test suite so nbval runs in minutes


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


def plot_losses(results, labels, terms=("content", "style"), x="step", log=True):
    """One panel per loss term, one line per result; ``x`` is 'step' or 'seconds'."""
    fig, axes = plt.subplots(1, len(terms), figsize=(5 * len(terms), 3.5), squeeze=False)
    for ax, term in zip(axes[0], terms):
        for result, label in zip(results, labels):
            values = result.history[term]
            xs = result.history["seconds"] if x == "seconds" else range(1, len(values) + 1)
            ax.plot(xs, values, label=label)
        ax.set(title=f"{term} loss", xlabel="seconds" if x == "seconds" else "step", ylabel="loss")
        if log:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()
