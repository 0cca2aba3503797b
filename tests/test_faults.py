"""Fault injection through the sandbox: every scenario asserts what the server counted.

Every frame test runs on each backend (``make_frame``). Retries and pacing run on the
``clock`` fixture, a `FakeClock` the client (and, where its window matters, the
sandbox) share, so waits are asserted exactly and cost no time; only a stall cut off by
a real read timeout and a refused connection use real sockets and time.
"""

from __future__ import annotations

import logging
import socket
import time
import warnings
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames.sandbox import FakeClock

if TYPE_CHECKING:
    from conftest import Column, MakeFrame

ANSWERED = {"found", "not_found"}
#: The first retry's backoff: 0.5 s, times 0.75-1.0 (jitter).
FIRST_BACKOFF = (0.375, 0.5)


def leads(n: int, prefix: str = "fault") -> dict[str, list[Any]]:
    return {"linkedin_url": [f"https://linkedin.com/in/{prefix}-{i}" for i in range(n)]}


def enrich(frame: Any, client: Client, **options: object) -> Any:
    options.setdefault("cache", False)
    options.setdefault("concurrency", 1)
    return frame.salesql.enrich_persons(client=client, progress=False, **options)


def bulk(sb: sandbox.Sandbox) -> int:
    return sb.counters.requests["persons_bulk"]


def is_first_backoff(seconds: float) -> bool:
    low, high = FIRST_BACKOFF
    return low <= seconds <= high


@pytest.mark.parametrize("retry_after", [1, None, "soon", "http-date"])
def test_429_is_retried_as_the_server_asks(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column, retry_after: object,
) -> None:
    if retry_after == "http-date":  # ten seconds ahead, to the second
        retry_after = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=10),
                                      usegmt=True)
    sb.faults.add("rate_limit", endpoint="persons_bulk", retry_after=retry_after)
    started = time.monotonic()
    out = enrich(make_frame(leads(10)), client)
    assert time.monotonic() - started < 5  # the waits were on the fake clock
    assert set(column(out, "salesql_status")) <= ANSWERED
    assert bulk(sb) == 2
    assert sb.counters.rate_limited == 1
    assert sb.counters.searches == 10
    assert len(clock.sleeps) == 1  # one retry, and the pacer never waited
    (waited,) = clock.sleeps
    if retry_after == 1:
        assert waited == 1.0
    elif retry_after in (None, "soon"):  # no usable header: exponential backoff from 0.5 s
        assert is_first_backoff(waited)
    else:  # the date, less the time since it was written (the header has whole seconds)
        assert 8.5 < waited <= 10.0


def test_continuous_429s_stop_cleanly_after_bounded_retries(
    sb: sandbox.Sandbox, clock: FakeClock, make_frame: MakeFrame, column: Column
) -> None:
    sb.faults.add("rate_limit", endpoint="persons_bulk", times=1000, retry_after=0)
    with Client(sb.api_key, base_url=sb.base_url, max_retries=2, clock=clock) as api:
        with pytest.warns(sf.RunStoppedWarning, match="rate limited"):
            out = enrich(make_frame(leads(250)), api)
    # The first batch and its retries, then (the window looks smaller than a batch)
    # one split batch and its retries; then a clean stop.
    assert bulk(sb) <= 2 * 3
    assert sb.counters.rate_limited == bulk(sb)
    assert sb.counters.searches == 0
    assert set(column(out, "salesql_status")) == {"skipped"}
    assert "run again" in column(out, "salesql_error")[0]
    # every retry waited as told ("Retry-After: 0"), and nothing accepted made the pacer wait
    assert clock.sleeps
    assert set(clock.sleeps) == {0.0}


def test_daily_cap_stops_without_retry(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column,
) -> None:
    sb.faults.add("pass", endpoint="persons_bulk")
    sb.faults.add("daily_cap", endpoint="persons_bulk", times=1000)  # from now on
    with pytest.warns(sf.QuotaExhaustedWarning, match="resets"):
        out = enrich(make_frame(leads(300)), client)
    # The refused batch of 100 is halved until a single query is refused: 100, 50, 25,
    # 12, 6, 3, 1 (a cap leaves no way to know what is left), one batch at a time.
    assert sb.counters.daily_capped == 7
    assert bulk(sb) == 1 + 7
    assert sb.counters.max_concurrent == 1
    assert sb.counters.searches == 100
    status = column(out, "salesql_status")
    assert status.count("skipped") == 200
    assert "skipped" not in status[:100]
    assert clock.sleeps == []  # the cap is not waited for


@pytest.mark.parametrize("fault", ["http_500", "http_502", "http_503", "http_504"])
def test_5xx_once_then_success(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column, fault: str,
) -> None:
    sb.faults.add(fault, endpoint="persons_bulk")
    out = enrich(make_frame(leads(20)), client)
    assert set(column(out, "salesql_status")) <= ANSWERED
    assert bulk(sb) == 2
    assert sb.counters.faults_served[fault] == 1
    assert sb.counters.searches == 20
    assert len(clock.sleeps) == 1
    assert is_first_backoff(clock.sleeps[0])


@pytest.mark.parametrize(("fault", "error"), [("http_401", sf.AuthenticationError),
                                              ("http_422", None)])
def test_401_and_422_are_not_retried(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column, fault: str, error: type[Exception] | None,
) -> None:
    sb.faults.add(fault, endpoint="persons_bulk")
    if error is not None:
        with pytest.raises(error):
            enrich(make_frame(leads(1)), client)
        assert bulk(sb) == 1
    else:
        out = enrich(make_frame(leads(1)), client)  # a single query the server refuses
        assert bulk(sb) == 1
        assert column(out, "salesql_status")[0] == "error"
        assert "422" in column(out, "salesql_error")[0]
    assert clock.sleeps == []


def test_422_for_a_batch_isolates_the_refused_row(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column,
) -> None:
    # The server refuses any request that holds row 7: 0-7, then 4-7, then 6-7, then 7.
    for fault in ["http_422", "pass", "http_422", "pass", "http_422", "pass", "http_422"]:
        sb.faults.add(fault, endpoint="persons_bulk")
    out = enrich(make_frame(leads(8)), client)
    status = column(out, "salesql_status")
    assert status[7] == "error"
    assert "422" in column(out, "salesql_error")[7]
    assert set(status[:7]) <= ANSWERED
    assert bulk(sb) == 7  # bisection: log2(8) extra rounds, not one request per row
    assert sb.counters.searches == 7
    assert clock.sleeps == []  # bisecting is no retry: nothing waits


def test_connection_refused_stops_cleanly(make_frame: MakeFrame, column: Column) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = FakeClock()
    with Client("k", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1,
                clock=clock) as api:
        started = time.monotonic()
        with pytest.warns(sf.RunStoppedWarning, match="cannot reach"):
            out = enrich(make_frame(leads(300)), api)
    assert time.monotonic() - started < 5  # refused at once, over a real socket
    assert set(column(out, "salesql_status")) == {"skipped"}
    assert len(clock.sleeps) == 1  # one retry (max_retries=1), then a clean stop
    assert is_first_backoff(clock.sleeps[0])


def test_connection_reset_is_retried(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column,
) -> None:
    sb.faults.add("reset", endpoint="persons_bulk")
    out = enrich(make_frame(leads(10)), client)
    assert set(column(out, "salesql_status")) <= ANSWERED
    assert bulk(sb) == 2
    assert sb.counters.searches == 10
    assert len(clock.sleeps) == 1
    assert is_first_backoff(clock.sleeps[0])


def test_stalled_response_is_bounded_by_the_timeout(
    sb: sandbox.Sandbox, clock: FakeClock, make_frame: MakeFrame, column: Column
) -> None:
    sb.faults.add("stall", endpoint="persons_bulk", seconds=30)
    frame = make_frame(leads(150))
    with Client(sb.api_key, base_url=sb.base_url, timeout=0.5, max_retries=0,
                clock=clock) as api:
        started = time.monotonic()
        out = enrich(frame, api)
        elapsed = time.monotonic() - started  # a real read timeout: real time
    assert elapsed < 10  # far under the 30 s stall
    status = column(out, "salesql_status")
    assert set(status[:100]) == {"error"}
    assert "timeout" in column(out, "salesql_error")[0]
    assert set(status[100:]) <= ANSWERED
    assert bulk(sb) == 2
    assert clock.sleeps == []  # max_retries=0


@pytest.mark.parametrize("fault", ["truncate"])
def test_truncated_body_is_retried_once(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column, fault: str,
) -> None:
    sb.faults.add(fault, endpoint="persons_bulk")
    out = enrich(make_frame(leads(10)), client)
    assert set(column(out, "salesql_status")) <= ANSWERED
    assert bulk(sb) == 2
    assert len(clock.sleeps) == 1
    assert is_first_backoff(clock.sleeps[0])


@pytest.mark.parametrize("fault", ["malformed_json", "short"])
def test_an_unusable_answer_is_resent_once_and_counted_as_possibly_charged(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column, tmp_path: Path, fault: str,
) -> None:
    sb.faults.add(fault, endpoint="persons_bulk")
    frame = make_frame(leads(150))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a resent batch is no stop: nothing to warn about
        out = enrich(frame, client, cache=tmp_path / "r.db")
    assert set(column(out, "salesql_status")) <= ANSWERED
    assert bulk(sb) == 3  # the unusable batch once more, then the other batch
    assert sb.counters.faults_served[fault] == 1
    assert max(sb.counters.queries.values()) == 2  # its 100 queries, twice; never a third
    assert sf.cache_info(tmp_path / "r.db").entries == 150
    assert len(clock.sleeps) == 1  # the resend waits the first backoff
    assert is_first_backoff(clock.sleeps[0])
    again = enrich(frame, client, cache=tmp_path / "r.db")
    assert bulk(sb) == 3  # everything is in the store now
    assert column(again, "salesql_status") == column(out, "salesql_status")


@pytest.mark.parametrize("fault", ["malformed_json", "short"])
def test_an_answer_unusable_twice_marks_its_batch_and_stores_nothing(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column, tmp_path: Path,
    fault: str,
) -> None:
    sb.faults.add(fault, endpoint="persons_bulk", times=2)
    out = enrich(make_frame(leads(150)), client, cache=tmp_path / "r.db")
    status, errors = column(out, "salesql_status"), column(out, "salesql_error")
    assert set(status[:100]) == {"error"}
    assert "no usable answer twice" in errors[0]
    assert "may have been charged" in errors[0]
    assert set(column(out, "salesql_full_name")[:100]) == {None}
    assert set(status[100:]) <= ANSWERED
    assert bulk(sb) == 3
    assert sf.cache_info(tmp_path / "r.db").entries == 50  # nothing of the unusable batch
    again = enrich(make_frame(leads(150)), client, cache=tmp_path / "r.db")
    assert set(column(again, "salesql_status")) <= ANSWERED
    assert bulk(sb) == 4  # only the failed batch is sent again


def test_response_lost_after_charge_is_retried_at_most_once(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column,
) -> None:
    sb.faults.add("lost", endpoint="persons_bulk", times=2)
    out = enrich(make_frame(leads(10)), client)
    assert set(column(out, "salesql_status")) == {"error"}
    assert bulk(sb) == 2  # the original and one retry, never a third
    assert max(sb.counters.queries.values()) == 2
    assert len(clock.sleeps) == 1

    sb.reset_counters()
    sb.faults.add("lost", endpoint="persons_bulk")
    out = enrich(make_frame(leads(10, "lost-once")), client)
    assert set(column(out, "salesql_status")) <= ANSWERED
    assert bulk(sb) == 2
    assert len(clock.sleeps) == 2
    assert all(is_first_backoff(waited) for waited in clock.sleeps)


def test_logs_name_method_path_status_but_no_secret(
    caplog: pytest.LogCaptureFixture, make_frame: MakeFrame
) -> None:
    canary = "sk-canary-logs-93b1"
    caplog.set_level(logging.DEBUG, logger="salesql_frames")
    clock = FakeClock()
    with sandbox.serve(api_key=canary) as canary_sb, Client(
        canary, base_url=canary_sb.base_url, clock=clock
    ) as api:
        canary_sb.faults.add("http_500", endpoint="persons_bulk")
        enrich(make_frame(leads(3)), api)
        assert canary_sb.counters.faults_served["http_500"] == 1
    assert "POST /persons/enrich/bulk -> 200" in caplog.text
    assert "retrying" in caplog.text
    assert canary not in caplog.text
    assert "linkedin.com/in/fault" not in caplog.text  # no personal data either
    assert logging.getLogger("httpx").level == logging.NOTSET
    assert not logging.getLogger("httpx").handlers
    assert len(clock.sleeps) == 1


def test_adaptive_pacing_gets_under_a_window_smaller_than_a_batch(
    make_frame: MakeFrame, column: Column
) -> None:
    clock = FakeClock()  # the client's pacing and the server's window, on one clock
    with sandbox.serve(rate_limit=(30, 1.0), clock=clock) as small, small.client(
        clock=clock
    ) as api:
        started = clock.monotonic()
        out = enrich(make_frame(leads(120, "small-window")), api)
        assert set(column(out, "salesql_status")) <= ANSWERED
        assert small.counters.searches == 120
        assert api.pacer.allowance <= 30  # learned, and never recovered beyond it
        assert small.counters.rate_limited <= 8
    # 120 searches at 30 a second, the first window free: 3 s at least (no real wait)
    assert clock.monotonic() - started >= 3.0
    assert clock.slept == pytest.approx(clock.monotonic() - started)  # all of it sleeping


def test_daily_cap_does_not_teach_the_pacer_a_window(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame
) -> None:
    sb.faults.add("daily_cap", endpoint="persons_bulk", times=1000)
    with pytest.warns(sf.QuotaExhaustedWarning) as caught:
        enrich(make_frame(leads(10)), client)
    assert caught[0].filename == __file__  # attributed to the caller, not library code
    assert client.pacer.allowance == float("inf")
    assert sb.counters.daily_capped == 4  # 10, 5, 2, 1


def test_retry_after_zero_is_a_short_window(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, make_frame: MakeFrame,
    column: Column,
) -> None:
    sb.faults.add("rate_limit", endpoint="persons_bulk", retry_after=0)
    out = enrich(make_frame(leads(200, "zero")), client)
    assert set(column(out, "salesql_status")) <= ANSWERED
    assert bulk(sb) == 3  # a lone refusal is retried as told, teaching nothing
    assert client.pacer.allowance == float("inf")
    assert clock.sleeps == [0.0]  # "Retry-After: 0": retried at once


def test_organization_budget_counts_found_organizations(make_frame: MakeFrame) -> None:
    frame = make_frame({"Website": [f"budget-org-{i}.io" for i in range(40)]})
    with sandbox.serve(organization_credit=1) as paid, paid.client() as api:
        with pytest.warns(sf.RunStoppedWarning, match="max_credits"):
            frame.salesql.enrich_organizations(client=api, cache=False, max_credits=5,
                                               progress=False)
        assert paid.counters.credits_charged <= 5
        assert paid.counters.searches >= 5
