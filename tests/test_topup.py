"""Top-ups keep what you have, and pandas/polars metadata survives enrichment.

Re-enriching a frame that already holds result columns (an earlier run's) never erases
them: rows that get no new answer keep their earlier values (and their earlier status
when the earlier run answered them); rows that get a new answer take it. Judged by what
the sandbox received.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd
import polars as pl
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from tests.conftest import AssertSameFrame, Column, MakeFrame

P = "salesql_"


def drop(frame: Any, *names: str) -> Any:
    if isinstance(frame, pl.DataFrame):
        return frame.drop(list(names))
    return frame.drop(columns=list(names))


def identity(url: str) -> str:
    """The sandbox's counter key of a person LinkedIn URL query."""
    return "li:" + url.rsplit("/", 1)[-1]


def sent_since(sb: sandbox.Sandbox, before: dict[str, int]) -> Counter[str]:
    return Counter(sb.counters.queries) - Counter(before)


def test_top_up_only_missing_keeps_every_earlier_value(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
    assert_same_frame: AssertSameFrame, person_urls: Callable[..., list[str]],
) -> None:
    urls = person_urls(12)
    frame = make_frame({"linkedin_url": urls, "note": [f"n{i}" for i in range(12)]})
    first = frame.salesql.enrich_persons(client=client, cache=False, progress=False)
    emails = column(first, P + "work_email")
    missing = [i for i, email in enumerate(emails) if email is None]
    assert 0 < len(missing) < 12  # both kinds of rows, or the test proves nothing
    before = dict(sb.counters.queries)

    again = first.salesql.enrich_persons(only_missing=P + "work_email", client=client,
                                         cache=False, progress=False)

    # The sandbox received exactly the queries of the rows without a work email.
    assert sent_since(sb, before) == Counter(identity(urls[i]) for i in missing)
    # Rows it skipped are exactly as they were: status, values, when they were fetched.
    assert column(again, P + "status") == column(first, P + "status")
    assert column(again, P + "work_email") == emails
    for name in (P + "full_name", P + "fetched_at", P + "error", P + "phone_1"):
        kept = [value for i, value in enumerate(column(again, name)) if i not in missing]
        assert kept == [value for i, value in enumerate(column(first, name)) if i not in missing]
    # Same columns, same place, same dtypes (re-sent rows got the same answers again).
    assert_same_frame(drop(again, P + "fetched_at"), drop(first, P + "fetched_at"))


def test_rows_without_a_new_answer_keep_values_rows_with_one_take_it(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
    person_urls: Callable[..., list[str]],
) -> None:
    found = person_urls(3, found=True)
    gone = person_urls(1, found=False)
    first = make_frame({"linkedin_url": [*found, gone[0]]}).salesql.enrich_persons(
        client=client, cache=False, progress=False)
    assert column(first, P + "status") == ["found", "found", "found", "not_found"]
    # The earlier output, its inputs edited: row 0 blanked (invalid now), row 1 now names
    # someone the API does not know (a new answer: not found), rows 2-3 unchanged.
    if isinstance(first, pl.DataFrame):
        edited = first.with_columns(pl.Series("linkedin_url", [None, gone[0], found[2],
                                                               gone[0]]))
    else:
        edited = first.copy()
        edited["linkedin_url"] = pd.Series([None, gone[0], found[2], gone[0]],
                                           index=edited.index, dtype=edited["linkedin_url"].dtype)
    again = edited.salesql.enrich_persons(client=client, cache=False, progress=False)
    status, names = column(again, P + "status"), column(again, P + "full_name")
    assert status == ["found", "not_found", "found", "not_found"]
    assert names[0] == column(first, P + "full_name")[0]  # invalid now: kept, with its status
    assert names[1] is None  # re-sent, new answer: not found, values cleared
    assert names[2] == column(first, P + "full_name")[2]


def test_failed_rows_keep_their_earlier_answer(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
    person_urls: Callable[..., list[str]],
) -> None:
    urls = person_urls(4, found=True)
    first = make_frame({"linkedin_url": urls}).salesql.enrich_persons(
        client=client, cache=False, progress=False)
    sb.faults.add("http_422", endpoint="persons_bulk", times=20)
    again = first.salesql.enrich_persons(client=client, cache=False, progress=False)
    assert sb.counters.requests["persons_bulk"] > 1  # it was tried
    for name in (P + "status", P + "full_name", P + "work_email", P + "fetched_at"):
        assert column(again, name) == column(first, name)


def test_top_up_on_long_output_keeps_the_wide_results_it_has(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
    person_urls: Callable[..., list[str]],
) -> None:
    urls = person_urls(6)
    first = make_frame({"linkedin_url": urls}).salesql.enrich_persons(
        client=client, cache=False, progress=False)
    filled = [email is not None for email in column(first, P + "work_email")]
    before = dict(sb.counters.queries)
    long = first.salesql.enrich_persons(only_missing=P + "work_email", how="long",
                                        explode="emails", client=client, cache=False,
                                        progress=False)
    wanted = Counter(identity(u) for u, f in zip(urls, filled, strict=True) if not f)
    assert sent_since(sb, before) == wanted
    rows = column(long, P + "row")
    for row, status, name in zip(rows, column(long, P + "status"),
                                 column(long, P + "full_name"), strict=True):
        if filled[row]:  # skipped: once, with what the wide frame had
            assert rows.count(row) == 1
            assert status == column(first, P + "status")[row]
            assert name == column(first, P + "full_name")[row]
    with pytest.raises(sf.InvalidArgumentError, match="already long"):
        long.salesql.enrich_persons(how="long", explode="emails", client=client, cache=False,
                                    progress=False)


def test_only_missing_takes_non_text_result_columns(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
) -> None:
    frame = make_frame({"Website": ["clarosys.com", "acme.io", "initech.com", "globex.com"]})
    first = frame.salesql.enrich_organizations(client=client, cache=False, progress=False)
    years = column(first, P + "organization_founded_year")
    plan = first.salesql.plan_organizations(only_missing=P + "organization_founded_year")
    assert plan.skipped_rows == sum(year is not None for year in years)
    plan = first.salesql.plan_organizations(only_missing=P + "fetched_at")
    assert plan.skipped_rows == sum(s in ("found", "not_found")
                                    for s in column(first, P + "status"))


def test_a_column_that_cannot_hold_earlier_results_raises_before_sending(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame,
) -> None:
    frame = make_frame({"Website": ["acme.io"], P + "organization_founded_year": ["long ago"]})
    with pytest.raises(sf.InvalidArgumentError, match="organization_founded_year"):
        frame.salesql.enrich_organizations(client=client, cache=False, progress=False)
    assert sb.counters.searches == 0


# -- metadata ---------------------------------------------------------------------------


def test_pandas_attrs_column_and_index_names_survive(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
) -> None:
    urls = person_urls(3)
    index = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["team", "n"])
    frame = pd.DataFrame({"linkedin_url": urls, "score": [1, 2, 3]}, index=index)
    frame.attrs = {"source": "crm-export", "nested": {"k": [1]}}
    frame.columns.name = "fields"
    for how, explode in (("wide", None), ("long", "emails")):
        out = frame.salesql.enrich_persons(how=how, explode=explode, client=client,
                                           cache=False, progress=False)
        assert out.attrs == {"source": "crm-export", "nested": {"k": [1]}}
        assert out.attrs["nested"] is not frame.attrs["nested"]  # a copy, as pandas makes
        assert out.columns.name == "fields"
        assert list(out.index.names) == ["team", "n"]
        assert out["score"].dtype == frame["score"].dtype
    again = out.salesql.enrich_persons(client=client, cache=False, progress=False)
    assert again.attrs["source"] == "crm-export"
    assert again.columns.name == "fields"


def test_result_columns_stay_where_they_were_and_input_dtypes_are_kept(
    sb: sandbox.Sandbox, client: Client, backend: str, person_urls: Callable[..., list[str]],
) -> None:
    urls = person_urls(3)
    if backend == "polars":
        frame = pl.DataFrame({"linkedin_url": urls, "n": pl.Series([1, 2, 3], dtype=pl.Int16),
                              "tier": pl.Series(["a", "b", "a"], dtype=pl.Categorical)})
    else:
        frame = pd.DataFrame({"linkedin_url": urls, "n": pd.Series([1, 2, 3], dtype="int16"),
                              "tier": pd.Categorical(["a", "b", "a"])})
    first = frame.salesql.enrich_persons(client=client, cache=False, progress=False)
    assert list(first.columns)[:3] == ["linkedin_url", "n", "tier"]
    if backend == "polars":
        assert first.schema["n"] == pl.Int16
        assert first.schema["tier"] == pl.Categorical
        with_note = first.with_columns(pl.lit("x").alias("note"))
    else:
        assert first["n"].dtype == "int16"
        assert first["tier"].dtype == "category"
        with_note = first.assign(note="x")
    again = with_note.salesql.enrich_persons(client=client, cache=False, progress=False)
    assert list(again.columns) == list(with_note.columns)  # in place; "note" stays last


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_top_up_of_a_spreadsheet_read_back_keeps_the_values(
    sb: sandbox.Sandbox, client: Client, tmp_path: Any, fmt: str,
    person_urls: Callable[..., list[str]],
) -> None:
    """Read back from CSV/XLSX every result column is text; it is read as its type."""
    from salesql_frames._io import read_table, write_table

    urls = person_urls(8)
    first = pd.DataFrame({"linkedin_url": urls}).salesql.enrich_persons(
        client=client, cache=False, progress=False)
    path = write_table(first, tmp_path / f"out.{fmt}")
    back = read_table(path).frame
    missing = first[P + "work_email"].isna()
    before = dict(sb.counters.queries)
    again = back.salesql.enrich_persons(only_missing=P + "work_email", client=client,
                                        cache=False, progress=False)
    assert sent_since(sb, before) == Counter(identity(u) for u in pd.Series(urls)[missing])
    kept = ~missing
    for name in (P + "status", P + "work_email", P + "fetched_at",
                 P + "organization_founded_year", P + "timestamp_work_experience_start"):
        assert again.loc[kept, name].tolist() == first.loc[kept, name].tolist(), name
    year = P + "organization_founded_year"
    assert again[year].dtype == first[year].dtype
