"""Money safety, judged by what the sandbox counted and charged.

- Before the first request every mistake raises and nothing is sent (a test per
  argument asserts zero requests on the sandbox).
- After the first request the frame comes back with every answer that arrived, and the
  server never charges more than ``max_credits``: a batch whose outcome is unknown
  counts as fully charged (the fault-by-budget matrix).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames._enrich import RunOptions, plan_frame, run_enrichment
from salesql_frames._kinds import PERSON
from salesql_frames.sandbox import FakeClock
from salesql_frames.sandbox._faults import FAULTS

if TYPE_CHECKING:
    from conftest import Column, MakeFrame


def leads(n: int, prefix: str = "money") -> dict[str, list[Any]]:
    return {"linkedin_url": [f"https://linkedin.com/in/{prefix}-{i}" for i in range(n)]}


def requests(sb: sandbox.Sandbox) -> int:
    return sum(sb.counters.requests.values())


# -- the fault-by-budget matrix -----------------------------------------------------------

#: Every fault the sandbox can inject, but the no-op.
MONEY_FAULTS = [fault for fault in FAULTS if fault != "pass"]


@pytest.mark.parametrize("max_credits", [None, 60])
@pytest.mark.parametrize("rate", [1.0, 0.5])
@pytest.mark.parametrize("fault", MONEY_FAULTS)
def test_the_server_never_charges_more_than_the_budget(
    fault: str, rate: float, max_credits: int | None
) -> None:
    clock = FakeClock()
    frame = pd.DataFrame(leads(400, f"{fault}-{rate}"))
    with sandbox.serve(seed=5, clock=clock, not_found_rate=0.1) as sb, sb.client(
        clock=clock, timeout=0.5
    ) as client:
        sb.faults.set_rates({fault: rate}, seed=17, options={"stall": {"seconds": 1.0}})
        plan = plan_frame(frame, PERSON, {})
        options = RunOptions(client=client, cache=False, max_credits=max_credits,
                             progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sf.RunStoppedWarning)
            if fault == "http_401" and rate == 1.0:  # refused before anything arrived
                with pytest.raises(sf.AuthenticationError):
                    run_enrichment(frame, plan, options=options)
                assert sb.counters.credits_charged == 0
                return
            result = run_enrichment(frame, plan, options=options)
        charged = sb.counters.credits_charged
    summary = result.summary
    if max_credits is not None:
        assert charged <= max_credits
    assert summary.credits_used <= charged  # confirmed is never overstated
    assert summary.credits_used + summary.credits_possible >= charged  # nothing hidden
    assert len(result.frame) == 400
    found = (result.frame["salesql_status"] == "found").sum()
    assert found == summary.found
    if fault in ("lost", "truncate", "malformed_json", "short", "stall") and rate == 1.0:
        assert summary.credits_used == 0
        assert summary.credits_possible > 0 or charged == 0


def test_a_lost_batch_counts_fully_against_the_budget(sb: sandbox.Sandbox,
                                                       client: Client) -> None:
    # Every answer is lost after the server did (and charged) the work: the run may
    # send batches worth at most max_credits, resends included, and then stops.
    sb.faults.set_rates({"lost": 1.0})
    frame = pd.DataFrame(leads(1_000))
    plan = plan_frame(frame, PERSON, {})
    with pytest.warns(sf.RunStoppedWarning):
        result = run_enrichment(frame, plan, options=RunOptions(
            client=client, cache=False, max_credits=100, progress=False, concurrency=1))
    assert sb.counters.searches <= 100
    assert sb.counters.credits_charged <= 100
    assert result.summary.credits_used == 0
    assert result.summary.credits_possible == sb.counters.searches
    assert "possibly" in str(result.summary)


def test_three_unknown_outcomes_in_a_row_stop_the_run(sb: sandbox.Sandbox,
                                                       client: Client) -> None:
    sb.faults.set_rates({"malformed_json": 1.0})
    frame = pd.DataFrame(leads(2_000))
    plan = plan_frame(frame, PERSON, {})
    with pytest.warns(sf.RunStoppedWarning, match="3 batches in a row"):
        result = run_enrichment(frame, plan, options=RunOptions(
            client=client, cache=False, progress=False, concurrency=1))
    assert sb.counters.requests["persons_bulk"] == 3  # the breaker, not 20 batches x 2
    status = result.frame["salesql_status"]
    assert (status == "skipped").sum() >= 1_700
    assert result.summary.credits_possible == 300


def test_strict_mode_raises_with_the_partial_frame(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column
) -> None:
    frame = make_frame(leads(300))
    with pytest.raises(sf.RunStoppedError, match="max_credits=100") as caught:
        frame.salesql.enrich_persons(client=client, cache=False, max_credits=100,
                                     progress=False, strict=True, concurrency=1)
    partial = caught.value.partial
    assert type(partial) is type(frame)
    status = column(partial, "salesql_status")
    assert len(status) == 300
    assert sb.counters.searches == status.count("found") + status.count("not_found")
    assert "skipped" in status
    assert caught.value.category is sf.RunStoppedWarning


def test_a_store_write_that_fails_once_is_caught_up_with_the_next_batch(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column, tmp_path: Any
) -> None:
    class FailsOnce(sf.ResultStore):
        failures = 0

        def put_many(self, *args: Any, **kwargs: Any) -> None:
            if not FailsOnce.failures:
                FailsOnce.failures += 1
                raise sf.StoreError("database is locked", path=self.path, operation="write")
            super().put_many(*args, **kwargs)

    with FailsOnce(tmp_path / "r.db") as store, pytest.warns(sf.StoreWarning,
                                                             match="r.db failed"):
        out = make_frame(leads(250)).salesql.enrich_persons(
            client=client, cache=store, progress=False, concurrency=1)
    assert set(column(out, "salesql_status")) <= {"found", "not_found"}  # the run went on
    assert sb.counters.searches == 250
    assert sf.cache_info(tmp_path / "r.db").entries == 250  # the first batch came later


def test_a_batch_that_fails_after_a_stop_gets_its_reason_and_gives_up_its_claims(
    make_frame: MakeFrame, column: Column, tmp_path: Any
) -> None:
    import sqlite3

    clock = FakeClock()
    # Batches of one query (a known limit of 6 a minute), so a daily cap refusing the
    # first one is a stop at once (no smaller batch to try).
    with sandbox.serve(clock=clock) as sb, sb.client(clock=clock, rate_limit=6) as client:
        sb.faults.add("daily_cap", endpoint="persons_bulk")  # the first batch: a stop
        sb.faults.add("lost", endpoint="persons_bulk")  # the second, in flight: no answer
        with pytest.warns(sf.QuotaExhaustedWarning):
            out = make_frame(leads(200)).salesql.enrich_persons(
                client=client, cache=tmp_path / "r.db", progress=False, concurrency=2)
        # Nothing new is sent after the stop. The lost batch may be resent once before
        # the cap's refusal arrives (two batches are in flight), never another query.
        assert sb.counters.requests["persons_bulk"] in (2, 3)
        assert set(sb.counters.queries) <= {"li:money-0", "li:money-1"}
    errors, statuses = column(out, "salesql_error"), column(out, "salesql_status")
    unanswered = [e for e, s in zip(errors, statuses, strict=True)
                  if s not in ("found", "not_found")]  # a resent lost batch may be answered
    assert len(unanswered) >= 198
    assert all(unanswered), "every row not answered says why"
    with sqlite3.connect(tmp_path / "r.db") as db:
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0


# -- every bad argument fails with zero requests ------------------------------------------

BAD_PERSON_ARGUMENTS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"how": "tall"}, sf.InvalidArgumentError, "how"),
    ({"how": "long"}, sf.InvalidArgumentError, "explode"),
    ({"how": "long", "explode": "email"}, sf.InvalidArgumentError, "'email'"),
    ({"explode": "phones"}, sf.InvalidArgumentError, 'how="long"'),
    ({"prefix": None}, sf.InvalidArgumentTypeError, "prefix"),
    ({"prefix": 3}, sf.InvalidArgumentTypeError, "prefix"),
    ({"max_credits": -1}, sf.InvalidArgumentError, "max_credits"),
    ({"max_credits": 150.5}, sf.InvalidArgumentError, "max_credits"),
    ({"max_credits": "10"}, sf.InvalidArgumentTypeError, "max_credits"),
    ({"max_credits": True}, sf.InvalidArgumentTypeError, "max_credits"),
    ({"concurrency": 0}, sf.InvalidArgumentError, "concurrency"),
    ({"concurrency": 1.5}, sf.InvalidArgumentError, "concurrency"),
    ({"progress": "yes"}, sf.InvalidArgumentTypeError, "progress"),
    ({"strict": 1}, sf.InvalidArgumentTypeError, "strict"),
    ({"dtype_backend": "arrow"}, sf.InvalidArgumentError, "dtype_backend"),
    ({"max_emails": -1}, sf.InvalidArgumentError, "max_emails"),
    ({"max_phones": "3"}, sf.InvalidArgumentTypeError, "max_phones"),
    ({"max_work": 2.5}, sf.InvalidArgumentError, "max_work"),
    ({"cache": 3}, sf.InvalidArgumentTypeError, "cache"),
    ({"only_missing": "No Such Column"}, sf.MappingError, "only_missing"),
    ({"api_key": "k"}, sf.InvalidArgumentError, "client="),
]


@pytest.mark.parametrize(("arguments", "error", "named"), BAD_PERSON_ARGUMENTS,
                         ids=[next(iter(a)) + "=" + repr(next(iter(a.values())))
                              for a, _, _ in BAD_PERSON_ARGUMENTS])
def test_a_bad_argument_raises_before_anything_is_sent(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, arguments: dict[str, Any],
    error: type[Exception], named: str, tmp_path: Any,
) -> None:
    frame = make_frame(leads(5))
    with pytest.raises(error, match=named.replace("(", r"\(")):
        frame.salesql.enrich_persons(
            client=client, **{"cache": tmp_path / "r.db", "progress": False, **arguments})
    assert requests(sb) == 0
    assert sb.counters.searches == 0


def test_a_whole_float_budget_is_accepted(sb: sandbox.Sandbox, client: Client) -> None:
    frame = pd.DataFrame(leads(300))
    with pytest.warns(sf.RunStoppedWarning, match="max_credits=150"):
        out = frame.salesql.enrich_persons(client=client, cache=False, max_credits=150.0,
                                           progress=False, concurrency=1)
    assert sb.counters.credits_charged <= 150
    assert (out["salesql_status"] == "skipped").sum() > 0


def test_long_output_of_a_frame_that_forbids_duplicate_labels_raises_first(
    sb: sandbox.Sandbox, client: Client
) -> None:
    frame = pd.DataFrame(leads(5)).set_flags(allows_duplicate_labels=False)
    with pytest.raises(sf.InvalidArgumentError, match="allows_duplicate_labels"):
        frame.salesql.enrich_persons(client=client, cache=False, how="long",
                                     explode="emails", progress=False)
    assert requests(sb) == 0
    wide = frame.salesql.enrich_persons(client=client, cache=False, progress=False)
    assert len(wide) == 5  # wide output repeats no label: it works


def test_a_bad_organization_argument_raises_before_anything_is_sent(
    sb: sandbox.Sandbox, client: Client
) -> None:
    frame = pd.DataFrame({"Website": ["acme.io"]})
    with pytest.raises(sf.InvalidArgumentTypeError, match="prefix"):
        frame.salesql.enrich_organizations(client=client, cache=False, prefix=5)
    with pytest.raises(sf.InvalidArgumentError, match="max_credits"):
        frame.salesql.enrich_organizations(client=client, cache=False, max_credits=-5)
    assert requests(sb) == 0


@pytest.mark.parametrize("cell", ["x" * 3_000, "https://linkedin.com/in/" + "a" * 2_100])
def test_a_cell_that_cannot_make_a_query_is_invalid_and_never_sent(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column, cell: str
) -> None:
    frame = make_frame({"Full Name": ["Ada Lovelace", cell], "Company": ["Acme", "Acme"],
                        "LinkedIn": [None, cell if cell.startswith("https") else None]})
    out = frame.salesql.enrich_persons(client=client, cache=False, progress=False)
    status, errors = column(out, "salesql_status"), column(out, "salesql_error")
    assert status[1] == "invalid_input"
    assert "the limit is 2,048" in errors[1] or "is not a LinkedIn URL" in errors[1]
    assert len(errors[1]) < 500  # the reason names the cell, it does not repeat it
    assert sb.counters.searches == 1  # only the good row


def test_a_direct_client_query_with_a_control_character_is_refused(
    sb: sandbox.Sandbox, client: Client
) -> None:
    with pytest.raises(sf.InvalidQueryError, match="control character"):
        client.enrich_persons_bulk([{"full_name": "Ada\x07", "organization_name": "Acme"}])
    assert requests(sb) == 0


# -- runs that share a store never pay twice -----------------------------------------------

OVERLAP_SCRIPT = """
import sys
import pandas as pd
import salesql_frames

start, stop = int(sys.argv[1]), int(sys.argv[2])
urls = [f"https://linkedin.com/in/overlap-{i}" for i in range(start, stop)]
out = pd.DataFrame({"linkedin_url": urls}).salesql.enrich_persons(
    cache=sys.argv[3], progress=False, concurrency=2)
print(sorted(set(out["salesql_status"])))
"""


def test_two_overlapping_processes_on_one_store_never_pay_twice(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    store = tmp_path / "shared.sqlite3"
    with sandbox.serve(seed=4, latency=0.02) as sb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALESQL_")}
        env.update(SALESQL_API_KEY=sb.api_key, SALESQL_BASE_URL=sb.base_url)
        runs = [subprocess.Popen([sys.executable, "-c", OVERLAP_SCRIPT, a, b, str(store)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
                for a, b in (("0", "1500"), ("500", "2000"))]
        results = [run.communicate(timeout=300) for run in runs]
        for run, (out, err) in zip(runs, results, strict=True):
            assert run.returncode == 0, err
            assert out.strip() in ("['found', 'not_found']", "['found']"), (out, err)
        queries = sb.counters.queries
    assert len(queries) == 2_000
    assert max(queries.values()) == 1  # no identity was sent twice, none paid twice


def test_threads_sharing_a_client_and_a_store_never_pay_twice(tmp_path: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with sandbox.serve(seed=4, latency=0.01) as sb, sb.client() as client, sf.ResultStore(
        tmp_path / "r.sqlite3"
    ) as store:
        urls = [f"https://linkedin.com/in/threads-{i}" for i in range(600)]
        frames = [pd.DataFrame({"linkedin_url": urls[i * 100 : i * 100 + 300]})
                  for i in range(4)]  # each overlaps the next by 200 rows

        def enrich(frame: pd.DataFrame) -> Any:
            return frame.salesql.enrich_persons(client=client, cache=store, progress=False)

        with ThreadPoolExecutor(4) as pool:
            outs = list(pool.map(enrich, frames))
        queries = sb.counters.queries
    assert all(set(out["salesql_status"]) <= {"found", "not_found"} for out in outs)
    assert len(queries) == 600
    assert max(queries.values()) == 1
