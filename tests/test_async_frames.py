"""``await salesql_frames.aenrich_persons(df)``: the frame path for asyncio code."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
import polars as pl
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox

URLS = [f"https://linkedin.com/in/async-frame-{i % 5}" for i in range(8)]


def test_the_awaited_run_is_the_sync_run_and_leaves_the_loop_free(
    sb: sandbox.Sandbox, client: Client,
) -> None:
    frame = pd.DataFrame({"linkedin_url": URLS})
    order: list[str] = []

    async def enrich() -> Any:
        out = await sf.aenrich_persons(frame, client=client, cache=False, progress=False)
        order.append("enriched")
        return out

    async def other() -> None:
        await asyncio.sleep(0)  # runs while the enrichment is under way, not after it
        order.append("other task")

    async def main() -> Any:
        out, _ = await asyncio.gather(enrich(), other())
        return out

    awaited = asyncio.run(main())
    assert order == ["other task", "enriched"]
    assert sb.counters.searches == 5  # the duplicates went once
    again = frame.salesql.enrich_persons(client=client, cache=False, progress=False)
    pd.testing.assert_frame_equal(awaited.drop(columns="salesql_fetched_at"),
                                  again.drop(columns="salesql_fetched_at"))


def test_the_namespace_form_on_polars_and_organizations(
    sb: sandbox.Sandbox, client: Client,
) -> None:
    async def main() -> tuple[Any, Any]:
        people = await pl.DataFrame({"linkedin_url": URLS}).salesql.aenrich_persons(
            client=client, cache=False, progress=False)
        accounts = await sf.aenrich_organizations(
            pd.DataFrame({"Website": ["acme.com", "careers.acme.com"]}),
            client=client, cache=False, progress=False)
        return people, accounts

    people, accounts = asyncio.run(main())
    assert isinstance(people, pl.DataFrame)
    assert people.height == len(URLS)
    assert list(accounts["salesql_status"].unique()) in (["found"], ["not_found"])
    assert sb.counters.queries["org-domain:acme.com"] == 1


def test_an_async_client_is_refused_before_anything_is_sent(sb: sandbox.Sandbox) -> None:
    async def main() -> None:
        async with sf.AsyncClient(sb.api_key, base_url=sb.base_url) as client:
            await sf.aenrich_persons(pd.DataFrame({"linkedin_url": URLS}), client=client,
                                     cache=False, progress=False)

    with pytest.raises(sf.InvalidArgumentTypeError, match="not an AsyncClient"):
        asyncio.run(main())
    assert sb.counters.searches == 0
