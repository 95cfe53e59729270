"""Errors a user can fix. The CLI prints their message as one line and exits 2."""


class StylekitError(Exception):
    pass


class SettingsError(StylekitError, ValueError):
    """A setting is out of range, unknown, or inconsistent with another."""


class ImageError(StylekitError, ValueError):
    """A file cannot be used as an image (missing, unreadable, not an image, too small, too large)."""


class WeightsUnavailable(StylekitError):
    """A model's weights cannot be found here and cannot be downloaded."""
