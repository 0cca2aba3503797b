"""Small Arrow helpers shared by the pipeline's stages (no salesql_frames imports)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["join_text", "one_array", "result_pool"]


def join_text(*parts: str | pa.Array) -> pa.Array:
    """Element-wise concatenation of text arrays and literals, as ``string``.

    Null where any array is null.

    Examples:
        >>> join_text("li=", pa.array(["a", None])).to_pylist()
        ['li=a', None]
    """
    arrays = [part if isinstance(part, str) else part.cast(pa.string()) for part in parts]
    return pc.binary_join_element_wise(*arrays, "")


def one_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``column`` as one array, without a copy when it already is one chunk.

    ``ChunkedArray.combine_chunks`` copies even a single chunk (pyarrow 26 does).

    Examples:
        >>> chunk = pa.array([1, 2])
        >>> same = one_array(pa.chunked_array([chunk]))
        >>> same.buffers()[1].address == chunk.buffers()[1].address
        True
        >>> one_array(pa.chunked_array([[1], [2]])).to_pylist()
        [1, 2]
    """
    if isinstance(column, pa.Array):
        return column
    if column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks()


def result_pool() -> pa.MemoryPool:
    """The pool of what outlives a step: the caller's result columns, a LazyFrame's table.

    The C library's malloc, not Arrow's default pool. mimalloc (the default on Linux)
    asks for transparent huge pages, and a virtual machine can be slow to hand out fresh
    ones: the first 100,000-row re-run in a process took 3.1 s with the result columns
    there, 1.0 s with them from malloc (0.6 s once warm, either way). And long-lived
    pieces among a chunk's temporaries keep the default pool's freed pages from going
    back to the system (about 0.1 GB more at the peak of a LazyFrame over a million
    answers).
    """
    return pa.system_memory_pool()
