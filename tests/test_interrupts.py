"""Ctrl-C within seconds: real SIGINTs to real subprocesses, against a stalled server.

The child imports polars first (polars re-installs the SIGINT handler in a way that
kept a blocked wait from ever seeing the signal). The sandbox runs in this process:
two batches are answered, then every request stalls for a minute. The bound on the
time to exit is generous (the grace for batches in flight is 2 s).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from salesql_frames import sandbox
from tests.conftest import press_ctrl_c_once_stalled

#: Seconds from SIGINT to exit that count as "within seconds" (about 2.5 s here).
EXIT_WITHIN = 8.0

SCRIPT = textwrap.dedent(
    """
    import sys
    import polars as pl  # first: it changes how SIGINT reaches a blocked wait
    import salesql_frames as sf

    frame = pl.DataFrame({"linkedin_url": [f"linkedin.com/in/stop-{i}" for i in range(600)]})
    print("sending", flush=True)
    try:
        frame.salesql.enrich_persons(cache=False, progress=False, concurrency=1)
    except sf.RunInterrupted as stop:
        status = stop.partial["salesql_status"].to_list()
        print("partial", len(status), status.count("skipped"), flush=True)
        sys.exit(130)
    print("finished", flush=True)
    """
)


@pytest.fixture
def stalling() -> sandbox.Sandbox:
    with sandbox.serve(seed=2) as sb:
        # Two bulks answered, then every bulk stalls (other endpoints, such as the
        # allowance the CLI's estimate reads before sending, answer).
        sb.faults.add("pass", endpoint="persons_bulk", times=2)
        sb.faults.add("stall", endpoint="persons_bulk", times=1000, seconds=60.0)
        yield sb


def child_env(sb: sandbox.Sandbox, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESQL_")}
    env.update(SALESQL_API_KEY=sb.api_key, SALESQL_BASE_URL=sb.base_url,
               SALESQL_CACHE_DIR=str(tmp_path / "cache"))
    return env


def wait_for_stall(sb: sandbox.Sandbox, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while sb.counters.faults_served["stall"] == 0 and time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        time.sleep(0.02)
    assert sb.counters.faults_served["stall"] >= 1


def interrupt(child: subprocess.Popen[str]) -> tuple[float, str, str]:
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    return time.monotonic() - started, out, err


def test_ctrl_c_in_a_script_returns_within_seconds_with_the_partial_frame(
    stalling: sandbox.Sandbox, tmp_path: Path
) -> None:
    child = subprocess.Popen([sys.executable, "-c", SCRIPT], env=child_env(stalling, tmp_path),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_stall(stalling, child)
    elapsed, out, err = interrupt(child)
    assert elapsed < EXIT_WITHIN, (elapsed, err)
    assert child.returncode == 130, err
    rows, skipped = (int(n) for n in out.split("partial")[1].split())
    assert rows == 600
    assert skipped == 400  # the two answered batches are in the frame
    assert stalling.counters.requests["persons_bulk"] == 3  # two answered, one stalled
    assert stalling.counters.searches == 200  # a stall holds the request before any work


def test_ctrl_c_in_the_cli_writes_the_partial_output_and_says_so(
    stalling: sandbox.Sandbox, tmp_path: Path
) -> None:
    source = tmp_path / "leads.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Person Linkedin Url"])
        writer.writerows([f"linkedin.com/in/cli-stop-{i}"] for i in range(500))
    output = tmp_path / "out.csv"
    child = subprocess.Popen(
        [sys.executable, "-c", "import polars, sys; from salesql_frames._cli import main; "
         "sys.exit(main())", "enrich-persons", str(source), "-o", str(output), "--quiet"],
        env=child_env(stalling, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_stall(stalling, child)
    elapsed, _, err = interrupt(child)
    assert elapsed < EXIT_WITHIN, (elapsed, err)
    assert child.returncode == 130, err
    assert "partial output written" in err
    with output.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 500
    statuses = [row["salesql_status"] for row in rows]
    assert statuses.count("skipped") == 300
    assert set(statuses[:200]) <= {"found", "not_found"}


def test_an_answer_arriving_after_the_interrupt_is_still_stored(tmp_path: Path) -> None:
    import pandas as pd

    import salesql_frames as sf

    store = tmp_path / "r.sqlite3"
    frame = pd.DataFrame({"linkedin_url": [f"linkedin.com/in/late-{i}" for i in range(50)]})
    with sandbox.serve() as sb, sb.client() as client:
        # Well past the grace, so a loaded machine that handles the signal late still sees it
        # while the answer is outstanding.
        sb.faults.add("stall", endpoint="persons_bulk", seconds=6.0)
        press_ctrl_c_once_stalled(sb)
        with pytest.raises(sf.RunInterrupted) as stop:
            frame.salesql.enrich_persons(client=client, cache=store, progress=False)
        assert set(stop.value.partial["salesql_status"]) == {"skipped"}
        deadline = time.monotonic() + 20  # the stalled answer arrives after the interrupt
        while sf.cache_info(store).entries < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sf.cache_info(store).entries == 50  # paid for, so kept
        again = frame.salesql.enrich_persons(client=client, cache=store, progress=False)
        assert sb.counters.searches == 50  # the re-run is free, and does not wait on claims
    assert set(again["salesql_status"]) <= {"found", "not_found"}
