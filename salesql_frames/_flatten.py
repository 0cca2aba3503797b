"""Flatten SalesQL records (JSON dicts) into fixed-schema Arrow tables, columnar.

Persons become one WIDE row per item (`person_columns`: scalars, best picks,
counts and numbered ``email_{i}``/``phone_{i}``/``work_{i}`` columns) or LONG rows
with one list exploded (`explode_persons`); organizations become one row per
item (`organization_columns`). Column names and types come from
`salesql_frames._schema` and never depend on the data.

How it works, per chunk of `CHUNK_ROWS` items:

1. **Fast path**: ``pyarrow.array(chunk, type=RECORD_TYPE)`` converts the raw items
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
   -> epoch milliseconds; a plain-string location -> the ``location`` column; a
   non-list where a list is expected -> empty; non-dict list entries -> skipped;
   anything else unusable -> null.
3. Everything after that is columnar (``pyarrow.compute`` and NumPy on offsets):
   struct fields, list offsets for numbered columns and explode, first match per
   parent for the best picks. Null list entries are dropped here, so both paths give
   identical tables (tested).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ._schema import (
    DEFAULT_PREFIX,
    DEFAULT_WIDTHS,
    EPOCH_MS_METADATA,
    ERROR_KEY,
    LIST_SPECS,
    LOCATION_TEXT,
    ORGANIZATION_COLUMNS,
    ORGANIZATION_ENVELOPE,
    ORGANIZATION_RECORD_TYPE,
    PERSON_ENVELOPE,
    PERSON_SCALAR_COLUMNS,
    STR,
    ExplodeTarget,
    Widths,
    check_explode,
    long_person_schema,
    organization_schema,
    person_record_type,
    person_schema,
)

__all__ = [
    "Widths",
    "explode_persons",
    "long_person_schema",
    "organization_columns",
    "organization_schema",
    "person_columns",
    "person_schema",
]

#: Records converted per ``pyarrow.array`` call. A chunk whose fast conversion fails
#: is sanitized in Python as a whole, so this bounds the cost of one bad value.
CHUNK_ROWS: Final = 16_384

#: A chunk is scanned for the top-level keys its items have (and converted with a
#: record type narrowed to them) when this many leading items lack at least
#: SPARSE_MIN_ABSENT of the record type's fields. See ``_narrowed``.
SPARSE_SAMPLE: Final = 64
SPARSE_MIN_ABSENT: Final = 4

#: What ``pyarrow.array`` raises on a value that does not fit the record type.
_FAST_PATH_ERRORS: Final = (pa.ArrowException, TypeError, ValueError, OverflowError)

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_TRUE_STRINGS: Final = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_STRINGS: Final = frozenset({"false", "f", "no", "n", "0"})
#: Best-pick rules: (email type, preferred status), compared case-insensitively.
_WORK: Final = "work"
_DIRECT: Final = "direct"
_VALID: Final = "valid"
#: Separator of the ``location`` join of city, state and country.
_LOCATION_SEPARATOR: Final = ", "
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MILLISECOND: Final = dt.timedelta(milliseconds=1)

Converter = Callable[[Any], Any]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# ---------------------------------------------------------------------------
# Tolerant path, part 1: items -> record dicts or None.
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


# ---------------------------------------------------------------------------
# Items -> StructArray: fast path, and the tolerant path's sanitizers.
# ---------------------------------------------------------------------------


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
    raise TypeError(f"no sanitizer for Arrow type {typ}")  # pragma: no cover


@functools.cache
def _sanitizer(record_type: pa.StructType) -> Converter:
    return _compile(record_type)


def _null_error_rows(array: pa.StructArray) -> pa.StructArray:
    """Make rows with an ``error`` value null, so every column of theirs is null."""
    errors = _field(array, (ERROR_KEY,))
    if errors.null_count == len(errors):
        return array
    found = pc.and_(array.is_valid(), errors.is_null())
    children = [array.field(i) for i in range(array.type.num_fields)]
    return pa.StructArray.from_arrays(children, fields=list(array.type), mask=pc.invert(found))


def _narrowed(chunk: Sequence[Any], record_type: pa.StructType) -> pa.StructType:
    """Return ``record_type`` less the top-level fields no item of ``chunk`` has.

    ``pyarrow.array`` pays for every field of the type in every record, present or
    not. Lean records (the shape real bulk answers have) lack half of them, so a
    chunk whose sample lacks at least `SPARSE_MIN_ABSENT` fields is scanned for
    the keys it really has. Other chunks keep the full type without a scan.
    """
    names = [record_type.field(i).name for i in range(record_type.num_fields)]
    sample = set().union(*[r for r in chunk[:SPARSE_SAMPLE] if type(r) is dict])
    if sum(name not in sample for name in names) < SPARSE_MIN_ABSENT:
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
        if _field(part, (envelope,)).null_count != len(part):
            return []
    return [_null_error_rows(part) for part in arrays]


def _struct_chunks(
    items: Sequence[Any], record_type: pa.StructType, envelope: str, *, fast: bool = True
) -> Iterator[pa.StructArray]:
    """Convert items to struct arrays of at most `CHUNK_ROWS` rows.

    Args:
        items: API result items.
        record_type: The record struct type.
        envelope: Key of the single-call envelope, unwrapped on the tolerant path.
        fast: Try ``pyarrow.array`` on the raw items first. False forces the
            tolerant path (tests compare both).

    Yields:
        Struct arrays, one row per item, null where the item is null, not a mapping
        or an error.
    """
    records = items if isinstance(items, (list, tuple)) else list(items)
    for start in range(0, len(records), CHUNK_ROWS):
        chunk = records[start : start + CHUNK_ROWS]
        arrays = _fast(chunk, record_type, envelope) if fast else []
        if not arrays:
            sanitize = _sanitizer(record_type)
            clean = [sanitize(_prepare_one(item, envelope)) for item in chunk]
            array = pa.array(clean, type=record_type)
            arrays = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        yield from arrays


# ---------------------------------------------------------------------------
# Columnar extraction (both paths).
# ---------------------------------------------------------------------------


def _field(array: pa.Array, path: tuple[str, ...], typ: pa.DataType | None = None) -> pa.Array:
    """Return a nested struct field; a null anywhere on the path gives null.

    Args:
        array: A struct array.
        path: Field names, outermost first.
        typ: Output type to cast to (epoch milliseconds to timestamps), if given.

    Returns:
        The field's values, one per row of ``array``.
    """
    indices: list[int] = []
    struct_type = array.type
    for name in path:
        index = struct_type.get_field_index(name)
        indices.append(index)
        struct_type = struct_type.field(index).type
    values = pc.struct_field(array, indices)
    return values if typ is None or values.type == typ else values.cast(typ)


@dataclass(frozen=True)
class _Lists:
    """A list column normalized for offset arithmetic.

    Attributes:
        values: The list elements, flat, without null elements.
        lengths: Elements per row (0 for a null or empty list).
        starts: Position in ``values`` of each row's first element.
        parents: Row of each element of ``values``.
    """

    values: pa.StructArray
    lengths: IntArray
    starts: IntArray
    parents: IntArray

    @classmethod
    def of(cls, lists: pa.Array) -> _Lists:
        """Normalize a list array, dropping null elements."""
        n = len(lists)
        lengths = np.asarray(
            pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        values = lists.flatten()  # honours slicing and null lists backed by data
        parents = np.repeat(np.arange(n, dtype=np.int64), lengths)
        if values.null_count:
            keep = values.is_valid()
            values = values.filter(keep)
            parents = parents[keep.to_numpy(zero_copy_only=False)]
            lengths = np.bincount(parents, minlength=n).astype(np.int64)
        starts = np.zeros(n, dtype=np.int64)
        if n > 1:
            np.cumsum(lengths[:-1], out=starts[1:])
        return cls(values, lengths, starts, parents)

    @functools.cached_property
    def rank(self) -> IntArray:
        """Position of each element of ``values`` within its row (0-based)."""
        return np.arange(len(self.parents), dtype=np.int64) - self.starts[self.parents]

    def element(self, i: int) -> pa.Array:
        """Return the positions in ``values`` of element ``i`` (0-based), null if absent."""
        return pa.array(self.starts + i, type=pa.int64(), mask=self.lengths <= i)

    def first(self, preferred: BoolArray, fallback: BoolArray) -> IntArray:
        """Return, per row, its first element where ``preferred``, else where ``fallback``.

        One pass: each element gets the key ``tier * width + rank in its row`` (tier 0
        preferred, 1 fallback, 2 neither) and ``minimum.reduceat`` takes each row's
        smallest key.

        Args:
            preferred: Per element of ``values``.
            fallback: Per element of ``values``.

        Returns:
            Positions in ``values``; -1 for a row with no such element.
        """
        result = np.full(len(self.lengths), -1, dtype=np.int64)
        rows = np.flatnonzero(self.lengths)
        if not rows.size:
            return result
        width = int(self.lengths.max()) + 1
        tier = 2 - preferred.astype(np.int64) - (preferred | fallback)
        best = np.minimum.reduceat(tier * width + self.rank, self.starts[rows])
        found = best < 2 * width
        rows = rows[found]
        result[rows] = self.starts[rows] + best[found] % width
        return result


def _to_mask(array: pa.Array) -> BoolArray:
    """Return a boolean array as NumPy, null as False."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


@dataclass(frozen=True)
class _Folded:
    """A string column with case and outer spaces folded, for repeated comparisons.

    Types and statuses take few distinct values, so the column is dictionary-encoded
    and only the dictionary is normalized.
    """

    codes: npt.NDArray[np.int32]
    dictionary: pa.Array

    @classmethod
    def of(cls, array: pa.Array) -> _Folded:
        """Fold a string array; nulls stay null."""
        encoded = pc.dictionary_encode(array, null_encoding="encode")
        folded = pc.utf8_lower(pc.utf8_trim_whitespace(encoded.dictionary))
        return cls(encoded.indices.to_numpy(zero_copy_only=False), folded)

    def equals(self, wanted: str) -> BoolArray:
        """Return where the folded value is ``wanted`` (lower case); null is False."""
        return _to_mask(pc.equal(self.dictionary, wanted))[self.codes]


def _take(values: pa.Array, positions: IntArray) -> pa.Array:
    """Take ``values`` at ``positions``; -1 gives null."""
    return values.take(pa.array(positions, type=pa.int64(), mask=positions < 0))


def _pick(lists: _Lists, values: pa.Array, preferred: BoolArray, fallback: BoolArray) -> pa.Array:
    """Return, per row, its first non-null value where ``preferred``, else where ``fallback``."""
    present = _to_mask(pc.is_valid(values))
    return _take(values, lists.first(preferred & present, fallback & present))


def _best_emails(lists: _Lists) -> tuple[pa.Array, pa.Array]:
    """Return the work and direct email picks: Valid status first, else the first one."""
    emails = _field(lists.values, ("email",))
    kinds = _Folded.of(_field(lists.values, ("type",)))
    valid = _Folded.of(_field(lists.values, ("status",))).equals(_VALID)
    work = kinds.equals(_WORK)
    direct = kinds.equals(_DIRECT)
    return _pick(lists, emails, work & valid, work), _pick(lists, emails, direct & valid, direct)


def _best_phone(lists: _Lists) -> pa.Array:
    """Return the first phone with ``is_valid`` true, else the first phone."""
    valid = _to_mask(_field(lists.values, ("is_valid",)))
    anything = np.ones(len(lists.values), dtype=np.bool_)
    return _pick(lists, _field(lists.values, ("phone",)), valid, anything)


def _blank_to_null(array: pa.Array) -> pa.Array:
    blank = pc.equal(array, "")
    if not pc.any(blank).as_py():
        return array
    return pc.if_else(blank, pa.scalar(None, STR), array)


def _location(location: pa.Array) -> pa.Array:
    """Return the plain-string location, else the "city, state, country" join.

    Blank and null parts are left out; null when nothing is left.
    """
    if location.null_count == len(location):
        return pa.nulls(len(location), type=STR)
    parts = [_blank_to_null(_field(location, (part,))) for part in ("city", "state", "country")]
    joined = pc.binary_join_element_wise(*parts, _LOCATION_SEPARATOR)  # null unless all three
    partial = pc.and_(
        pc.is_null(joined), pc.or_(pc.or_(*map(pc.is_valid, parts[:2])), pc.is_valid(parts[2]))
    )
    if pc.any(partial).as_py():
        joined = parts[0]
        for value in parts[1:]:
            # Not null_handling="skip": pyarrow 14 to 26 then drop rows whose parts are all null.
            both = pc.binary_join_element_wise(joined, value, _LOCATION_SEPARATOR)
            joined = pc.coalesce(both, joined, value)
    text = _field(location, (LOCATION_TEXT,))
    return joined if text.null_count == len(text) else pc.coalesce(text, joined)


def _counts(lists: _Lists, found: BoolArray) -> pa.Array:
    return pa.array(lists.lengths, type=pa.int64(), mask=~found)


def _person_parts(
    records: pa.StructArray, prefix: str
) -> tuple[dict[str, pa.Array], dict[ExplodeTarget, _Lists]]:
    """Compute the non-numbered person columns of one chunk.

    Args:
        records: A struct array of a `person_record_type`.
        prefix: Column name prefix.

    Returns:
        The columns by name, and the normalized record lists by record key.
    """
    found = _to_mask(records.is_valid())
    lists = {key: _Lists.of(_field(records, (key,))) for key in LIST_SPECS}
    work_email, direct_email = _best_emails(lists["emails"])
    computed: dict[str, pa.Array] = {
        "location": _location(_field(records, ("location",))),
        "organization_name": pc.coalesce(
            _field(records, ("organization", "name")), _field(records, ("organization_name",))
        ),
        "work_email": work_email,
        "direct_email": direct_email,
        "phone": _best_phone(lists["phones"]),
        "email_count": _counts(lists["emails"], found),
        "phone_count": _counts(lists["phones"], found),
        "work_experience_count": _counts(lists["work_experience"], found),
    }
    columns: dict[str, pa.Array] = {}
    for suffix, typ, path in PERSON_SCALAR_COLUMNS:
        columns[prefix + suffix] = computed[suffix] if path is None else _field(records, path, typ)
    return columns, lists


def _take_rows(values: pa.Array, rows: pa.Array) -> pa.Array:
    """Take ``values`` at ``rows`` (null rows give null).

    An empty or all-null column (common in lean records) is not read.
    """
    if values.null_count == len(values) or rows.null_count == len(rows):
        return pa.nulls(len(rows), type=values.type)
    return values.take(rows)


def _person_table(
    records: pa.StructArray, widths: Widths, prefix: str, schema: pa.Schema
) -> pa.Table:
    columns, lists = _person_parts(records, prefix)
    for key, spec in LIST_SPECS.items():
        if not widths.of(key):
            continue  # the record type may have read only part of this list
        normalized = lists[key]
        flat = [_field(normalized.values, path, typ) for _, typ, path in spec.columns]
        for i in range(widths.of(key)):
            positions = normalized.element(i)
            for name, values in zip(spec.wide_names(i + 1, prefix), flat, strict=True):
                columns[name] = _take_rows(values, positions)
    return pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)


def _explode_positions(lists: _Lists) -> tuple[IntArray, IntArray]:
    """Return (row, element position or -1) per long row; empty rows appear once."""
    repeats = np.maximum(lists.lengths, 1)
    rows = np.repeat(np.arange(len(repeats), dtype=np.int64), repeats)
    out_starts = np.cumsum(repeats) - repeats
    rank = np.arange(len(rows), dtype=np.int64) - out_starts[rows]
    positions = np.where(lists.lengths[rows] > 0, lists.starts[rows] + rank, -1)
    return rows, positions


# ---------------------------------------------------------------------------
# Public API.
# ---------------------------------------------------------------------------


def _person_columns(
    items: Sequence[Mapping[str, Any] | None], widths: Widths, prefix: str, *, fast: bool
) -> pa.Table:
    schema = person_schema(widths, prefix)
    record_type = person_record_type(phones=widths.phones > 0, work=widths.work > 0)
    tables = [
        _person_table(chunk, widths, prefix, schema)
        for chunk in _struct_chunks(items, record_type, PERSON_ENVELOPE, fast=fast)
    ]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def person_columns(
    items: Sequence[Mapping[str, Any] | None],
    *,
    widths: Widths = DEFAULT_WIDTHS,
    prefix: str = DEFAULT_PREFIX,
) -> pa.Table:
    """Flatten person records into the wide person table, one row per item.

    Args:
        items: Person records in the documented or the lean shape (or
            ``{"person": {...}}`` envelopes). None, non-mappings and dicts with an
            ``"error"`` key (not found) give all-null rows, counts included.
        widths: Numbered column groups per list; elements past them are left out
            (the ``*_count`` columns show the full lengths).
        prefix: Column name prefix.

    Returns:
        A table with ``len(items)`` rows and schema ``person_schema(widths, prefix)``.
    """
    return _person_columns(items, widths, prefix, fast=True)


def _explode_persons(
    items: Sequence[Mapping[str, Any] | None],
    explode: ExplodeTarget,
    prefix: str,
    *,
    fast: bool,
) -> tuple[pa.Array, pa.Table]:
    target = check_explode(explode)
    schema = long_person_schema(target, prefix)
    spec = LIST_SPECS[target]
    item_names = spec.long_names(prefix)
    scalar_names = schema.names[: len(schema.names) - len(item_names)]
    record_type = person_record_type(phones=target == "phones", work=target == "work_experience")
    parents: list[IntArray] = []
    tables: list[pa.Table] = []
    offset = 0
    for chunk in _struct_chunks(items, record_type, PERSON_ENVELOPE, fast=fast):
        columns, lists = _person_parts(chunk, prefix)
        normalized = lists[target]
        rows, positions = _explode_positions(normalized)
        row_index = pa.array(rows, type=pa.int64())
        element_index = pa.array(positions, type=pa.int64(), mask=positions < 0)
        arrays = [_take_rows(columns[name], row_index) for name in scalar_names]
        arrays += [
            _field(normalized.values, path, typ).take(element_index)
            for _, typ, path in spec.columns
        ]
        tables.append(pa.Table.from_arrays(arrays, schema=schema))
        parents.append(rows + offset)
        offset += len(chunk)
    if not tables:
        return pa.array([], type=pa.int64()), schema.empty_table()
    return pa.array(np.concatenate(parents), type=pa.int64()), pa.concat_tables(tables)


def explode_persons(
    items: Sequence[Mapping[str, Any] | None],
    *,
    explode: ExplodeTarget,
    prefix: str = DEFAULT_PREFIX,
) -> tuple[pa.Array, pa.Table]:
    """Flatten person records into the long table: one row per element of a list.

    ``pandas.DataFrame.explode`` semantics: an item appears once per element of the
    list, in order; an item whose list is empty or missing, and a null or error
    item, appears exactly once with nulls in the exploded columns.

    Args:
        items: Person records, as for `person_columns`.
        explode: The list to explode: ``"emails"``, ``"phones"`` or
            ``"work_experience"``.
        prefix: Column name prefix.

    Returns:
        ``(parents, table)``: ``parents`` is an int64 array giving, per output row,
        the position of its item in ``items`` (ascending); ``table`` has schema
        ``long_person_schema(explode, prefix)``.

    Raises:
        ValueError: If ``explode`` names no person list.
    """
    return _explode_persons(items, explode, prefix, fast=True)


def _organization_table(records: pa.StructArray, schema: pa.Schema) -> pa.Table:
    arrays = [
        _location(_field(records, ("location",))) if path is None else _field(records, path, typ)
        for _, typ, path in ORGANIZATION_COLUMNS
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _organization_columns(
    items: Sequence[Mapping[str, Any] | None], prefix: str, *, fast: bool
) -> pa.Table:
    schema = organization_schema(prefix)
    tables = [
        _organization_table(chunk, schema)
        for chunk in _struct_chunks(
            items, ORGANIZATION_RECORD_TYPE, ORGANIZATION_ENVELOPE, fast=fast
        )
    ]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def organization_columns(
    items: Sequence[Mapping[str, Any] | None], *, prefix: str = DEFAULT_PREFIX
) -> pa.Table:
    """Flatten organization records into the organization table, one row per item.

    Args:
        items: Organization records as the bulk endpoint returns them (or
            ``{"organization": {...}}`` envelopes). None, non-mappings and dicts with
            an ``"error"`` key give all-null rows.
        prefix: Column name prefix.

    Returns:
        A table with ``len(items)`` rows and schema ``organization_schema(prefix)``.
    """
    return _organization_columns(items, prefix, fast=True)
