"""The function API over any frame: pandas, polars (eager and lazy), pyarrow.Table.

``salesql_frames.enrich_persons(frame, ...)`` returns the caller's type; an Arrow table
gets the same columns and values as the pandas path, and the accessors are these
functions with the frame bound (same signatures).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import salesql_frames
from salesql_frames import Client, InvalidArgumentTypeError, sandbox
from salesql_frames._accessors import SalesQLAccessor

Column = Callable[[Any, str], list[Any]]

FUNCTIONS = ("plan_persons", "enrich_persons", "estimate_persons",
             "plan_organizations", "enrich_organizations", "estimate_organizations")


def _leads(urls: list[str]) -> dict[str, list[Any]]:
    return {
        "Person Linkedin Url": [urls[0], urls[0].upper() + "/", urls[1], None, "twitter.com/x",
                                urls[2], urls[1]],
        "Note": ["a", "b", "c", "d", "e", "f", "g"],
    }


def _arrow_values(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


def test_arrow_table_matches_the_pandas_path(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]], column: Column
) -> None:
    data = _leads(person_urls(2, found=True) + person_urls(1, found=False, start=500))
    table = pa.table(data)
    out = salesql_frames.enrich_persons(table, client=client, cache=False, progress=False)
    sent = sb.counters.searches
    expected = salesql_frames.enrich_persons(pd.DataFrame(data), client=client, cache=False,
                                             progress=False)

    assert isinstance(out, pa.Table)
    assert out.column_names == list(expected.columns)
    for name in out.column_names:
        values = [None if value is pd.NaT else value for value in column(expected, name)]
        if name == "salesql_fetched_at":  # two runs, two fetch times: compare which are set
            assert [v is None for v in _arrow_values(out, name)] == [v is None for v in values]
            continue
        assert _arrow_values(out, name) == values, name
    assert _arrow_values(out, "salesql_status")[:5] == [
        "found", "found", "found", "invalid_input", "invalid_input"]
    assert sent == 3 == sb.counters.searches - sent  # one query per unique person, each run
    # the same as the polars path, dtypes included
    polars_out = salesql_frames.enrich_persons(pl.DataFrame(data), client=client, cache=False,
                                               progress=False)
    fetched = "salesql_fetched_at"
    assert pl.from_arrow(out).drop(fetched).equals(polars_out.drop(fetched))


def test_arrow_long_output_and_organizations(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]], column: Column
) -> None:
    data = _leads(person_urls(3, found=True))
    table = pa.table(data)
    long = salesql_frames.enrich_persons(table, how="long", explode="emails", client=client,
                                         cache=False, progress=False)
    expected = pd.DataFrame(data).salesql.enrich_persons(
        how="long", explode="emails", client=client, cache=False, progress=False)
    assert long.column_names == list(expected.columns)
    assert _arrow_values(long, "salesql_row") == column(expected, "salesql_row")
    assert _arrow_values(long, "Note") == column(expected, "Note")

    firms = pa.table({"Website": ["https://www.firm-1.io/", "firm-1.io", None]})
    orgs = salesql_frames.enrich_organizations(firms, client=client, cache=False,
                                               progress=False)
    assert isinstance(orgs, pa.Table)
    assert _arrow_values(orgs, "salesql_status")[2] == "invalid_input"
    assert sb.counters.queries["org-domain:firm-1.io"] == 1  # two spellings, one query


def test_arrow_cells_that_are_not_text_and_other_string_types(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    url = person_urls(1, found=True)[0]
    table = pa.table({
        "LinkedIn": pa.array([url, url, None]).dictionary_encode(),
        "Other": pa.array([1.5, float("nan"), None]),
    })
    out = salesql_frames.enrich_persons(table, client=client, cache=False, progress=False)
    assert _arrow_values(out, "salesql_status") == ["found", "found", "invalid_input"]
    bad = salesql_frames.plan_persons(table, linkedin_url="Other")
    assert bad.row_status == ["invalid_input"] * 3
    assert "'Other' is not text" in (bad.row_error[0] or "")
    assert "not text" not in (bad.row_error[1] or "")  # NaN is a missing cell
    # a re-run replaces the result columns instead of adding a second set
    again = salesql_frames.enrich_persons(out, client=client, cache=False, progress=False)
    assert again.column_names == out.column_names


def test_functions_return_the_callers_type(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    data = _leads(person_urls(3))
    frames = [pd.DataFrame(data), pl.DataFrame(data), pl.LazyFrame(data), pa.table(data)]
    for frame in frames:
        out = salesql_frames.enrich_persons(frame, client=client, cache=False, progress=False)
        assert type(out) is type(frame)
        plan = salesql_frames.plan_persons(frame)
        assert plan.unique_queries == 3
        estimate = salesql_frames.estimate_persons(frame, cache=False)
        assert estimate.unique_queries == 3
    with pytest.raises(InvalidArgumentTypeError, match=r"pyarrow\.Table, got list"):
        salesql_frames.enrich_persons([1, 2], client=client)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_accessor_methods_are_the_functions(name: str) -> None:
    function = getattr(salesql_frames, name)
    accessor = getattr(pd.DataFrame({"a": ["x"]}).salesql, name)
    parameters = list(inspect.signature(function).parameters.values())
    assert parameters[0].name == "frame"
    assert parameters[0].kind is inspect.Parameter.POSITIONAL_ONLY
    assert list(inspect.signature(accessor).parameters.values()) == parameters[1:]
    method = getattr(SalesQLAccessor, name)
    assert next(iter(inspect.signature(method).parameters)) == "self"
    assert method.__doc__
    assert "frame:" not in method.__doc__
    assert f"df.salesql.{name}(" in method.__doc__
    assert f"salesql_frames.{name}(df" in function.__doc__
