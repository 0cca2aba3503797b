"""Where a warning points: the user's call, however deep in the package it is raised."""

from __future__ import annotations

import os
import sys

__all__ = ["caller_level"]


def caller_level() -> int:
    """The ``stacklevel`` of the first frame outside the package: the user's call.

    Entry points reach the code that warns at different depths (accessor, function,
    LazyFrame, CLI), so a fixed ``stacklevel`` would point inside the package.
    """
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
