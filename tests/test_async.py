"""`AsyncClient` specifics: tasks sharing one client keep to the rate limit together."""

from __future__ import annotations

import asyncio

from salesql_frames import AsyncClient, sandbox
from salesql_frames.sandbox import FakeClock


def test_gathered_calls_share_the_pacer() -> None:
    # One clock for pacing and the server window; a long timeout, as a fake sleep of one
    # task moves the clock under the others' requests in flight.
    clock = FakeClock()
    with sandbox.serve(rate_limit=(10, 60.0), clock=clock) as sb:

        async def main() -> list[object]:
            async with AsyncClient(sb.api_key, base_url=sb.base_url, clock=clock,
                                   rate_limit=(10, 60.0), timeout=600) as client:
                return await asyncio.gather(*[
                    client.enrich_person(linkedin_url=f"https://linkedin.com/in/lead-{i}")
                    for i in range(35)])

        results = asyncio.run(main())
    assert len(results) == 35
    # Each answered once. A 429 here is an artefact of the fake clock (one task's sleep
    # moves time under requests already in flight), and is retried as the server asks.
    assert sb.counters.requests["person"] - sb.counters.rate_limited == 35
    assert clock.slept >= 3 * 60 - 1  # 35 searches at 10 a minute: three waits a window long
