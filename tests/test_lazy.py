"""polars LazyFrames: ``lf.salesql.enrich_persons(...)`` is the eager result, lazily.

The distinct mapped values are collected, planned and sent once; the rows are joined
back lazily. Compared frame-equal (dtypes, status and error columns, row order) with
the eager polars path on the same data, with what the sandbox counted.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import polars.testing
import pytest

import salesql_frames
from salesql_frames import Client, InvalidArgumentError, ResultStore, sandbox
from salesql_frames._lazy import collect_streaming


def _people(urls: list[str], rows: int, seed: int = 1) -> dict[str, list[Any]]:
    rng = random.Random(seed)
    spellings = [lambda u: u, lambda u: u.upper() + "/", lambda u: " " + u.replace(
        "https://", "www.")]
    column: list[str | None] = []
    for _ in range(rows):
        pick = rng.random()
        if pick < 0.05:
            column.append(None)
        elif pick < 0.08:
            column.append("twitter.com/someone")
        else:
            column.append(rng.choice(spellings)(rng.choice(urls)))
    return {
        "Person Linkedin Url": column,
        "Note": [f"row {i}" for i in range(rows)],
        "Score": list(range(rows)),
    }



def assert_same_results(left: pl.DataFrame, right: pl.DataFrame) -> None:
    """Equal frames from two runs: the fetch times differ, so only which are set is compared."""
    fetched = "salesql_fetched_at"
    polars.testing.assert_frame_equal(left.drop(fetched), right.drop(fetched))
    assert left[fetched].is_null().to_list() == right[fetched].is_null().to_list()
    assert left.columns == right.columns

def test_lazy_wide_equals_eager(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    urls = person_urls(40, found=True) + person_urls(10, found=False, start=1000)
    data = _people(urls, 600)
    eager = pl.DataFrame(data).salesql.enrich_persons(client=client, cache=False,
                                                      progress=False)
    sent = sb.counters.searches
    lazy = pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=False,
                                                     progress=False)

    assert isinstance(lazy, pl.LazyFrame)
    assert sb.counters.searches - sent == sent == 50  # the unique people, once per run
    assert_same_results(lazy.collect(), eager)
    statuses = set(eager["salesql_status"].to_list())
    assert statuses == {"found", "not_found", "invalid_input"}


def test_lazy_sinks_and_is_served_from_the_store(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]], tmp_path: Path
) -> None:
    data = _people(person_urls(30), 300, seed=2)
    store = ResultStore(tmp_path / "store.sqlite")
    lf = pl.LazyFrame(data)
    first = lf.salesql.enrich_persons(client=client, cache=store, progress=False).collect()
    sent = sb.counters.searches
    path = tmp_path / "out.parquet"
    lf.salesql.enrich_persons(client=client, cache=store, progress=False).sink_parquet(path)
    assert sb.counters.searches == sent == 30  # the re-run cost nothing
    polars.testing.assert_frame_equal(pl.read_parquet(path), first)
    # a re-run over an enriched frame replaces the result columns
    again = pl.LazyFrame(first).salesql.enrich_persons(client=client, cache=store,
                                                       progress=False)
    polars.testing.assert_frame_equal(again.collect(), first)
    store.close()


def test_lazy_names_flags_only_missing_and_organizations(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    data = {
        "First": ["Ada", "ada ", None, "Grace", "Ada"],
        "Last": ["Lovelace", "LOVELACE", "X", "Hopper", "Lovelace"],
        "Domain": ["acme.io", "https://www.acme.io", "acme.io", None, "acme.io"],
        "Email": [None, None, "a@b.io", None, "x@acme.io"],
    }
    options: dict[str, Any] = dict(first_name="First", last_name="Last",
                                   organization_domain="Domain", only_missing="Email",
                                   match_if_direct_email=True, client=client, cache=False,
                                   progress=False)
    eager = pl.DataFrame(data).salesql.enrich_persons(**options)
    lazy = pl.LazyFrame(data).salesql.enrich_persons(**options).collect()
    assert_same_results(lazy, eager)
    assert lazy["salesql_status"][4] == "skipped"

    firms = {"Website": ["https://www.firm-1.io/", "firm-1.io", None, "firm-2.io"] * 5}
    eager_orgs = pl.DataFrame(firms).salesql.enrich_organizations(client=client, cache=False,
                                                                  progress=False)
    lazy_orgs = salesql_frames.enrich_organizations(pl.LazyFrame(firms), client=client,
                                                    cache=False, progress=False)
    assert_same_results(lazy_orgs.collect(), eager_orgs)


def test_lazy_plan_and_estimate_count_distinct_values(
    person_urls: Callable[..., list[str]],
) -> None:
    data = _people(person_urls(20), 400, seed=3)
    lf = pl.LazyFrame(data)
    eager = pl.DataFrame(data).salesql.plan_persons()
    plan = lf.salesql.plan_persons()
    assert plan.unique_queries == eager.unique_queries == 20
    assert plan.keys == eager.keys
    assert plan.rows == pl.DataFrame(data)["Person Linkedin Url"].n_unique()
    estimate = lf.salesql.estimate_persons(cache=False)
    assert estimate.unique_queries == 20
    assert lf.salesql.estimate_organizations(cache=False, linkedin_url="Note").unique_queries == 0
    assert lf.salesql.plan_organizations(organization_name="Note").unique_queries == 400


def test_lazy_long_output_is_a_clear_error(sb: sandbox.Sandbox, client: Client) -> None:
    lf = pl.LazyFrame({"LinkedIn": ["linkedin.com/in/ada"]})
    with pytest.raises(InvalidArgumentError, match=r'how="long" is not supported on a polars'):
        lf.salesql.enrich_persons(how="long", explode="emails", client=client, cache=False)
    assert sb.counters.searches == 0


def test_collect_streaming_falls_back() -> None:
    calls: list[dict[str, Any]] = []

    class Old:
        """A LazyFrame of polars < 1.23: ``streaming=True``, no streaming engine."""

        def collect(self, *, streaming: bool = False, engine: str = "cpu") -> str:
            calls.append({"streaming": streaming, "engine": engine})
            if engine not in ("cpu", "gpu"):
                raise ValueError(f"unknown engine {engine!r}")
            return "collected"

    assert collect_streaming(Old()) == "collected"
    assert calls == [{"streaming": False, "engine": "streaming"},
                     {"streaming": True, "engine": "cpu"}]
    lf = pl.LazyFrame({"a": [1, 1, 2]}).unique(maintain_order=True)
    polars.testing.assert_frame_equal(collect_streaming(lf), pl.DataFrame({"a": [1, 2]}))
