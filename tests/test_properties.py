"""Property-based tests (hypothesis) of alignment, dedupe and resuming, over the sandbox.

Each property runs on every backend (``make_frame``), with fewer examples per backend so
the file takes about as long as one backend with more examples did.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesql_frames as sf
from salesql_frames import Client, sandbox

if TYPE_CHECKING:
    from conftest import AssertSameFrame, Column, MakeFrame

SLUGS = [f"prop-person-{i}" for i in range(12)]
COSMETICS = [
    "https://linkedin.com/in/{}",
    "https://www.linkedin.com/in/{}/",
    "linkedin.com/in/{}",
    "http://uk.linkedin.com/in/{}?trk=x",
    "https://www.linkedin.com/in/{}/details/experience/",
    "  https://LinkedIn.com/in/{}  ",
]
INVALID = [None, "", "   ", "n/a", "https://twitter.com/someone"]

cells = st.one_of(
    st.tuples(st.sampled_from(range(len(SLUGS))), st.sampled_from(COSMETICS),
              st.booleans()).map(
        lambda t: (t[1].format(SLUGS[t[0]].upper() if t[2] else SLUGS[t[0]]), t[0])
    ),
    st.sampled_from(INVALID).map(lambda v: (v, None)),
)
#: 14 examples on each of the three backends (one backend had 25): about 1.3x the time.
PROPERTY_SETTINGS = settings(max_examples=14, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def server() -> Iterator[sandbox.Sandbox]:
    with sandbox.serve(seed=11) as sb:
        yield sb


def labels(n: int) -> list[str]:
    return [f"r{i % 3}" for i in range(n)]  # duplicate labels, on pandas


def enrich(sb: sandbox.Sandbox, make_frame: MakeFrame, urls: list[str | None],
           **options: object) -> Any:
    frame = make_frame({"linkedin_url": urls}, index=labels(len(urls)))
    with Client(sb.api_key, base_url=sb.base_url) as api:
        return frame.salesql.enrich_persons(client=api, progress=False, **options)


@PROPERTY_SETTINGS
@given(rows=st.lists(cells, max_size=60))
def test_output_is_aligned_and_sends_each_identity_once(
    server: sandbox.Sandbox, make_frame: MakeFrame, column: Column,
    rows: list[tuple[str | None, int | None]],
) -> None:
    urls = [url for url, _ in rows]
    before = server.counters.searches
    out = enrich(server, make_frame, urls, cache=False)
    sent = server.counters.searches - before

    assert len(out) == len(urls)
    assert column(out, "linkedin_url") == urls
    if isinstance(out, pd.DataFrame):
        assert list(out.index) == labels(len(urls))
    identities = {slug for _, slug in rows if slug is not None}
    assert sent <= len(identities)
    assert sent == len(identities)  # nothing cached here: each identity exactly once
    answers = zip(rows, column(out, "salesql_status"), column(out, "salesql_linkedin_url"),
                  strict=True)
    for (_url, slug), status, got in answers:
        if slug is None:
            assert status == "invalid_input"
            continue
        truth = server.lookup_person({"linkedin_url": f"https://linkedin.com/in/{SLUGS[slug]}"})
        assert status == ("found" if truth else "not_found")
        assert (got if truth else None) == (truth["linkedin_url"] if truth else None)


@PROPERTY_SETTINGS
@given(rows=st.lists(cells, min_size=1, max_size=60), budget=st.integers(0, 8))
def test_resuming_twice_sends_what_resuming_once_sends(
    server: sandbox.Sandbox, make_frame: MakeFrame, column: Column,
    assert_same_frame: AssertSameFrame, rows: list[tuple[str | None, int | None]], budget: int,
) -> None:
    urls = [url for url, _ in rows]
    identities = {slug for _, slug in rows if slug is not None}
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "r.db"
        start = server.counters.searches
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sf.RunStoppedWarning)
            partial = enrich(server, make_frame, urls, cache=store,
                             max_credits=budget)  # "interrupted"
        after_partial = server.counters.searches
        once = enrich(server, make_frame, urls, cache=store)
        after_once = server.counters.searches
        twice = enrich(server, make_frame, urls, cache=store)
        after_twice = server.counters.searches

    assert after_once - start == len(identities)  # partial + resume: each identity once
    assert after_twice == after_once  # resuming again sends nothing
    assert_same_frame(once, twice)
    assert column(partial, "salesql_status").count("skipped") <= len(urls)
    assert after_partial - start <= len(identities)


_URL_PIECES = st.lists(st.sampled_from([
    "https://", "http://", "HTTPS://", "www.", "uk.", "m.", "linkedin.com", "LinkedIn.com",
    "/in/", "/IN/", "/company/", "/pub/", "ada-l", "ADA", "ab", "x" * 101, "ACoAAB" + "x" * 26,
    "acoaab" + "x" * 26,
    "ACwAA" + "Zz9_-" * 6, "/", "?trk=1", "#top", " ", "\u200e", "\ufeff", "\n", "%C3%A9", "é",
    "\u212a", "'", "<", ">", ".", "-",
]), max_size=9).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), _URL_PIECES), max_size=12))
def test_the_arrow_fast_path_agrees_with_the_scalar_canonicalizer(values: list[Any]) -> None:
    """Whole-column canonicalization of LinkedIn URLs is the scalar function, cell by cell."""
    import pyarrow as pa

    from salesql_frames._canonical_series import map_unique
    from salesql_frames._kinds import KINDS

    array = pa.array(values, pa.string())
    for spec in KINDS.values():
        fn = spec.canonical["linkedin_url"]
        expected = [None if value is None else fn(value) for value in values]
        assert map_unique(array, fn).to_pylist() == expected


_NAME_PIECES = st.lists(st.sampled_from([
    "Ada", "ada", "O'Brien", "Zoë", "e\u0301", "\u212a", "123", "-", ".", "~", "#", " ", "  ",
    "\t", "\n", "\u00a0", "\u200b", "\ufeff", "\x7f", "\x01", "\x1f", "N/A", "n/a", "#N/A",
    "null", "NONE", "undefined", "#VALUE!", "x", "7",
]), max_size=6).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), _NAME_PIECES), max_size=12))
def test_the_arrow_fast_path_for_names_agrees_with_the_scalar_canonicalizers(
    values: list[Any],
) -> None:
    """Whole-column canonicalization of names is the scalar functions, cell by cell."""
    import pyarrow as pa

    from salesql_frames._canonical import canonical_name, canonical_organization_name
    from salesql_frames._canonical_series import map_unique

    for fn in (canonical_name, canonical_organization_name):
        expected = [None if value is None else fn(value) for value in values]
        for kind in (pa.string(), pa.large_string()):
            assert map_unique(pa.array(values, kind), fn).to_pylist() == expected


_ADDRESS_PIECES = st.lists(st.sampled_from([
    "info", "INFO", "sales", "team", "jane", "Ann", ".", "..", "_", "-", "+", "+eu", "@", "@@",
    "gmail.com", "Mail.Yahoo.co.uk", "yahoo.co.uk", "co.uk", "acme.io", ".", " ", "\t", "é",
    "ß", "no-reply", "noreply", "GMAIL.COM.", "x.gmail.com", "hotmail.fr", "#", "\u212a", "7",
]), max_size=7).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), _ADDRESS_PIECES), max_size=12), st.booleans())
def test_the_arrow_fast_path_for_email_flags_agrees_with_the_scalar_ones(
    values: list[Any], own_list: bool,
) -> None:
    """Free-mail and role flags of a whole column are the scalar functions, cell by cell."""
    import contextlib

    import pyarrow as pa

    import salesql_frames as sf
    from salesql_frames._emails import email_flags, is_free_address, is_role_address

    lists = (sf.host_lists(free_mail={"acme.io", "mail.yahoo.co.uk", "é.com"}) if own_list
             else contextlib.nullcontext())
    with lists:
        free, role = email_flags(pa.array(values, pa.string()))
        assert free.to_pylist() == [None if v is None else is_free_address(v) for v in values]
        assert role.to_pylist() == [None if v is None else is_role_address(v) for v in values]


def test_the_gc_pause_keeps_an_application_s_own_freeze() -> None:
    """A service that froze objects before forking keeps them frozen after a look-up."""
    import gc

    from salesql_frames._gc import paused_gc

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with paused_gc():
            pass
        assert gc.get_freeze_count() > frozen // 2  # (thawing would leave 0)
    finally:
        gc.unfreeze()


def test_the_fast_path_takes_every_arrow_string_type() -> None:
    import pyarrow as pa

    from salesql_frames._canonical_series import map_unique
    from salesql_frames._kinds import PERSON

    fn = PERSON.canonical["linkedin_url"]
    for kind in (pa.string(), pa.large_string()):
        array = pa.array(["linkedin.com/in/Ada-L", None], kind)
        assert map_unique(array, fn).to_pylist() == ["https://linkedin.com/in/ada-l", None]
