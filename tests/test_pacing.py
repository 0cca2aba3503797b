"""The quota pacer: unit tests on a fake clock, and one run against the sandbox's window."""

from __future__ import annotations

import time

import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames._pacing import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def sent_in_any_window(log: list[tuple[float, int]], window: float) -> int:
    return max(sum(w for t, w in log if start <= t < start + window) for start, _ in log)


@pytest.mark.parametrize(("limit", "weights"), [((300, 3.0), [100] * 30), ((50, 1.0), [7] * 40),
                                                 ((180, 60.0), [30, 100, 50] * 10)])
def test_known_limit_never_exceeds_the_window(
    limit: tuple[int, float], weights: list[int]
) -> None:
    clock = FakeClock()
    pacer = Pacer(limit, clock=clock, sleep=clock.sleep)
    log = []
    for weight in weights:
        pacer.acquire(weight)
        log.append((clock.now, weight))
    searches, window = limit
    assert sent_in_any_window(log, window) <= searches
    ideal = (sum(weights) - searches) / searches * window  # the first window is free
    elapsed = clock.now - 1000.0
    assert elapsed <= ideal * 1.2 + window * 0.1  # margin for latency, batch granularity


def test_batches_shrink_to_the_limit() -> None:
    assert Pacer(None).batch_size() == 100
    assert Pacer((30, 60)).batch_size() == 5
    assert Pacer(20).batch_size() == 4
    assert Pacer((1, 1)).batch_size() == 1
    assert Pacer((6000, 60)).batch_size() == 100


def test_adaptive_learns_from_the_first_429_and_backs_off() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire(100)
    pacer.acquire(100)
    pacer.on_rate_limited(100, retry_after=3.0)  # the fourth was refused
    assert (pacer.allowance, pacer.window) == (300.0, 3.0)
    assert pacer.batch_size() == 50
    started = clock.now
    pacer.acquire(50)  # waits for the window to free
    assert clock.now - started >= 2.9
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
    with sandbox.serve(rate_limit=window) as sb, Client(sb.api_key, base_url=sb.base_url,
                                                        rate_limit=window) as client:
        queries = [{"linkedin_url": f"https://linkedin.com/in/paced-{i}"} for i in range(180)]
        started = time.monotonic()
        results = client.enrich_persons_bulk(queries, batch_size=client.pacer.batch_size())
        elapsed = time.monotonic() - started
    assert len(results) == 180
    assert sb.counters.rate_limited == 0
    assert sb.counters.searches == 180
    assert 1.9 <= elapsed < 4.5  # 180 searches at 60 a second, the first window free


def test_adaptive_against_the_sandbox_window() -> None:
    with sandbox.serve(rate_limit=(100, 1.0)) as sb, Client(sb.api_key, base_url=sb.base_url,
                                                            max_retries=3) as client:
        frame_urls = [f"https://linkedin.com/in/adaptive-{i}" for i in range(400)]
        import pandas as pd

        out = pd.DataFrame({"linkedin_url": frame_urls}).salesql.enrich_persons(
            client=client, cache=False, concurrency=1, progress=False
        )
    assert set(out["salesql_status"]) <= {"found", "not_found"}
    assert sb.counters.searches == 400
    assert 1 <= sb.counters.rate_limited <= 2
    assert client.pacer.allowance <= 100
