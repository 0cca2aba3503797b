"""Decode raw API items (JSON dicts) into Arrow struct arrays of a record type.

One job: `decode` turns a sequence of items into struct arrays typed by a record
type of `salesql_frames._schema`, one row per item, per chunk of
``_constants.CHUNK_ROWS`` items. Shaping those arrays into output columns is
`salesql_frames._flatten`'s job.

1. **Fast path**: ``pyarrow.array(chunk, type=record_type)`` converts the raw items
   in C++ against an explicit struct type naming only the keys read (checked: pyarrow
   ignores keys the type does not name and turns missing keys into nulls). The type
   also reads ``error`` and the envelope key: rows with an ``error`` become null rows,
   and a chunk holding a ``{"person": {...}}`` envelope takes the tolerant path.
2. **Tolerant path**, only for a chunk where the fast path raised (a wrongly typed
   value, a non-mapping item) or saw an envelope: each item is mapped to a dict or
   None (None, non-mappings and items whose ``error`` is set give all-null rows;
   envelopes are unwrapped), sanitized in Python by converters compiled from the same
   struct type, and converted the same way. Coercions: int-like strings and finite
   floats -> int (floats truncate, as pyarrow does); ``"true"``/``"false"``/
   ``"yes"``/``"no"``/``"1"``/``"0"`` and 0/1 -> bool; numbers and booleans where a
   string is expected -> their JSON spelling; timestamp strings of digits or ISO 8601
   -> epoch milliseconds; a plain-string location -> the ``LOCATION_TEXT`` field; a
   non-list where a list is expected -> a null list (no elements); non-dict list
   entries -> skipped; anything else unusable -> null.

Null list entries are kept by the fast path and skipped by the tolerant one; the
shaping step drops them, so both paths give identical tables (tested).

Answers a re-run reads from the result store come as `RawRecord` texts (parsed by
``pyarrow.json`` straight into the record type, ``_from_json``) or, when the store kept
their columnar form, as `StoredRow` rows of an array this module made when they were
stored (``_from_stored``: one ``take``, nothing parsed).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from . import _constants as C
from ._caller import caller_level
from ._exceptions import StoreWarning
from ._gc import paused_gc
from ._models import RawRecord, StoredRow
from ._schema import EPOCH_MS_METADATA, ERROR_KEY, LOCATION_TEXT

__all__ = ["decode", "project"]

#: What ``pyarrow.array`` raises on a value that does not fit the record type.
_FAST_PATH_ERRORS: Final = (pa.ArrowException, TypeError, ValueError, OverflowError)

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_TRUE_STRINGS: Final = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_STRINGS: Final = frozenset({"false", "f", "no", "n", "0"})
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MILLISECOND: Final = dt.timedelta(milliseconds=1)

Converter = Callable[[Any], Any]


def decode(
    items: Sequence[Any], record_type: pa.StructType, envelope: str, *, tolerant: bool = False
) -> Iterator[pa.StructArray]:
    """Convert items to struct arrays of ``record_type``, at most `CHUNK_ROWS` rows each.

    Args:
        items: API result items.
        record_type: The record struct type (`person_record_type` or
            ``ORGANIZATION_RECORD_TYPE``).
        envelope: Key of the single-call envelope (``"person"``/``"organization"``),
            unwrapped on the tolerant path.
        tolerant: Skip the fast path and sanitize every chunk in Python (slower; tests
            compare both paths).

    Yields:
        Struct arrays, in order, one row per item: null where the item is null, not a
        mapping or an error.
    """
    records = items if isinstance(items, (list, tuple)) else list(items)
    for start in range(0, len(records), C.CHUNK_ROWS):
        taken = _from_stored(records[start : start + C.CHUNK_ROWS], record_type, envelope,
                             tolerant)
        if taken is not None:
            yield taken
            continue
        stored = [] if tolerant else _from_json(records[start : start + C.CHUNK_ROWS],
                                                 record_type, envelope)
        if stored:
            yield from stored
            continue
        chunk = _loaded(records[start : start + C.CHUNK_ROWS])
        arrays = [] if tolerant else _fast(chunk, record_type, envelope)
        if not arrays:
            sanitize = _sanitizer(record_type)
            clean = [sanitize(_prepare_one(item, envelope)) for item in chunk]
            array = pa.array(clean, type=record_type)
            arrays = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        yield from arrays


def _from_stored(
    chunk: Sequence[Any], record_type: pa.StructType, envelope: str, tolerant: bool
) -> pa.StructArray | None:
    """Take a chunk's `StoredRow` items from their pools; None if it holds none.

    The rows were decoded when they were stored (by `decode` itself, with the kind's full
    record type): they are projected onto ``record_type`` and taken, with no parsing.
    The chunk's other items (None, dicts, texts) are decoded as usual, and the parts put
    back in the chunk's order.
    """
    rows = [item for item in chunk if type(item) is StoredRow]
    if not rows:
        return None
    pool = rows[0].pool
    if len(rows) + chunk.count(None) == len(chunk) and all(row.pool is pool for row in rows):
        # the usual re-run: every row from one look-up (and not-found Nones)
        indices = [None if item is None else item.index for item in chunk]
        return project(pool, record_type).take(pa.array(indices, type=pa.int64()))
    pools: dict[int, tuple[pa.StructArray, list[int], list[int]]] = {}
    others: list[int] = []
    for position, item in enumerate(chunk):
        if type(item) is StoredRow:
            group = pools.get(id(item.pool))
            if group is None:
                group = pools[id(item.pool)] = (item.pool, [], [])
            group[1].append(position)
            group[2].append(item.index)
        else:
            others.append(position)
    parts: list[pa.Array] = []
    order: list[int] = []
    for source, positions, rows_of in pools.values():
        parts.append(project(source, record_type).take(pa.array(rows_of, type=pa.int64())))
        order += positions
    if others:
        parts += decode([chunk[i] for i in others], record_type, envelope, tolerant=tolerant)
        order += others
    back = np.empty(len(order), dtype=np.int64)
    back[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
    return pa.concat_arrays(parts).take(pa.array(back))


def project(array: pa.Array, typ: pa.DataType) -> pa.Array:
    """``array`` with only the fields ``typ`` names, at every depth (no copy).

    For rows decoded with a wider record type (the full one) read as a narrower one
    (`salesql_frames._schema.person_record_type` with fewer list fields): the values are
    those decoding with ``typ`` gives. Raises `TypeError` for a field ``array`` lacks.
    """
    if array.type.equals(typ, check_metadata=True):
        return array
    mask = array.is_null() if array.null_count else None
    if pa.types.is_struct(typ):
        source = array.type
        children = []
        for field in typ:
            index = source.get_field_index(field.name)
            if index < 0:
                raise TypeError(f"no field {field.name!r} in {source}")
            children.append(project(array.field(index), field.type))
        return pa.StructArray.from_arrays(children, fields=list(typ), mask=mask)
    if pa.types.is_list(typ) and pa.types.is_list(array.type):
        values = project(array.values, typ.value_type)
        return pa.ListArray.from_arrays(array.offsets, values, type=typ, mask=mask)
    raise TypeError(f"cannot read {array.type} as {typ}")


def _from_json(
    chunk: Sequence[Any], record_type: pa.StructType, envelope: str
) -> list[pa.StructArray]:
    """Parse a chunk of stored answers' texts straight into Arrow; empty if it cannot.

    For a chunk of `RawRecord` texts (and Nones), as a re-run from the store has:
    ``pyarrow.json`` parses the JSON lines against ``record_type`` in C++ (keys the type
    does not name are ignored, missing keys are nulls), with no Python dict in between
    -- what ``pyarrow.array`` on decoded dicts gives, in less time and memory. Any
    surprise (a value of another type, an envelope, a text over several lines) returns
    empty, and the chunk takes the decoded-dict paths.
    """
    if not chunk or not all(item is None or type(item) is RawRecord for item in chunk):
        return []
    missing = [item is None for item in chunk]
    lines = "\n".join("{}" if item is None else item.text for item in chunk).encode()
    try:
        table = pa_json.read_json(
            io.BytesIO(lines),
            read_options=pa_json.ReadOptions(block_size=max(len(lines), 1 << 20)),
            parse_options=pa_json.ParseOptions(
                explicit_schema=pa.schema(list(record_type)),
                unexpected_field_behavior="ignore",
            ),
        )
    except _FAST_PATH_ERRORS:
        return []
    if table.num_rows != len(chunk) or table.schema != pa.schema(list(record_type)):
        return []
    children = [column.combine_chunks() for column in table.columns]
    mask = pa.array(missing, type=pa.bool_()) if any(missing) else None
    array = pa.StructArray.from_arrays(children, fields=list(record_type), mask=mask)
    if _child(array, envelope).null_count != len(array):
        return []
    return [_null_error_rows(array)]


def _loaded(chunk: Sequence[Any]) -> Sequence[Any]:
    """``chunk`` with its stored answers (`RawRecord`) decoded, one chunk at a time.

    A text that does not decode (the store checked it looks whole) becomes None, an
    all-null row, with a `StoreWarning`: after the first request the frame comes back.
    """
    if not any(isinstance(item, RawRecord) for item in chunk):
        return chunk
    with paused_gc():
        loaded = [_load(item) if isinstance(item, RawRecord) else item for item in chunk]
    damaged = sum(loaded is _DAMAGED for loaded in loaded)
    if damaged:
        warnings.warn(StoreWarning(
            f"{damaged:,} stored {'answer' if damaged == 1 else 'answers'} could not be "
            "read (the result store is damaged): their rows have no values. Run again "
            "with max_age=0 to fetch them anew, or clear the store"), stacklevel=caller_level())
    return [None if item is _DAMAGED else item for item in loaded]


#: What `_load` gives for a stored text that does not decode.
_DAMAGED: Final = object()


def _load(item: RawRecord) -> Any:
    try:
        return item.load()
    except ValueError:  # json.JSONDecodeError
        return _DAMAGED


def _child(array: pa.StructArray, name: str) -> pa.Array:
    """Return a top-level field; null where the row is null."""
    return pc.struct_field(array, [array.type.get_field_index(name)])


# ---------------------------------------------------------------------------
# Fast path.
# ---------------------------------------------------------------------------


def _fast(chunk: Sequence[Any], record_type: pa.StructType, envelope: str) -> list[pa.StructArray]:
    """Convert raw items with ``pyarrow.array``; empty if the tolerant path is needed.

    Raises nothing: a value that does not fit, a non-mapping item or an envelope
    (which needs unwrapping) all send the chunk to the tolerant path.
    """
    try:
        array = pa.array(chunk, type=_narrowed(chunk, record_type))
    except _FAST_PATH_ERRORS:
        return []
    # past 2 GiB of text pyarrow returns several chunks
    arrays = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    arrays = [_widened(part, record_type) for part in arrays]
    for part in arrays:
        if _child(part, envelope).null_count != len(part):
            return []
    return [_null_error_rows(part) for part in arrays]


def _narrowed(chunk: Sequence[Any], record_type: pa.StructType) -> pa.StructType:
    """Return ``record_type`` less the top-level fields no item of ``chunk`` has.

    ``pyarrow.array`` pays for every field of the type in every record, present or
    not. Lean records (the shape real bulk answers have) lack half of them, so a
    chunk whose sample lacks at least `SPARSE_MIN_ABSENT` fields is scanned for
    the keys it really has. Other chunks keep the full type without a scan.
    """
    names = [record_type.field(i).name for i in range(record_type.num_fields)]
    sample = set().union(*[r for r in chunk[: C.SPARSE_SAMPLE] if type(r) is dict])
    if sum(name not in sample for name in names) < C.SPARSE_MIN_ABSENT:
        return record_type
    try:
        keys = set().union(*chunk)
    except TypeError:  # None or other non-iterable items
        keys = set().union(*[r for r in chunk if type(r) is dict])
    if all(name in keys for name in names):
        return record_type
    return pa.struct([record_type.field(name) for name in names if name in keys])


def _widened(array: pa.StructArray, record_type: pa.StructType) -> pa.StructArray:
    """Return ``array`` with the fields of ``record_type`` it lacks added, all null."""
    if array.type == record_type:
        return array
    children = []
    for i in range(record_type.num_fields):
        field = record_type.field(i)
        index = array.type.get_field_index(field.name)
        children.append(array.field(index) if index >= 0 else pa.nulls(len(array), field.type))
    mask = array.is_null() if array.null_count else None
    return pa.StructArray.from_arrays(children, fields=list(record_type), mask=mask)


def _null_error_rows(array: pa.StructArray) -> pa.StructArray:
    """Make rows with an ``error`` value null, so every column of theirs is null."""
    errors = _child(array, ERROR_KEY)
    if errors.null_count == len(errors):
        return array
    found = pc.and_(array.is_valid(), errors.is_null())
    children = [array.field(i) for i in range(array.type.num_fields)]
    return pa.StructArray.from_arrays(children, fields=list(array.type), mask=pc.invert(found))


# ---------------------------------------------------------------------------
# Tolerant path: items -> record dicts or None -> sanitized values.
# ---------------------------------------------------------------------------


def _prepare_one(item: Any, envelope: str) -> Any:
    """Map one item to a record dict, or None for a row that must be all null.

    Args:
        item: One API result item.
        envelope: Key of the single-call envelope (``"person"``/``"organization"``),
            unwrapped when the item has no ``"uuid"`` of its own.

    Returns:
        A dict, or None for a null, non-mapping or error item.
    """
    if not isinstance(item, Mapping) or item.get(ERROR_KEY) is not None:
        return None
    if envelope in item and "uuid" not in item and isinstance(item[envelope], Mapping):
        item = item[envelope]
        if item.get(ERROR_KEY) is not None:
            return None
    return item if type(item) is dict else dict(item)


def _finite_int(value: float) -> int | None:
    if not math.isfinite(value):
        return None
    result = int(value)
    return result if _INT64_MIN <= result <= _INT64_MAX else None


def _to_int(value: Any) -> int | None:
    """Coerce to an int64 value, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else None
    if isinstance(value, float):
        return _finite_int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                return _finite_int(float(text))
            except ValueError:
                return None
        return number if _INT64_MIN <= number <= _INT64_MAX else None
    return None


def _to_str(value: Any) -> str | None:
    """Coerce to a string (numbers and booleans in their JSON spelling), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, which JSON escapes can carry
            return value.encode("utf-8", errors="replace").decode("utf-8")
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return None


def _to_bool(value: Any) -> bool | None:
    """Coerce to a bool (``"true"``/``"false"``-like strings, 0 and 1), or None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_STRINGS:
            return True
        if text in _FALSE_STRINGS:
            return False
    return None


def _to_epoch_ms(value: Any) -> int | None:
    """Coerce to integer epoch milliseconds (digits, numbers, ISO 8601), or None."""
    if isinstance(value, str):
        number = _to_int(value)
        if number is not None:
            return number
        text = value.strip()
        if text.endswith(("Z", "z")):  # fromisoformat accepts "Z" only from 3.11
            text = text[:-1] + "+00:00"
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        moment: dt.datetime = value
        if moment.tzinfo is None:  # naive: taken as UTC
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return (moment - _EPOCH) // _MILLISECOND
    if isinstance(value, dt.date):
        day: dt.date = value
        return (day - _EPOCH.date()) // _MILLISECOND
    return _to_int(value)


def _struct_converter(fields: list[tuple[str, Converter]], text_field: str | None) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {name: conv(value.get(name)) for name, conv in fields}
        if text_field is not None and isinstance(value, str):
            return {text_field: value}
        return None

    return convert


def _list_converter(element: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            return None
        return [element(item) for item in value if isinstance(item, Mapping)]

    return convert


def _compile(typ: pa.DataType, metadata: Mapping[bytes, bytes] | None = None) -> Converter:
    """Build a Python sanitizer producing values that always fit ``typ``.

    Args:
        typ: A type used in the record types (struct, list, string, int64 or bool).
        metadata: The metadata of the field of that type; ``EPOCH_MS_METADATA`` marks
            an int64 holding epoch milliseconds.

    Returns:
        A function mapping any JSON-like value to a value ``pyarrow.array`` accepts
        for ``typ``.
    """
    if pa.types.is_struct(typ):
        fields = [
            (field.name, _compile(field.type, field.metadata))
            for field in (typ.field(i) for i in range(typ.num_fields))
        ]
        text_field = LOCATION_TEXT if typ.get_field_index(LOCATION_TEXT) >= 0 else None
        return _struct_converter(fields, text_field)
    if pa.types.is_list(typ):
        return _list_converter(_compile(typ.value_type))
    if pa.types.is_string(typ):
        return _to_str
    if pa.types.is_boolean(typ):
        return _to_bool
    if pa.types.is_integer(typ):
        is_epoch = metadata is not None and all(
            metadata.get(key) == value for key, value in EPOCH_MS_METADATA.items()
        )
        return _to_epoch_ms if is_epoch else _to_int
    # The record types of _schema use only the types above.
    raise AssertionError(f"no sanitizer for Arrow type {typ}")  # pragma: no cover


@functools.cache
def _sanitizer(record_type: pa.StructType) -> Converter:
    return _compile(record_type)
