"""Daily limits are used exactly: the last batch is cut to what is left, then the run stops.

For the client's ``daily_limit`` what is left is known; for the server's cap it is not, so
a refused batch is halved until a single query is refused. Asserted on the sandbox's
counters; time is a FakeClock.
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import salesql_frames as sf
from salesql_frames import sandbox
from salesql_frames._cli import _parser, main
from salesql_frames.sandbox import FakeClock


def leads(n: int, tag: str = "day") -> pd.DataFrame:
    return pd.DataFrame({"linkedin_url": [f"linkedin.com/in/{tag}-{i}" for i in range(n)]})


def enrich(frame: pd.DataFrame, client: sf.Client, **options: Any) -> tuple[pd.DataFrame, str]:
    with pytest.warns(sf.QuotaExhaustedWarning) as caught:
        out = frame.salesql.enrich_persons(client=client, progress=False, cache=False,
                                           **options)
    return out, str(caught[0].message)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_daily_limit_250_sends_exactly_250(concurrency: int) -> None:
    clock = FakeClock()
    with sandbox.serve(clock=clock) as sb, sb.client(daily_limit=250, clock=clock) as client:
        out, message = enrich(leads(400), client, concurrency=concurrency)
        assert sb.counters.searches == 250
        assert sb.counters.rate_limited == 0  # the client never asked for more than allowed
        assert client.pacer.daily_left() == 0
    status = out["salesql_status"]
    assert (status != "skipped").sum() == 250
    assert (status == "skipped").sum() == 150
    assert message.startswith("run stopped: daily_limit=250 reached: 250 of 250 searches "
                              "sent today. It resets at ")
    assert "Nothing was sent" not in message
    assert out["salesql_error"].iloc[399].startswith("not sent: daily_limit=250 reached")
    assert clock.slept == 0


def test_daily_limit_3_with_6_queries_sends_3() -> None:
    clock = FakeClock()
    with sandbox.serve(clock=clock) as sb, sb.client(daily_limit=3, clock=clock) as client:
        out, message = enrich(leads(6), client)
        assert sb.counters.searches == 3
        assert dict(sb.counters.requests) == {"persons_bulk": 1}
    assert (out["salesql_status"] == "skipped").tolist() == [False] * 3 + [True] * 3
    assert "daily_limit=3 reached: 3 of 3 searches sent today" in message


def test_daily_limit_spans_calls_of_one_client() -> None:
    clock = FakeClock()
    with sandbox.serve(clock=clock) as sb, sb.client(daily_limit=150, clock=clock) as client:
        client_out = leads(100, "first").salesql.enrich_persons(client=client, progress=False,
                                                                cache=False)
        assert (client_out["salesql_status"] != "skipped").all()
        _, message = enrich(leads(100, "second"), client)
        assert sb.counters.searches == 150
    assert "daily_limit=150 reached" in message


def test_a_request_daily_limit_refuses_says_what_is_left() -> None:
    clock = FakeClock()
    with sandbox.serve(clock=clock) as sb, sb.client(daily_limit=250, clock=clock) as client:
        client.pacer.acquire(200)
        with pytest.raises(sf.QuotaExhaustedError) as info:
            client.enrich_persons_bulk([{"linkedin_url": f"https://linkedin.com/in/x-{i}"}
                                        for i in range(100)])
        assert sb.counters.searches == 0
    message = str(info.value)
    assert message.startswith("daily_limit=250: 200 of 250 searches sent today, 50 left, "
                              "fewer than the 100 of this request. Nothing was sent by this "
                              "request. It resets at ")


@pytest.mark.parametrize(("cap", "refusals"), [(250, 7), (299, 8), (210, 4)])
@pytest.mark.parametrize("concurrency", [1, 2])
def test_server_daily_cap_is_used_to_the_last_search(
    cap: int, refusals: int, concurrency: int
) -> None:
    clock = FakeClock()
    with sandbox.serve(clock=clock, daily_limit=cap) as sb, sb.client(clock=clock) as client:
        out, message = enrich(leads(400), client, concurrency=concurrency)
        assert sb.counters.searches == cap
        # Halving costs about log2(100) refused requests at most per batch in flight.
        assert refusals <= sb.counters.daily_capped <= concurrency * 8
    assert (out["salesql_status"] != "skipped").sum() == cap
    assert "daily search quota is used up" in message
    assert "Finished results are kept" not in message
    assert clock.slept == 0  # a cap is not waited for


def test_help_and_docs_say_what_daily_limit_does() -> None:
    subcommands = next(action for action in _parser()._actions
                       if isinstance(action, argparse._SubParsersAction))
    enrich_help = " ".join(subcommands.choices["enrich-persons"].format_help().split())
    assert ("send at most N searches per UTC day: the last batch is cut to what is left, "
            "the rest is skipped") in enrich_help
    docs = (Path(__file__).parents[1] / "docs" / "src" / "cli.md").read_text()
    assert "send at most `N` searches per UTC day: the last batch is cut to what is left" in docs


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[sandbox.Sandbox]:
    seen: list[sandbox.Sandbox] = []
    real = sandbox.serve

    @contextlib.contextmanager
    def recording(**options: Any) -> Iterator[sandbox.Sandbox]:
        with real(**options) as sb:
            seen.append(sb)
            yield sb

    monkeypatch.setattr(sandbox, "serve", recording)
    return seen


def test_cli_daily_limit_3_with_6_queries_sends_3(
    tmp_path: Path, started: list[sandbox.Sandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    leads(6).to_csv(tmp_path / "leads.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main(["enrich-persons", str(tmp_path / "leads.csv"), "-o",
                     str(tmp_path / "out.csv"), "--sandbox", "--quiet", "--daily-limit", "3"])
    assert code == 3
    assert started[0].counters.searches == 3
    err = " ".join(capsys.readouterr().err.split())
    assert ("skipped): run stopped: daily_limit=3 reached: 3 of 3 searches sent "
            "today") in err
    assert "Nothing was sent" not in err
    out = pd.read_csv(tmp_path / "out.csv")
    assert (out["salesql_status"] == "skipped").sum() == 3
