"""The regions a run names in its content image instead of giving a mask file: ``mask="person"`` or
``"background"``, ``keep="face"`` or ``"person"``. ``stylekit.segment`` finds them once per run, whichever asks
first, and what found them goes into the result's settings."""

import os
from pathlib import Path

from .errors import SettingsError
from .images import as_list
from .segment import NAMES, REGIONS


def check_name(value, what, names):
    """``value``, refused in one line when it is text that is neither one of ``names`` nor a file. Text with a
    suffix or a folder in it is a path: a missing file is left to the image reader, which names it."""
    if not isinstance(value, str) or value in names or Path(value).is_file() or Path(value).suffix or os.sep in value:
        return value
    raise SettingsError(f"{what} must be {', '.join(names)} or an image file, not {value!r}")


class Regions:
    """The named regions of one content image (a path, PIL image or tensor), segmented on first use."""

    def __init__(self, content):
        self.content, self.found = content, None

    def mask(self, source):
        """A style's mask: the content's region for a name in ``NAMES``, else ``source`` as given."""
        named = isinstance(check_name(source, "mask", NAMES), str) and source in NAMES
        return self._region(source) if named else source

    def masks(self, mask):
        """Every mask of ``mask`` (one, a list, or None) resolved: a list, or None when there are none."""
        return [self.mask(m) for m in as_list(mask)] or None

    def keep(self, keep):
        """``Settings.keep``'s region: the content's for a name in ``REGIONS``, the file's path, or None for ''."""
        if not keep:
            return None
        return self._region(keep) if check_name(keep, "keep", REGIONS) in REGIONS else keep  # keep is text

    def described(self):
        """What found the regions, for the result's settings: {} when none was named."""
        return {} if self.found is None else {"segmentation": self.found.source}

    def _region(self, name):
        if self.content is None:
            raise SettingsError(f"{name!r} is a region of the content image, and there is none")
        if self.found is None:
            from .segment import segment  # its classical path needs the optional packages

            named = f" {self.content}" if isinstance(self.content, (str, Path)) else ""
            self.found = segment(self.content, name=f"the content image{named}")
        return self.found.region(name)
