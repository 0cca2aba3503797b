"""Memory housekeeping: the cyclic garbage collector paused, freed memory handed back."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause cyclic GC for the block (it would rescan every new dict and list).

    Decoding tens of thousands of JSON records allocates millions of containers, each
    of which triggers collections that find nothing; pausing halves the time. Nothing
    built in the block is cyclic, so nothing is leaked.

    Re-enabling alone would only defer the cost: the first allocation after the block
    collects the youngest generation, which now holds every container built in it (a
    0.1-0.2 s pause after decoding 17,000 records). ``freeze()`` + ``unfreeze()`` moves
    every tracked object to the oldest generation in constant time, so that young
    collection finds nothing to scan; the oldest generation is collected rarely, and
    still is. An application that froze objects itself (before forking workers, say)
    keeps them frozen: then the young collection is left to run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not gc.get_freeze_count():  # never thaw what the application froze
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def release_memory() -> None:
    """Hand memory freed by the C allocators back to the system, where they allow it.

    A LazyFrame run over a million queries frees large temporaries between its stages
    (the distinct values, each chunk of stored records); glibc's malloc and Arrow's pool
    keep such memory for reuse, which is what the process's peak resident size then
    counts. ``malloc_trim`` (glibc) and ``MemoryPool.release_unused`` (pyarrow) return
    it. Elsewhere (another libc, an older pyarrow) this does less, never harm.
    """
    import pyarrow as pa

    release = getattr(pa.default_memory_pool(), "release_unused", None)
    if release is not None:
        release()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """The C library's ``malloc_trim`` (glibc), or None on a system without it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # musl and other libcs have none
        return None
    return trim
