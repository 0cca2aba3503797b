"""The result store's account for an in-process sandbox: stable across runs, never shared.

A sandbox gets a new port each run; its clients file answers under its identity (seed,
shape, not-found rate) and the key, so ``--sandbox --cache PATH`` re-runs are free, while
other data, other keys and real servers never share answers.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import salesql_frames  # noqa: F401  (registers df.salesql)
from salesql_frames import Client, sandbox
from salesql_frames._cli import main

URLS = [f"https://www.linkedin.com/in/identity-{i:03d}/" for i in range(12)]


def account(**options: Any) -> str | None:
    with sandbox.serve(**options) as sb, sb.client() as client:
        return client.account


def test_same_data_same_account_across_ports() -> None:
    with sandbox.serve(seed=4) as first, sandbox.serve(seed=4) as second:
        assert first.port != second.port
        with first.client() as a, second.client() as b:
            assert a.account == b.account
            assert first.identity == second.identity == (
                "sandbox:seed=4,shape=documented,not_found_rate=0.15")


@pytest.mark.parametrize("other", [
    {"seed": 5}, {"shape": "lean"}, {"not_found_rate": 0.5}, {"api_key": "other-key"},
])
def test_other_data_or_key_never_share(other: dict[str, Any]) -> None:
    assert account(seed=4) != account(**{"seed": 4, **other})


def test_a_client_by_url_is_keyed_by_the_url(sb: sandbox.Sandbox) -> None:
    with Client(sb.api_key, base_url=sb.base_url) as by_url, sb.client() as bound:
        assert by_url.account != bound.account
        twin = Client(sb.api_key, base_url="https://api.salesql.example/v1")
        assert twin.account not in (by_url.account, bound.account)
        twin.close()
    clone = pickle.loads(pickle.dumps(bound))
    clone.close()
    assert clone._server_identity == sb.identity


def test_library_rerun_on_a_new_sandbox_sends_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    frame = pd.DataFrame({"Person Linkedin Url": URLS})
    with sandbox.serve() as sb, sb.client() as client:
        first = frame.salesql.enrich_persons(client=client, cache=store, progress=False)
        assert sb.counters.searches == len(URLS)
    with sandbox.serve() as sb, sb.client() as client:
        again = frame.salesql.enrich_persons(client=client, cache=store, progress=False)
        assert sb.counters.searches == 0
        assert sum(sb.counters.requests.values()) == 0
    assert first.equals(again)
    with sandbox.serve(seed=1) as sb, sb.client() as client:  # other data: sent again
        frame.salesql.enrich_persons(client=client, cache=store, progress=False)
        assert sb.counters.searches == len(URLS)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[sandbox.Sandbox]:
    """Every sandbox the CLI starts in-process (real ones), to read their counters."""
    seen: list[sandbox.Sandbox] = []
    real = sandbox.serve

    @contextlib.contextmanager
    def recording(**options: Any) -> Iterator[sandbox.Sandbox]:
        with real(**options) as sb:
            seen.append(sb)
            yield sb

    monkeypatch.setattr(sandbox, "serve", recording)
    return seen


def test_cli_sandbox_cache_twice_sends_nothing_the_second_time(
    tmp_path: Path, started: list[sandbox.Sandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    pd.DataFrame({"Person Linkedin Url": URLS}).to_csv(tmp_path / "leads.csv", index=False)
    store = tmp_path / "store.sqlite3"
    args = ["enrich-persons", str(tmp_path / "leads.csv"), "-o", str(tmp_path / "out.csv"),
            "--sandbox", "--cache", str(store), "--quiet", "--force"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    second = capsys.readouterr().out
    assert len(started) == 2
    assert started[0].port != started[1].port
    assert started[0].counters.searches == len(URLS)
    assert started[1].counters.searches == 0
    assert "queries sent         12" in first
    assert "from the store       12" in second
    assert "queries sent          0" in second
    assert f"result store: {store}: running again sends only what is missing" in second


def test_cli_sandbox_without_cache_says_no_store(
    tmp_path: Path, started: list[sandbox.Sandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    pd.DataFrame({"Person Linkedin Url": URLS[:2]}).to_csv(tmp_path / "leads.csv", index=False)
    args = ["enrich-persons", str(tmp_path / "leads.csv"), "-o", str(tmp_path / "out.csv"),
            "--sandbox", "--quiet", "--force"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert ("result store: none (--sandbox without --cache PATH): running again sends "
            "everything again") in out
    assert main(args) == 0
    assert started[1].counters.searches == 2
    assert not (tmp_path / "cache").exists()


def test_dedupe_keys_keep_the_format_earlier_stores_were_written_with() -> None:
    """Store keys are account + these: a changed spelling would pay for every stored answer.

    Each parameter group, casefolding beyond lower case (``ß`` is ``ss``), a full name equal
    to first + last name, and a flag: the keys as every earlier version wrote them.
    """
    frame = pd.DataFrame({
        "Full Name": ["Ada Lovelace", None, "STRASSE Groß", None, None],
        "First Name": [None, "ada", None, "Jo", None],
        "Last Name": [None, "LOVELACE", None, "Doe", None],
        "Company": ["ACME", "acme", "Straße AG", "Initech", None],
        "Website": [None, None, None, "https://www.initech.com", None],
        "LinkedIn": [None, None, None, None, "https://www.linkedin.com/in/Ada-L/"],
    })
    plan = frame.salesql.plan_persons(match_if_direct_email=True)
    flag = "|match_if_direct_email"
    assert list(plan.keys) == [
        f"person|name=ada lovelace|org=acme{flag}",
        f"person|name=strasse gross|org=strasse ag{flag}",
        f"person|name=jo doe|domain=initech.com{flag}",
        f"person|li=https://linkedin.com/in/ada-l{flag}",
    ]
    assert plan.row_query.tolist() == [0, 0, 1, 2, 3]
    organizations = pd.DataFrame({
        "Company": ["Straße AG", "STRASSE ag", None, "Other"],
        "Website": [None, None, "acme.io", None],
        "Company Linkedin Url": [None, None, None, "https://www.linkedin.com/company/acme"],
    }).salesql.plan_organizations()
    assert list(organizations.keys) == [
        "organization|org=strasse ag", "organization|domain=acme.io",
        "organization|li=https://linkedin.com/company/acme",
    ]
    assert organizations.row_query.tolist() == [0, 0, 1, 2]
