"""The quota pacer: unit tests on a fake clock, and runs against the sandbox's windows.

The runs against the sandbox put the client and the sandbox on one `FakeClock`: the
pacer's waits move the clock the server's window is measured on, so a run is exact and
instant, and asserts the waits (``clock.sleeps``, ``clock.slept``) and what the server
counted. They send with ``concurrency=1``: two workers sleeping on one fake clock would
move it twice.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pandas as pd
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames import _constants as C
from salesql_frames._client import Pacer
from salesql_frames.sandbox import FakeClock
from salesql_frames.sandbox._limits import RateWindow

INF = math.inf


def span(window: float) -> float:
    """How long the pacer treats a window as (a margin for skew and latency)."""
    return window * C.WINDOW_MARGIN + C.WINDOW_SLACK_SECONDS


def sent_in_any_window(log: list[tuple[float, int]], window: float) -> int:
    return max(sum(w for t, w in log if start <= t < start + window) for start, _ in log)


def enrich(client: Client, n: int, prefix: str) -> pd.DataFrame:
    """Enrich ``n`` unique people, one batch at a time (the fake clock moves once per wait)."""
    frame = pd.DataFrame({"linkedin_url": [f"https://linkedin.com/in/{prefix}-{i}"
                                           for i in range(n)]})
    out: pd.DataFrame = frame.salesql.enrich_persons(client=client, cache=False,
                                                     concurrency=1, progress=False)
    assert set(out["salesql_status"]) <= {"found", "not_found"}
    return out


def bulk_requests(sb: sandbox.Sandbox) -> int:
    return sb.counters.requests["persons_bulk"]


# -- known limit --------------------------------------------------------------------------


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


def test_known_limit_ignores_429_arithmetic() -> None:
    pacer = Pacer((100, 10))
    pacer.on_rate_limited(10, retry_after=5)
    pacer.on_rate_limited(10, retry_after=None)
    for _ in range(50):
        pacer.on_success()
    assert (pacer.allowance, pacer.window, pacer.rate_limited) == (100.0, 10.0, 2)


@pytest.mark.parametrize("kind", ["sliding", "fixed"])
def test_known_limit_against_the_sandbox_window(kind: RateWindow) -> None:
    window = (60, 1.0)
    clock = FakeClock()
    with sandbox.serve(rate_limit=window, rate_window=kind, clock=clock) as sb, Client(
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
    assert bulk_requests(sb) == 180 // batch
    # 180 searches at 60 a second, the first window free: two waits of one (padded) window
    assert clock.sleeps == [pytest.approx(span(1.0))] * 2
    assert elapsed == pytest.approx(2 * span(1.0))
    assert elapsed >= 2.0  # what the server's window demands, whatever the padding


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


# -- adaptive: what a 429 teaches ---------------------------------------------------------


def test_adaptive_learns_from_a_429_with_evidence_and_backs_off() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock)
    for _ in range(4):
        pacer.acquire(100)
    pacer.on_rate_limited(100, retry_after=3.0)  # the fourth was refused: ours filled it
    assert (pacer.allowance, pacer.window) == (300.0, 3.0)
    assert pacer.batch_size() == 50
    clock.sleeps.clear()
    pacer.acquire(50)  # waits for the window to free: until the first 100 leave it
    assert clock.sleeps == [pytest.approx(span(3.0))]
    pacer.on_rate_limited(50, retry_after=None)  # no evidence: backs off, learns nothing
    assert (pacer.allowance, pacer.window) == (pytest.approx(210.0), 3.0)
    for _ in range(20):
        pacer.on_success()
    assert pacer.allowance == 300.0  # recovers to what was learned (no search sent: no probe)


@pytest.mark.parametrize("retry_after", [None, 0.0])
def test_a_429_without_a_usable_retry_after_sets_no_ceiling(retry_after: float | None) -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock)
    for _ in range(3):
        pacer.acquire(100)
    pacer.on_rate_limited(100, retry_after)  # a stray: the retry's backoff is the cool-down
    assert (pacer.allowance, pacer.window) == (INF, C.DEFAULT_WINDOW_SECONDS)
    pacer.acquire(100)  # nothing waits
    pacer.on_rate_limited(100, retry_after)  # twice in a row: a provisional allowance
    assert pacer.allowance == pytest.approx(200 * C.ADAPTIVE_DECREASE)
    assert pacer.window == C.ADAPTIVE_PROVISIONAL_WINDOW
    assert clock.sleeps == []
    accepted = 0
    for _ in range(10):  # a window's worth of accepted searches lifts it
        accepted += (weight := pacer.batch_size())
        pacer.acquire(weight)
        pacer.on_success()
        if pacer.allowance == INF:
            break
    assert 140 <= accepted < 140 + pacer.batch_size()
    assert clock.slept == pytest.approx(2 * span(C.ADAPTIVE_PROVISIONAL_WINDOW))  # 2 windows


def test_a_lone_oversized_request_is_halved_not_retried_forever() -> None:
    pacer = Pacer(None, clock=FakeClock())
    pacer.acquire(100)
    pacer.on_rate_limited(100, 1.0)  # nothing of ours in the window: no evidence
    pacer.acquire(100)
    pacer.on_rate_limited(100, 1.0)
    assert pacer.allowance == 50.0
    assert not pacer.fits(100)  # the caller splits the batch


def test_a_refusal_once_our_window_has_passed_means_a_longer_window() -> None:
    clock = FakeClock(1000.0)
    pacer = Pacer(None, clock=clock)
    for _ in range(4):
        pacer.acquire(100)
    # A fixed window refuses near its end: the wait names only what is left of it.
    pacer.on_rate_limited(100, retry_after=1.0)
    assert (pacer.allowance, pacer.window) == (300.0, 1.0)
    clock.sleep(span(1.0))
    for _ in range(6):  # the next window takes all 300 (it freed when told)
        assert pacer.reserve(50) == 0
    clock.sleep(span(1.0))
    assert pacer.reserve(50) == 0
    # Refused though our 1-s window was empty: the server's window holds the last burst
    # and ends in 2 s, so it is about 3 s long. The burst before that freed when the
    # first 429 said it would, so it is not counted.
    pacer.on_rate_limited(50, retry_after=2.0)
    assert pacer.window == pytest.approx(span(1.0) + 2.0)
    assert pacer.allowance == 300.0


def test_learned_batches_fill_the_window() -> None:
    pacer = Pacer(None, clock=FakeClock())
    pacer.acquire(100)
    pacer.acquire(100)
    pacer.on_rate_limited(100, retry_after=1.0)
    assert (pacer.allowance, pacer.window) == (100.0, 1.0)
    assert pacer.batch_size() == 16  # six of them fit in 100 (six of 17 would not)
    assert Pacer((100, 1.0)).batch_size() == 17  # a known limit's batches are as before


def test_probing_above_the_learned_ceiling() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock)
    for _ in range(4):
        pacer.acquire(100)
    pacer.on_rate_limited(100, retry_after=1.0)
    assert (pacer.allowance, pacer.window, pacer.batch_size()) == (300.0, 1.0, 50)

    def burst() -> list[int]:
        """Send batches of 50 until the pacer would wait: what one window admits."""
        clock.sleep(span(1.0))
        sent = []
        while pacer.reserve(50) == 0:
            sent.append(50)
        return sent

    assert sum(burst()) == 300  # a window's worth at the ceiling: then a probe starts
    for _ in range(6):
        pacer.on_success()
    assert sum(burst()) == 400  # the probe: two batches above the ceiling
    pacer.on_rate_limited(50, retry_after=1.0)  # the first of them refused: held at 300
    assert pacer.allowance == 350.0  # ...but 350 were accepted in the window
    pacer.on_rate_limited(50, retry_after=1.0)  # the other one too: 300
    assert (pacer.allowance, pacer.window) == (300.0, 1.0)
    # A refused probe doubles the success needed before the next: two windows' worth.
    assert sum(burst()) == 300
    pacer.on_success()
    assert sum(burst()) == 300
    pacer.on_success()
    sent = burst()
    assert sum(sent) == 400
    for _ in sent:  # all accepted: the server takes more now
        pacer.on_success()
    assert pacer.allowance == 350.0  # all but the newest, which might still be in flight
    assert pacer.rate_limited == 3


# -- adaptive against the sandbox: a stray 429 costs seconds, not minutes -----------------


def past_date() -> str:
    return format_datetime(datetime.now(timezone.utc) - timedelta(seconds=30), usegmt=True)


@pytest.mark.parametrize("retry_after", [None, 0, -3, "past", "soon"])
@pytest.mark.parametrize("nth", [1, 3])
def test_a_stray_429_on_an_unlimited_server_costs_a_backoff(
    retry_after: object, nth: int
) -> None:
    clock = FakeClock()
    with sandbox.serve(clock=clock) as sb, sb.client(clock=clock) as client:
        if nth > 1:
            sb.faults.add("pass", endpoint="persons_bulk", times=nth - 1)
        sb.faults.add("rate_limit", endpoint="persons_bulk",
                      retry_after=past_date() if retry_after == "past" else retry_after)
        enrich(client, 1000, "stray")
    assert sb.counters.rate_limited == 1
    assert sb.counters.searches == 1000
    assert bulk_requests(sb) == 11  # ten full batches and the one retry
    assert client.pacer.allowance == INF  # no ceiling: nothing was learned
    assert clock.slept <= C.INITIAL_RETRY_DELAY  # the retry's backoff (or 0), nothing else
    assert len(clock.sleeps) == 1


def test_two_stray_429s_in_a_row_cost_seconds_and_are_forgotten() -> None:
    clock = FakeClock()
    with sandbox.serve(clock=clock) as sb, sb.client(clock=clock) as client:
        sb.faults.add("pass", endpoint="persons_bulk", times=2)
        sb.faults.add("rate_limit", endpoint="persons_bulk", times=2, retry_after=None)
        enrich(client, 1000, "strays")
    assert sb.counters.rate_limited == 2
    assert sb.counters.searches == 1000
    assert client.pacer.allowance == INF  # the provisional allowance was lifted again
    assert clock.slept < 3.0  # two backoffs and one provisional window


def test_a_transient_429_with_retry_after_teaches_a_ceiling_that_probing_lifts() -> None:
    clock = FakeClock()
    with sandbox.serve(clock=clock) as sb, sb.client(clock=clock) as client:
        sb.faults.add("pass", endpoint="persons_bulk", times=2)
        sb.faults.add("rate_limit", endpoint="persons_bulk", retry_after=1)  # evidence...
        enrich(client, 5000, "transient")  # ...on a server with no limit at all
    assert sb.counters.rate_limited == 1
    assert sb.counters.searches == 5000
    assert client.pacer.allowance > 20 * 200  # 200 a second were learned, then re-found
    assert clock.slept < 3 * span(1.0)  # at 200 a second it would have taken 24 s


# -- adaptive against the sandbox: real limits are learned and held -----------------------


def test_adaptive_learns_and_holds_a_sliding_window() -> None:
    clock = FakeClock()
    with sandbox.serve(rate_limit=(300, 3.0), clock=clock) as sb, sb.client(
        clock=clock
    ) as client:
        enrich(client, 3000, "sliding")
    assert sb.counters.searches == 3000
    assert (client.pacer.allowance, client.pacer.window) == (300.0, 3.0)
    # One 429 finds the window; each refused probe costs one, and doubles the wait for
    # the next (after 1, 2, 4 windows' worth).
    assert sb.counters.rate_limited <= 4
    ideal = (3000 - 300) / 300 * 3.0  # the first window is free
    assert ideal <= clock.slept <= ideal * 1.1


@pytest.mark.parametrize("start", [1000.0, 1000.5, 1001.2, 1001.9, 1002.7])
def test_adaptive_learns_and_holds_a_fixed_window(start: float) -> None:
    clock = FakeClock(start)  # boundaries at multiples of 3 s: each start another phase
    with sandbox.serve(rate_limit=(300, 3.0), rate_window="fixed", clock=clock) as sb, \
            sb.client(clock=clock) as client:
        enrich(client, 3000, "fixed")
    assert sb.counters.searches == 3000
    pacer = client.pacer
    # The window is learned even when the first Retry-After names only its last second.
    assert 3.0 <= pacer.window <= 3.2
    assert 0.95 * 300 <= pacer.allowance <= 300
    assert sb.counters.rate_limited <= 5
    assert clock.slept <= (3000 - 300) / 300 * 3.0 * 1.1


def test_adaptive_gets_under_a_window_smaller_than_a_batch() -> None:
    clock = FakeClock()
    with sandbox.serve(rate_limit=(30, 1.0), clock=clock) as sb, sb.client(
        clock=clock
    ) as client:
        enrich(client, 300, "small")
    assert sb.counters.searches == 300
    assert client.pacer.allowance <= 30
    assert sb.counters.rate_limited <= 8
    assert clock.slept <= 300 / 30 * span(1.0) * 1.3


def test_a_limit_raised_later_is_found_by_probing() -> None:
    clock = FakeClock()
    with sandbox.serve(rate_limit=(100, 1.0), clock=clock) as sb, sb.client(
        clock=clock
    ) as client:
        enrich(client, 1000, "before")
        assert client.pacer.allowance <= 100
        sb._runtime.engine.limiter.rate_limit = (300, 1.0)  # the plan was upgraded
        refused, started = sb.counters.rate_limited, clock.monotonic()
        enrich(client, 3000, "after")
        elapsed = clock.monotonic() - started
    assert client.pacer.allowance >= 0.9 * 300
    assert sb.counters.rate_limited - refused <= 3
    # At the old 100 a second, 3000 more would take 30 s; at 300, 10 s.
    assert elapsed < 0.6 * 3000 / 100


# -- the sandbox's fixed window -----------------------------------------------------------


def raw(sb: sandbox.Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.api_key}"})


def bulk(api: httpx.Client, n: int, prefix: str) -> httpx.Response:
    return api.post("/persons/enrich/bulk",
                    json=[{"linkedin_url": f"https://linkedin.com/in/{prefix}-{i}"}
                          for i in range(n)])


def test_fixed_window_resets_at_each_boundary_and_says_when() -> None:
    clock = FakeClock(1000.0)  # windows [998, 1000), [1000, 1002), [1002, 1004)...
    with sandbox.serve(rate_limit=(3, 2.0), rate_window="fixed", clock=clock) as sb, \
            raw(sb) as api:
        assert bulk(api, 2, "a").status_code == 200
        refused = bulk(api, 2, "b")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"  # to the next boundary
        assert refused.json() == {"detail": "Rate limit exceeded", "status": 429}
        assert bulk(api, 1, "c").status_code == 200  # what still fits goes
        clock.advance(1.5)
        assert bulk(api, 1, "d").headers["Retry-After"] == "1"  # 0.5 s, rounded up
        too_big = bulk(api, 4, "e")
        assert (too_big.status_code, too_big.headers["Retry-After"]) == (429, "1")
        clock.advance(0.5)  # the boundary: counted from zero
        assert bulk(api, 3, "f").status_code == 200
        assert bulk(api, 1, "g").headers["Retry-After"] == "2"
    assert sb.counters.searches == 2 + 1 + 3
    assert sb.counters.rate_limited == 4
    assert clock.sleeps == []  # the sandbox never sleeps on the clock


@pytest.mark.parametrize(("kind", "accepted"), [("sliding", False), ("fixed", True)])
def test_sliding_is_the_default_and_counts_across_boundaries(
    kind: str | None, accepted: bool
) -> None:
    clock = FakeClock(1001.5)
    options = {} if kind == "sliding" else {"rate_window": kind}
    with sandbox.serve(rate_limit=(3, 2.0), clock=clock, **options) as sb, raw(sb) as api:
        assert bulk(api, 3, "a").status_code == 200
        clock.advance(0.5)  # past a fixed boundary (1002), within the sliding window
        assert (bulk(api, 1, "b").status_code == 200) is accepted


def test_an_unknown_window_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="rate_window"):
        sandbox.Sandbox(rate_limit=(3, 1.0), rate_window="leaky")  # type: ignore[arg-type]
