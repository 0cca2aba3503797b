"""What a notebook shows: readable reprs, HTML tables, and the last run's summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import salesql_frames as sf
from salesql_frames import sandbox

METHODS = ("plan_persons()", "enrich_persons()", "plan_organizations()",
           "enrich_organizations()", "estimate_persons()", "estimate_organizations()")
URLS = ["linkedin.com/in/sandrocarsava", "linkedin.com/in/repr-1", None]


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"a": [1]}), pl.DataFrame({"a": [1]}), pl.LazyFrame({"a": [1]}),
], ids=["pandas", "polars", "lazy"])
def test_accessor_repr_lists_its_methods(frame: object) -> None:
    shown = repr(frame.salesql)  # type: ignore[attr-defined]
    assert " object at 0x" not in shown
    assert shown.startswith(f"<.salesql on a {type(frame).__module__.split('.')[0]} "
                            f"{type(frame).__name__}: ")
    for method in METHODS:
        assert method in shown


def test_estimate_repr_and_html(sb: sandbox.Sandbox) -> None:
    frame = pd.DataFrame({"linkedin_url": URLS})
    with sb.client() as client:
        estimate = frame.salesql.estimate_persons(client=client, cache=False)
    shown = repr(estimate)
    assert shown.startswith("<Estimate(persons): rows 3, valid rows 2, invalid rows 1, ")
    assert "to send 2 in 1 request, worst-case credits 2, allowance left 10,000>" in shown
    assert "note=None" not in shown
    html = estimate._repr_html_()
    assert "SalesQL estimate (persons)" in html
    assert "<th style='text-align:left'>worst-case credits</th>" in html
    assert html.count("<tr>") == 9
    assert sb.counters.searches == 0


def test_html_escapes_what_it_shows() -> None:
    summary = sf.RunSummary(rows=1, found=0, not_found=0, invalid=0, skipped=1, errors=0,
                            queries_sent=0, cached=0, credits_used=0, stopped="<b>x</b> & y")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in summary._repr_html_()
    assert "<b>x</b>" not in summary._repr_html_()
    assert repr(summary).endswith("; stopped early: <b>x</b> & y>")


@pytest.mark.parametrize("backend", ["pandas", "polars"])
def test_last_run_is_the_runs_summary(backend: str, tmp_path: Path) -> None:
    data = {"linkedin_url": URLS}
    frame = pd.DataFrame(data) if backend == "pandas" else pl.DataFrame(data)
    with sandbox.serve() as sb, sb.client() as client:
        enriched = frame.salesql.enrich_persons(client=client, cache=tmp_path / "s.sqlite3",
                                                progress=False)
        again = frame.salesql.enrich_persons(client=client, cache=tmp_path / "s.sqlite3",
                                             progress=False)
        sent = sb.counters.searches
    summary = sf.last_run()
    assert isinstance(summary, sf.RunSummary)
    assert (summary.rows, summary.invalid, summary.cached, summary.queries_sent) == (3, 1, 2, 0)
    assert sent == 2
    assert repr(summary).startswith("<RunSummary: rows 3, found ")
    assert "from the store 2, queries sent 0, credits used 0>" in repr(summary)
    assert "<th style='text-align:left'>from the store</th>" in summary._repr_html_()
    if backend == "pandas":
        assert enriched.attrs["salesql"]["queries_sent"] == 2
        assert again.attrs["salesql"] == summary.as_dict()
        assert frame.attrs == {}  # the caller's frame is left alone
        again.to_parquet(tmp_path / "out.parquet")  # attrs stay JSON-safe
        assert pd.read_parquet(tmp_path / "out.parquet").attrs["salesql"]["cached"] == 2


def test_a_plan_shows_as_a_table_in_a_notebook() -> None:
    import pandas as pd

    frame = pd.DataFrame({"linkedin_url": ["linkedin.com/in/a-b", "https://linkedin.com/in/a-b",
                                           "<b>x</b>"]})
    plan = frame.salesql.plan_persons()
    page = plan._repr_html_()
    assert "<strong>Plan (persons)</strong>" in page
    assert "<th style='text-align:left'>duplicates</th><td style='text-align:right'>1</td>" \
        in page
    assert "&lt;- &#x27;linkedin_url&#x27;" in page  # text is escaped
    assert "1 duplicate)" in repr(plan)  # singular
