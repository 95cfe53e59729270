"""Small helpers shared by the course notebooks and the playground: the fast/full size switch, the plots and the
exercises' self-checks. Each lesson's own checks live in ``lessonNN.py`` beside this file, out of the student's
sight: their reference answers are written differently from stylekit's (and from the worked solutions)."""

import dataclasses
import json
import os
import sys
import types
import weakref
from contextlib import contextmanager
from pathlib import Path

import torch

from .. import stages
from ..errors import need
from ..images import to_pil
from ..result import sealed
from ..samples import DATA
from ..settings import Settings

plt = need("matplotlib.pyplot", "the course")
Figure = need("matplotlib.figure", "the course").Figure

FAST = os.environ.get("STYLEKIT_FAST", "") not in ("", "0")  # set by the test suite, so nbval runs quickly


def pick(full, fast):
    """``full`` for people, ``fast`` under STYLEKIT_FAST=1 (CI)."""
    return fast if FAST else full


def check(answer, right, hint, prediction=None):
    """An exercise's self-check. While the scaffold still holds ``...`` it says so; otherwise it prints "Right."
    when ``right(answer)`` holds and raises with ``hint`` when not, so that a worked solution (notebooks/solutions/,
    run by the test suite) that stops passing its own check fails. ``prediction``: (the first letter predicted, as
    ``predicted`` keeps it; the right letter) of a "predict first" question asked with the exercise. A wrong one is
    said, not raised: nothing handed in later changes it, and the notebook goes on."""
    if answer is ...:
        print("Not done yet: fill in the cell above where it says `...`, run it, then run this cell again.")
        return False
    if not right(answer):
        raise AssertionError(f"Not yet: {hint}")
    if prediction and prediction[0] != prediction[1]:
        print(
            f"Right, but for the prediction: you predicted ({prediction[0]}), and what was measured says otherwise; "
            "the text below says why. A prediction counts once: the first letter handed in is kept."
        )
        return False
    print("Right.")
    return True


def predicted(key, letter, choices="abcd"):
    """The first letter handed in for the "predict first" question ``key`` (a lesson's check), or ``...`` while
    there is none. It is kept in a file in the notebook's folder (``STYLEKIT_PREDICTIONS`` names another), so that
    neither trying the letters in turn nor restarting the kernel changes a prediction once made."""
    if letter is ...:
        return ...
    letter = str(letter).strip().lower().strip("()")
    if len(letter) != 1 or letter not in choices:
        raise AssertionError(f"Not yet: the prediction is one letter of {', '.join(map(repr, choices))}")
    path = Path(os.environ.get("STYLEKIT_PREDICTIONS") or ".stylekit-predictions.json")
    kept = json.loads(path.read_text()) if path.exists() else {}
    if key not in kept:
        kept[key] = letter
        path.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
    return kept[key]


class Borrowed(Exception):
    """Raised by a stylekit function a check has made unavailable (``without``)."""


_OWN = {}  # (module, name) -> a copy of a lesson's private function while refused: its lesson may still call it
_CHECKING = []  # the pieces whose answers are running (``piece``'s keys): their own fallbacks refuse meanwhile
_SERVING = weakref.WeakKeyDictionary()  # a blank piece's copy of its fallback -> that piece's key
_REFUSING = []  # per ``without`` running: ({id(code): (name, the lesson that may call it)}, what it refused)


def _at_home(frame, module):
    """Whether ``frame`` runs code of ``module``'s own file (a lesson's checks), not merely with its globals."""
    home = sys.modules.get(module)
    return frame.f_globals.get("__name__") == module and frame.f_code.co_filename == getattr(home, "__file__", 0)


def _refused(*args, **kwargs):  # the code a refused function runs, with that function's own name and globals
    course, frame = __import__("sys").modules["stylekit.course"], __import__("sys")._getframe()
    key = (frame.f_globals["__name__"], frame.f_code.co_name)
    if key in course._OWN and course._at_home(frame.f_back, key[0]):
        return course._OWN[key](*args, **kwargs)  # the check's own cases call it, not the answer
    raise course.Borrowed("stylekit's " + key[1])


def _refusing_code(frame, event, arg):
    """The profiler while a ``without`` runs: a call of a refused function's code through another function object
    (a copy of it, a class's method) raises ``Borrowed``, unless a lesson's own checks make it, or the fallback of
    a blank piece other than the one being checked serves it. What it refused is kept, so that an answer that
    catches the refusal (CPython drops a profiler that raises) is refused all the same."""
    if event != "call":
        return
    found = [(codes[id(frame.f_code)], refusals) for codes, refusals in _REFUSING if id(frame.f_code) in codes]
    if not found:
        return
    (name, home), refusals = found[0]
    caller = frame.f_back
    if caller is not None:
        if caller.f_code in _SWAPPED or (home and _at_home(caller, home)):
            return  # ``_refused`` (which asked already) or the lesson's own cases
        if caller.f_code is _SERVES:
            served = _SERVING.get(caller.f_locals.get("function"))
            if served is not None and served not in _CHECKING:
                return
    refusals.append(f"stylekit's {name}")
    raise Borrowed(refusals[-1])


_SWAPPED = set()  # the refusing codes ``without`` puts in refused functions


def _codes(thing):
    """{code: name} of what running ``thing`` runs: a function's code, a class's own methods' (stylekit's
    classes it derives from included), named after the class."""
    if isinstance(thing, type):
        methods = {}
        for klass in thing.__mro__:
            if klass.__module__.split(".")[0] != "stylekit":
                continue
            for value in vars(klass).values():
                value = getattr(value, "__func__", getattr(value, "fget", value))  # static, class, property
                if isinstance(value, types.FunctionType):
                    methods[value.__code__] = thing.__name__
        return methods
    function = getattr(thing, "__wrapped__", thing)  # functools.cache's and the like
    return {function.__code__: thing.__name__} if isinstance(function, types.FunctionType) else {}


@contextmanager
def without(functions, namespace, own=()):
    """Makes stylekit's ``functions`` raise ``Borrowed`` while the block runs, so that a check can tell an answer
    that does the work from one that hands it to the library. A plain function's code is swapped, so that every
    reference to it refuses (one saved in a default argument or a ``partial`` too); anything else (a class, a
    closure) is swapped by name wherever a loaded stylekit module holds it, and in ``namespace`` (the notebook's,
    where ``from stylekit import Objective`` put one). A profiler refuses their code run any other way: a copy
    of a function, a class kept under another name (its methods). ``own``: a lesson's private functions (its
    references), refused to every caller but their own lesson."""
    codes = {f: f.__code__ for f in [*functions, *own] if isinstance(f, types.FunctionType) and not f.__closure__}
    held = {(f.__module__, f.__name__): _copy(f) for f in own if f in codes}
    named = [f for f in functions if f not in codes]
    kept = {}  # the codes refused by id (quick to look up), kept alive meanwhile
    for f in [*functions, *own]:
        kept.update({code: (name, f.__module__ if f in own else None) for code, name in _codes(f).items()})

    def refusing(function):
        def refused(*args, **kwargs):
            raise Borrowed(f"stylekit's {function.__name__}")

        return refused

    originals = {id(f): f for f in named}
    stubs = {id(f): refusing(f) for f in named}

    def swap(table):  # every place that holds one of ``table``'s keys gets its value
        places = [vars(m) for name, m in list(sys.modules.items()) if name.split(".")[0] == "stylekit" and m]
        for place in [*places, namespace]:
            for key, value in list(place.items()):
                if id(value) in table:
                    place[key] = table[id(value)]

    for function in codes:
        function.__code__ = _refused.__code__.replace(co_name=function.__name__)
        _SWAPPED.add(function.__code__)
    _OWN.update(held)
    swap(stubs)
    refusals, profiler = [], sys.getprofile()
    _REFUSING.append(({id(code): found for code, found in kept.items()}, refusals))
    hooked = profiler is None or callable(profiler)  # a profiler in C (cProfile's) could not be put back: kept
    if hooked:
        sys.setprofile(_refusing_code)
    try:
        yield
        if hooked and sys.getprofile() is not _refusing_code and not refusals:
            refusals.append("sys.setprofile, which switches the check's refusals off")
    except Exception:
        if refusals:  # the answer caught a refusal, then failed otherwise
            raise Borrowed(refusals[0]) from None
        raise
    finally:  # a stub a lazy import cached meanwhile (stylekit.Objective's first use) is put back too
        if hooked:
            sys.setprofile(profiler)
        _REFUSING.pop()
        swap({id(stub): originals[key] for key, stub in stubs.items()})
        for function, code in codes.items():
            function.__code__ = code
        for key in held:
            _OWN.pop(key, None)
    if refusals:  # the answer caught a refusal and went on
        raise Borrowed(refusals[0])


def piece(answer, problems, what, library, fallback=None):
    """The check of a core piece the student wrote: returns the function the cells below should use.

    ``problems(function)`` tries ``function`` on cases of its own and returns what is off (a line), or None. The
    answer runs with ``library`` (stylekit's functions for that piece) and the lesson's private functions (its
    references) made unavailable, so handing the work to them is refused. While the answer still raises
    NotImplementedError (the scaffold), this says "not done yet" and returns ``fallback`` (by default
    ``library[0]``; stylekit's version with the piece's signature), which says so the first time a cell below
    uses it and refuses to serve while this piece's own check runs (an answer that hands the work to it is
    refused); a wrong answer raises, naming what is off."""

    lesson = problems.__module__
    key = f"{lesson}.{problems.__qualname__}"  # which piece: the student may name the function otherwise
    own = [f for k, f in vars(sys.modules[lesson]).items() if k.startswith("_") and isinstance(f, types.FunctionType)]
    own = [f for f in own if f.__module__ == lesson]

    def guarded(*args, **kwargs):
        _CHECKING.append(key)
        try:
            with without(library, answer.__globals__, own):
                return answer(*args, **kwargs)
        finally:
            _CHECKING.pop()

    name = answer.__name__
    try:
        problem = problems(guarded)
    except NotImplementedError:
        print(f"Not done yet: fill in `{name}` above and run it again. Until then the cells below use stylekit's.")
        return _saying(fallback or library[0], f"(`{name}` is stylekit's here: yours is not done yet)", key, name)
    except Borrowed as borrowed:
        problem = f"`{name}` calls {borrowed}; write {what} yourself, in PyTorch"
    except Exception as error:  # the student's code failing is an answer that is off, said in one line
        problem = f"`{name}` raised {type(error).__name__}: {error}"
    if problem:
        raise AssertionError(f"Not yet: {problem}")
    print(f"Right. The cells below use your `{name}`.")
    return answer


def forged(made, by="stylekit.transfer"):
    """A line when ``made`` is not what ``by`` returned, as it returned it, else None. ``transfer`` and
    ``train_fast`` seal what they return (``result.seal``: a digest keyed by this process's secret over the settings,
    the history, the image or the weights), so that a run relabelled with ``dataclasses.replace``, a setting or a
    history set by hand, another image or a record written from scratch is told from the run asked for."""
    if sealed(made):
        return None
    return f"it is not what {by} returned, as it returned it: hand in the run itself, its record unedited"


def loss_problem(result, content, style, mask=None):
    """What is off between a run's image and its record, or None: the check scores ``result.image`` with its own
    objective (the run's settings at its last scale, fp32 on the CPU). From the photo, the image should score about
    the loss the history ends at (up to 5×: the history's last loss is the step's before it). From noise, the
    pixels wander outside [0, 1] and the clipped image scores well above the history, so there it should score
    below half of the start's. Either way it is not the start itself. First of all it is what ``transfer`` returned,
    unchanged (``forged``): a record written or edited by hand, or an image that is not the run's, does not pass.
    ``content``, ``style`` and ``mask`` are the lesson's inputs, as ``transfer`` took them."""
    problem = forged(result)
    if problem:
        return problem
    image, history = getattr(result, "image", None), getattr(result, "history", None)
    if not torch.is_tensor(image) or not isinstance(history, dict) or not history.get("total"):
        return "it should be what stylekit.transfer returns"
    names = {f.name for f in dataclasses.fields(Settings)}
    s = Settings(**{k: v for k, v in result.settings.items() if k in names})
    s = s.replace(scales=1, steps=1, precision="fp32", device="cpu")  # its last scale, the image's
    (stage,) = stages.build(s, content, style, mask)
    start = stages.start_image(s, stage)
    if start.shape != image.shape or float((image.float() - start).abs().mean()) < 1e-3:
        return "its image is not the run's: it is where the run starts, or of another size"
    with torch.no_grad():
        scored, started = (float(stage.objective(x.float())["total"]) for x in (image, start))
    if s.init == "noise" and scored > 0.5 * started:
        return f"its image scores a loss of {scored:.3g}, hardly below the {started:.3g} of where it started"
    if s.init != "noise" and scored > 5 * history["total"][-1] + 1e-6:
        return f"its image scores a loss of {scored:.3g}, not the {history['total'][-1]:.3g} its history ends at"
    return None


def _copy(function):
    """A plain function with ``function``'s code as it is now, its defaults and its globals."""
    copied = types.FunctionType(
        function.__code__, function.__globals__, function.__name__, function.__defaults__, function.__closure__
    )
    copied.__kwdefaults__ = function.__kwdefaults__
    return copied


def _saying(function, note, piece=None, name=None):
    """``function``, saying ``note`` the first time it is used: a blank piece's stand-in. While the answer of
    ``piece`` (its key) runs it refuses, naming ``name``, so that an answer cannot hand that piece's work to it."""
    if isinstance(function, types.FunctionType):  # its own code: a later check refusing the original spares it
        function = _copy(function)
        _SERVING[function] = piece
    said = []

    def said_once(*args, **kwargs):
        if piece is not None and piece in _CHECKING:
            raise Borrowed(f"stylekit's {name}")
        if not said:
            print(note)
            said.append(True)
        return function(*args, **kwargs)

    said_once.__name__ = said_once.__qualname__ = name or getattr(function, "__name__", "said_once")
    return said_once


_SERVES = _saying(None, "").__code__  # a stand-in's code: what it calls it serves


def show_expected(name):
    """Shows ``stylekit/data/expected/<name>.jpg``: what the long cell below gives at full size, saved from the
    project's own run (stylekit/data/README.md), so that a student waiting for it can tell whether theirs worked."""
    from IPython.display import Image, display

    print("At full size it should look like this (the project's own run; yours will differ in detail):")
    display(Image(filename=str(DATA / "expected" / f"{name}.jpg")))


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


def judged_figure(scores, panel=(5, 2.4), dpi=None):
    """One bar per judged layer (``judge``'s scores): its Gram error, the Gatys layers and the unused ones apart."""
    from ..judge import GATYS, UNUSED

    fig = Figure(figsize=panel, dpi=dpi)
    ax = fig.subplots()
    for layers, colour, label in ((GATYS, "tab:blue", "Gatys layers"), (UNUSED, "tab:grey", "unused layers")):
        ax.bar(layers, [scores[layer] for layer in layers], color=colour, label=label)
    ax.set(title=f"judged Gram errors (content: {scores['content']:.3g})", ylabel="relative error")
    ax.tick_params(axis="x", labelsize=7, labelrotation=45)
    ax.legend(fontsize=7)
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
