"""Canonicalize a whole column: the scalar functions of ``_canonical`` mapped over Arrow.

One code path serves pandas, polars and pyarrow: the column becomes an Arrow string
array, each *distinct* value is canonicalized once, and the results are taken back to
every row. The usual spellings (plain profile URLs, plain ASCII names) are
canonicalized in Arrow, the other distinct values by the scalar function. The caller
gets its own type back. pandas and polars are never imported
here unless the caller already did (``sys.modules`` is checked before ``isinstance``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import join_text
from ._canonical import (
    LINKEDIN_ORIGIN,
    MEMBER_ID_PATTERN,
    PLACEHOLDERS,
    PLAIN_PROFILE_PATTERN,
    PLAIN_SLUG_LENGTHS,
    PLAIN_TEXT_PATTERN,
    LinkedInURL,
    canonical_domain,
    canonical_linkedin_url,
    canonical_name,
    canonical_organization_name,
)

if TYPE_CHECKING:
    from typing import TypeGuard

    import pandas as pd
    import polars as pl

__all__ = [
    "canonicalize_domains",
    "canonicalize_linkedin_urls",
    "canonicalize_names",
    "map_unique",
    "map_unique_encoded",
]

#: What the public helpers accept; each returns the type it was given.
ColumnT = TypeVar("ColumnT", "pd.Series[Any]", "pl.Series", "pa.Array", "list[Any]")

ScalarFn = Callable[[str], "str | None"]


def _is_pandas_series(obj: object) -> TypeGuard[pd.Series[Any]]:
    pd_module = sys.modules.get("pandas")
    return pd_module is not None and isinstance(obj, pd_module.Series)


def _is_polars_series(obj: object) -> TypeGuard[pl.Series]:
    pl_module = sys.modules.get("polars")
    return pl_module is not None and isinstance(obj, pl_module.Series)


def _is_string_type(arrow_type: pa.DataType) -> bool:
    """True for Arrow ``string``, ``large_string`` and ``string_view``."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return True
    is_view = getattr(pa.types, "is_string_view", None)  # pyarrow >= 16
    return bool(is_view is not None and is_view(arrow_type))


def _to_string_array(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Return ``array`` as a ``string``/``large_string`` Array; non-string types become nulls."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    arrow_type = array.type
    if pa.types.is_dictionary(arrow_type) and _is_string_type(arrow_type.value_type):
        array = array.dictionary_decode()
        arrow_type = array.type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return array
    if _is_string_type(arrow_type):  # string_view
        return array.cast(pa.large_string())
    return pa.nulls(len(array), pa.string())


def map_unique(array: pa.Array, fn: ScalarFn) -> pa.Array:
    """Apply ``fn`` to each distinct string of ``array`` once and spread the results.

    Nulls stay null, as do cells of a non-string type; ``fn`` returning None gives null.
    The result is ``large_string`` when the input is, otherwise ``string``.

    Args:
        array: An Arrow array (or chunked array) of strings, possibly dictionary-encoded.
        fn: A pure function from one string to its canonical string or None.

    Returns:
        An Arrow string array as long as ``array``.

    Examples:
        >>> map_unique(pa.array(["a", None, "a"]), str.upper).to_pylist()
        ['A', None, 'A']
    """
    mapped, indices = map_unique_encoded(array, fn)
    return mapped.take(indices)


def map_unique_encoded(array: pa.Array, fn: ScalarFn) -> tuple[pa.Array, pa.Array]:
    """`map_unique` before the results are spread: ``(per distinct value, indices)``.

    ``mapped.take(indices)`` is `map_unique`'s answer; a caller that checks the
    results further does it once per distinct value, on ``mapped``.

    Examples:
        >>> mapped, indices = map_unique_encoded(pa.array(["a", None, "a"]), str.upper)
        >>> mapped.to_pylist(), indices.to_pylist()
        (['A'], [0, None, 0])
    """
    strings = _to_string_array(array)
    out_type = pa.large_string() if pa.types.is_large_string(strings.type) else pa.string()
    encoded = strings.dictionary_encode()
    values = encoded.dictionary
    fast = _plain_profiles(values, fn) or _plain_texts(values, fn)
    if fast is None:
        mapped = pa.array([fn(value) for value in values.to_pylist()], type=out_type)
    else:  # the usual spellings in Arrow; the others one by one
        done, canonical = fast
        others = pc.invert(done)
        rest = [fn(value) for value in values.filter(others).to_pylist()]
        mapped = canonical.cast(out_type)
        if rest:
            mapped = pc.replace_with_mask(mapped, others, pa.array(rest, type=out_type))
    return mapped, encoded.indices


_Fast = tuple[pa.Array, pa.Array]


def _plain_profiles(values: pa.Array, fn: ScalarFn) -> _Fast | None:
    """Where ``fn`` (a person-page LinkedIn canonicalizer) meets a plain profile URL.

    Most cells of a LinkedIn column are ``[https://][www.]linkedin.com/in/<slug>[/]``
    spellings: matched by `PLAIN_PROFILE_PATTERN` (RE2), their canonical URL is the
    origin + ``/in/`` + the slug lowercased, exactly what the scalar function answers;
    member IDs keep their case, so a slug that may be one goes the scalar way. Returns
    the mask of such values and their canonical URLs, or None when ``fn`` is another
    function.
    """
    if not (isinstance(fn, LinkedInURL) and "in" in fn.pages) or not len(values):
        return None
    # ASCII cells only, as the scalar pattern (re.ASCII): RE2 folds ``K`` (Kelvin) to k.
    # The pattern is lower case, so on an ASCII cell matching it case-insensitively is
    # matching it on the lowered cell; and RE2 matches several times faster than it
    # extracts a group, so the slug is cut out with splits.
    # (Lowered twice, as each copy is dropped at once: a LazyFrame's distinct values are
    # millions.)
    matched = pc.fill_null(pc.and_(
        pc.string_is_ascii(values),
        pc.match_substring_regex(pc.ascii_lower(values), f"^{PLAIN_PROFILE_PATTERN}$")), False)
    # No spelling of the origin holds "/in/", and a slug holds none of "/?#".
    path = pc.list_element(
        pc.split_pattern(pc.ascii_lower(values.filter(matched)), "/in/", max_splits=1), 1)
    slug = pc.list_element(pc.split_pattern_regex(path, "[/?#]", max_splits=1), 0).cast(
        pa.string())
    del path
    shortest, longest = PLAIN_SLUG_LENGTHS
    length = pc.utf8_length(slug)
    member = pc.match_substring_regex(slug, f"^{MEMBER_ID_PATTERN}$", ignore_case=True)
    plain = pc.and_not(
        pc.and_(pc.greater_equal(length, shortest), pc.less_equal(length, longest)), member)
    done = pc.replace_with_mask(matched, matched, plain)
    urls = join_text(f"{LINKEDIN_ORIGIN}/in/", slug.filter(plain))
    return done, pc.replace_with_mask(pa.nulls(len(values), urls.type), done, urls)


#: The scalar text canonicalizers with an Arrow fast path, and the characters one of
#: which a usable value has (``str.isalpha`` / ``str.isalnum``, on ASCII).
_TEXT_FUNCTIONS: dict[ScalarFn, str] = {
    canonical_name: "[A-Za-z]",
    canonical_organization_name: "[A-Za-z0-9]",
}


@functools.cache
def _placeholders(kind: pa.DataType) -> pa.Array:
    """`PLACEHOLDERS` as an Arrow array (made on first use: ``pa.array`` imports pandas)."""
    return pa.array(sorted(PLACEHOLDERS), kind)


def _plain_texts(values: pa.Array, fn: ScalarFn) -> _Fast | None:
    """Where ``fn`` (`canonical_name`, `canonical_organization_name`) keeps a value as is.

    Plain ASCII text (`PLAIN_TEXT_PATTERN`) with a letter (a letter or digit for an
    organization) that is not a placeholder is its own canonical form. Returns the mask
    of such values and the values, or None when ``fn`` is another function.
    """
    wanted = _TEXT_FUNCTIONS.get(fn)
    if wanted is None or not len(values):
        return None
    plain = pc.and_(pc.match_substring_regex(values, f"^{PLAIN_TEXT_PATTERN}$"),
                    pc.match_substring_regex(values, wanted))
    placeholder = pc.is_in(pc.utf8_lower(values), value_set=_placeholders(values.type))
    return pc.fill_null(pc.and_not(plain, placeholder), False), values


def _pandas_to_arrow(series: pd.Series[Any]) -> pa.Array:
    """Convert a pandas Series to Arrow; non-string cells of object columns become null."""
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        # Mixed object column (strings next to numbers, bytes, ...): keep only strings.
        values = [value if isinstance(value, str) else None for value in series.to_numpy()]
        return pa.array(values, type=pa.string())
    return array


def _pandas_result(series: pd.Series[Any], result: pa.Array) -> pd.Series[Any]:
    import pandas as pd

    dtype = series.dtype
    if not isinstance(dtype, pd.StringDtype):
        dtype = pd.StringDtype("pyarrow")
    values = result.to_pandas(types_mapper=lambda _: dtype).array
    out: pd.Series[Any] = pd.Series(values, index=series.index, name=series.name, copy=False)
    return out


def _apply(column: object, fn: ScalarFn) -> object:
    """Map ``fn`` over the distinct values of ``column`` and return the column's own type."""
    if _is_pandas_series(column):
        return _pandas_result(column, map_unique(_pandas_to_arrow(column), fn))
    if _is_polars_series(column):
        import polars as pl

        if column.dtype in (pl.String, pl.Categorical, pl.Enum, pl.Null):
            result = map_unique(column.cast(pl.String).to_arrow(), fn)
        else:
            result = pa.nulls(len(column), pa.string())
        return pl.Series(column.name, result, dtype=pl.String)
    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([map_unique(column, fn)])
    if isinstance(column, pa.Array):
        return map_unique(column, fn)
    if isinstance(column, (list, tuple)):
        values = [value if isinstance(value, str) else None for value in column]
        return type(column)(map_unique(pa.array(values, type=pa.string()), fn).to_pylist())
    raise TypeError(
        "expected a pandas Series, a polars Series, a pyarrow Array or a list of str, "
        f"got {type(column).__name__}"
    )


def canonicalize_linkedin_urls(column: ColumnT) -> ColumnT:
    """Canonicalize a column of LinkedIn URLs (see ``canonical_linkedin_url``).

    Args:
        column: A pandas or polars Series, a pyarrow (chunked) Array, or a list of str.

    Returns:
        The same kind of column: canonical URLs, null where a cell is not a usable
        LinkedIn URL. pandas keeps the index and name and gets a string dtype (the
        input's own if it had one, else ``string[pyarrow]``); polars gets ``pl.String``.

    Raises:
        TypeError: If ``column`` is none of the accepted types.

    Examples:
        >>> import pandas as pd
        >>> s = pd.Series(["www.linkedin.com/in/Ada/", "https://uk.linkedin.com/in/ada?trk=x"])
        >>> canonicalize_linkedin_urls(s).tolist()
        ['https://linkedin.com/in/ada', 'https://linkedin.com/in/ada']
    """
    return cast("ColumnT", _apply(column, canonical_linkedin_url))


def canonicalize_domains(column: ColumnT) -> ColumnT:
    """Canonicalize a column of domains, website URLs or emails (see ``canonical_domain``).

    Args:
        column: A pandas or polars Series, a pyarrow (chunked) Array, or a list of str.

    Returns:
        The same kind of column: canonical domains, null where a cell has none.
        pandas keeps the index and name and gets a string dtype; polars gets ``pl.String``.

    Raises:
        TypeError: If ``column`` is none of the accepted types.

    Examples:
        >>> import pandas as pd
        >>> s = pd.Series(["https://www.Acme.io/x", "jane@acme.io", "n/a"], index=[7, 7, 9])
        >>> out = canonicalize_domains(s.astype("string"))
        >>> out.tolist(), out.index.tolist()
        (['acme.io', 'acme.io', <NA>], [7, 7, 9])
    """
    return cast("ColumnT", _apply(column, canonical_domain))


def canonicalize_names(column: ColumnT) -> ColumnT:
    r"""Canonicalize a column of names to their display form (see ``canonical_name``).

    Args:
        column: A pandas or polars Series, a pyarrow (chunked) Array, or a list of str.

    Returns:
        The same kind of column: names with whitespace collapsed and case kept, null
        where a cell is blank or unusable. pandas keeps the index and name and gets a
        string dtype; polars gets ``pl.String``.

    Raises:
        TypeError: If ``column`` is none of the accepted types.

    Examples:
        >>> import pandas as pd
        >>> canonicalize_names(pd.Series(["  Ada\u00a0 Lovelace ", 12.5], dtype=object)).tolist()
        ['Ada Lovelace', <NA>]
    """
    return cast("ColumnT", _apply(column, canonical_name))
