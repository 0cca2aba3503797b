"""Parameter groups: which queries the API can answer, and why a query cannot be sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ._constants import (
    MAX_PARAM_LENGTH,
    ORGANIZATION_GROUPS,
    ORGANIZATION_PARAMS,
    PERSON_FLAGS,
    PERSON_GROUPS,
    PERSON_PARAMS,
)
from ._exceptions import InvalidQueryError

Kind = Literal["person", "organization"]

#: What a query sent to the API looks like: parameter name -> string (or bool for flags).
Query = dict[str, "str | bool"]

_GROUPS: dict[Kind, tuple[tuple[str, ...], ...]] = {
    "person": PERSON_GROUPS,
    "organization": ORGANIZATION_GROUPS,
}
_PARAMS: dict[Kind, tuple[str, ...]] = {
    "person": PERSON_PARAMS,
    "organization": ORGANIZATION_PARAMS,
}
_FLAGS: dict[Kind, tuple[str, ...]] = {"person": PERSON_FLAGS, "organization": ()}

_REQUIREMENT: dict[Kind, str] = {
    "person": (
        "linkedin_url, or full_name (or first_name + last_name) together with "
        "organization_domain or organization_name"
    ),
    "organization": "linkedin_url, organization_domain or organization_name",
}


def is_filled(value: object) -> bool:
    """Return True for a non-blank string."""
    return isinstance(value, str) and bool(value.strip())


def complete_group(query: Mapping[str, object], kind: Kind) -> tuple[str, ...] | None:
    """Return the first complete parameter group of ``query``, in the recommended order.

    Examples:
        >>> complete_group({"full_name": "Ada Lovelace", "organization_domain": "x.io"}, "person")
        ('full_name', 'organization_domain')
        >>> complete_group({"first_name": "Ada"}, "person") is None
        True
    """
    for group in _GROUPS[kind]:
        if all(is_filled(query.get(name)) for name in group):
            return group
    return None


def groups(kind: Kind) -> tuple[tuple[str, ...], ...]:
    """The complete parameter groups of ``kind``, most accurate first."""
    return _GROUPS[kind]


def requirement(kind: Kind) -> str:
    """Describe in words what a query of this kind needs."""
    return _REQUIREMENT[kind]


def missing_reason(query: Mapping[str, object], kind: Kind) -> str:
    """Say why ``query`` has no complete group, naming what it has and what it needs."""
    filled = [name for name in _PARAMS[kind] if is_filled(query.get(name))]
    has = ", ".join(filled) if filled else "no usable value"
    return f"needs {_REQUIREMENT[kind]}; has {has}"


def validate_query(query: object, kind: Kind, *, index: int | None = None) -> Query:
    """Check one query locally and return it cleaned (stripped strings, no empty values).

    Raises:
        InvalidQueryError: The query is not a mapping, is empty, names an unknown
            parameter, holds a non-string value or an oversized one, or has no
            complete parameter group.
    """
    where = "" if index is None else f"query {index}: "
    if not isinstance(query, Mapping):
        raise InvalidQueryError(
            f"{where}expected a mapping of parameter names to values, got {type(query).__name__}",
            index=index,
        )
    allowed = _PARAMS[kind] + _FLAGS[kind]
    unknown = sorted(str(name) for name in query if name not in allowed)
    if unknown:
        raise InvalidQueryError(
            f"{where}unknown {kind} parameter(s) {unknown}; allowed: {', '.join(allowed)}",
            index=index,
        )
    cleaned: Query = {}
    for name, value in query.items():
        if value is None:
            continue
        if name in _FLAGS[kind]:
            if not isinstance(value, bool):
                raise InvalidQueryError(
                    f"{where}{name} must be True or False, got {type(value).__name__}",
                    index=index,
                )
            if value:
                cleaned[name] = True
            continue
        if not isinstance(value, str):
            raise InvalidQueryError(
                f"{where}{name} must be a string, got {type(value).__name__}", index=index
            )
        text = value.strip()
        if len(text) > MAX_PARAM_LENGTH:
            raise InvalidQueryError(
                f"{where}{name} is {len(text)} characters long; the limit is {MAX_PARAM_LENGTH}",
                index=index,
            )
        if text:
            cleaned[name] = text
    if not any(name in cleaned for name in _PARAMS[kind]):
        raise InvalidQueryError(f"{where}empty query: {kind} queries need {requirement(kind)}",
                                index=index)
    if complete_group(cleaned, kind) is None:
        raise InvalidQueryError(f"{where}incomplete {kind} query: {missing_reason(cleaned, kind)}",
                                index=index)
    return cleaned
