"""Pausing the cyclic garbage collector while many small containers are built."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause cyclic GC for the block (it would rescan every new dict and list).

    Decoding tens of thousands of JSON records allocates millions of containers, each
    of which triggers collections that find nothing; pausing halves the time. Nothing
    built in the block is cyclic, so nothing is leaked.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
