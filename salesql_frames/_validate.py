"""Argument checks shared by the accessors, the function API and the command line.

Each check names the argument, says what it accepts, and raises before anything is sent:
`InvalidArgumentTypeError` for a wrong type, `InvalidArgumentError` for a wrong value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Sequence
from typing import Any, TypeVar

from ._exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["boolean", "choice", "column_names", "instance", "text", "whole_number"]

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
