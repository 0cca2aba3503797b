"""Parameter groups: which queries the API can answer, and why a query cannot be sent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from ._constants import MAX_PARAM_LENGTH
from ._exceptions import InvalidQueryError
from ._kinds import KindSpec
from ._models import Query

__all__ = [
    "CONTROL_CHARACTERS",
    "complete_group",
    "is_filled",
    "missing_reason",
    "validate_query",
    "value_problem",
]

#: C0 and C1 control characters: never part of a name, URL or domain that can be sent.
CONTROL_CHARACTERS: Final = "[\x00-\x1f\x7f-\x9f]"
_CONTROL_RE: Final = re.compile(CONTROL_CHARACTERS)


def value_problem(text: str) -> str | None:
    r"""Why a parameter value cannot be sent as it is, or None when it can.

    Examples:
        >>> value_problem("Ada Lovelace") is None
        True
        >>> value_problem("x" * 3000)
        'is 3,000 characters long; the limit is 2,048'
        >>> value_problem("Ada\x00")
        'holds a control character'
    """
    if len(text) > MAX_PARAM_LENGTH:
        return f"is {len(text):,} characters long; the limit is {MAX_PARAM_LENGTH:,}"
    if _CONTROL_RE.search(text):
        return "holds a control character"
    return None


def is_filled(value: object) -> bool:
    """Return True for a non-blank string."""
    return isinstance(value, str) and bool(value.strip())


def complete_group(query: Mapping[str, object], spec: KindSpec) -> tuple[str, ...] | None:
    """Return the first complete parameter group of ``query``, in the recommended order.

    Examples:
        >>> from salesql_frames._kinds import PERSON
        >>> complete_group({"full_name": "Ada Lovelace", "organization_domain": "x.io"}, PERSON)
        ('full_name', 'organization_domain')
        >>> complete_group({"first_name": "Ada"}, PERSON) is None
        True
    """
    for group in spec.groups:
        if all(is_filled(query.get(name)) for name in group):
            return group
    return None


def missing_reason(query: Mapping[str, object], spec: KindSpec) -> str:
    """Say why ``query`` has no complete group, naming what it has and what it needs."""
    filled = [name for name in spec.params if is_filled(query.get(name))]
    has = ", ".join(filled) if filled else "no usable value"
    return f"needs {spec.requirement}; has {has}"


def validate_query(query: object, spec: KindSpec, *, index: int | None = None) -> Query:
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
    allowed = spec.params + spec.flags
    unknown = sorted(str(name) for name in query if name not in allowed)
    if unknown:
        raise InvalidQueryError(
            f"{where}unknown {spec.name} parameter(s) {unknown}; allowed: {', '.join(allowed)}",
            index=index,
        )
    cleaned: Query = {}
    for name, value in query.items():
        if value is None:
            continue
        if name in spec.flags:
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
        problem = value_problem(text)
        if problem is not None:
            raise InvalidQueryError(f"{where}{name} {problem}", index=index)
        if text:
            cleaned[name] = text
    if not any(name in cleaned for name in spec.params):
        raise InvalidQueryError(
            f"{where}empty query: {spec.name} queries need {spec.requirement}", index=index
        )
    if complete_group(cleaned, spec) is None:
        raise InvalidQueryError(
            f"{where}incomplete {spec.name} query: {missing_reason(cleaned, spec)}", index=index
        )
    return cleaned
