"""Refresh by age: ``max_age`` re-asks exactly the stored answers older than the limit.

Time comes from the store's injected ``now``, never from sleeping. Judged by the
sandbox's counters (queries and credits), and the estimate must predict the same number.
"""

from __future__ import annotations

import datetime
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import salesql_frames as sf
from salesql_frames import Client, ResultStore, sandbox
from salesql_frames._cli import main
from salesql_frames._validate import age_seconds
from tests.conftest import Column, MakeFrame

P = "salesql_"
DAY = 86_400.0
T0 = 1_780_000_000.0  # a fixed wall clock: 2026-05-28 UTC


class Now:
    """An injected wall clock for the store."""

    def __init__(self, start: float = T0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


def identity(url: str) -> str:
    return "li:" + url.rsplit("/", 1)[-1]


def long_lived(path: Path, now: Now) -> ResultStore:
    """A store whose own lifetimes never expire in these tests: only max_age decides."""
    return ResultStore(path, found_ttl=1e12, not_found_ttl=1e12, now=now)


@pytest.mark.parametrize("max_age", ["12d", 12, datetime.timedelta(days=12), "288h"])
def test_max_age_resends_exactly_the_old_answers_and_the_estimate_says_so(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
    person_urls: Callable[..., list[str]], tmp_path: Path, max_age: Any,
) -> None:
    urls = person_urls(10)
    now = Now()
    with long_lived(tmp_path / "r.db", now) as store:
        make_frame({"linkedin_url": urls[:6]}).salesql.enrich_persons(
            client=client, cache=store, progress=False)
        old_credits = sb.counters.credits_charged
        now.value += 10 * DAY
        make_frame({"linkedin_url": urls[6:]}).salesql.enrich_persons(
            client=client, cache=store, progress=False)
        now.value += 5 * DAY  # rows 0-5 are 15 days old, rows 6-9 five days old
        frame = make_frame({"linkedin_url": [*urls, None]})

        guess = frame.salesql.estimate_persons(client=client, cache=store, max_age=max_age)
        assert (guess.cached, guess.stale, guess.to_send) == (4, 6, 6)
        assert "stale, sent again            6" in str(guess)
        assert frame.salesql.estimate_persons(client=client, cache=store).stale == 0

        before, credits = dict(sb.counters.queries), sb.counters.credits_charged
        out = frame.salesql.enrich_persons(client=client, cache=store, max_age=max_age,
                                           progress=False)
        sent = Counter(sb.counters.queries) - Counter(before)
        assert sent == Counter(identity(url) for url in urls[:6])  # exactly the old ones
        assert sum(sent.values()) == guess.to_send
        assert sb.counters.credits_charged - credits == old_credits  # those, and only those

        stamp = [None if pd.isna(at) else pd.Timestamp(at).timestamp()
                 for at in column(out, P + "fetched_at")]
        assert stamp[10] is None  # invalid: never sent
        assert stamp[:6] == [T0 + 15 * DAY] * 6  # fetched now
        assert stamp[6:10] == [T0 + 10 * DAY] * 4  # from the store, when they were fetched

        # The new answers replaced the old ones: nothing is stale any more.
        again = frame.salesql.estimate_persons(client=client, cache=store, max_age=max_age)
        assert (again.cached, again.stale) == (10, 0)


def test_without_max_age_the_store_lifetimes_decide(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame,
    person_urls: Callable[..., list[str]], tmp_path: Path,
) -> None:
    urls, now = person_urls(5), Now()
    with long_lived(tmp_path / "r.db", now) as store:
        frame = make_frame({"linkedin_url": urls})
        frame.salesql.enrich_persons(client=client, cache=store, progress=False)
        now.value += 400 * DAY
        frame.salesql.enrich_persons(client=client, cache=store, progress=False)
        assert sb.counters.searches == 5
        frame.salesql.enrich_persons(client=client, cache=store, max_age=0, progress=False)
        assert sb.counters.searches == 10  # max_age=0: everything is re-asked


def test_max_age_never_lengthens_a_lifetime(tmp_path: Path) -> None:
    now = Now()
    with ResultStore(tmp_path / "r.db", found_ttl=DAY, not_found_ttl=DAY, now=now) as store:
        store.put_many("acct", "person", [("a", {"uuid": "1"}), ("b", None)])
        now.value += 2 * DAY
        assert store.get_many(["a", "b"], max_age=10 * DAY) == {}
        looked = store.look_up(["a", "b", "c"], max_age=10 * DAY)
        assert {key: (one.fresh, one.fetched_at) for key, one in looked.items()} == {
            "a": (False, T0), "b": (False, T0)}


def test_claim_respects_max_age(tmp_path: Path) -> None:
    now = Now()
    with long_lived(tmp_path / "r.db", now) as store:
        store.put_many("acct", "person", [("old", {"uuid": "1"})])
        now.value += 3 * DAY
        store.put_many("acct", "person", [("new", {"uuid": "2"})], fetched_at=now.value)
        claim = store.claim(["old", "new"], owner="me", max_age=2 * DAY)
        assert claim.claimed == ["old"]
        assert claim.answered == {"new": {"uuid": "2"}}
        assert claim.answered_at == {"new": T0 + 3 * DAY}


def test_a_store_file_of_an_earlier_version_keeps_working(tmp_path: Path) -> None:
    """Older files have the same ``stored_at`` column: it is the fetch time, no migration."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the results table as earlier versions made it
        db.execute("CREATE TABLE results (key TEXT PRIMARY KEY, account TEXT NOT NULL, "
                   "kind TEXT NOT NULL, found INTEGER NOT NULL, item TEXT, "
                   "stored_at REAL NOT NULL) WITHOUT ROWID")
        db.execute("INSERT INTO results VALUES ('k', 'acct', 'person', 1, '{\"uuid\":\"1\"}', ?)",
                   (T0,))
    db.close()
    now = Now(T0 + 5 * DAY)
    with long_lived(path, now) as store:
        assert store.get_many(["k"]) == {"k": {"uuid": "1"}}
        assert store.get_many(["k"], max_age=4 * DAY) == {}
        assert store.look_up(["k"])["k"].fetched_at == T0


@pytest.mark.parametrize("bad", [-1, "90 days", "d", "1y", True, [90], float("nan"),
                                 datetime.timedelta(days=-1)])
def test_bad_max_age_raises_before_anything_is_sent(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame,
    person_urls: Callable[..., list[str]], bad: Any,
) -> None:
    frame = make_frame({"linkedin_url": person_urls(2)})
    with pytest.raises(sf.InvalidArgumentError, match="max_age"):
        frame.salesql.enrich_persons(client=client, cache=False, max_age=bad, progress=False)
    with pytest.raises(sf.InvalidArgumentError, match="max_age"):
        frame.salesql.estimate_persons(client=client, cache=False, max_age=bad)
    assert sb.counters.searches == 0
    assert dict(sb.counters.requests) == {}


def test_age_spellings() -> None:
    assert age_seconds("max_age", "90d") == 90 * DAY
    assert age_seconds("max_age", " 12H ") == 12 * 3600
    assert age_seconds("max_age", "30m") == 1800
    assert age_seconds("max_age", "2w") == 14 * DAY
    assert age_seconds("max_age", "1.5") == 1.5 * DAY
    assert age_seconds("max_age", 0.5) == DAY / 2
    assert age_seconds("max_age", None) is None


def test_cli_max_age_dry_run_counts_stale_and_the_run_resends_them(
    sb: sandbox.Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    person_urls: Callable[..., list[str]], capsys: pytest.CaptureFixture[str],
) -> None:
    urls = person_urls(4)
    pd.DataFrame({"Person Linkedin Url": urls}).to_csv(tmp_path / "leads.csv", index=False)
    monkeypatch.setenv("SALESQL_API_KEY", sb.api_key)
    monkeypatch.setenv("SALESQL_BASE_URL", sb.base_url)
    store = tmp_path / "r.db"
    common = ["enrich-persons", str(tmp_path / "leads.csv"), "-o", str(tmp_path / "out.csv"),
              "--cache", str(store), "--quiet"]
    assert main(common) == 0
    with sqlite3.connect(store) as db:  # two answers fetched 100 days ago
        db.execute("UPDATE results SET stored_at = stored_at - ? WHERE key LIKE ? OR key LIKE ?",
                   (100 * DAY, f"%{urls[0]}", f"%{urls[1]}"))
    db.close()
    capsys.readouterr()
    assert main([*common, "--dry-run", "--max-age", "90d"]) == 0
    report = capsys.readouterr().out
    assert "stale, sent again            2" in report
    assert sb.counters.searches == 4
    assert main([*common, "--max-age", "90", "--force"]) == 0  # the output exists
    assert sb.counters.searches == 6
    out = pd.read_csv(tmp_path / "out.csv")
    assert out[P + "fetched_at"].notna().all()
    with pytest.raises(SystemExit):
        main([*common, "--max-age", "soon"])
    assert "--max-age must be" in capsys.readouterr().err
