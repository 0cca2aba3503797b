"""Shape decoded SalesQL records into the fixed-schema output tables, columnar.

One job: struct arrays of a record type (from `salesql_frames._decode`) become the
output columns. Persons become one WIDE row per item (`person_columns`: scalars,
best picks, counts and numbered ``email_{i}``/``phone_{i}``/``work_{i}`` columns)
or LONG rows with one list exploded (`explode_persons`); organizations become one
row per item (`organization_columns`). Column names and types come from
`salesql_frames._schema` and never depend on the data.

Each public function decodes its items chunk by chunk and hands the struct arrays
to a private builder (`_person_table`, `_long_person_table`, `_organization_table`)
that takes decoded chunks, so tests can feed it chunks from either decoding path.
Everything here is columnar (``pyarrow.compute`` and NumPy on offsets): struct
fields, list offsets for numbered columns and explode, first match per parent for
the best picks. Null list entries are dropped here, so both decoding paths give
identical tables (tested).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ._constants import DEFAULT_PREFIX
from ._decode import decode
from ._emails import email_flags
from ._models import RawRecord, StoredRow
from ._phones import check_region, phone_details
from ._schema import (
    DEFAULT_WIDTHS,
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

#: Best-pick rules: (email type, preferred status), compared case-insensitively.
_WORK: Final = "work"
_DIRECT: Final = "direct"
_VALID: Final = "valid"
#: Separator of the ``location`` join of city, state and country.
_LOCATION_SEPARATOR: Final = ", "

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# ---------------------------------------------------------------------------
# Columnar extraction.
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
        tier = 2 - preferred.astype(np.int64) - (preferred | fallback)
        return self.first_tier(tier, 2)

    def first_tier(self, tiers: IntArray, levels: int) -> IntArray:
        """Return, per row, its first element of the lowest tier below ``levels``.

        Args:
            tiers: Per element of ``values``: 0 best, ``levels`` or more never.
            levels: How many tiers count.

        Returns:
            Positions in ``values``; -1 for a row with no element of a counted tier.
        """
        result = np.full(len(self.lengths), -1, dtype=np.int64)
        rows = np.flatnonzero(self.lengths)
        if not rows.size:
            return result
        width = int(self.lengths.max()) + 1
        best = np.minimum.reduceat(tiers * width + self.rank, self.starts[rows])
        found = best < levels * width
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


def _best_email(lists: _Lists, is_role: pa.Array) -> pa.Array:
    """Return the CRM pick: the first email of the best tier, in the API's order.

    Tiers: a Valid non-role Work email, a Valid non-role email, a non-role Work email,
    a non-role email, any email.
    """
    emails = _field(lists.values, ("email",))
    work = _Folded.of(_field(lists.values, ("type",))).equals(_WORK).astype(np.int64)
    valid = _Folded.of(_field(lists.values, ("status",))).equals(_VALID).astype(np.int64)
    role = _to_mask(is_role).astype(np.int64)
    present = _to_mask(pc.is_valid(emails))
    tiers = np.where(role, 4, 3 - 2 * valid - work)
    tiers = np.where(present, tiers, 5)
    return _take(emails, lists.first_tier(tiers, 5))


def _best_phone(lists: _Lists) -> IntArray:
    """Return the position of the first phone with ``is_valid`` true, else the first."""
    valid = _to_mask(_field(lists.values, ("is_valid",)))
    present = _to_mask(pc.is_valid(_field(lists.values, ("phone",))))
    return lists.first(valid & present, present)


def _derived(
    lists: Mapping[ExplodeTarget, _Lists], default_region: str | None
) -> dict[ExplodeTarget, list[pa.Array]]:
    """Return the derived element columns of each list (`ListSpec.derived`), in order."""
    emails, phones = lists["emails"].values, lists["phones"].values
    return {
        "emails": list(email_flags(_field(emails, ("email",)))),
        "phones": list(
            phone_details(
                _field(phones, ("phone",)), _field(phones, ("country_code",)), default_region
            )
        ),
        "work_experience": [],
    }


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
    records: pa.StructArray, prefix: str, default_region: str | None = None
) -> tuple[
    dict[str, pa.Array], dict[ExplodeTarget, _Lists], dict[ExplodeTarget, list[pa.Array]]
]:
    """Compute the non-numbered person columns of one chunk.

    Args:
        records: A struct array of a `person_record_type`.
        prefix: Column name prefix.
        default_region: Region for phones without a known ``country_code``.

    Returns:
        The columns by name, the normalized record lists by record key, and the
        derived element columns of each list (`ListSpec.derived`).
    """
    found = _to_mask(records.is_valid())
    lists = {key: _Lists.of(_field(records, (key,))) for key in LIST_SPECS}
    derived = _derived(lists, default_region)
    work_email, direct_email = _best_emails(lists["emails"])
    phone = _best_phone(lists["phones"])
    e164, line_type = derived["phones"]
    computed: dict[str, pa.Array] = {
        "location": _location(_field(records, ("location",))),
        "organization_name": pc.coalesce(
            _field(records, ("organization", "name")), _field(records, ("organization_name",))
        ),
        "work_email": work_email,
        "direct_email": direct_email,
        "phone": _take(_field(lists["phones"].values, ("phone",)), phone),
        "phone_e164": _take(e164, phone),
        "phone_line_type": _take(line_type, phone),
        "best_email": _best_email(lists["emails"], derived["emails"][1]),
        "email_count": _counts(lists["emails"], found),
        "phone_count": _counts(lists["phones"], found),
        "work_experience_count": _counts(lists["work_experience"], found),
    }
    columns: dict[str, pa.Array] = {}
    for suffix, typ, path in PERSON_SCALAR_COLUMNS:
        columns[prefix + suffix] = computed[suffix] if path is None else _field(records, path, typ)
    return columns, lists, derived


def _take_rows(values: pa.Array, rows: pa.Array) -> pa.Array:
    """Take ``values`` at ``rows`` (null rows give null).

    An empty or all-null column (common in lean records) is not read.
    """
    if values.null_count == len(values) or rows.null_count == len(rows):
        return pa.nulls(len(rows), type=values.type)
    return values.take(rows)


def _person_chunk(
    records: pa.StructArray,
    widths: Widths,
    prefix: str,
    schema: pa.Schema,
    default_region: str | None = None,
) -> pa.Table:
    columns, lists, derived = _person_parts(records, prefix, default_region)
    for key, spec in LIST_SPECS.items():
        if not widths.of(key):
            continue  # the record type may have read only part of this list
        normalized = lists[key]
        flat = [_field(normalized.values, path, typ) for _, typ, path in spec.columns]
        flat += derived[key]
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
# Decoded chunks -> tables.
# ---------------------------------------------------------------------------


def _wide_record_type(widths: Widths) -> pa.StructType:
    """Return the person record type the wide table reads for ``widths``."""
    return person_record_type(phones=widths.phones > 0, work=widths.work > 0)


def _long_record_type(target: ExplodeTarget) -> pa.StructType:
    """Return the person record type the long table reads when ``target`` is exploded."""
    return person_record_type(phones=target == "phones", work=target == "work_experience")


def _person_table(
    chunks: Iterable[pa.StructArray],
    widths: Widths,
    prefix: str,
    default_region: str | None = None,
) -> pa.Table:
    """Build the wide person table from decoded chunks.

    Args:
        chunks: Struct arrays of ``_wide_record_type(widths)``, in item order.
        widths: Numbered column groups per list.
        prefix: Column name prefix.
        default_region: Region for phones without a known ``country_code`` (checked).

    Returns:
        One row per chunk row, schema ``person_schema(widths, prefix)``.
    """
    schema = person_schema(widths, prefix)
    tables = [_person_chunk(chunk, widths, prefix, schema, default_region) for chunk in chunks]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _long_person_table(
    chunks: Iterable[pa.StructArray],
    target: ExplodeTarget,
    prefix: str,
    default_region: str | None = None,
) -> tuple[pa.Array, pa.Table]:
    """Build the long person table from decoded chunks.

    Args:
        chunks: Struct arrays of ``_long_record_type(target)``, in item order.
        target: The list to explode (already checked).
        prefix: Column name prefix.
        default_region: Region for phones without a known ``country_code`` (checked).

    Returns:
        ``(parents, table)`` as `explode_persons` returns them.
    """
    schema = long_person_schema(target, prefix)
    spec = LIST_SPECS[target]
    item_names = spec.long_names(prefix)
    scalar_names = schema.names[: len(schema.names) - len(item_names)]
    parents: list[IntArray] = []
    tables: list[pa.Table] = []
    offset = 0
    for chunk in chunks:
        columns, lists, derived = _person_parts(chunk, prefix, default_region)
        normalized = lists[target]
        rows, positions = _explode_positions(normalized)
        row_index = pa.array(rows, type=pa.int64())
        element_index = pa.array(positions, type=pa.int64(), mask=positions < 0)
        arrays = [_take_rows(columns[name], row_index) for name in scalar_names]
        arrays += [
            _field(normalized.values, path, typ).take(element_index)
            for _, typ, path in spec.columns
        ]
        arrays += [values.take(element_index) for values in derived[target]]
        tables.append(pa.Table.from_arrays(arrays, schema=schema))
        parents.append(rows + offset)
        offset += len(chunk)
    if not tables:
        return pa.array([], type=pa.int64()), schema.empty_table()
    return pa.array(np.concatenate(parents), type=pa.int64()), pa.concat_tables(tables)


def _organization_chunk(records: pa.StructArray, schema: pa.Schema) -> pa.Table:
    arrays = [
        _location(_field(records, ("location",))) if path is None else _field(records, path, typ)
        for _, typ, path in ORGANIZATION_COLUMNS
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _organization_table(chunks: Iterable[pa.StructArray], prefix: str) -> pa.Table:
    """Build the organization table from decoded chunks.

    Args:
        chunks: Struct arrays of ``ORGANIZATION_RECORD_TYPE``, in item order.
        prefix: Column name prefix.

    Returns:
        One row per chunk row, schema ``organization_schema(prefix)``.
    """
    schema = organization_schema(prefix)
    tables = [_organization_chunk(chunk, schema) for chunk in chunks]
    return pa.concat_tables(tables) if tables else schema.empty_table()


# ---------------------------------------------------------------------------
# Public API.
# ---------------------------------------------------------------------------


def person_columns(
    items: Sequence[Mapping[str, Any] | RawRecord | StoredRow | None],
    *,
    widths: Widths = DEFAULT_WIDTHS,
    prefix: str = DEFAULT_PREFIX,
    default_region: str | None = None,
) -> pa.Table:
    """Flatten person records into the wide person table, one row per item.

    Args:
        items: Person records in the documented or the lean shape (or
            ``{"person": {...}}`` envelopes). None, non-mappings and dicts with an
            ``"error"`` key (not found) give all-null rows, counts included.
        widths: Numbered column groups per list; elements past them are left out
            (the ``*_count`` columns show the full lengths).
        prefix: Column name prefix.
        default_region: Region (``"US"``) for phones written without a country
            calling code and without a known ``country_code``; None: those get null
            E.164 forms.

    Returns:
        A table with ``len(items)`` rows and schema ``person_schema(widths, prefix)``.

    Raises:
        InvalidArgumentError: ``default_region`` is not a known region (a ``ValueError``).
    """
    region = check_region(default_region)
    chunks = decode(items, _wide_record_type(widths), PERSON_ENVELOPE)
    return _person_table(chunks, widths, prefix, region)


def explode_persons(
    items: Sequence[Mapping[str, Any] | RawRecord | StoredRow | None],
    *,
    explode: ExplodeTarget,
    prefix: str = DEFAULT_PREFIX,
    default_region: str | None = None,
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
        default_region: As for `person_columns`.

    Returns:
        ``(parents, table)``: ``parents`` is an int64 array giving, per output row,
        the position of its item in ``items`` (ascending); ``table`` has schema
        ``long_person_schema(explode, prefix)``.

    Raises:
        InvalidArgumentError: If ``explode`` names no person list (a ``ValueError``).
    """
    target = check_explode(explode)
    region = check_region(default_region)
    chunks = decode(items, _long_record_type(target), PERSON_ENVELOPE)
    return _long_person_table(chunks, target, prefix, region)


def organization_columns(
    items: Sequence[Mapping[str, Any] | RawRecord | StoredRow | None],
    *,
    prefix: str = DEFAULT_PREFIX,
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
    chunks = decode(items, ORGANIZATION_RECORD_TYPE, ORGANIZATION_ENVELOPE)
    return _organization_table(chunks, prefix)
