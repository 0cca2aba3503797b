"""Parameter groups: which queries the API can answer, and why a query cannot be sent."""

from __future__ import annotations

from collections.abc import Mapping

from ._constants import MAX_PARAM_LENGTH
from ._exceptions import InvalidQueryError
from ._kinds import KindSpec
from ._models import Query

__all__ = ["complete_group", "is_filled", "missing_reason", "validate_query"]


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
        if len(text) > MAX_PARAM_LENGTH:
            raise InvalidQueryError(
                f"{where}{name} is {len(text)} characters long; the limit is {MAX_PARAM_LENGTH}",
                index=index,
            )
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
