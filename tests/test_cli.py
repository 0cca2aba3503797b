"""The ``salesql-frames`` command line, run as a subprocess against real sandboxes.

Every enrichment here really goes over loopback HTTP: ``--sandbox`` starts one inside
the CLI process; tests that need to count what was sent start their own and hand its
key and URL to the CLI through the environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from salesql_frames import _cli, cache_info, sandbox
from salesql_frames._cli import main, parse_mapping
from salesql_frames._io import drop_blank, naive_utc, read_table, write_table
from salesql_frames._kinds import ORGANIZATION, PERSON

STATUSES = {"found", "not_found", "invalid_input", "skipped", "error"}
HEADER = ["Lead ID", "First Name", "Last Name", "Company", "Website", "Person Linkedin Url"]
ROWS = [
    ["00017", "Sandro", "Carsava", "LinkedIn", "", "https://www.linkedin.com/in/sandrocarsava/"],
    ["00018", "Sandro", "Carsava", "LinkedIn", "", "linkedin.com/in/SandroCarsava"],
    ["00042", "Ada", "Lovelace", "Acme Corp", "acme.io", ""],
    ["00043", "Grace", "Hopper", "Navy", "", ""],
    ["00044", "Alan", "", "", "", ""],  # no complete parameter group
    ["00045", "", "", "", "", "https://www.linkedin.com/in/lead-45/"],
]
FREE_PROFILE_ROW = 0
INVALID_ROW = 4


# -- helpers ---------------------------------------------------------------------------------


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESQL_")}
    env["SALESQL_CACHE_DIR"] = str(tmp_path / "cache")
    env.update(extra)
    return env


def cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
        command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(command or [sys.executable, "-m", "salesql_frames"]), *args],
        cwd=cwd, env=dict(env) if env is not None else cli_env(cwd),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


def leads_frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=HEADER).replace("", None)


def write_xlsx_by_hand(path: Path, rows: list[list[str | None]]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Leads"
    for row in rows:
        sheet.append(row)
    book.save(path)


def read_csv_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def assert_enriched(out: pd.DataFrame, rows: int) -> None:
    assert len(out) == rows
    assert list(out.columns[: len(HEADER)]) == HEADER
    assert set(out["salesql_status"]) <= STATUSES
    assert out["salesql_status"].iloc[INVALID_ROW] == "invalid_input"
    assert out["salesql_status"].iloc[FREE_PROFILE_ROW] == "found"
    assert out["salesql_full_name"].iloc[FREE_PROFILE_ROW] == "Sandro Carsava"


@pytest.fixture
def owned_sandbox() -> Iterator[sandbox.Sandbox]:
    with sandbox.serve() as sb:
        yield sb


def sandbox_env(tmp_path: Path, sb: sandbox.Sandbox) -> dict[str, str]:
    return cli_env(tmp_path, SALESQL_API_KEY=sb.api_key, SALESQL_BASE_URL=sb.base_url)


# -- enrichment, every format ------------------------------------------------------------------


def test_csv_in_xlsx_out_with_sandbox(tmp_path: Path) -> None:
    leads_frame().to_csv(tmp_path / "leads.csv", index=False)
    run = cli("enrich-persons", "leads.csv", "-o", "out.xlsx", "--sandbox", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "found" in run.stdout
    assert "credits used" in run.stdout
    assert f"wrote {tmp_path / 'out.xlsx'}" in run.stdout
    assert "SalesQL persons" in run.stderr  # the progress bar goes to stderr

    out = pd.read_excel(tmp_path / "out.xlsx", dtype=str, engine="openpyxl")
    assert_enriched(out, len(ROWS))
    assert out["Lead ID"].tolist() == [row[0] for row in ROWS]  # leading zeros kept
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    widths = [dim.width for dim in sheet.column_dimensions.values()]
    assert widths
    assert all(6 <= width <= 50 for width in widths)


def test_xlsx_with_blank_rows_and_trailing_empty_columns(tmp_path: Path) -> None:
    rows: list[list[str | None]] = [[*HEADER, None, None]]
    for i, row in enumerate(ROWS):
        rows.append([value or None for value in row])
        if i == 2:
            rows.append([None] * len(HEADER))  # a blank row in the middle
    rows[3] += [" "]  # a "cleared" cell widens the used range: Unnamed columns
    rows.append([None, None, None, None, None, None, None, " "])  # a blank row at the end
    write_xlsx_by_hand(tmp_path / "leads.xlsx", rows)

    run = cli("enrich-persons", "leads.xlsx", "-o", "out.csv", "--sandbox", "--quiet",
              cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # --quiet: no progress
    assert "2 blank rows dropped, 2 empty unnamed columns dropped" in run.stdout
    out = read_csv_text(tmp_path / "out.csv")
    assert_enriched(out, len(ROWS))
    assert not any(column.startswith("Unnamed") for column in out.columns)
    assert out["Lead ID"].tolist() == [row[0] for row in ROWS]


def test_parquet_in_parquet_out_keeps_dtypes(tmp_path: Path) -> None:
    frame = leads_frame()
    frame["Score"] = pd.array(range(len(frame)), dtype="int64")
    frame.to_parquet(tmp_path / "leads.parquet")
    run = cli("enrich-persons", "leads.parquet", "-o", "out.parquet", "--sandbox", "--quiet",
              cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert_enriched(out, len(ROWS))
    assert out["Score"].dtype == "int64"
    assert out["salesql_email_count"].dtype == "Int64"


def test_long_output_one_row_per_phone(tmp_path: Path) -> None:
    leads_frame().to_csv(tmp_path / "leads.tsv", sep="\t", index=False)
    run = cli("enrich-persons", "leads.tsv", "-o", "phones.csv", "--explode", "phones",
              "--sandbox", "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = read_csv_text(tmp_path / "phones.csv")
    assert list(out.columns[: len(HEADER)]) == HEADER
    assert sorted(set(out["salesql_row"].astype(int))) == list(range(len(ROWS)))
    assert len(out) >= len(ROWS)
    assert "salesql_phone" in out.columns
    assert "salesql_phone_1" not in out.columns


def test_organizations_with_map(tmp_path: Path) -> None:
    pd.DataFrame({"Account": ["Acme", "Acme Inc", "Initech"],
                  "Site": ["acme.io", "https://www.acme.io/", None]}).to_csv(
        tmp_path / "accounts.csv", index=False)
    run = cli("enrich-organizations", "accounts.csv", "--map", "Site=organization_domain",
              "--sandbox", "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "3 rows -> 1 unique queries" in run.stdout
    out = read_csv_text(tmp_path / "accounts-enriched.csv")  # the default output name
    assert out["salesql_status"].tolist()[2] == "invalid_input"


# -- sending nothing, sending twice, stopping -------------------------------------------------


def test_dry_run_sends_nothing(tmp_path: Path, owned_sandbox: sandbox.Sandbox) -> None:
    leads_frame().to_csv(tmp_path / "leads.csv", index=False)
    run = cli("enrich-persons", "leads.csv", "-o", "out.xlsx", "--dry-run",
              cwd=tmp_path, env=sandbox_env(tmp_path, owned_sandbox))
    assert run.returncode == 0, run.stderr
    assert "worst-case credits" in run.stdout
    assert "dry run: nothing sent" in run.stdout
    assert "allowance left          10,000" in run.stdout
    assert not (tmp_path / "out.xlsx").exists()
    assert owned_sandbox.counters.searches == 0
    assert dict(owned_sandbox.counters.requests) == {"allowance": 1}


def test_result_store_and_cache_commands(tmp_path: Path, owned_sandbox: sandbox.Sandbox) -> None:
    leads_frame().to_csv(tmp_path / "leads.csv", index=False)
    env = sandbox_env(tmp_path, owned_sandbox)
    enrich = ("enrich-persons", "leads.csv", "-o", "out.csv", "--quiet")
    assert cli(*enrich, cwd=tmp_path, env=env).returncode == 0
    sent = owned_sandbox.counters.searches
    assert sent == 4  # six rows, one duplicate, one invalid

    refused = cli(*enrich, cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert "out.csv exists: add --force" in refused.stderr
    again = cli(*enrich, "--force", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert owned_sandbox.counters.searches == sent  # all answers came from the store
    assert "from the store        4" in again.stdout

    store = tmp_path / "cache" / "results.sqlite3"
    info = cli("cache", "info", cwd=tmp_path, env=env)
    assert info.returncode == 0, info.stderr
    assert str(store) in info.stdout
    assert "4 answers" in info.stdout
    clear = cli("cache", "clear", "--cache", str(store), cwd=tmp_path, env=env)
    assert clear.returncode == 0, clear.stderr
    assert "removed 4 stored answers" in clear.stdout
    assert cache_info(store).entries == 0


def test_quota_exhausted_writes_partial_output(tmp_path: Path) -> None:
    urls = [f"https://www.linkedin.com/in/lead-{i:04d}/" for i in range(250)]
    pd.DataFrame({"Person Linkedin Url": urls, "Note": "n"}).to_csv(
        tmp_path / "many.csv", index=False)
    with sandbox.serve(daily_limit=100) as sb:
        run = cli("enrich-persons", "many.csv", "-o", "many.xlsx", "--quiet",
                  cwd=tmp_path, env=sandbox_env(tmp_path, sb))
        assert sb.counters.searches == 100
        assert sb.counters.daily_capped >= 1
    assert run.returncode == 3
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("salesql-frames: stopped early")
    assert "partial output written to many.xlsx" in lines[0]
    assert "Traceback" not in run.stderr
    out = pd.read_excel(tmp_path / "many.xlsx", dtype=str, engine="openpyxl")
    assert len(out) == 250
    counts = out["salesql_status"].value_counts()
    assert counts["skipped"] == 150
    assert counts.get("found", 0) + counts.get("not_found", 0) == 100


def test_demo_writes_xlsx_and_prints_summary(tmp_path: Path) -> None:
    script = shutil.which("salesql-frames")
    run = cli("demo", cwd=tmp_path, command=[script] if script else None)
    assert run.returncode == 0, run.stderr
    for text in ("Plan(persons): 200 rows", "not found", "credits used",
                 "2 blank rows dropped", "wrote"):
        assert text in run.stdout
    out = pd.read_excel(tmp_path / "salesql-demo-enriched.xlsx", engine="openpyxl")
    assert len(out) == 200
    assert set(out["salesql_status"]) == {"found", "not_found", "invalid_input"}


# -- clean errors: one line, no traceback, no output ------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
ERRORS: dict[str, tuple[tuple[str, ...], int, tuple[str, ...]]] = {
    # case: (arguments, exit code, texts the one line must contain)
    "map-unknown-column": (("leads.csv", "--map", "Profile=linkedin_url"), 2,
                           ("'Profile'", "no such column", "Person Linkedin Url")),
    "png-named-xlsx": (("leads.xlsx",), 1, ("leads.xlsx", "not a readable XLSX")),
    "text-file": (("notes.txt",), 1, ("notes.txt", "--input-format")),
    "missing-file": (("nope.csv",), 1, ("nope.csv", "no such file")),
    "unknown-sheet": (("book.xlsx", "--sheet", "Q4"), 1, ("'Q4'", "'Leads'")),
    "no-key": (("leads.csv",), 1, ("SALESQL_API_KEY", "--sandbox")),
}
#: Checked in-process (the same `main`), to keep the file fast.
USAGE_ERRORS: dict[str, tuple[tuple[str, ...], int, tuple[str, ...]]] = {
    "only-missing-unknown-column": (("leads.csv", "--only-missing", "Phone"), 2,
                                    ("'Phone'", "no such column")),
    "map-bad-syntax": (("leads.csv", "--map", "Profile"), 2, ("COLUMN=PARAM",)),
    "map-unknown-param": (("leads.csv", "--map", "Website=homepage"), 2,
                          ("'homepage'", "linkedin_url")),
    "long-without-explode": (("leads.csv", "--how", "long"), 2, ("--explode",)),
    "wide-with-explode": (("leads.csv", "--how", "wide", "--explode", "emails"), 2,
                          ("--how wide",)),
    "bad-number": (("leads.csv", "--max-credits", "lots"), 2, ("--max-credits",)),
    "unknown-output-format": (("leads.csv", "-o", "out.docx"), 1, ("--output-format",)),
    "output-is-input": (("leads.csv", "-o", "leads.csv"), 2, ("is the input file",)),
    "no-output-folder": (("leads.csv", "-o", "missing/out.csv"), 2, ("does not exist",)),
}


def make_error_inputs(workdir: Path) -> None:
    leads_frame().to_csv(workdir / "leads.csv", index=False)
    (workdir / "leads.xlsx").write_bytes(PNG)
    (workdir / "notes.txt").write_text("call Ada on Monday\n")
    write_xlsx_by_hand(workdir / "book.xlsx", [HEADER, ROWS[0]])


@pytest.fixture(scope="module")
def error_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Every error case, run at once (each is a cold interpreter start)."""
    workdir = tmp_path_factory.mktemp("errors")
    make_error_inputs(workdir)

    def run(case: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
        output = workdir / f"{case}.csv"
        args = ERRORS[case][0]
        return output, cli("enrich-persons", *args, "-o", output.name, cwd=workdir)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(ERRORS, pool.map(run, ERRORS), strict=True))


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_one_clean_line(
    case: str, error_runs: dict[str, tuple[Path, subprocess.CompletedProcess[str]]]
) -> None:
    _, code, texts = ERRORS[case]
    output, run = error_runs[case]
    assert run.returncode == code, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("salesql-frames: ")
    for text in texts:
        assert text in lines[0]
    assert not output.exists()


@pytest.mark.parametrize("case", USAGE_ERRORS)
def test_usage_errors_are_one_clean_line(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args, code, texts = USAGE_ERRORS[case]
    make_error_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    try:
        result = main(["enrich-persons", *args, "--quiet"])
    except SystemExit as exc:  # argparse's own errors
        result = exc.code
    assert result == code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("salesql-frames: ")
    for text in texts:
        assert text in lines[0]
    assert captured.out == ""


# -- in-process: parser and file helpers -------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [[], ["enrich-persons"], ["enrich-organizations"], ["demo"], ["allowance"],
     ["verify-key"], ["cache"], ["cache", "info"], ["cache", "clear"], ["sandbox"]],
)
def test_help_has_examples(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: salesql-frames" in text
    assert "example" in text


def test_cache_clear_older_than(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store.sqlite3"
    assert main(["cache", "clear", "--older-than", "1", "--cache", str(store)]) == 0
    assert "nothing to clear" in capsys.readouterr().out
    assert not store.exists()  # looking does not create a store
    assert main(["cache", "info", "--cache", str(store)]) == 0
    assert "nothing stored yet" in capsys.readouterr().out
    cache_info(store)  # now it exists, empty
    assert main(["cache", "clear", "--older-than", "1.5", "--cache", str(store)]) == 0
    assert "removed 0 stored answers older than 1.5 days" in capsys.readouterr().out


def test_parse_mapping() -> None:
    assert parse_mapping(["Full Name=full_name", "a=b=organization_name"], PERSON) == {
        "full_name": "Full Name", "organization_name": "a=b"}
    assert parse_mapping([], ORGANIZATION) == {}
    with pytest.raises(Exception, match="reversed"):
        parse_mapping(["linkedin_url=Profile"], PERSON)
    with pytest.raises(Exception, match="not an API parameter"):
        parse_mapping(["Name=full_name"], ORGANIZATION)
    with pytest.raises(Exception, match="given twice"):
        parse_mapping(["A=full_name", "B=full_name"], PERSON)


def test_drop_blank_keeps_named_empty_columns() -> None:
    frame = pd.DataFrame({"A": ["1", None, " "], "Notes": [None, None, None],
                          "Unnamed: 2": [None, None, "  "], "Unnamed: 3": ["x", None, None]})
    tidy, blank, dropped = drop_blank(frame)
    assert blank == 2
    assert dropped == ["Unnamed: 2"]
    assert list(tidy.columns) == ["A", "Notes", "Unnamed: 3"]
    assert tidy.index.tolist() == [0]


def test_xlsx_output_details(tmp_path: Path) -> None:
    when = pd.Series(pd.to_datetime(["2024-06-01 12:00"]).tz_localize("Europe/Paris"))
    frame = pd.DataFrame({"Name": ["=HYPERLINK(\"http://x\")"], "At": when,
                          "Long": ["x" * 500], "Count": pd.array([3], dtype="Int64")})
    assert str(naive_utc(frame["At"])[0]) == "2024-06-01 10:00:00"
    write_table(frame, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet["A2"].data_type == "s"  # text, not a formula
    assert sheet["A2"].value == "=HYPERLINK(\"http://x\")"
    assert str(sheet["B2"].value) == "2024-06-01 10:00:00"
    assert sheet["D2"].value == 3
    assert 49 <= sheet.column_dimensions["C"].width <= 50  # xlsxwriter adds ~0.7 padding
    back = read_table(tmp_path / "out.xlsx").frame
    assert back.loc[0, "Count"] == "3"
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed


def test_write_and_read_spreadsheet_from_python(tmp_path: Path) -> None:
    import polars as pl

    import salesql_frames as sf
    from salesql_frames import sandbox

    leads = pl.DataFrame({"LinkedIn": ["linkedin.com/in/sandrocarsava", "linkedin.com/in/x-y"]})
    with sandbox.serve() as sb:
        enriched = leads.salesql.enrich_persons(client=sb.client(), cache=False, progress=False)
    path = sf.write_spreadsheet(enriched, tmp_path / "out.xlsx")  # tz-aware columns included
    back = sf.read_spreadsheet(path)
    assert list(back.columns) == enriched.columns
    assert back["salesql_full_name"].iloc[0] == "Sandro Carsava"
    assert back["salesql_timestamp_work_experience_start"].iloc[0].startswith("2001-01-01")


def test_default_region_reaches_the_run_and_a_bad_one_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    leads_frame().to_csv(tmp_path / "leads.csv", index=False)
    bad = cli("enrich-persons", "leads.csv", "--sandbox", "--default-region", "Germany",
              cwd=tmp_path)
    assert bad.returncode == 2
    assert "--default-region" in bad.stderr
    assert "'Germany'" in bad.stderr
    assert not (tmp_path / "leads-enriched.csv").exists()
    from salesql_frames import _enrich

    seen: list[object] = []
    real = _enrich.run_enrichment

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["output"].default_region)
        return real(*args, **kwargs)

    monkeypatch.setattr(_enrich, "run_enrichment", spy)
    monkeypatch.chdir(tmp_path)
    assert _cli.main(["enrich-persons", "leads.csv", "--sandbox", "--quiet",
                      "--default-region", "gb"]) == 0
    assert seen == ["GB"]
