"""Canonical forms: every cosmetic variant maps to one key, distinct leads never merge."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from salesql_frames._canonical import (
    canonical_domain,
    canonical_linkedin_url,
    canonical_name,
    canonical_organization_name,
    name_key,
)
from salesql_frames._canonical_series import (
    canonicalize_domains,
    canonicalize_linkedin_urls,
    canonicalize_names,
    map_unique,
)

PERSON = "https://linkedin.com/in/jane-doe"
COMPANY = "https://linkedin.com/company/acme"
ID = "ACwAAAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
LEAD = f"https://linkedin.com/sales/lead/{ID}"

JUNK = [
    None,
    float("nan"),
    np.nan,
    pd.NA,
    pd.NaT,
    12.5,
    0,
    True,
    b"https://linkedin.com/in/jane-doe",
    Decimal("1"),
    ["https://linkedin.com/in/jane-doe"],
    "",
    "   ",
    "\t\u00a0\n",
    "\ufeff\u200b",
]


# --------------------------------------------------------------------------- LinkedIn URLs


@pytest.mark.parametrize(
    "raw",
    [
        "https://linkedin.com/in/jane-doe",
        "https://www.linkedin.com/in/jane-doe",
        "http://www.linkedin.com/in/jane-doe",
        "HTTPS://WWW.LINKEDIN.COM/IN/JANE-DOE",
        "linkedin.com/in/jane-doe",
        "www.linkedin.com/in/jane-doe",
        "//www.linkedin.com/in/jane-doe",
        "m.linkedin.com/in/jane-doe",
        "https://uk.linkedin.com/in/jane-doe",
        "https://de.linkedin.com/in/Jane-Doe",
        "https://fr.linkedin.com/in/jane-doe/",
        "https://www.LinkedIn.com/in/Jane-Doe/",
        "https://www.linkedin.com./in/jane-doe",
        "https://www.linkedin.com:443/in/jane-doe",
        "https://www.linkedin.com/in/jane-doe?trk=public_profile_browsemap",
        "https://www.linkedin.com/in/jane-doe/?originalSubdomain=uk",
        "https://www.linkedin.com/in/jane-doe#experience",
        "https://www.linkedin.com/in/jane-doe/details/experience/",
        "https://www.linkedin.com/in/jane-doe/recent-activity/all/",
        "https://www.linkedin.com/in/jane-doe/en",
        "https://www.linkedin.com//in//jane-doe//",
        "https://www.linkedin.com/mwlite/in/jane-doe",
        "https://www.linkedin.com/in/jane%2Ddoe",
        "  https://www.linkedin.com/in/jane-doe  ",
        "\ufeffhttps://www.linkedin.com/in/jane-doe\u200b",
        "<https://www.linkedin.com/in/jane-doe>",
        '"https://www.linkedin.com/in/jane-doe"',
        "'linkedin.com/in/jane-doe/'",
        "\u201chttps://www.linkedin.com/in/jane-doe\u201d",
    ],
)
def test_person_url_variants(raw: str) -> None:
    assert canonical_linkedin_url(raw) == PERSON


@pytest.mark.parametrize(
    "raw",
    [
        "https://www.linkedin.com/company/acme",
        "https://www.linkedin.com/company/Acme/",
        "linkedin.com/company/ACME/about/",
        "https://uk.linkedin.com/company/acme/jobs/?trk=x",
        "http://m.linkedin.com/company/acme#top",
        "<www.linkedin.com/company/acme/people/>",
    ],
)
def test_company_url_variants(raw: str) -> None:
    assert canonical_linkedin_url(raw) == COMPANY


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.linkedin.com/school/Stanford-University/", "/school/stanford-university"),
        ("linkedin.com/showcase/Acme-Cloud/about", "/showcase/acme-cloud"),
        ("https://www.linkedin.com/company/1035/", "/company/1035"),
        ("https://www.linkedin.com/sales/company/1035?_ntb=x", "/company/1035"),
        ("http://www.linkedin.com/pub/Jane-Doe/1/A3B/221/", "/pub/jane-doe/1/a3b/221"),
        ("linkedin.com/pub/jane-doe/1/a3b/221/en", "/pub/jane-doe/1/a3b/221"),
        (
            "https://www.linkedin.com/in/%E7%8E%8B%E5%B0%8F%E6%98%8E",
            "/in/%E7%8E%8B%E5%B0%8F%E6%98%8E",
        ),
        # LinkedIn member IDs are case-sensitive base64: kept as given.
        (f"https://www.linkedin.com/in/{ID}/", f"/in/{ID}"),
    ],
)
def test_other_linkedin_kinds(raw: str, expected: str) -> None:
    assert canonical_linkedin_url(raw) == "https://linkedin.com" + expected


@pytest.mark.parametrize(
    "raw",
    [
        "https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa",
        "https://www.linkedin.com/in/jos%c3%a9-garc%c3%ada/",
        "https://www.linkedin.com/in/josé-garcía",
        "https://www.linkedin.com/in/JOSÉ-GARCÍA",
        "https://www.linkedin.com/in/Jos%C3%89-Garc%C3%8Da",
        "https://www.linkedin.com/in/jose\u0301-garci\u0301a",  # NFD
        "https://www.linkedin.com/in/jose%CC%81-garci%CC%81a",  # NFD, percent-encoded
    ],
)
def test_unicode_slug_variants(raw: str) -> None:
    expected = "https://linkedin.com/in/jos%C3%A9-garc%C3%ADa"
    assert canonical_linkedin_url(raw) == expected
    assert canonical_linkedin_url(expected) == expected


@pytest.mark.parametrize(
    "raw",
    [
        f"https://www.linkedin.com/sales/lead/{ID},NAME_SEARCH,abcd",
        f"https://www.linkedin.com/sales/lead/{ID},NAME_SEARCH,abcd?_ntb=zZ%2Fq",
        f"https://www.linkedin.com/sales/lead/{ID},OUT_OF_NETWORK,Xy9Z/",
        f"https://www.linkedin.com/sales/lead/{ID}",
        f"https://www.linkedin.com/sales/people/{ID},NAME_SEARCH,x",
        f"https://www.linkedin.com/sales/people/{ID},NAME_SEARCH,x#anchor",
        f"linkedin.com/sales/lead/{ID}%2CNAME_SEARCH%2Cabcd",
        f"HTTP://WWW.LINKEDIN.COM/SALES/LEAD/{ID},NAME_SEARCH,abcd",
        f" <https://www.linkedin.com/sales/people/{ID},NAME_SEARCH,x?trk=1> ",
    ],
)
def test_sales_navigator_variants(raw: str) -> None:
    assert canonical_linkedin_url(raw) == LEAD


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("linkedin.com/in/jane-doe", "linkedin.com/in/jane-doe-1"),
        ("linkedin.com/in/jane-doe", "linkedin.com/in/janedoe"),
        ("linkedin.com/in/jane-doe", "linkedin.com/company/jane-doe"),
        ("linkedin.com/company/acme", "linkedin.com/school/acme"),
        ("linkedin.com/company/acme", "linkedin.com/showcase/acme"),
        ("linkedin.com/in/jose", "linkedin.com/in/josé"),
        ("linkedin.com/pub/jane/1/a3b/221", "linkedin.com/pub/jane/1/a3b/222"),
        # Sales Navigator IDs are case-sensitive: differing only in case = two people.
        (f"linkedin.com/sales/lead/{ID}", f"linkedin.com/sales/lead/{ID.lower()}"),
        (f"linkedin.com/sales/lead/{ID}", f"linkedin.com/sales/lead/{ID.swapcase()}"),
        (f"linkedin.com/sales/lead/{ID},NAME_SEARCH,a", f"linkedin.com/sales/lead/{ID}1"),
        (f"linkedin.com/in/{ID}", f"linkedin.com/in/{ID[:-1]}X"),
    ],
)
def test_distinct_urls_never_merge(a: str, b: str) -> None:
    key_a, key_b = canonical_linkedin_url(a), canonical_linkedin_url(b)
    assert key_a is not None
    assert key_b is not None
    assert key_a != key_b


@pytest.mark.parametrize(
    "raw",
    [
        *JUNK,
        "jane-doe",
        "in/jane-doe",
        "Jane Doe",
        "linkedin.com",
        "https://www.linkedin.com",
        "https://www.linkedin.com/",
        "https://www.linkedin.com/?trk=x",
        "https://www.linkedin.com/in/",
        "https://www.linkedin.com/in/?x=1",
        "https://www.linkedin.com/feed/",
        "https://www.linkedin.com/jobs/view/123/",
        "https://www.linkedin.com/posts/jane-doe_activity-123",
        "https://www.linkedin.com/pub/dir/jane/doe",
        "https://www.linkedin.com/in/jane doe",
        "https://www.linkedin.com/in/%E9",  # not UTF-8
        "https://www.linkedin.com/in/..",
        "https://www.linkedin.com/sales/lead/",
        "https://www.linkedin.com/sales/lead/ACw$AAA,NAME_SEARCH,x",
        "https://www.linkedin.com/sales/search/people?query=x",
        "https://www.linkedin.com/sales/company/acme",
        "https://www.linkedin.com/profile/view?id=123",
        "ftp://linkedin.com/in/jane-doe",
        "mailto:jane@linkedin.com",
        "https://example.com/in/jane-doe",
        "https://notlinkedin.com/in/jane-doe",
        "https://linkedin.com.evil.com/in/jane-doe",
        "https://api.linkedin.com/in/jane-doe",
        "https://lnkd.in/abc123",
        "https://linkedin.cn/in/jane-doe",
        "https://[::1/in/jane-doe",
    ],
)
def test_unusable_urls(raw: object) -> None:
    assert canonical_linkedin_url(raw) is None


# --------------------------------------------------------------------------- domains


@pytest.mark.parametrize(
    "raw",
    [
        "example.com",
        "Example.COM",
        "Example.COM.",
        "www.example.com",
        "WWW.EXAMPLE.COM",
        "www.www.example.com",
        "https://www.Example.com:8080/path?q",
        "http://example.com",
        "HTTPS://EXAMPLE.COM/",
        "//example.com/x",
        "example.com/about-us",
        "example.com:443",
        "example.com?utm_source=x",
        "example.com#top",
        "https://user:pass@www.example.com/",
        "john@Example.com",
        "mailto:john@example.com",
        "MAILTO:John.Doe@EXAMPLE.COM?subject=hi",
        "John Doe <john@example.com>",
        "  example.com\u00a0",
        "<https://example.com>",
        '"example.com"',
        "example\u3002com",
    ],
)
def test_domain_variants(raw: str) -> None:
    assert canonical_domain(raw) == "example.com"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://shop.example.co.uk/x", "example.co.uk"),  # the registrable domain
        ("www2.example.com", "example.com"),
        ("blog.acme.co.uk", "acme.co.uk"),
        ("careers.acme.com.au", "acme.com.au"),
        ("a.github.io", "a.github.io"),  # a private suffix: each site is its own
        ("https://x.y.acme.blogspot.com/", "acme.blogspot.com"),
        ("www.com", "www.com"),
        ("my-company.io", "my-company.io"),
        ("3m.com", "3m.com"),
        ("xn--mnchen-3ya.de", "münchen.de"),
        ("MÜNCHEN.DE", "münchen.de"),
        ("https://www.xn--mnchen-3ya.de/", "münchen.de"),
        ("mu\u0308nchen.de", "münchen.de"),  # NFD
        ("例え.jp", "例え.jp"),
        ("xn--r8jz45g.jp", "例え.jp"),
        ("пример.рф", "пример.рф"),  # an internationalized top-level name
        ("\uff41\uff43\uff4d\uff45.com", "acme.com"),  # full-width letters (NFKC, as IDNA)
    ],
)
def test_domain_forms(raw: str, expected: str) -> None:
    assert canonical_domain(raw) == expected
    assert canonical_domain(expected) == expected


@pytest.mark.parametrize(
    "raw",
    [
        *JUNK,
        "localhost",
        "example",
        "n/a",
        "N.A.",
        "-",
        "acme inc.com",
        "acme .com",
        "acme_inc.com",
        "acme..com",
        ".example.com",
        "-acme.com",
        "acme-.com",
        "exa!mple.com",
        "192.168.0.1",
        "http://10.0.0.1:8080/",
        "[::1]",
        "example.com:http",
        "example.c",
        "john@",
        "mailto:",
        "https://",
        "xn--zz.com",
        "a" * 64 + ".com",
    ],
)
def test_unusable_domains(raw: object) -> None:
    assert canonical_domain(raw) is None


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane Doe", "Jane Doe"),
        ("  Jane   Doe  ", "Jane Doe"),
        ("Jane\u00a0Doe", "Jane Doe"),
        ("Jane\tDoe\n", "Jane Doe"),
        ("Jane\u2009\u3000Doe", "Jane Doe"),
        ("Ja\u200bne Doe\ufeff", "Jane Doe"),
        ("JANE doe", "JANE doe"),
        ("Jose\u0301", "José"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("王小明", "王小明"),
    ],
)
def test_canonical_name(raw: str, expected: str) -> None:
    assert canonical_name(raw) == expected


@pytest.mark.parametrize("raw", ["jane doe", "JANE DOE", " Jane\u00a0 Doe ", "jAnE\tdOe"])
def test_name_key_merges_case_and_spacing(raw: str) -> None:
    assert name_key(raw) == "jane doe"


def test_name_key_casefolds() -> None:
    assert name_key("STRASSE") == name_key("straße")
    assert name_key("José") != name_key("Jose")
    assert canonical_name("straße") == "straße"


@pytest.mark.parametrize("raw", [*JUNK, "-", "123", "...", "N/A", "#N/A", "null", "None"])
def test_unusable_names(raw: object) -> None:
    assert canonical_name(raw) is None
    assert name_key(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme Inc.", "Acme Inc."),
        ("  Acme\u00a0\u00a0Inc. ", "Acme Inc."),
        ("ACME GmbH & Co. KG", "ACME GmbH & Co. KG"),
        ("Cafe\u0301 Ltd", "Café Ltd"),
        ("42", "42"),
        ("3M", "3M"),
    ],
)
def test_canonical_organization_name(raw: str, expected: str) -> None:
    assert canonical_organization_name(raw) == expected


@pytest.mark.parametrize("raw", [*JUNK, "-", "&", "#N/A", "n/a"])
def test_unusable_organization_names(raw: object) -> None:
    assert canonical_organization_name(raw) is None


# --------------------------------------------------------------------------- map_unique


def test_map_unique_calls_fn_once_per_distinct_value() -> None:
    calls: Counter[str] = Counter()

    def fn(value: str) -> str | None:
        calls[value] += 1
        return None if value == "drop" else value.upper()

    values = ["a", "b", None, "a", "drop", "b", "a", None, "drop"] * 100
    result = map_unique(pa.array(values), fn)
    assert result.to_pylist() == [None if v in (None, "drop") else v.upper() for v in values]
    assert calls == {"a": 1, "b": 1, "drop": 1}


@pytest.mark.parametrize(
    "array",
    [
        pa.array(["x", None, "x"], pa.string()),
        pa.array(["x", None, "x"], pa.large_string()),
        pa.array(["x", None, "x"]).dictionary_encode(),
        pa.DictionaryArray.from_arrays(
            pa.array([0, None, 0], pa.int8()), pa.array(["x", "unused"])
        ),
        pa.chunked_array([["x", None], ["x"]]),
    ],
)
def test_map_unique_input_types(array: pa.Array) -> None:
    calls: list[str] = []

    def fn(value: str) -> str:
        calls.append(value)
        return value + "!"

    result = map_unique(array, fn)
    assert result.to_pylist() == ["x!", None, "x!"]
    assert calls == ["x"]
    expected = pa.large_string() if array.type == pa.large_string() else pa.string()
    assert result.type == expected


@pytest.mark.parametrize(
    "array",
    [pa.array([], pa.string()), pa.nulls(3), pa.nulls(2, pa.string()), pa.array([1, 2, 1])],
)
def test_map_unique_without_strings(array: pa.Array) -> None:
    def fn(value: str) -> str:
        raise AssertionError("fn must not be called")

    result = map_unique(array, fn)
    assert result.to_pylist() == [None] * len(array)
    assert pa.types.is_string(result.type)


@pytest.mark.skipif(not hasattr(pa, "string_view"), reason="pyarrow < 16")
def test_map_unique_string_view() -> None:
    array = pa.array(["x", None], pa.string()).cast(pa.string_view())
    assert map_unique(array, str.upper).to_pylist() == ["X", None]


# --------------------------------------------------------------------------- Series helpers

URLS = [
    "www.linkedin.com/in/Jane-Doe/",
    None,
    "https://uk.linkedin.com/in/jane-doe?trk=x",
    "not a url",
    "linkedin.com/company/Acme",
]
URLS_OUT = [PERSON, None, PERSON, None, COMPANY]


def _as_list(series: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in series.tolist()]


@pytest.mark.parametrize("dtype", [None, object, "string[pyarrow]", "string[python]", "category"])
def test_pandas_series(dtype: object) -> None:
    index = pd.Index(["r1", "r1", "r2", "r3", "r1"], name="row")
    series = pd.Series(URLS, index=index, name="linkedin_url", dtype=dtype)
    result = canonicalize_linkedin_urls(series)
    assert isinstance(result, pd.Series)
    assert _as_list(result) == URLS_OUT
    assert result.index is series.index or result.index.equals(series.index)
    assert list(result.index) == ["r1", "r1", "r2", "r3", "r1"]
    assert result.index.name == "row"
    assert result.name == "linkedin_url"
    assert isinstance(result.dtype, pd.StringDtype)
    if isinstance(series.dtype, pd.StringDtype):
        assert result.dtype == series.dtype


def test_pandas_mixed_object_column() -> None:
    series = pd.Series(
        ["acme.io", 12.5, None, pd.NA, np.nan, 7, b"acme.io", "x@ACME.io", Decimal(2)],
        dtype=object,
        index=[5, 5, 5, 1, 2, 3, 4, 0, 9],
    )
    result = canonicalize_domains(series)
    assert result.dtype == pd.StringDtype("pyarrow")
    assert _as_list(result) == ["acme.io", None, None, None, None, None, None, "acme.io", None]
    assert result.index.tolist() == series.index.tolist()


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([], dtype=object),
        pd.Series([None, None], dtype=object),
        pd.Series([1, 2]),
        pd.Series([1.5, np.nan]),
        pd.Series([1, 2]).astype("category"),
        pd.Series(["a.io", 3, "a.io"], dtype="category"),
    ],
)
def test_pandas_edge_columns(series: pd.Series) -> None:
    result = canonicalize_domains(series)
    assert isinstance(result.dtype, pd.StringDtype)
    assert len(result) == len(series)
    assert result.isna().sum() == sum(1 for v in series if v != "a.io")


def test_pandas_names_keep_case() -> None:
    series = pd.Series(["  Ada\u00a0Lovelace", "ADA LOVELACE", "-"], name="full_name")
    assert _as_list(canonicalize_names(series)) == ["Ada Lovelace", "ADA LOVELACE", None]


@pytest.mark.parametrize(
    "series",
    [
        pl.Series("linkedin_url", URLS, dtype=pl.String),
        pl.Series("linkedin_url", URLS, dtype=pl.Categorical),
        pl.Series("linkedin_url", URLS, dtype=pl.String).cast(
            pl.Enum(sorted({u for u in URLS if u is not None}))
        ),
    ],
)
def test_polars_series(series: pl.Series) -> None:
    result = canonicalize_linkedin_urls(series)
    assert isinstance(result, pl.Series)
    assert result.dtype == pl.String
    assert result.name == "linkedin_url"
    assert result.to_list() == URLS_OUT


@pytest.mark.parametrize(
    "series",
    [pl.Series("d", [None, None]), pl.Series("d", [], dtype=pl.Null), pl.Series("d", [1, 2])],
)
def test_polars_without_strings(series: pl.Series) -> None:
    result = canonicalize_domains(series)
    assert result.dtype == pl.String
    assert result.name == "d"
    assert result.to_list() == [None] * len(series)


def test_arrow_and_list_inputs() -> None:
    large = pa.array(["WWW.Acme.io", None], pa.large_string())
    result = canonicalize_domains(large)
    assert isinstance(result, pa.Array)
    assert result.type == pa.large_string()
    assert result.to_pylist() == ["acme.io", None]

    chunked = canonicalize_domains(pa.chunked_array([["WWW.Acme.io"], [None, "x"]]))
    assert isinstance(chunked, pa.ChunkedArray)
    assert chunked.to_pylist() == ["acme.io", None, None]

    assert canonicalize_names([" Ada  Lovelace", None, 3, "Ada Lovelace"]) == [
        "Ada Lovelace",
        None,
        None,
        "Ada Lovelace",
    ]
    assert canonicalize_names([]) == []


@pytest.mark.parametrize("bad", ["https://linkedin.com/in/x", 3, {"a": "b"}, np.array(["a"])])
def test_rejects_other_types(bad: object) -> None:
    with pytest.raises(TypeError, match="pandas Series"):
        canonicalize_linkedin_urls(bad)


def test_modules_do_not_import_pandas_or_polars() -> None:
    # Load the two modules under a bare package so the package __init__ does not interfere.
    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('salesql_frames')\n"
        f"pkg.__path__ = [{str(Path(__file__).parents[1] / 'salesql_frames')!r}]\n"
        "sys.modules['salesql_frames'] = pkg\n"
        "import salesql_frames._canonical, salesql_frames._canonical_series\n"
        "loaded = {'pandas', 'polars'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --------------------------------------------------------------------------- properties

_SLUG = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_.éüßøçñ王ж"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip(".") != "" and not s.startswith("ac"))
_KIND = st.sampled_from(["in", "company", "school", "showcase"])
_SCHEME = st.sampled_from(["", "http://", "https://", "HTTPS://", "//"])
_HOST = st.sampled_from(
    [
        "linkedin.com",
        "www.linkedin.com",
        "WWW.LinkedIn.COM",
        "m.linkedin.com",
        "uk.linkedin.com",
        "de.linkedin.com",
        "linkedin.com.",
        "www.linkedin.com:443",
    ]
)
_SUFFIX = st.sampled_from(["", "/", "/details/experience/", "/recent-activity/", "/en", "/about/"])
_QUERY = st.sampled_from(["", "?trk=abc", "?originalSubdomain=uk", "#frag", "?a=1#b"])
_WRAP = st.sampled_from([("", ""), ("  ", "\t"), ("<", ">"), ('"', '"'), ("\ufeff", "\u00a0")])


def _ascii_case(text: str, mode: int) -> str:
    if mode == 0:
        return text
    return "".join((c.upper() if mode == 1 else c.swapcase()) if c.isascii() else c for c in text)


@settings(max_examples=150, deadline=None)
@given(_SLUG, _KIND, _SCHEME, _HOST, _SUFFIX, _QUERY, _WRAP, st.integers(0, 2), st.booleans())
def test_url_cosmetics_and_idempotence(
    slug: str,
    kind: str,
    scheme: str,
    host: str,
    suffix: str,
    query: str,
    wrap: tuple[str, str],
    case: int,
    encode: bool,
) -> None:
    base = canonical_linkedin_url(f"https://linkedin.com/{kind}/{slug}")
    assert base is not None
    shown = quote(_ascii_case(slug, case), safe="") if encode else _ascii_case(slug, case)
    variant = f"{wrap[0]}{scheme}{host}/{kind}/{shown}{suffix}{query}{wrap[1]}"
    result = canonical_linkedin_url(variant)
    assert result == base
    assert canonical_linkedin_url(result) == result
    assert result.isascii()


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["lead", "people"]),
    st.sampled_from(["", ",NAME_SEARCH,abcd", "%2CNAME_SEARCH%2Cx", ",OUT_OF_NETWORK,Q1"]),
    _QUERY,
)
def test_sales_navigator_keeps_id(ident: str, section: str, auth: str, query: str) -> None:
    result = canonical_linkedin_url(f"www.linkedin.com/sales/{section}/{ident}{auth}{query}")
    assert result == f"https://linkedin.com/sales/lead/{ident}"
    assert canonical_linkedin_url(result) == result


_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True) | st.text(
    alphabet="abcüéø王", min_size=1, max_size=8
)
#: Real top-level names (an unknown one is refused): generic, country, two-level.
_TLD = st.sampled_from(["com", "io", "de", "fr", "jp", "org", "net", "co.uk", "com.au", "xyz"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_LABEL, min_size=1, max_size=3),
    _TLD,
    st.sampled_from(["", "http://", "https://", "HTTPS://", "//", "mailto:john@", "jane.doe@"]),
    st.booleans(),
    st.sampled_from(["", ":8080", ":443"]),
    st.sampled_from(["", "/", "/about?x=1", "#top", "?q"]),
    st.sampled_from(["", "."]),
    st.integers(0, 2),
    _WRAP,
)
def test_domain_cosmetics_and_idempotence(
    labels: list[str],
    tld: str,
    prefix: str,
    www: bool,
    port: str,
    path: str,
    dot: str,
    case: int,
    wrap: tuple[str, str],
) -> None:
    host = ".".join([*labels, tld])
    from salesql_frames._canonical import registrable_domain
    from salesql_frames._hostlists import (
        is_free_mail,
        is_hosting_platform,
        is_profile_platform,
    )

    registrable = registrable_domain(host)
    assume(registrable is not None and not is_free_mail(registrable)
           and not is_profile_platform(registrable) and not is_hosting_platform(registrable))
    base = canonical_domain(host)
    assert base == registrable
    if prefix.endswith("@"):
        port = path = ""
    shown = _ascii_case(("www." if www else "") + host, case) + dot
    result = canonical_domain(f"{wrap[0]}{prefix}{shown}{port}{path}{wrap[1]}")
    assert result == base
    assert canonical_domain(result) == result


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=30))
def test_text_canonicalization_is_idempotent(text: str) -> None:
    for fn in (
        canonical_name,
        name_key,
        canonical_organization_name,
        canonical_domain,
        canonical_linkedin_url,
    ):
        once = fn(text)
        assert once is None or fn(once) == once
    key = name_key(text)
    assert key == name_key(canonical_name(text))
    assert key is None or key == key.casefold()


@pytest.mark.parametrize(
    "url",
    ["https://www.linkedin.com/in/ada", "linkedin.com/in/ADA/", "www.linkedin.com/in/ada?x=1"],
)
def test_a_profile_url_given_as_a_domain_gives_no_domain(url: str) -> None:
    """A page on LinkedIn is about someone; linkedin.com is never their organization's."""
    from salesql_frames import canonical_domain, canonical_linkedin_url
    from salesql_frames._canonical import domain_problem

    assert canonical_domain(url) is None
    assert "linkedin.com, a profile platform" in domain_problem(url)
    assert canonical_linkedin_url(url) == "https://linkedin.com/in/ada"
