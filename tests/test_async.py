"""`AsyncClient` specifics: tasks sharing one client, cancellation, closing the pool.

The endpoint, fault and key-safety tests run against both clients in test_client.py and
test_secrets.py (``make_client``); these cover what only asyncio has. Each test drives
its own event loop with `asyncio.run` (pytest-asyncio is not needed), against a real
sandbox over loopback, on a `FakeClock` wherever timing matters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

import salesql_frames as sf
from salesql_frames import AsyncClient, Client, sandbox
from salesql_frames.sandbox import FakeClock

LEADS = [f"https://linkedin.com/in/lead-{i}" for i in range(35)]


class CountingTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, counting the requests still waiting for their answer."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._answered = asyncio.Condition()
        self.pending = 0
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.pending += 1
        try:
            return await self._inner.handle_async_request(request)
        finally:
            self.pending -= 1
            async with self._answered:
                self._answered.notify_all()

    async def settled(self) -> None:
        """Wait until no request is waiting for its answer."""
        async with self._answered:
            await self._answered.wait_for(lambda: self.pending == 0)

    async def aclose(self) -> None:
        self.closed = True
        await self._inner.aclose()


class SettlingClock(FakeClock):
    """A `FakeClock` whose waits let the requests already sent get their answer first.

    On a plain `FakeClock` one task's wait moves time at once, under the requests other
    tasks have in flight: the server then counts them a window later than the pacer
    did, and refuses what real time would accept. Real sleeps let a loopback request
    finish in milliseconds; here it finishes in no fake time at all.
    """

    def __init__(self, transport: CountingTransport) -> None:
        super().__init__()
        self._transport = transport

    async def asleep(self, seconds: float) -> None:
        await self._transport.settled()
        await super().asleep(seconds)


class HeldClock(FakeClock):
    """A `FakeClock` whose async waits never end: a task waiting on it can be cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)  # recorded, as FakeClock does
        self.waiting += 1
        try:
            await asyncio.Event().wait()
        finally:
            self.waiting -= 1


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until ``condition`` holds (a server thread's counters, say)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(main())  # type: ignore[arg-type]


# -- tasks sharing one client --------------------------------------------------------------


def test_gathered_tasks_share_the_pacer_and_get_no_more_429s_than_the_sync_client() -> None:
    limit = (10, 60.0)
    sync_clock = FakeClock()
    with sandbox.serve(rate_limit=limit, clock=sync_clock) as sync_sb, Client(
        sync_sb.api_key, base_url=sync_sb.base_url, clock=sync_clock, rate_limit=limit
    ) as client:
        for url in LEADS:
            client.enrich_person(linkedin_url=url)

    transport = CountingTransport()
    clock = SettlingClock(transport)
    with sandbox.serve(rate_limit=limit, clock=clock) as sb:

        async def main() -> list[Any]:
            async with AsyncClient(sb.api_key, base_url=sb.base_url, clock=clock,
                                   rate_limit=limit, transport=transport) as client:
                return await asyncio.gather(
                    *[client.enrich_person(linkedin_url=url) for url in LEADS])

        results = run(main)
    assert len(results) == len(LEADS)
    # The same queries, each once, with no more 429s (none) than one client in sequence.
    assert sb.counters.rate_limited == sync_sb.counters.rate_limited == 0
    assert sb.counters.queries == sync_sb.counters.queries
    assert set(sb.counters.queries.values()) == {1}
    assert sb.counters.requests["person"] == len(LEADS)
    # 35 searches at 10 a window: three waits of about a window each, as in sequence.
    assert clock.slept == pytest.approx(sync_clock.slept)
    assert clock.slept >= 3 * 60


def test_without_the_shared_pacer_gathered_tasks_are_refused() -> None:
    # The control of the test above: one client per task keeps no common count.
    limit = (10, 60.0)
    clock = FakeClock()
    with sandbox.serve(rate_limit=limit, clock=clock) as sb:

        async def one(url: str) -> object:
            async with AsyncClient(sb.api_key, base_url=sb.base_url, clock=clock,
                                   rate_limit=limit, max_retries=0) as client:
                return await client.enrich_person(linkedin_url=url)

        async def main() -> list[Any]:
            return await asyncio.gather(*[one(url) for url in LEADS], return_exceptions=True)

        results = run(main)
    assert sum(isinstance(r, sf.RateLimitError) for r in results) == sb.counters.rate_limited
    assert sb.counters.rate_limited == len(LEADS) - 10


def test_gathered_tasks_share_the_daily_limit() -> None:
    with sandbox.serve() as sb:

        async def main() -> list[Any]:
            async with AsyncClient(sb.api_key, base_url=sb.base_url, daily_limit=3) as client:
                return await asyncio.gather(
                    *[client.enrich_person(linkedin_url=url) for url in LEADS[:5]],
                    return_exceptions=True)

        results = run(main)
    refused = [r for r in results if isinstance(r, sf.QuotaExhaustedError)]
    assert len(refused) == 2
    assert "Nothing was sent" in str(refused[0])
    assert sb.counters.requests["person"] == 3  # the refused ones never left


# -- cancellation -------------------------------------------------------------------------


def test_a_task_cancelled_mid_request_counts_as_possibly_charged(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="salesql_frames")
    queries = [{"linkedin_url": url} for url in LEADS[:2]]
    with sandbox.serve(clock=clock) as sb:
        sb.faults.add("stall", endpoint="persons_bulk", seconds=0.5, times=1)

        async def main() -> None:
            async with AsyncClient(sb.api_key, base_url=sb.base_url, clock=clock,
                                   daily_limit=3) as client:
                task = asyncio.create_task(client.enrich_persons_bulk(queries))
                await until(lambda: sb.counters.in_flight == 1)  # at the server, stalled
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await until(lambda: sb.counters.in_flight == 0)
                # The server did the work after the client left: it may be charged, so the
                # client counts its 2 searches: 2 more would pass the daily limit of 3.
                with pytest.raises(sf.QuotaExhaustedError, match="Nothing was sent"):
                    await client.enrich_persons_bulk(queries)
                # The client goes on: its pool, pacer and lock are whole.
                assert await client.enrich_person(linkedin_url=LEADS[2]) is not None

        run(main)
    assert "POST /persons/enrich/bulk cancelled mid-request" in caplog.text
    assert sb.counters.searches == 3  # the cancelled batch was executed (and charged)
    assert sb.counters.requests["persons_bulk"] == 1
    assert sb.counters.requests["person"] == 1


def test_a_task_cancelled_while_paced_sends_and_counts_nothing() -> None:
    clock = HeldClock()
    with sandbox.serve(clock=clock) as sb:

        async def main() -> None:
            async with AsyncClient(sb.api_key, base_url=sb.base_url, clock=clock,
                                   rate_limit=(1, 60.0), daily_limit=2) as client:
                await client.enrich_person(linkedin_url=LEADS[0])
                waiting = asyncio.create_task(client.enrich_person(linkedin_url=LEADS[1]))
                await until(lambda: clock.waiting == 1)  # paced: the window is full
                # A request that searches nothing is not queued behind it (the timeout
                # only ends the test if it were: the wait never ends).
                allowance = await asyncio.wait_for(client.allowance(), timeout=30)
                assert allowance.emails_and_phones
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
                clock.advance(120)
                # Nothing was counted for it (else the daily limit of 2 would refuse
                # this one), and the pacer's lock was let go.
                assert await client.enrich_person(linkedin_url=LEADS[2]) is not None

        run(main)
    assert sb.counters.requests["person"] == 2
    assert "li:lead-1" not in sb.counters.queries


# -- lifecycle -----------------------------------------------------------------------------


def test_async_with_closes_the_connection_pool(sb: sandbox.Sandbox, clock: FakeClock) -> None:
    transport = CountingTransport()

    async def main() -> AsyncClient:
        async with AsyncClient(sb.api_key, base_url=sb.base_url, clock=clock,
                               transport=transport) as client:
            await client.allowance()
            assert not transport.closed
        return client

    client = run(main)
    assert transport.closed
    assert client._http.is_closed


def test_async_with_closes_the_pool_when_the_block_raises(
    sb: sandbox.Sandbox, clock: FakeClock
) -> None:
    transport = CountingTransport()

    async def main() -> None:
        async with AsyncClient(sb.api_key, base_url=sb.base_url, clock=clock,
                               transport=transport) as client:
            await client.allowance()
            raise KeyError("the caller's own error")

    with pytest.raises(KeyError):
        run(main)
    assert transport.closed
