"""Fault injection through the sandbox: every scenario asserts what the server counted."""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pandas as pd
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox


def leads(n: int, prefix: str = "fault") -> pd.DataFrame:
    urls = [f"https://linkedin.com/in/{prefix}-{i}" for i in range(n)]
    return pd.DataFrame({"linkedin_url": urls})


def enrich(frame: pd.DataFrame, client: Client, **options: object) -> pd.DataFrame:
    options.setdefault("cache", False)
    options.setdefault("concurrency", 1)
    return frame.salesql.enrich_persons(client=client, progress=False, **options)


def bulk(sb: sandbox.Sandbox) -> int:
    return sb.counters.requests["persons_bulk"]


def all_answered(out: pd.DataFrame) -> bool:
    return set(out["salesql_status"]) <= {"found", "not_found"}


@pytest.mark.parametrize("retry_after", [1, None, "soon", "http-date"])
def test_429_is_retried_as_the_server_asks(
    sb: sandbox.Sandbox, client: Client, retry_after: object
) -> None:
    if retry_after == "http-date":
        retry_after = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=2),
                                      usegmt=True)
    sb.faults.add("rate_limit", endpoint="persons_bulk", retry_after=retry_after)
    started = time.monotonic()
    out = enrich(leads(10), client)
    elapsed = time.monotonic() - started
    assert all_answered(out)
    assert bulk(sb) == 2
    assert sb.counters.rate_limited == 1
    assert sb.counters.searches == 10
    if retry_after == 1:
        assert elapsed >= 0.95
    elif retry_after in (None, "soon"):  # no usable header: exponential backoff from 0.5 s
        assert 0.37 <= elapsed < 1.5
    else:
        assert elapsed >= 0.9


def test_continuous_429s_stop_cleanly_after_bounded_retries(
    sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    sb.faults.add("rate_limit", endpoint="persons_bulk", times=1000, retry_after=0)
    with Client(sb.api_key, base_url=sb.base_url, max_retries=2) as api:
        with pytest.warns(sf.RunStoppedWarning, match="rate limited"):
            out = enrich(leads(250), api)
    # The first batch and its retries, then (the window looks smaller than a batch)
    # one split batch and its retries; then a clean stop.
    assert bulk(sb) <= 2 * 3
    assert sb.counters.rate_limited == bulk(sb)
    assert sb.counters.searches == 0
    assert set(out["salesql_status"]) == {"skipped"}
    assert "run again" in out["salesql_error"].iloc[0]


def test_daily_cap_stops_without_retry(sb: sandbox.Sandbox, client: Client) -> None:
    sb.faults.add("pass", endpoint="persons_bulk")
    sb.faults.add("daily_cap", endpoint="persons_bulk")
    with pytest.warns(sf.QuotaExhaustedWarning, match="resets"):
        out = enrich(leads(300), client)
    assert bulk(sb) == 2
    assert sb.counters.daily_capped == 1
    assert sb.counters.searches == 100
    status = out["salesql_status"]
    assert (status == "skipped").sum() == 200
    assert "skipped" not in set(status[:100])


@pytest.mark.parametrize("fault", ["http_500", "http_502", "http_503", "http_504"])
def test_5xx_once_then_success(sb: sandbox.Sandbox, client: Client, fault: str) -> None:
    sb.faults.add(fault, endpoint="persons_bulk")
    out = enrich(leads(20), client)
    assert all_answered(out)
    assert bulk(sb) == 2
    assert sb.counters.faults_served[fault] == 1
    assert sb.counters.searches == 20


@pytest.mark.parametrize(("fault", "error"), [("http_401", sf.AuthenticationError),
                                              ("http_422", None)])
def test_401_and_422_are_not_retried(
    sb: sandbox.Sandbox, client: Client, fault: str, error: type[Exception] | None
) -> None:
    sb.faults.add(fault, endpoint="persons_bulk")
    if error is not None:
        with pytest.raises(error):
            enrich(leads(1), client)
        assert bulk(sb) == 1
    else:
        out = enrich(leads(1), client)  # a single query the server refuses: its row only
        assert bulk(sb) == 1
        assert out["salesql_status"].iloc[0] == "error"
        assert "422" in out["salesql_error"].iloc[0]


def test_422_for_a_batch_isolates_the_refused_row(sb: sandbox.Sandbox, client: Client) -> None:
    # The server refuses any request that holds row 7: 0-7, then 4-7, then 6-7, then 7.
    for fault in ["http_422", "pass", "http_422", "pass", "http_422", "pass", "http_422"]:
        sb.faults.add(fault, endpoint="persons_bulk")
    out = enrich(leads(8), client)
    status = list(out["salesql_status"])
    assert status[7] == "error"
    assert "422" in out["salesql_error"].iloc[7]
    assert set(status[:7]) <= {"found", "not_found"}
    assert bulk(sb) == 7  # bisection: log2(8) extra rounds, not one request per row
    assert sb.counters.searches == 7


def test_connection_refused_stops_cleanly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Client("k", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1) as api:
        started = time.monotonic()
        with pytest.warns(sf.RunStoppedWarning, match="cannot reach"):
            out = enrich(leads(300), api)
    assert time.monotonic() - started < 5
    assert set(out["salesql_status"]) == {"skipped"}


def test_connection_reset_is_retried(sb: sandbox.Sandbox, client: Client) -> None:
    sb.faults.add("reset", endpoint="persons_bulk")
    out = enrich(leads(10), client)
    assert all_answered(out)
    assert bulk(sb) == 2
    assert sb.counters.searches == 10


def test_stalled_response_is_bounded_by_the_timeout(sb: sandbox.Sandbox) -> None:
    sb.faults.add("stall", endpoint="persons_bulk", seconds=30)
    with Client(sb.api_key, base_url=sb.base_url, timeout=0.5, max_retries=0) as api:
        started = time.monotonic()
        out = enrich(leads(150), api)
        elapsed = time.monotonic() - started
    assert elapsed < 3
    status = out["salesql_status"]
    assert set(status[:100]) == {"error"}
    assert "timeout" in out["salesql_error"].iloc[0]
    assert set(status[100:]) <= {"found", "not_found"}
    assert bulk(sb) == 2


@pytest.mark.parametrize("fault", ["truncate"])
def test_truncated_body_is_retried_once(sb: sandbox.Sandbox, client: Client, fault: str) -> None:
    sb.faults.add(fault, endpoint="persons_bulk")
    out = enrich(leads(10), client)
    assert all_answered(out)
    assert bulk(sb) == 2


def test_malformed_json_marks_its_batch_and_stores_nothing(
    sb: sandbox.Sandbox, client: Client, tmp_path: Path
) -> None:
    sb.faults.add("malformed_json", endpoint="persons_bulk")
    out = enrich(leads(150), client, cache=tmp_path / "r.db")
    assert set(out["salesql_status"][:100]) == {"error"}
    assert "not valid JSON" in out["salesql_error"].iloc[0]
    assert bulk(sb) == 2
    again = enrich(leads(150), client, cache=tmp_path / "r.db")
    assert all_answered(again)
    assert bulk(sb) == 3  # only the failed batch is sent again


def test_bulk_answer_one_short_uses_nothing(
    sb: sandbox.Sandbox, client: Client, tmp_path: Path
) -> None:
    sb.faults.add("short", endpoint="persons_bulk")
    out = enrich(leads(100), client, cache=tmp_path / "r.db")
    assert set(out["salesql_status"]) == {"error"}
    assert out["salesql_full_name"].isna().all()
    assert sf.cache_info(tmp_path / "r.db").entries == 0
    assert sb.counters.faults_served["short"] == 1
    assert bulk(sb) == 1


def test_response_lost_after_charge_is_retried_at_most_once(
    sb: sandbox.Sandbox, client: Client
) -> None:
    sb.faults.add("lost", endpoint="persons_bulk", times=2)
    out = enrich(leads(10), client)
    assert set(out["salesql_status"]) == {"error"}
    assert bulk(sb) == 2  # the original and one retry, never a third
    assert max(sb.counters.queries.values()) == 2

    sb.reset_counters()
    sb.faults.add("lost", endpoint="persons_bulk")
    out = enrich(leads(10, "lost-once"), client)
    assert all_answered(out)
    assert bulk(sb) == 2


def test_logs_name_method_path_status_but_no_secret(
    sb: sandbox.Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "sk-canary-logs-93b1"
    caplog.set_level(logging.DEBUG, logger="salesql_frames")
    with sandbox.serve(api_key=canary) as canary_sb, Client(
        canary, base_url=canary_sb.base_url
    ) as api:
        canary_sb.faults.add("http_500", endpoint="persons_bulk")
        enrich(leads(3), api)
    assert "POST /persons/enrich/bulk -> 200" in caplog.text
    assert "retrying" in caplog.text
    assert canary not in caplog.text
    assert "linkedin.com/in/fault" not in caplog.text  # no personal data either
    assert logging.getLogger("httpx").level == logging.NOTSET
    assert not logging.getLogger("httpx").handlers


def test_adaptive_pacing_gets_under_a_window_smaller_than_a_batch() -> None:
    with sandbox.serve(rate_limit=(30, 1.0)) as small, small.client() as api:
        out = enrich(leads(120, "small-window"), api)
        assert all_answered(out)
        assert small.counters.searches == 120
        assert api.pacer.allowance <= 30  # learned, and never recovered beyond it
        assert small.counters.rate_limited <= 8


def test_daily_cap_does_not_teach_the_pacer_a_window(sb: sandbox.Sandbox, client: Client) -> None:
    sb.faults.add("daily_cap", endpoint="persons_bulk")
    with pytest.warns(sf.QuotaExhaustedWarning) as caught:
        enrich(leads(10), client)
    assert caught[0].filename == __file__  # attributed to the caller, not library code
    assert client.pacer.allowance == float("inf")


def test_retry_after_zero_is_a_short_window(sb: sandbox.Sandbox, client: Client) -> None:
    sb.faults.add("rate_limit", endpoint="persons_bulk", retry_after=0)
    started = time.monotonic()
    out = enrich(leads(200, "zero"), client)
    assert all_answered(out)
    assert time.monotonic() - started < 5
    assert bulk(sb) == 3  # a lone refusal is retried as told, teaching nothing
    assert client.pacer.allowance == float("inf")


def test_organization_budget_counts_found_organizations() -> None:
    frame = pd.DataFrame({"Website": [f"budget-org-{i}.io" for i in range(40)]})
    with sandbox.serve(organization_credit=1) as paid, paid.client() as api:
        with pytest.warns(sf.RunStoppedWarning, match="max_credits"):
            frame.salesql.enrich_organizations(client=api, cache=False, max_credits=5,
                                               progress=False)
        assert paid.counters.credits_charged <= 5
        assert paid.counters.searches >= 5
