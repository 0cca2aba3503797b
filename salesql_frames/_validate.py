"""Argument checks shared by the accessors, the function API and the command line.

Each check names the argument, says what it accepts, and raises before anything is sent:
`InvalidArgumentTypeError` for a wrong type, `InvalidArgumentError` for a wrong value.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections.abc import Collection, Sequence
from typing import Any, TypeVar

from ._exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["age_seconds", "boolean", "choice", "column_names", "instance", "text", "whole_number"]

T = TypeVar("T")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def whole_number(name: str, value: object, *, minimum: int = 0) -> int:
    """``value`` as an int of at least ``minimum``: an int, or a float that is whole.

    Examples:
        >>> whole_number("max_credits", 150.0)
        150
        >>> whole_number("max_credits", "10")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        salesql_frames._exceptions.InvalidArgumentTypeError: max_credits must be ... '10' (str)
    """
    wanted = f"{name} must be a whole number >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentTypeError(f"{wanted}, got {_shown(value)} ({type(value).__name__})")
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise InvalidArgumentError(f"{wanted}, got {_shown(value)}")
        value = int(value)
    if value < minimum:
        raise InvalidArgumentError(f"{wanted}, got {value}")
    return value


def boolean(name: str, value: object) -> bool:
    """``value`` if it is True or False.

    Examples:
        >>> boolean("progress", None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        salesql_frames._exceptions.InvalidArgumentTypeError: progress must be True or ...
    """
    if not isinstance(value, bool):
        raise InvalidArgumentTypeError(f"{name} must be True or False, got {_shown(value)}")
    return value


def choice(name: str, value: object, choices: Collection[T]) -> T:
    """``value`` if it is one of ``choices``.

    Examples:
        >>> choice("dtype_backend", "arrow", ("numpy_nullable", "pyarrow"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        salesql_frames._exceptions.InvalidArgumentError: dtype_backend must be one of ...'arrow'
    """
    for option in choices:
        if value == option and type(value) is type(option):
            return option
    listed = ", ".join(repr(option) for option in choices)
    raise InvalidArgumentError(f"{name} must be one of {listed}; got {_shown(value)}")


def text(name: str, value: object) -> str:
    """``value`` if it is a str."""
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(
            f"{name} must be a str, got {_shown(value)} ({type(value).__name__})"
        )
    return value


def time_zone(name: str, value: object) -> str | None:
    """``value`` if it is None or the name of a time zone (``"UTC"``, ``"Europe/Paris"``).

    Examples:
        >>> time_zone("tz", "Mars/Olympus")
        Traceback (most recent call last):
        ...
        salesql_frames._exceptions.InvalidArgumentError: tz must be None (naive UTC), "UTC" ...
    """
    if value is None:
        return None
    import zoneinfo

    try:
        if isinstance(value, str) and value.strip() == value:
            zoneinfo.ZoneInfo(value)
            return value
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    raise InvalidArgumentError(
        f'{name} must be None (naive UTC), "UTC" or a time zone name such as '
        f'"Europe/Paris"; got {_shown(value)}'
    )


def instance(name: str, value: object, kinds: type[Any] | tuple[type[Any], ...],
             wanted: str) -> Any:
    """``value`` if it is None or an instance of ``kinds``; ``wanted`` says what in words."""
    if value is not None and not isinstance(value, kinds):
        raise InvalidArgumentTypeError(
            f"{name} must be {wanted}, got {_shown(value)} ({type(value).__name__})"
        )
    return value


def column_names(name: str, value: object) -> list[str] | None:
    """A column name or a sequence of them, as a list; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return list(value)
    raise InvalidArgumentTypeError(
        f"{name} must be a column name or a list of column names, got {_shown(value)}"
    )


def path_like(value: object) -> bool:
    """Whether ``value`` is a str or an ``os.PathLike``."""
    return isinstance(value, (str, os.PathLike))


#: ``max_age`` string units, in seconds.
_AGE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 7 * 86_400.0}
_AGE = re.compile(r"\s*(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[smhdw]?)\s*",
                  re.IGNORECASE)


def age_seconds(name: str, value: object) -> float | None:
    """An age as seconds: a ``timedelta``, a number of days, or ``"90d"``/``"12h"``; None stays.

    String units: ``s``, ``m`` (minutes), ``h``, ``d``, ``w``; a bare number is days.

    Examples:
        >>> age_seconds("max_age", "12h"), age_seconds("max_age", 2)
        (43200.0, 172800.0)
        >>> age_seconds("max_age", "90 days")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        salesql_frames._exceptions.InvalidArgumentError: max_age must be ... got '90 days'
    """
    if value is None:
        return None
    wanted = (f'{name} must be a datetime.timedelta, a number of days, or a string such '
              f'as "90d" or "12h" (units s, m, h, d, w), at least 0')
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        match = _AGE.fullmatch(value)
        if match is None:
            raise InvalidArgumentError(f"{wanted}; got {_shown(value)}")
        seconds = float(match["number"]) * _AGE_UNITS[match["unit"].lower() or "d"]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) * _AGE_UNITS["d"]
    else:
        raise InvalidArgumentTypeError(f"{wanted}; got {_shown(value)} ({type(value).__name__})")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise InvalidArgumentError(f"{wanted}; got {_shown(value)}")
    return seconds
