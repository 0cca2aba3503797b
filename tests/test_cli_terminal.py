"""The CLI on a terminal (a real pty): the plan before any request, confirmations."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from salesql_frames import cache_info, sandbox
from salesql_frames._constants import CLI_CONFIRM_CREDITS


def env_for(tmp_path: Path, sb: sandbox.Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESQL_")}
    env.update(SALESQL_CACHE_DIR=str(tmp_path / "cache"), SALESQL_API_KEY=sb.api_key,
               SALESQL_BASE_URL=sb.base_url)
    return env


def on_terminal(
    args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    """The CLI with a pty as stdin and stderr (stdout piped); returns it and the pty."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "salesql_frames", *args], cwd=cwd, env=env,
        stdin=follower, stderr=follower, stdout=subprocess.PIPE,
    )
    os.close(follower)
    return process, leader


def read_until(leader: int, marker: bytes, timeout: float = 60.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout  # a bound on a hang, not a timing assertion
    while marker not in seen:
        ready, _, _ = select.select([leader], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no {marker!r} on the terminal; saw {seen!r}"
        seen += os.read(leader, 4096)
    return seen


def leads(tmp_path: Path, count: int) -> None:
    urls = [f"https://www.linkedin.com/in/lead-{i:04d}/" for i in range(count)]
    pd.DataFrame({"Person Linkedin Url": urls}).to_csv(tmp_path / "leads.csv", index=False)


@pytest.mark.parametrize(("stream", "read"), [
    ([], "read leads.csv: 101 rows, 1 column"),
    (["--stream"], "read leads.csv lazily (--stream)"),
])
def test_plan_is_shown_before_any_search_and_a_no_sends_nothing(
    tmp_path: Path, stream: list[str], read: str,
) -> None:
    leads(tmp_path, CLI_CONFIRM_CREDITS + 1)
    with sandbox.serve() as sb:
        process, leader = on_terminal(["enrich-persons", "leads.csv", "-o", "out.csv",
                                       *stream], tmp_path, env_for(tmp_path, sb))
        seen = read_until(leader, b"[y/N]").decode()
        # The plan and the estimate are on the terminal, and the sandbox saw no search.
        assert read in seen
        assert "Plan(persons)" in seen
        assert "'Person Linkedin Url'" in seen
        assert "worst-case credits" in seen
        assert "worst case 101 credits" in seen
        assert sb.counters.searches == 0
        assert "search" not in dict(sb.counters.requests)
        os.write(leader, b"n\n")
        assert process.wait(timeout=60) == 1
        tail = b""
        while select.select([leader], [], [], 0)[0]:
            try:
                tail += os.read(leader, 4096)
            except OSError:
                break
        os.close(leader)
        assert sb.counters.searches == 0
    assert b"nothing sent" in tail
    assert not (tmp_path / "out.csv").exists()


def test_yes_skips_the_question_and_no_terminal_never_blocks(tmp_path: Path) -> None:
    leads(tmp_path, CLI_CONFIRM_CREDITS + 1)
    with sandbox.serve() as sb:
        env = env_for(tmp_path, sb)
        process, leader = on_terminal(
            ["enrich-persons", "leads.csv", "-o", "out.csv", "--yes", "--quiet"], tmp_path, env)
        assert process.wait(timeout=120) == 0
        os.close(leader)
        assert sb.counters.searches == CLI_CONFIRM_CREDITS + 1
        piped = subprocess.run(
            [sys.executable, "-m", "salesql_frames", "enrich-persons", "leads.csv", "-o",
             "again.csv"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=120,
        )
    assert piped.returncode == 0, piped.stderr
    assert "[y/N]" not in piped.stderr
    # The plan came on stderr before the summary on stdout.
    assert "Plan(persons)" in piped.stderr
    assert "already cached             101" in piped.stderr


def test_cache_clear_asks_on_a_terminal(tmp_path: Path) -> None:
    leads(tmp_path, 3)
    with sandbox.serve() as sb:
        env = env_for(tmp_path, sb)
        first = subprocess.run(
            [sys.executable, "-m", "salesql_frames", "enrich-persons", "leads.csv", "-o",
             "out.csv", "--quiet"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
    store = tmp_path / "cache" / "results.sqlite3"
    assert cache_info(store).entries == 3
    process, leader = on_terminal(["cache", "clear", "--older-than", "30"], tmp_path, env)
    out, _ = process.communicate(timeout=60)  # it knows the count first: nothing to ask
    os.close(leader)
    assert process.returncode == 0
    assert b"holds 3 stored answers, none older than 30 days" in out
    assert b"[y/N]" not in out
    process, leader = on_terminal(["cache", "clear"], tmp_path, env)
    seen = read_until(leader, b"[y/N]").decode()
    assert "Delete 3 stored answers (all of them; each was paid for once)" in seen
    os.write(leader, b"\n")  # the default is no
    assert process.wait(timeout=60) == 1
    os.close(leader)
    assert cache_info(store).entries == 3
    process, leader = on_terminal(["cache", "clear"], tmp_path, env)
    read_until(leader, b"[y/N]")
    os.write(leader, b"y\n")
    out, _ = process.communicate(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    assert b"removed 3 stored answers" in out
    assert cache_info(store).entries == 0
