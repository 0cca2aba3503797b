"""The durable result store: never pay twice, resume after a crash, keep no secrets.

Every test that runs a frame runs on each backend (``make_frame``), except the one whose
frame is enriched by a child process (pandas there, as a user's script would).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames._store import ResultStore, default_cache_path

if TYPE_CHECKING:
    from conftest import AssertSameFrame, Column, MakeFrame

CANARY = "sk-canary-store-51d0e7"


def leads(n: int, prefix: str = "stored") -> dict[str, list[Any]]:
    return {"linkedin_url": [f"https://linkedin.com/in/{prefix}-{i}" for i in range(n)]}


def bulk_requests(sb: sandbox.Sandbox) -> int:
    return sb.counters.requests["persons_bulk"]


def test_rerun_sends_nothing_and_costs_nothing(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame,
    assert_same_frame: AssertSameFrame, tmp_path: Path,
) -> None:
    frame = make_frame(leads(250))
    first = frame.salesql.enrich_persons(client=client, cache=tmp_path / "r.db", progress=False)
    charged = sb.counters.credits_charged
    assert sb.counters.searches == 250
    assert charged > 0
    again = frame.salesql.enrich_persons(client=client, cache=tmp_path / "r.db", progress=False)
    assert bulk_requests(sb) == 3  # the first run only
    assert sb.counters.searches == 250
    assert sb.counters.credits_charged == charged
    assert_same_frame(first, again)


def test_a_store_is_shared_across_backends(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column, tmp_path: Path
) -> None:
    data = leads(150, "shared")
    first = pd.DataFrame(data).salesql.enrich_persons(client=client, cache=tmp_path / "r.db",
                                                      progress=False)
    out = make_frame(data).salesql.enrich_persons(client=client, cache=tmp_path / "r.db",
                                                  progress=False)
    assert sb.counters.searches == 150  # the same keys, whichever frame asked
    assert bulk_requests(sb) == 2
    assert column(out, "salesql_status") == column(first, "salesql_status")
    assert column(out, "salesql_full_name") == column(first, "salesql_full_name")


def test_default_store_lives_in_the_cache_dir(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("SALESQL_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_path() == tmp_path / "here" / "results.sqlite3"
    make_frame(leads(5)).salesql.enrich_persons(client=client, progress=False)
    make_frame(leads(5)).salesql.enrich_persons(client=client, progress=False)
    assert bulk_requests(sb) == 1
    info = sf.cache_info()
    assert info.entries == 5
    assert info.path == default_cache_path()
    assert sf.clear_cache() == 5
    make_frame(leads(5)).salesql.enrich_persons(client=client, progress=False)
    assert bulk_requests(sb) == 2


def test_cache_false_stores_nothing(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame
) -> None:
    make_frame(leads(5)).salesql.enrich_persons(client=client, cache=False, progress=False)
    make_frame(leads(5)).salesql.enrich_persons(client=client, cache=False, progress=False)
    assert bulk_requests(sb) == 2
    assert not default_cache_path().exists()


def test_store_file_is_private_and_holds_no_secret(make_frame: MakeFrame, tmp_path: Path) -> None:
    path = tmp_path / "private" / "r.db"
    with sandbox.serve(api_key=CANARY) as canary_sb, Client(
        CANARY, base_url=canary_sb.base_url
    ) as api:
        make_frame(leads(30)).salesql.enrich_persons(client=api, cache=path, progress=False)
        assert canary_sb.counters.searches == 30
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for companion in path.parent.iterdir():
        assert stat.S_IMODE(companion.stat().st_mode) & 0o077 == 0, companion
        blob = companion.read_bytes()
        assert CANARY.encode() not in blob
        assert b"Bearer" not in blob
        assert b"Authorization" not in blob
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(results)")]
    assert columns == ["key", "account", "kind", "found", "item", "stored_at"]


def test_answers_are_kept_per_account(make_frame: MakeFrame, tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with sandbox.serve(api_key="first") as one, Client("first", base_url=one.base_url) as api:
        make_frame(leads(5)).salesql.enrich_persons(client=api, cache=path, progress=False)
        assert one.counters.searches == 5
    with sandbox.serve(api_key="second") as two, Client("second", base_url=two.base_url) as api:
        make_frame(leads(5)).salesql.enrich_persons(client=api, cache=path, progress=False)
        assert two.counters.searches == 5  # another account does not see the first's answers


def age(path: Path, seconds: float) -> None:
    """Make every stored answer ``seconds`` older, as if that much time had passed."""
    with sqlite3.connect(path) as db:
        db.execute("UPDATE results SET stored_at = stored_at - ?", (seconds,))
    db.close()


def test_time_to_live_for_found_and_not_found(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with ResultStore(path, found_ttl=3600, not_found_ttl=60) as store:
        store.put_many("acct", "person", [("a", {"uuid": "1"}), ("b", None)])
        assert store.get_many(["a", "b", "c"]) == {"a": {"uuid": "1"}, "b": None}
        age(path, 30)  # within both lifetimes
        assert store.get_many(["a", "b"]) == {"a": {"uuid": "1"}, "b": None}
        age(path, 60)  # 90 s old: past the not-found lifetime only
        assert store.get_many(["a", "b"]) == {"a": {"uuid": "1"}}
        assert store.count(older_than=3600) == store.clear(older_than=3600) == 0
        assert store.info().entries == store.count() == 2  # expired is kept, not used
        age(path, 3600)
        assert store.get_many(["a", "b"]) == {}
        assert store.count(older_than=3600) == 2
        assert store.count(older_than=10 * 3600) == 0
        assert store.clear(older_than=3600) == 2
        assert store.info().entries == 0


def test_bad_store_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(sf.ConfigurationError, match="cache=False"):
        ResultStore(blocker / "sub" / "r.db")


# -- crash and resume --------------------------------------------------------------------


def test_exception_midway_then_resume_sends_each_query_once(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column, tmp_path: Path
) -> None:
    frame = make_frame(leads(400, "crash"))
    sb.faults.add("pass", endpoint="persons_bulk", times=2)
    sb.faults.add("http_401", endpoint="persons_bulk")
    with pytest.warns(sf.RunStoppedWarning, match="refused the key"):
        first = frame.salesql.enrich_persons(client=client, cache=tmp_path / "r.db",
                                             concurrency=1, progress=False)
    assert sb.counters.searches == 200
    status = column(first, "salesql_status")  # what arrived came back: nothing is lost
    assert "skipped" not in status[:200]
    assert set(status[200:]) == {"skipped"}
    out = frame.salesql.enrich_persons(client=client, cache=tmp_path / "r.db", progress=False)
    assert sb.counters.searches == 400
    assert max(sb.counters.queries.values()) == 1
    assert "skipped" not in set(column(out, "salesql_status"))


def test_keyboard_interrupt_keeps_the_store_consistent(
    make_frame: MakeFrame, tmp_path: Path
) -> None:
    urls = leads(600, "interrupt")["linkedin_url"]
    frame = make_frame({"linkedin_url": urls})
    # Real latency, so the interrupt lands while batches are in flight.
    with sandbox.serve(latency=0.25) as sb, Client(sb.api_key, base_url=sb.base_url) as api:

        def press_stop() -> None:
            deadline = time.monotonic() + 20
            while bulk_requests(sb) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=press_stop, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            frame.salesql.enrich_persons(client=api, cache=tmp_path / "r.db", concurrency=1,
                                         progress=False)
        done = sb.counters.searches
        assert 200 <= done < 600
        credits = sb.counters.credits_charged
        out = frame.salesql.enrich_persons(client=api, cache=tmp_path / "r.db", progress=False)
        assert sb.counters.searches == 600  # only the unfinished part was sent
        assert max(sb.counters.queries.values()) == 1
        assert sb.counters.credits_charged - credits == sum(
            bool(sb.lookup_person({"linkedin_url": u}) and (
                sb.lookup_person({"linkedin_url": u}).get("emails")
                or sb.lookup_person({"linkedin_url": u}).get("phones")))
            for u in urls[done:]
        )
    assert len(out) == 600


_CHILD = textwrap.dedent(
    """
    import os, sys
    import pandas as pd
    import salesql_frames
    n = int(sys.argv[1])
    urls = [f"https://linkedin.com/in/killed-{i}" for i in range(n)]
    leads = pd.DataFrame({"linkedin_url": urls})
    leads.salesql.enrich_persons(cache=sys.argv[2], concurrency=1, progress=False)
    print("finished")
    """
)


def test_killed_process_resumes_without_sending_a_query_twice(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with sandbox.serve() as sb:
        sb.faults.add("pass", endpoint="persons_bulk", times=3)
        sb.faults.add("stall", endpoint="persons_bulk", seconds=120)
        env = {**os.environ, "SALESQL_API_KEY": sb.api_key, "SALESQL_BASE_URL": sb.base_url}
        child = subprocess.Popen([sys.executable, "-c", _CHILD, "600", str(path)], env=env)
        deadline = time.monotonic() + 60
        while bulk_requests(sb) < 4 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        assert bulk_requests(sb) == 4, "the child never reached the stalled batch"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert sb.counters.searches == 300  # three batches answered; the fourth is stalled

        leads = pd.DataFrame(
            {"linkedin_url": [f"https://linkedin.com/in/killed-{i}" for i in range(600)]}
        )
        with Client(sb.api_key, base_url=sb.base_url) as api:
            out = leads.salesql.enrich_persons(client=api, cache=path, progress=False)
        assert sb.counters.searches == 600
        assert max(sb.counters.queries.values()) == 1
    assert set(out["salesql_status"]) <= {"found", "not_found"}


# -- estimates and budgets ---------------------------------------------------------------


def test_estimate_counts_cache_and_allowance(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, tmp_path: Path
) -> None:
    path = tmp_path / "r.db"
    urls = leads(120)["linkedin_url"]
    frame = make_frame({"linkedin_url": [*urls, *urls, "nope"]})
    make_frame(leads(20)).salesql.enrich_persons(client=client, cache=path, progress=False)
    requests = sum(sb.counters.requests.values())
    estimate = frame.salesql.estimate_persons(client=client, cache=path)
    assert (estimate.rows, estimate.valid_rows, estimate.unique_queries) == (241, 240, 120)
    assert (estimate.cached, estimate.to_send, estimate.worst_case_credits) == (20, 100, 100)
    assert estimate.requests == 1
    assert estimate.allowance_left == sb.credits_remaining
    assert sb.counters.requests["persons_bulk"] == 1  # the estimate sent no query
    assert sum(sb.counters.requests.values()) == requests + 1  # one free GET /allowance
    assert "worst-case credits" in str(estimate)


def test_estimate_without_a_key_still_plans(sb: sandbox.Sandbox, make_frame: MakeFrame) -> None:
    estimate = make_frame(leads(10)).salesql.estimate_persons(base_url=sb.base_url)
    assert estimate.to_send == 10
    assert estimate.allowance_left is None
    assert "no API key" in (estimate.note or "")
    assert sum(sb.counters.requests.values()) == 0


def test_max_credits_stops_before_the_budget_is_exceeded(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column, tmp_path: Path
) -> None:
    frame = make_frame(leads(300, "budget"))
    with pytest.warns(sf.RunStoppedWarning, match="max_credits"):
        out = frame.salesql.enrich_persons(client=client, cache=tmp_path / "r.db",
                                           max_credits=130, progress=False)
    assert sb.counters.credits_charged <= 130
    assert sb.counters.searches >= 130
    status = column(out, "salesql_status")
    assert status.count("skipped") == 300 - sb.counters.searches
    errors = column(out, "salesql_error")
    assert "max_credits" in errors[status.index("skipped")]


def test_resume_after_budget_sends_only_the_rest(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, tmp_path: Path
) -> None:
    frame = make_frame(leads(200, "budget2"))
    with pytest.warns(sf.RunStoppedWarning):
        frame.salesql.enrich_persons(client=client, cache=tmp_path / "r.db", max_credits=50,
                                     progress=False)
    first = sb.counters.searches
    frame.salesql.enrich_persons(client=client, cache=tmp_path / "r.db", progress=False)
    assert sb.counters.searches == 200
    assert first < 200
    assert max(sb.counters.queries.values()) == 1


def test_stored_answers_orjson_refuses_still_read_back(tmp_path: Path) -> None:
    """Items the standard library wrote but orjson refuses (NaN, huge ints) read back."""
    from salesql_frames._store import ResultStore

    with ResultStore(tmp_path / "s.sqlite3") as store:
        store.put_many("acct", "person", [("k1", {"score": float("nan"), "id": 2**70}),
                                          ("k2", {"name": "Ada"})])
        got = store.get_many(["k1", "k2"])
    assert got["k1"] is not None
    assert got["k1"]["id"] == 2**70
    assert got["k1"]["score"] != got["k1"]["score"]  # NaN
    assert got["k2"] == {"name": "Ada"}
