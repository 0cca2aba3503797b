"""Fixed Arrow schemas for flattened SalesQL records.

One job: say what is read from a record and which columns come out, and validate
the arguments that shape them (`Widths`, the prefix, ``explode``). Two kinds of
schema live here:

* **Record types** (`person_record_type`, ``ORGANIZATION_RECORD_TYPE``): Arrow
  struct types describing only the parts of an API record that the flatten step
  reads. They are handed to ``pyarrow.array`` so that JSON dicts convert in C++; keys
  they do not name are ignored and keys a record lacks become nulls (both checked).
  Timestamps are read as int64 epoch milliseconds and cast afterwards.
* **Output schemas** (`person_schema`, `organization_schema`,
  `long_person_schema`): the columns appended to the user's frame. They depend
  only on the prefix and the `Widths`, never on the data, so dtypes are stable
  whether or not anything matched.

Column layout of the wide person table (``p`` is the prefix)::

    scalars      p+uuid ... p+organization_type        (PERSON_SCALAR_COLUMNS)
    best picks   p+work_email, p+direct_email, p+phone, p+phone_e164, p+phone_line_type,
                 p+best_email
    counts       p+email_count, p+phone_count, p+work_experience_count
    numbered     p+email_{i}, ..._type, ..._status, ..._is_free, ..._is_role i in 1..emails
                 p+phone_{i}, ..._type, ..._country_code, ..._is_valid,
                 ..._e164, ..._line_type                                     i in 1..phones
                 p+work_{i}_title, ..._organization_name,
                 ..._organization_domain, ..._start, ..._end, ..._is_current i in 1..work

The reference only says ``location`` is an object; the four columns
``p+location_city/_state/_country/_country_code`` read those keys. ``p+location``
(right after them) is not in the reference: it holds a location given as a plain
string, or else the ``"city, state, country"`` join of the object's non-blank parts
(null when none is present). The organization table has the same
``p+organization_location``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final, Literal

import pyarrow as pa

from ._constants import DEFAULT_PREFIX, DEFAULT_WIDE_ITEMS  # DEFAULT_PREFIX: re-exported
from ._exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "DEFAULT_PREFIX",
    "DEFAULT_WIDTHS",
    "EXPLODE_TARGETS",
    "ORGANIZATION_RECORD_TYPE",
    "PERSON_RECORD_TYPE",
    "ExplodeTarget",
    "ListSpec",
    "Widths",
    "long_person_schema",
    "organization_schema",
    "person_schema",
]

STR: Final = pa.string()
INT: Final = pa.int64()
BOOL: Final = pa.bool_()
#: Timestamps arrive as integer milliseconds since the epoch, in UTC.
TS: Final = pa.timestamp("ms", tz="UTC")
#: Field metadata marking an int64 record field that holds epoch milliseconds. Record
#: types read timestamps as int64 and the flatten step casts them to ``TS``:
#: ``pyarrow.array`` converts Python ints to int64 markedly faster than to timestamps.
EPOCH_MS_METADATA: Final = {b"salesql_unit": b"epoch_ms"}

#: Name of a struct field no API record has: a location given as a plain string is
#: carried in it (the tolerant path rewrites ``"Paris"`` to ``{LOCATION_TEXT: "Paris"}``).
LOCATION_TEXT: Final = "__salesql_location_text__"

ExplodeTarget = Literal["emails", "phones", "work_experience"]
#: The record lists `long_person_schema` can explode, in column order.
EXPLODE_TARGETS: Final[tuple[ExplodeTarget, ...]] = ("emails", "phones", "work_experience")

# ---------------------------------------------------------------------------
# Record types: what is read from the API's JSON.
# ---------------------------------------------------------------------------


def _epoch_ms(name: str) -> pa.Field:
    return pa.field(name, INT, metadata=EPOCH_MS_METADATA)


LOCATION_TYPE: Final = pa.struct(
    [
        ("city", STR),
        ("state", STR),
        ("country", STR),
        ("country_code", STR),
        (LOCATION_TEXT, STR),
    ]
)

#: Key whose presence (with a value other than None) marks an item as an error, such
#: as ``{"error": "Person not found"}``: its row is all null.
ERROR_KEY: Final = "error"
#: Keys of the single-call envelopes ``{"person": {...}}`` / ``{"organization": {...}}``.
PERSON_ENVELOPE: Final = "person"
ORGANIZATION_ENVELOPE: Final = "organization"
#: Read for these two keys, so the fast path notices errors and envelopes itself.
_TOP_LEVEL_EXTRA: Final = [(ERROR_KEY, STR)]

_ORGANIZATION_FIELDS: Final = [
    ("uuid", STR),
    ("name", STR),
    ("website_domain", STR),
    ("website", STR),
    ("linkedin_url", STR),
    ("logo", STR),
    ("industry", STR),
    ("location", LOCATION_TYPE),
    ("number_of_employees", STR),
    ("founded_year", INT),
    ("type", STR),
]

#: An organization, as the organization endpoints return it.
ORGANIZATION_RECORD_TYPE: Final = pa.struct(
    [*_ORGANIZATION_FIELDS, *_TOP_LEVEL_EXTRA, (ORGANIZATION_ENVELOPE, pa.struct([]))]
)

#: The organization nested in a person record, less the location, which the person
#: table does not show.
PERSON_ORGANIZATION_TYPE: Final = pa.struct(
    [(name, typ) for name, typ in _ORGANIZATION_FIELDS if name != "location"]
)

EMAIL_TYPE: Final = pa.struct([("email", STR), ("type", STR), ("status", STR)])
PHONE_TYPE: Final = pa.struct(
    [("phone", STR), ("type", STR), ("country_code", STR), ("is_valid", BOOL)]
)
WORK_ORGANIZATION_TYPE: Final = pa.struct([("name", STR), ("website_domain", STR)])
WORK_TYPE: Final = pa.struct(
    [
        ("title", STR),
        _epoch_ms("timestamp_start"),
        _epoch_ms("timestamp_end"),
        ("is_current", BOOL),
        ("organization", WORK_ORGANIZATION_TYPE),
    ]
)

#: Reduced list element types, read when a list is neither numbered nor exploded:
#: the phone best pick (and its E.164 form) needs only these fields, the work count
#: only the entries.
PHONE_PICK_TYPE: Final = pa.struct([("phone", STR), ("country_code", STR), ("is_valid", BOOL)])
WORK_COUNT_TYPE: Final = pa.struct([("title", STR)])


@functools.cache
def person_record_type(*, phones: bool = True, work: bool = True) -> pa.StructType:
    """Return the person record type, with all list fields or only the needed ones.

    A person, as the person endpoints return it: the documented shape
    (``organization`` object, ``work_experience``) and the lean one seen in real bulk
    answers (flat ``organization_name``) both fit. Reading fewer fields makes
    ``pyarrow.array`` faster.

    Args:
        phones: Read every phone field (else only ``phone`` and ``is_valid``).
        work: Read every work experience field (else only enough to count entries).

    Returns:
        The struct type.
    """
    return pa.struct(
        [
            ("uuid", STR),
            ("full_name", STR),
            ("first_name", STR),
            ("last_name", STR),
            ("title", STR),
            ("headline", STR),
            ("linkedin_url", STR),
            ("image", STR),
            ("industry", STR),
            ("location", LOCATION_TYPE),
            _epoch_ms("timestamp_work_experience_start"),
            ("organization", PERSON_ORGANIZATION_TYPE),
            ("organization_name", STR),
            ("emails", pa.list_(EMAIL_TYPE)),
            ("phones", pa.list_(PHONE_TYPE if phones else PHONE_PICK_TYPE)),
            ("work_experience", pa.list_(WORK_TYPE if work else WORK_COUNT_TYPE)),
            *_TOP_LEVEL_EXTRA,
            (PERSON_ENVELOPE, pa.struct([])),
        ]
    )


#: The full person record type.
PERSON_RECORD_TYPE: Final = person_record_type()

# ---------------------------------------------------------------------------
# Output columns.
# ---------------------------------------------------------------------------

#: Wide person scalars: (column suffix, type, path in PERSON_RECORD_TYPE). A path of
#: ``None`` marks a column computed from several fields.
PERSON_SCALAR_COLUMNS: Final[tuple[tuple[str, pa.DataType, tuple[str, ...] | None], ...]] = (
    ("uuid", STR, ("uuid",)),
    ("full_name", STR, ("full_name",)),
    ("first_name", STR, ("first_name",)),
    ("last_name", STR, ("last_name",)),
    ("title", STR, ("title",)),
    ("headline", STR, ("headline",)),
    ("linkedin_url", STR, ("linkedin_url",)),
    ("image", STR, ("image",)),
    ("industry", STR, ("industry",)),
    ("location_city", STR, ("location", "city")),
    ("location_state", STR, ("location", "state")),
    ("location_country", STR, ("location", "country")),
    ("location_country_code", STR, ("location", "country_code")),
    ("location", STR, None),
    ("timestamp_work_experience_start", TS, ("timestamp_work_experience_start",)),
    ("organization_uuid", STR, ("organization", "uuid")),
    ("organization_name", STR, None),
    ("organization_domain", STR, ("organization", "website_domain")),
    ("organization_website", STR, ("organization", "website")),
    ("organization_linkedin_url", STR, ("organization", "linkedin_url")),
    ("organization_logo", STR, ("organization", "logo")),
    ("organization_industry", STR, ("organization", "industry")),
    ("organization_number_of_employees", STR, ("organization", "number_of_employees")),
    ("organization_founded_year", INT, ("organization", "founded_year")),
    ("organization_type", STR, ("organization", "type")),
    # best picks
    ("work_email", STR, None),
    ("direct_email", STR, None),
    ("phone", STR, None),
    ("phone_e164", STR, None),
    ("phone_line_type", STR, None),
    ("best_email", STR, None),
    # counts: 0 for a found record without the list, null for a null row
    ("email_count", INT, None),
    ("phone_count", INT, None),
    ("work_experience_count", INT, None),
)

#: Organization columns: (column suffix, type, path in ORGANIZATION_RECORD_TYPE).
ORGANIZATION_COLUMNS: Final[tuple[tuple[str, pa.DataType, tuple[str, ...] | None], ...]] = (
    ("organization_uuid", STR, ("uuid",)),
    ("organization_name", STR, ("name",)),
    ("organization_domain", STR, ("website_domain",)),
    ("organization_website", STR, ("website",)),
    ("organization_linkedin_url", STR, ("linkedin_url",)),
    ("organization_logo", STR, ("logo",)),
    ("organization_industry", STR, ("industry",)),
    ("organization_location_city", STR, ("location", "city")),
    ("organization_location_state", STR, ("location", "state")),
    ("organization_location_country", STR, ("location", "country")),
    ("organization_location_country_code", STR, ("location", "country_code")),
    ("organization_location", STR, None),
    ("organization_number_of_employees", STR, ("number_of_employees",)),
    ("organization_founded_year", INT, ("founded_year",)),
    ("organization_type", STR, ("type",)),
)


@dataclass(frozen=True)
class ListSpec:
    """How one record list becomes numbered (wide) or exploded (long) columns.

    Attributes:
        field: The list's key in the person record (``"emails"``).
        base: Column stem (``"email"``): wide columns are ``{base}_{i}{suffix}``,
            long ones ``{base}{suffix}``.
        columns: (suffix, type, path inside one list element) per column.
        derived: (suffix, type) per column computed from an element's fields (the
            E.164 phone, the email flags), after ``columns``.
    """

    field: ExplodeTarget
    base: str
    columns: tuple[tuple[str, pa.DataType, tuple[str, ...]], ...]
    derived: tuple[tuple[str, pa.DataType], ...] = ()

    @property
    def outputs(self) -> list[tuple[str, pa.DataType]]:
        """Return (suffix, type) of every column, read then derived."""
        return [(suffix, typ) for suffix, typ, _ in self.columns] + list(self.derived)

    def wide_names(self, i: int, prefix: str) -> list[str]:
        """Return the numbered column names for element ``i`` (1-based)."""
        return [f"{prefix}{self.base}_{i}{suffix}" for suffix, _ in self.outputs]

    def long_names(self, prefix: str) -> list[str]:
        """Return the exploded column names."""
        return [f"{prefix}{self.base}{suffix}" for suffix, _ in self.outputs]


LIST_SPECS: Final[dict[ExplodeTarget, ListSpec]] = {
    "emails": ListSpec(
        "emails",
        "email",
        (("", STR, ("email",)), ("_type", STR, ("type",)), ("_status", STR, ("status",))),
        (("_is_free", BOOL), ("_is_role", BOOL)),
    ),
    "phones": ListSpec(
        "phones",
        "phone",
        (
            ("", STR, ("phone",)),
            ("_type", STR, ("type",)),
            ("_country_code", STR, ("country_code",)),
            ("_is_valid", BOOL, ("is_valid",)),
        ),
        (("_e164", STR), ("_line_type", STR)),
    ),
    "work_experience": ListSpec(
        "work_experience",
        "work",
        (
            ("_title", STR, ("title",)),
            ("_organization_name", STR, ("organization", "name")),
            ("_organization_domain", STR, ("organization", "website_domain")),
            ("_start", TS, ("timestamp_start",)),
            ("_end", TS, ("timestamp_end",)),
            ("_is_current", BOOL, ("is_current",)),
        ),
    ),
}


@dataclass(frozen=True)
class Widths:
    """How many numbered wide columns to make per record list.

    Elements past the width are dropped from the wide table; the ``*_count`` columns
    always give the full length, so truncation stays visible. A width of 0 makes no
    numbered columns for that list.

    Attributes:
        emails: Number of ``email_{i}`` column groups.
        phones: Number of ``phone_{i}`` column groups.
        work: Number of ``work_{i}`` column groups (from ``work_experience``).

    Raises:
        InvalidArgumentTypeError: If a width is not an int (also a ``TypeError``).
        InvalidArgumentError: If a width is negative (a ``ValueError``).
    """

    emails: int = DEFAULT_WIDE_ITEMS
    phones: int = DEFAULT_WIDE_ITEMS
    work: int = DEFAULT_WIDE_ITEMS

    def __post_init__(self) -> None:
        for name in ("emails", "phones", "work"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidArgumentTypeError(
                    f"Widths.{name} must be an int >= 0, got {type(value).__name__} {value!r}"
                )
            if value < 0:
                raise InvalidArgumentError(f"Widths.{name} must be an int >= 0, got {value!r}")

    def of(self, field: ExplodeTarget) -> int:
        """Return the width for a record list, by its record key."""
        return {"emails": self.emails, "phones": self.phones, "work_experience": self.work}[field]


#: The default widths: ``DEFAULT_WIDE_ITEMS`` of each.
DEFAULT_WIDTHS: Final = Widths()


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str):
        raise InvalidArgumentTypeError(
            f'prefix must be a str ("" for none), got {type(prefix).__name__}'
        )
    return prefix


def person_scalar_fields(prefix: str = DEFAULT_PREFIX) -> list[pa.Field]:
    """Return the person columns that are not numbered: scalars, best picks, counts.

    Args:
        prefix: Column name prefix.

    Returns:
        The fields, in output order.

    Raises:
        InvalidArgumentTypeError: If ``prefix`` is not a str (also a ``TypeError``).
    """
    _check_prefix(prefix)
    return [pa.field(f"{prefix}{suffix}", typ) for suffix, typ, _ in PERSON_SCALAR_COLUMNS]


def person_schema(widths: Widths = DEFAULT_WIDTHS, prefix: str = DEFAULT_PREFIX) -> pa.Schema:
    """Return the schema of the wide person table.

    Args:
        widths: Number of numbered column groups per list.
        prefix: Column name prefix.

    Returns:
        The schema `salesql_frames._flatten.person_columns` always returns.

    Raises:
        InvalidArgumentTypeError: If ``prefix`` is not a str (also a ``TypeError``).
    """
    fields = person_scalar_fields(prefix)
    for spec in LIST_SPECS.values():
        for i in range(1, widths.of(spec.field) + 1):
            names = spec.wide_names(i, prefix)
            fields.extend(
                pa.field(name, typ) for name, (_, typ) in zip(names, spec.outputs, strict=True)
            )
    return pa.schema(fields)


def organization_schema(prefix: str = DEFAULT_PREFIX) -> pa.Schema:
    """Return the schema of the organization table.

    Args:
        prefix: Column name prefix.

    Returns:
        The schema `salesql_frames._flatten.organization_columns` always returns.

    Raises:
        InvalidArgumentTypeError: If ``prefix`` is not a str (also a ``TypeError``).
    """
    _check_prefix(prefix)
    return pa.schema(
        [pa.field(f"{prefix}{suffix}", typ) for suffix, typ, _ in ORGANIZATION_COLUMNS]
    )


def check_explode(explode: str) -> ExplodeTarget:
    """Validate an ``explode`` argument.

    Args:
        explode: One of ``"emails"``, ``"phones"``, ``"work_experience"``.

    Returns:
        The same value, typed.

    Raises:
        InvalidArgumentError: For any other value (a ``ValueError``).
    """
    for target in EXPLODE_TARGETS:
        if explode == target:
            return target
    accepted = ", ".join(map(repr, EXPLODE_TARGETS))
    raise InvalidArgumentError(f"explode must be one of {accepted}; got {explode!r}")


def long_person_schema(explode: ExplodeTarget, prefix: str = DEFAULT_PREFIX) -> pa.Schema:
    """Return the schema of the long (exploded) person table.

    The person columns without the numbered ones, then the exploded list's columns.
    When phones are exploded, ``{prefix}phone`` is the exploded phone and the best-pick
    ``{prefix}phone`` column is left out, so no name appears twice.

    Args:
        explode: The record list exploded into rows.
        prefix: Column name prefix.

    Returns:
        The schema `salesql_frames._flatten.explode_persons` always returns.

    Raises:
        InvalidArgumentError: If ``explode`` names no record list (a ``ValueError``).
        InvalidArgumentTypeError: If ``prefix`` is not a str (also a ``TypeError``).
    """
    spec = LIST_SPECS[check_explode(explode)]
    item_fields = [
        pa.field(name, typ)
        for name, (_, typ) in zip(spec.long_names(prefix), spec.outputs, strict=True)
    ]
    item_names = {f.name for f in item_fields}
    fields = [f for f in person_scalar_fields(prefix) if f.name not in item_names]
    return pa.schema(fields + item_fields)
