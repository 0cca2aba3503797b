"""The progress line says what it counts and when, and for how long, the quota holds it.

Captured from a real run against the loopback sandbox, paced on a fake clock: the
sandbox admits 200 searches a minute, the run has 500 queries, so the pacer waits
twice and the line must say so, with the ETA the quota gives (not the burst rate).
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from salesql_frames import sandbox
from salesql_frames._progress import Progress
from salesql_frames.sandbox import FakeClock


def _run(monkeypatch: pytest.MonkeyPatch, columns: int) -> tuple[list[str], sandbox.Sandbox]:
    """The lines the bar drew (one per refresh) at ``columns`` wide, and the sandbox."""
    screen = io.StringIO()
    monkeypatch.setattr("sys.stderr", screen)
    monkeypatch.setenv("COLUMNS", str(columns))
    import tqdm.std

    monkeypatch.setattr(tqdm.std, "_screen_shape_wrapper",
                        lambda: lambda fp: (columns, 24))
    clock = FakeClock()
    leads = pd.DataFrame({"linkedin_url": [f"linkedin.com/in/p-{i % 500}" for i in range(600)]})
    with sandbox.serve(rate_limit=(200, 60.0), clock=clock) as sb, sb.client(
        rate_limit=(200, 60.0), clock=clock
    ) as client:
        leads.salesql.enrich_persons(client=client, cache=False, concurrency=1)
    return [line.strip() for line in re.split(r"[\r\n]", screen.getvalue()) if line.strip()], sb


def test_the_line_says_it_waits_for_the_quota_and_how_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines, sb = _run(monkeypatch, 200)
    assert sb.counters.searches == 500
    assert sb.counters.rate_limited == 0
    waiting = [line for line in lines if "for the quota" in line]
    assert waiting, lines
    first = waiting[0]
    # the first minute's 200 searches are sent at once; the next batch waits for them
    # to leave the window, about a minute; 200 more go then and the last 100 a window
    # later: an ETA of about two minutes, not the burst rate's seconds
    assert re.match(r"SalesQL persons: \d+/500 queries for 600 rows \|", first), first
    wait = re.search(r"waiting 1m0(\d)s for the quota", first)
    eta = re.search(r"ETA 2m(\d\d)s", first)
    assert wait is not None, first
    assert int(wait.group(1)) <= 3, first
    assert eta is not None, first
    assert int(eta.group(1)) <= 8, first
    assert re.search(r"found \d+ · (not found \d+ · )?credits \d+", first), first
    last = lines[-1]
    assert "500/500 queries" in last
    assert "waiting" not in last
    assert "ETA" not in last


def test_eighty_columns_keep_the_counts_and_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    lines, _ = _run(monkeypatch, 80)
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert any(re.search(r"^persons: \d+/500 queries · found \d+ · .*credits \d+ · "
                         r"waiting 1m0\ds · ETA \dm\d\ds$", line) for line in lines), lines
    assert not any("|█|" in line for line in lines)


def test_possibly_charged_and_errors_show_once_they_happen() -> None:
    bar = Progress(100, label="SalesQL persons", enabled=False)
    assert "errors" not in bar.line()
    bar.advance(100, errors=100, possibly_charged=100)
    assert "errors 100 · credits 0 · possibly charged 100" in bar.line()
