"""Which input column feeds which API parameter: explicit names, or detected headers."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from ._exceptions import MappingError
from ._kinds import KindSpec

__all__ = ["detect_columns", "normalize_header", "resolve_mapping"]

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_header(header: object) -> str:
    """Fold a header for matching: lowercase, letters and digits only.

    Examples:
        >>> normalize_header("Person Linkedin Url")
        'personlinkedinurl'
        >>> normalize_header("first_name")
        'firstname'
    """
    return _NOT_ALNUM.sub("", str(header).lower())


def detect_columns(columns: Sequence[str], spec: KindSpec) -> dict[str, str]:
    """Guess the parameter -> column mapping from spreadsheet-style headers.

    Examples:
        >>> from salesql_frames._kinds import PERSON
        >>> detect_columns(["Person Linkedin Url", "Company"], PERSON)
        {'linkedin_url': 'Person Linkedin Url', 'organization_name': 'Company'}
    """
    by_header: dict[str, str] = {}
    for column in columns:
        by_header.setdefault(normalize_header(column), column)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for param, synonyms in spec.headers.items():
        for synonym in synonyms:
            match = by_header.get(synonym)
            if match is not None and match not in taken:
                mapping[param] = match
                taken.add(match)
                break
    return mapping


def resolve_mapping(
    columns: Sequence[str], spec: KindSpec, explicit: Mapping[str, str | None]
) -> dict[str, str]:
    """Return the parameter -> column mapping to use.

    Explicit column names are used exactly as given (and only them); with none given,
    columns are detected from their headers.

    Raises:
        MappingError: A named column does not exist, or no parameter group can be
            formed from the columns.
    """
    chosen = {param: column for param, column in explicit.items() if column is not None}
    present = set(columns)
    for param, column in chosen.items():
        if column not in present:
            close = difflib.get_close_matches(str(column), [str(c) for c in columns], n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise MappingError(
                f"{param}={column!r}: no such column.{hint} Columns: {_listing(columns)}"
            )
    mapping = chosen or detect_columns(columns, spec)
    if not any(all(name in mapping for name in group) for group in spec.groups):
        found = ", ".join(f"{p}={c!r}" for p, c in mapping.items()) or "nothing"
        raise MappingError(
            f"Cannot build {spec.name} queries: they need {spec.requirement}. "
            f"Mapped: {found}. Columns: {_listing(columns)}. "
            f"Name the columns, e.g. {spec.mapping_example}"
        )
    return mapping


def _listing(columns: Sequence[str]) -> str:
    shown = [repr(str(c)) for c in columns[:30]]
    more = f" (+{len(columns) - 30} more)" if len(columns) > 30 else ""
    return (", ".join(shown) or "none") + more
