"""``df.salesql`` on pandas (default and Arrow strings) and polars, against the sandbox."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox

if TYPE_CHECKING:
    from conftest import Column, MakeFrame


# -- registration ------------------------------------------------------------------------


def test_accessors_are_registered_idempotently() -> None:
    from salesql_frames._accessors import SalesQLAccessor, register

    assert isinstance(pd.DataFrame().salesql, SalesQLAccessor)
    assert isinstance(pl.DataFrame().salesql, SalesQLAccessor)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register()
        register()
    assert pd.DataFrame.salesql is SalesQLAccessor  # type: ignore[attr-defined]


# -- the messy spreadsheet ---------------------------------------------------------------


def messy_leads(sb: sandbox.Sandbox, person_urls: Callable[..., list[str]]) -> dict[str, list[Any]]:
    known, unknown = person_urls(2, found=True), person_urls(1, found=False, start=500)
    a, b = (u.rsplit("/", 1)[1] for u in known)
    return {
        "Person Linkedin Url": [
            f"https://www.linkedin.com/in/{a}/",       # 0 a
            f"linkedin.com/in/{a.upper()}",            # 1 a again (case)
            f"https://uk.linkedin.com/in/{a}?trk=x",   # 2 a again (subdomain, query)
            f"http://linkedin.com/in/{a}/details/experience/",  # 3 a again (sub-page)
            known[1],                                  # 4 b
            unknown[0],                                # 5 not found
            None,                                      # 6 name + domain
            "",                                        # 7 name + domain, same person as 6
            "   ",                                     # 8 name + company
            None,                                      # 9 invalid: first name only
            "https://twitter.com/someone",             # 10 invalid: not LinkedIn, no name
            f"https://www.linkedin.com/in/{b}",        # 11 b again
        ],
        "First Name": ["A", "A", "A", "A", "B", "C", "Ada", "ada", "Grace", "Solo", None, "B"],
        "Last Name": ["X", "X", "X", "X", "Y", "Z", "Lovelace", " LOVELACE ", "Hopper", None,
                      None, "Y"],
        "Company": [None, None, None, None, None, None, None, None, "US Navy", None, None, None],
        "Website": [None, None, None, None, None, None, "https://www.acme.io/about",
                    "ACME.io", None, None, None, None],
    }


def test_messy_spreadsheet_comes_back_aligned(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
    person_urls: Callable[..., list[str]],
) -> None:
    data = messy_leads(sb, person_urls)
    frame = make_frame(data)
    out = frame.salesql.enrich_persons(client=client, progress=False)

    assert type(out) is type(frame)
    assert len(out) == 12
    assert column(out, "Person Linkedin Url") == column(frame, "Person Linkedin Url")
    status = column(out, "salesql_status")
    assert status[9] == status[10] == "invalid_input"
    assert status[5] == "not_found"
    assert "first_name" in column(out, "salesql_error")[9]
    assert "twitter.com" in column(out, "salesql_error")[10]
    # the right person on every row
    urls = column(out, "salesql_linkedin_url")
    a_url = sb.lookup_person({"linkedin_url": data["Person Linkedin Url"][0]})["linkedin_url"]
    assert urls[0] == urls[1] == urls[2] == urls[3] == a_url
    assert urls[4] == urls[11] != a_url
    names = column(out, "salesql_full_name")
    for row in (6, 7, 8):
        expected = sb.lookup_person(
            {
                "first_name": data["First Name"][row].strip(),
                "last_name": data["Last Name"][row].strip(),
                **({"organization_domain": "acme.io"} if row != 8
                   else {"organization_name": "US Navy"}),
            }
        )
        assert (status[row] == "found") == (expected is not None)
        if expected is not None:
            assert names[row] == expected["full_name"]
    assert column(out, "salesql_error")[0] is None
    # one query per unique canonical key, as the server counted
    plan = frame.salesql.plan_persons()
    assert plan.unique_queries == 5  # a, b, the unknown one, Ada at acme.io, Grace at US Navy
    assert sb.counters.searches == plan.unique_queries
    assert max(sb.counters.queries.values()) == 1
    assert sb.counters.requests["persons_bulk"] == 1


def test_plan_shows_mapping_and_counts(make_frame: MakeFrame) -> None:
    frame = make_frame({"LinkedIn": ["linkedin.com/in/ada", "https://www.linkedin.com/in/ADA/",
                                     None],
                        "Name": ["Ada", "Ada", None], "Company Website": ["x.io", "x.io", None]})
    plan = frame.salesql.plan_persons()
    assert plan.mapping == {"linkedin_url": "LinkedIn", "full_name": "Name",
                            "organization_domain": "Company Website"}
    assert (plan.rows, plan.valid_rows, plan.unique_queries, plan.invalid_rows) == (3, 2, 1, 1)
    assert "'LinkedIn'" in repr(plan)
    assert "1 unique" in repr(plan)


@pytest.mark.parametrize(
    "index",
    [
        pd.Index([5, 5, 3, 3, 9]),
        pd.Index(["e", "d", "c", "b", "a"]),
        pd.MultiIndex.from_tuples([("x", 1), ("x", 1), ("y", 2), ("z", 3), ("y", 2)]),
    ],
    ids=["duplicate-labels", "strings", "multiindex"],
)
def test_pandas_index_and_order_are_kept(
    sb: sandbox.Sandbox, client: Client, index: pd.Index, person_urls: Callable[..., list[str]]
) -> None:
    urls = person_urls(4, found=True)
    frame = pd.DataFrame({"linkedin": [urls[0], urls[1], urls[0], urls[2], urls[3]]}, index=index)
    out = frame.salesql.enrich_persons(client=client, progress=False)
    assert out.index.equals(frame.index)
    assert list(out["linkedin"]) == list(frame["linkedin"])
    got = list(out["salesql_linkedin_url"])
    assert got == [sb.lookup_person({"linkedin_url": u})["linkedin_url"] for u in frame["linkedin"]]
    assert sb.counters.searches == 4


# -- mapping errors and options ----------------------------------------------------------


def test_unknown_column_is_a_clear_error(make_frame: MakeFrame) -> None:
    frame = make_frame({"Profile URL": ["linkedin.com/in/ada"]})
    with pytest.raises(sf.MappingError, match=r"no such column.*Did you mean 'Profile URL'"):
        frame.salesql.enrich_persons(linkedin_url="Profile Url", progress=False)


def test_impossible_mapping_lists_columns_and_how(make_frame: MakeFrame) -> None:
    frame = make_frame({"Notes": ["hello"], "First Name": ["Ada"]})
    with pytest.raises(sf.MappingError) as info:
        frame.salesql.enrich_persons(progress=False)
    message = str(info.value)
    assert "'Notes'" in message
    assert "first_name='First Name'" in message
    assert "linkedin_url=" in message


def test_explicit_mapping_uses_only_named_columns(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame
) -> None:
    frame = make_frame({"who": ["Ada Lovelace", "Ada Lovelace"], "site": ["acme.io", "www.acme.io"],
                  "LinkedIn": ["linkedin.com/in/someone-else", None]})
    plan = frame.salesql.plan_persons(full_name="who", organization_domain="site")
    assert plan.mapping == {"full_name": "who", "organization_domain": "site"}
    assert plan.queries == [{"full_name": "Ada Lovelace", "organization_domain": "acme.io"}]
    frame.salesql.enrich_persons(full_name="who", organization_domain="site", client=client,
                                 progress=False)
    assert sb.counters.searches == 1


def test_only_missing_skips_filled_rows_for_free(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
    person_urls: Callable[..., list[str]],
) -> None:
    urls = person_urls(4)
    frame = make_frame({"linkedin_url": urls, "Email": ["a@x.io", None, "  ", "b@y.io"]})
    out = frame.salesql.enrich_persons(only_missing="Email", client=client, progress=False)
    status = column(out, "salesql_status")
    assert status[0] == status[3] == "skipped"
    assert "Email" in column(out, "salesql_error")[0]
    assert status[1] != "skipped"
    assert status[2] != "skipped"
    assert sb.counters.searches == 2


def test_flags_reach_the_server(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column
) -> None:
    frame = make_frame({"full_name": [f"Person {i}" for i in range(40)],
                        "domain": ["acme.io"] * 40})
    out = frame.salesql.enrich_persons(match_if_direct_email=True, client=client, progress=False)
    for i, status in enumerate(column(out, "salesql_status")):
        expected = sb.lookup_person({"full_name": f"Person {i}", "organization_domain": "acme.io",
                                     "match_if_direct_email": True})
        assert (status == "found") == (expected is not None)
    assert any(s == "found" for s in column(out, "salesql_status"))
    pairs = zip(column(out, "salesql_direct_email"), column(out, "salesql_status"), strict=True)
    assert all(email is not None for email, status in pairs if status == "found")


# -- input hygiene -----------------------------------------------------------------------


def test_empty_frame_returns_result_columns_without_a_key(
    sb: sandbox.Sandbox, make_frame: MakeFrame
) -> None:
    frame = make_frame({"linkedin_url": []})
    out = frame.salesql.enrich_persons(progress=False)  # no key configured: nothing to send
    assert len(out) == 0
    assert {"salesql_status", "salesql_email_1", "salesql_phone_3_is_valid"} <= set(out.columns)
    assert sum(sb.counters.requests.values()) == 0


def test_missing_key_fails_before_sending(sb: sandbox.Sandbox, make_frame: MakeFrame) -> None:
    frame = make_frame({"linkedin_url": ["linkedin.com/in/ada"]})
    with pytest.raises(sf.MissingAPIKeyError, match="SALESQL_API_KEY"):
        frame.salesql.enrich_persons(base_url=sb.base_url, progress=False)
    assert sum(sb.counters.requests.values()) == 0


def test_missing_value_spellings_and_non_text_cells(sb: sandbox.Sandbox, client: Client) -> None:
    frame = pd.DataFrame({
        "linkedin_url": pd.Series(
            [None, np.nan, pd.NA, "", "  ", 12345, "linkedin.com/in/sandrocarsava"], dtype=object
        ),
    })
    out = frame.salesql.enrich_persons(client=client, progress=False)
    status = list(out["salesql_status"])
    assert status[:6] == ["invalid_input"] * 6
    assert status[6] == "found"
    assert "not text" in out["salesql_error"].iloc[5]
    assert "not text" not in out["salesql_error"].iloc[1]


@pytest.mark.parametrize("dtype", ["object", "string[python]", "string[pyarrow]", "category"])
def test_pandas_string_dtypes(sb: sandbox.Sandbox, client: Client, dtype: str) -> None:
    frame = pd.DataFrame({"LinkedIn": pd.Series(
        ["linkedin.com/in/sandrocarsava", None, "https://www.linkedin.com/in/SandroCarsava/"],
        dtype=dtype)})
    out = frame.salesql.enrich_persons(client=client, progress=False)
    assert list(out["salesql_status"]) == ["found", "invalid_input", "found"]
    assert sb.counters.searches == 1


@pytest.mark.parametrize("dtype", [pl.String, pl.Categorical])
def test_polars_string_dtypes(sb: sandbox.Sandbox, client: Client, dtype: Any) -> None:
    frame = pl.DataFrame({"LinkedIn": ["linkedin.com/in/sandrocarsava", None],
                          "Company": [None, None]},
                         schema={"LinkedIn": dtype, "Company": pl.Null})
    out = frame.salesql.enrich_persons(client=client, progress=False)
    assert out["salesql_status"].to_list() == ["found", "invalid_input"]


def test_pandas_dtypes_are_stable_whether_or_not_anything_matched(
    client: Client, person_urls: Callable[..., list[str]]
) -> None:
    matched = pd.DataFrame({"linkedin_url": person_urls(5, found=True)})
    nothing = pd.DataFrame({"linkedin_url": ["not a url"]})
    a = matched.salesql.enrich_persons(client=client, progress=False)
    b = nothing.salesql.enrich_persons(client=client, progress=False)
    assert a.dtypes.to_dict() == b.dtypes.to_dict()
    assert a["salesql_status"].dtype == "string"
    assert a["salesql_phone_1_is_valid"].dtype == "boolean"
    assert a["salesql_organization_founded_year"].dtype == "Int64"
    assert str(a["salesql_timestamp_work_experience_start"].dtype) == "datetime64[ms]"  # naive UTC
    arrow = matched.salesql.enrich_persons(client=client, progress=False, dtype_backend="pyarrow")
    assert all(isinstance(t, pd.ArrowDtype) for t in arrow.dtypes.iloc[1:])


# -- long form ---------------------------------------------------------------------------


@pytest.mark.parametrize("explode", ["emails", "phones", "work_experience"])
def test_long_form_has_explode_semantics(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
    person_urls: Callable[..., list[str]], explode: str,
) -> None:
    urls = [*person_urls(6), None]
    frame = make_frame({"linkedin_url": urls})
    out = frame.salesql.enrich_persons(client=client, how="long", explode=explode,
                                       progress=False)
    rows = column(out, "salesql_row")
    expected_rows: list[int] = []
    for i, url in enumerate(urls):
        record = sb.lookup_person({"linkedin_url": url}) if url else None
        expected_rows += [i] * max(1, len((record or {}).get(explode) or []))
    assert rows == expected_rows
    assert column(out, "linkedin_url") == [urls[i] for i in rows]
    assert column(out, "salesql_status")[-1] == "invalid_input"
    if isinstance(out, pd.DataFrame):
        assert list(out.index) == [frame.index[i] for i in rows]
    item_column = {"emails": "salesql_email", "phones": "salesql_phone",
                   "work_experience": "salesql_work_title"}[explode]
    got = column(out, item_column)
    want: list[Any] = []
    for url in urls:
        record = sb.lookup_person({"linkedin_url": url}) if url else None
        items = (record or {}).get(explode) or []
        key = {"emails": "email", "phones": "phone", "work_experience": "title"}[explode]
        want += [item.get(key) for item in items] or [None]
    assert got == want
    assert list(out.columns).count("salesql_phone") == 1


def test_long_needs_explode(make_frame: MakeFrame) -> None:
    frame = make_frame({"linkedin_url": ["linkedin.com/in/ada"]})
    with pytest.raises(ValueError, match="explode"):
        frame.salesql.enrich_persons(how="long", progress=False)


# -- shapes, organizations, batches, failures --------------------------------------------


def test_lean_shape_fills_the_same_columns(make_frame: MakeFrame, column: Column) -> None:
    with sandbox.serve(seed=3, shape="lean") as lean, Client(lean.api_key,
                                                             base_url=lean.base_url) as api:
        urls = [f"https://linkedin.com/in/lean-{i}" for i in range(200)]
        out = make_frame({"linkedin_url": urls}).salesql.enrich_persons(client=api, progress=False)
        found = [i for i, s in enumerate(column(out, "salesql_status")) if s == "found"]
        org_names = column(out, "salesql_organization_name")
        counts = column(out, "salesql_email_count")
        for i in found:
            record = lean.lookup_person({"linkedin_url": urls[i]})
            assert org_names[i] == record.get("organization_name")
            assert counts[i] == len(record.get("emails") or [])
        assert max(counts[i] for i in found) > 3  # more than the wide columns hold, visible


def test_enrich_organizations(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column
) -> None:
    frame = make_frame({"Website": [f"https://www.firm-{i}.io/" for i in range(30)] + ["firm-0.io"],
                  "Company": [f"Firm {i}" for i in range(31)]})
    out = frame.salesql.enrich_organizations(client=client, progress=False)
    assert len(out) == 31
    names = column(out, "salesql_organization_name")
    for i, status in enumerate(column(out, "salesql_status")):
        expected = sb.lookup_organization({"organization_domain": f"firm-{i % 30}.io"})
        assert (status == "found") == (expected is not None)
        assert names[i] == (expected or {}).get("name")
    assert sb.counters.searches == 30


def test_batches_of_one_hundred(sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame) -> None:
    frame = make_frame({"linkedin_url": [f"linkedin.com/in/p-{i}" for i in range(250)] * 2})
    out = frame.salesql.enrich_persons(client=client, progress=False)
    assert len(out) == 500
    assert sb.counters.requests["persons_bulk"] == 3
    assert sb.counters.searches == 250


def test_a_failing_batch_marks_only_its_rows(
    sb: sandbox.Sandbox, make_frame: MakeFrame, column: Column
) -> None:
    frame = make_frame({"linkedin_url": [f"linkedin.com/in/q-{i}" for i in range(150)]})
    sb.faults.add("http_500", endpoint="persons_bulk")
    with Client(sb.api_key, base_url=sb.base_url, max_retries=0) as api:
        out = frame.salesql.enrich_persons(client=api, concurrency=1, progress=False)
    status = column(out, "salesql_status")
    assert set(status[:100]) == {"error"}
    assert "500" in column(out, "salesql_error")[0]
    assert "error" not in status[100:]
    assert sb.counters.requests["persons_bulk"] == 2


def test_daily_cap_keeps_finished_rows(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column
) -> None:
    frame = make_frame({"linkedin_url": [f"linkedin.com/in/r-{i}" for i in range(250)]})
    with sandbox.serve(daily_limit=100) as capped, Client(capped.api_key,
                                                          base_url=capped.base_url) as api:
        with pytest.warns(sf.QuotaExhaustedWarning):
            out = frame.salesql.enrich_persons(client=api, concurrency=1, progress=False)
        assert capped.counters.searches == 100
        assert capped.counters.daily_capped == 7  # 100, 50, 25, 12, 6, 3, 1: none fits
    status = column(out, "salesql_status")
    assert "skipped" not in status[:100]
    assert set(status[100:]) == {"skipped"}
    assert "daily" in column(out, "salesql_error")[150].lower()


def test_prefix_and_widths(client: Client, make_frame: MakeFrame, column: Column) -> None:
    frame = make_frame({"linkedin_url": ["linkedin.com/in/sandrocarsava"]})
    out = frame.salesql.enrich_persons(client=client, prefix="sq_", max_emails=1, max_phones=0,
                                       progress=False)
    assert "sq_email_1" in out.columns
    assert "sq_email_2" not in out.columns
    assert not any(c.startswith("sq_phone_1") for c in out.columns)
    assert column(out, "sq_full_name") == ["Sandro Carsava"]


def test_rerun_on_enriched_frame_replaces_result_columns(
    client: Client, make_frame: MakeFrame
) -> None:
    frame = make_frame({"linkedin_url": ["linkedin.com/in/sandrocarsava"]})
    once = frame.salesql.enrich_persons(client=client, progress=False)
    twice = once.salesql.enrich_persons(client=client, progress=False)
    assert list(twice.columns) == list(once.columns)


@pytest.mark.parametrize(
    ("header", "param"),
    [
        ("LinkedIn", "linkedin_url"),
        ("Person Linkedin Url", "linkedin_url"),
        ("Profile URL", "linkedin_url"),
        ("linkedin_url", "linkedin_url"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Full Name", "full_name"),
        ("Name", "full_name"),
        ("Company", "organization_name"),
        ("Company Name", "organization_name"),
        ("Account Name", "organization_name"),
        ("Website", "organization_domain"),
        ("Company Website", "organization_domain"),
        ("Domain", "organization_domain"),
        ("  company_website ", "organization_domain"),
    ],
)
def test_spreadsheet_headers_are_detected(header: str, param: str) -> None:
    from salesql_frames._kinds import PERSON
    from salesql_frames._mapping import detect_columns

    assert detect_columns([header], PERSON) == {param: header}


def test_organization_headers_are_detected(make_frame: MakeFrame) -> None:
    frame = make_frame({"Account Name": ["Acme"], "Company Website": ["acme.io"],
                        "Company LinkedIn URL": ["linkedin.com/company/acme"]})
    assert frame.salesql.plan_organizations().mapping == {
        "linkedin_url": "Company LinkedIn URL",
        "organization_name": "Account Name",
        "organization_domain": "Company Website",
    }


def test_sync_api_works_inside_a_running_event_loop(
    sb: sandbox.Sandbox, make_frame: MakeFrame, column: Column
) -> None:
    import asyncio

    async def notebook_cell() -> Any:  # Jupyter runs cells inside a running loop
        frame = make_frame({"linkedin_url": ["linkedin.com/in/sandrocarsava"]})
        return frame.salesql.enrich_persons(client=sb.client(), cache=False, progress=False)

    out = asyncio.run(notebook_cell())
    assert column(out, "salesql_status") == ["found"]
    assert sb.counters.searches == 1


def test_a_misspelt_explode_is_named_with_the_choices() -> None:
    """``explode="phone"`` says the list names, not only that it goes with long output."""
    import pandas as pd

    import salesql_frames as sf

    frame = pd.DataFrame({"linkedin_url": ["https://linkedin.com/in/x"]})
    for shape in ({}, {"how": "long"}):
        with pytest.raises(sf.InvalidArgumentError, match=r"explode='phone' names no list of "
                           r'a person: use one of "emails", "phones", "work_experience"'):
            frame.salesql.enrich_persons(explode="phone", api_key="k", cache=False, **shape)
