"""Phone numbers in E.164 form, with their line type, parsed once per distinct number.

One job: `phone_details` maps an Arrow array of phone texts (and their ISO 3166
``country_code``) to the E.164 spelling and the line type ``phonenumbers`` knows,
parsing each distinct (number, region) pair once and mapping back with an Arrow take
(and keeping the last ``PHONE_CACHE_SIZE`` pairs for later calls).

The rule, never a guess: a number is parsed with its own ``country_code`` when that is
a region ``phonenumbers`` knows, else with ``default_region`` (None: only numbers
written with ``+`` and a country calling code parse). Its E.164 form is given when the
parse succeeds and the number has a possible length for its region; else null. The
line type is given only for a valid number whose type the metadata tells (``mobile``,
``fixed_line``, ``fixed_line_or_mobile``, ``voip``, ``toll_free``, ...), else null.

Examples:
    >>> import pyarrow as pa
    >>> e164, kind = phone_details(pa.array(["+49 (0)30 123456", "07911 123456", "junk"]),
    ...                            pa.array([None, "GB", None]))
    >>> e164.to_pylist(), kind.to_pylist()
    (['+4930123456', '+447911123456', None], ['fixed_line', 'mobile', None])
"""

from __future__ import annotations

from functools import cache, lru_cache
from types import ModuleType
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from . import _constants as C
from ._exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["check_region", "forget_parsed", "phone_details"]

_STR: Final = pa.string()
#: Separates number and region in the key of a distinct pair (never in either).
_KEY_SEPARATOR: Final = "\x00"


@cache
def _library() -> tuple[ModuleType, dict[int, str]]:
    """``phonenumbers`` and its line types by value, imported on first use.

    Importing it costs about 12 ms, a fifth of ``import salesql_frames`` otherwise.
    """
    import phonenumbers

    line_types = {value: name.lower()
                  for name, value in vars(phonenumbers.PhoneNumberType).items()
                  if name.isupper() and name != "UNKNOWN"}
    return phonenumbers, line_types


@cache
def _regions() -> frozenset[str]:
    return frozenset(_library()[0].SUPPORTED_REGIONS)


def check_region(default_region: object) -> str | None:
    """Validate a ``default_region`` argument: None or a two-letter region code.

    Examples:
        >>> check_region("gb"), check_region(None)
        ('GB', None)

    Raises:
        InvalidArgumentTypeError: Not a str or None (also a ``TypeError``).
        InvalidArgumentError: Not a region ``phonenumbers`` knows (a ``ValueError``).
    """
    if default_region is None:
        return None
    if not isinstance(default_region, str):
        raise InvalidArgumentTypeError(
            'default_region must be a two-letter region code such as "US" or None, '
            f"got {type(default_region).__name__}"
        )
    region = default_region.strip().upper()
    if region not in _regions():
        raise InvalidArgumentError(
            f"default_region={default_region!r} is not a region phone numbers know: "
            'use an ISO 3166 alpha-2 code such as "US", "GB" or "DE", or None'
        )
    return region


def forget_parsed() -> None:
    """Empty the cache of parsed numbers.

    After a million answers it holds about 40 MB of numbers that a next run, of other
    people, will not ask for.
    """
    _parse.cache_clear()


@lru_cache(maxsize=C.PHONE_CACHE_SIZE)
def _parse(number: str, region: str | None) -> tuple[str | None, str | None]:
    phonenumbers, line_types = _library()
    try:
        parsed = phonenumbers.parse(number, region, keep_raw_input=False)
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_possible_number(parsed):
        return None, None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164, line_types.get(phonenumbers.number_type(parsed))


def phone_details(
    numbers: pa.Array, country_codes: pa.Array, default_region: str | None = None
) -> tuple[pa.Array, pa.Array]:
    """Return the E.164 form and the line type of each phone (null where unknown).

    Args:
        numbers: Phone texts, as the API writes them.
        country_codes: The phones' ISO 3166 alpha-2 ``country_code`` (null when absent).
        default_region: Region for numbers without a known ``country_code``
            (checked by `check_region`).

    Returns:
        ``(e164, line_type)``, two string arrays as long as ``numbers``.
    """
    n = len(numbers)
    if numbers.null_count == n:
        return pa.nulls(n, _STR), pa.nulls(n, _STR)
    regions = pc.utf8_upper(pc.utf8_trim_whitespace(country_codes.cast(_STR)))
    keys = pc.binary_join_element_wise(
        numbers.cast(_STR), pc.fill_null(regions, ""), _KEY_SEPARATOR
    )
    encoded = pc.dictionary_encode(keys)
    known = _regions()
    e164: list[str | None] = []
    kinds: list[str | None] = []
    for key in encoded.dictionary.to_pylist():
        number, region = key.split(_KEY_SEPARATOR)
        value, kind = _parse(number, region if region in known else default_region)
        e164.append(value)
        kinds.append(kind)
    indices = encoded.indices
    return pa.array(e164, _STR).take(indices), pa.array(kinds, _STR).take(indices)
