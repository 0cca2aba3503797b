"""The quota pacer: unit tests on a fake clock, and runs against the sandbox's window.

The runs against the sandbox put the client and the sandbox on one `FakeClock`: the
pacer's waits move the clock the server's window is measured on, so a run is exact and
instant, and asserts the waits (``clock.sleeps``) and what the server counted.
"""

from __future__ import annotations

import pandas as pd
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames import _constants as C
from salesql_frames._client import Pacer
from salesql_frames.sandbox import FakeClock


def span(window: float) -> float:
    """How long the pacer treats a known window as (a margin for skew and latency)."""
    return window * C.WINDOW_MARGIN + C.WINDOW_SLACK_SECONDS


def sent_in_any_window(log: list[tuple[float, int]], window: float) -> int:
    return max(sum(w for t, w in log if start <= t < start + window) for start, _ in log)


@pytest.mark.parametrize(("limit", "weights"), [((300, 3.0), [100] * 30), ((50, 1.0), [7] * 40),
                                                 ((180, 60.0), [30, 100, 50] * 10)])
def test_known_limit_never_exceeds_the_window(
    limit: tuple[int, float], weights: list[int]
) -> None:
    clock = FakeClock()
    pacer = Pacer(limit, clock=clock)
    log = []
    for weight in weights:
        pacer.acquire(weight)
        log.append((clock.monotonic(), weight))
    searches, window = limit
    assert sent_in_any_window(log, window) <= searches
    ideal = (sum(weights) - searches) / searches * window  # the first window is free
    elapsed = clock.monotonic() - 1000.0
    assert elapsed <= ideal * 1.2 + window * 0.1  # margin for latency, batch granularity


def test_batches_shrink_to_the_limit() -> None:
    assert Pacer(None).batch_size() == 100
    assert Pacer((30, 60)).batch_size() == 5
    assert Pacer(20).batch_size() == 4
    assert Pacer((1, 1)).batch_size() == 1
    assert Pacer((6000, 60)).batch_size() == 100


def test_adaptive_learns_from_the_first_429_and_backs_off() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock)
    for _ in range(3):
        pacer.acquire(100)
    pacer.acquire(100)
    pacer.on_rate_limited(100, retry_after=3.0)  # the fourth was refused
    assert (pacer.allowance, pacer.window) == (300.0, 3.0)
    assert pacer.batch_size() == 50
    clock.sleeps.clear()
    pacer.acquire(50)  # waits for the window to free: until the first 100 leave it
    assert clock.sleeps == [pytest.approx(span(3.0))]
    pacer.on_rate_limited(50, retry_after=1.0)
    assert pacer.allowance == pytest.approx(210.0)
    for _ in range(20):
        pacer.on_success()
    assert pacer.allowance == 300.0  # recovers, never above what was learned


def test_known_limit_ignores_429_arithmetic() -> None:
    pacer = Pacer((100, 10))
    pacer.on_rate_limited(10, retry_after=5)
    assert (pacer.allowance, pacer.window, pacer.rate_limited) == (100.0, 10.0, 1)


def test_daily_limit_stops_before_sending() -> None:
    pacer = Pacer(None, daily_limit=250)
    pacer.acquire(100)
    pacer.acquire(100)
    with pytest.raises(sf.QuotaExhaustedError, match="daily_limit") as info:
        pacer.acquire(100)
    assert info.value.resets_at is not None
    pacer.acquire(50)  # what still fits goes


@pytest.mark.parametrize("bad", [0, -5, (10, 0), (0, 60)])
def test_bad_limits_are_clear_errors(bad: object) -> None:
    with pytest.raises(sf.ConfigurationError, match="rate_limit"):
        Pacer(bad)  # type: ignore[arg-type]


def test_known_limit_against_the_sandbox_window() -> None:
    window = (60, 1.0)
    clock = FakeClock()
    with sandbox.serve(rate_limit=window, clock=clock) as sb, Client(
        sb.api_key, base_url=sb.base_url, rate_limit=window, clock=clock
    ) as client:
        queries = [{"linkedin_url": f"https://linkedin.com/in/paced-{i}"} for i in range(180)]
        batch = client.pacer.batch_size()
        started = clock.monotonic()
        results = client.enrich_persons_bulk(queries, batch_size=batch)
        elapsed = clock.monotonic() - started
    assert len(results) == 180
    assert sb.counters.rate_limited == 0  # paced to the window: never refused
    assert sb.counters.searches == 180
    assert sb.counters.requests["persons_bulk"] == 180 // batch
    # 180 searches at 60 a second, the first window free: two waits of one (padded) window
    assert clock.sleeps == [pytest.approx(span(1.0))] * 2
    assert elapsed == pytest.approx(2 * span(1.0))
    assert elapsed >= 2.0  # what the server's window demands, whatever the padding


def test_adaptive_against_the_sandbox_window() -> None:
    clock = FakeClock()
    with sandbox.serve(rate_limit=(100, 1.0), clock=clock) as sb, Client(
        sb.api_key, base_url=sb.base_url, max_retries=3, clock=clock
    ) as client:
        frame_urls = [f"https://linkedin.com/in/adaptive-{i}" for i in range(400)]
        started = clock.monotonic()
        out = pd.DataFrame({"linkedin_url": frame_urls}).salesql.enrich_persons(
            client=client, cache=False, concurrency=1, progress=False
        )
        elapsed = clock.monotonic() - started
    assert set(out["salesql_status"]) <= {"found", "not_found"}
    assert sb.counters.searches == 400
    assert 1 <= sb.counters.rate_limited <= 2
    assert client.pacer.allowance <= 100
    # 400 searches at 100 a second, the first window free: 3 s at least, all of it waiting
    assert elapsed >= 3.0
    assert clock.slept == pytest.approx(elapsed)
    assert elapsed < 3 * span(1.0) + 2.0  # the learning costs about a window, not more
