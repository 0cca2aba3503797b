"""CSV/TSV output neutralizes formula-like API values; phones, user columns and XLSX do not change.

Every file here is really written (by ``write_spreadsheet`` on pandas and polars frames,
or by the command line as a subprocess against its in-process sandbox) and read back as
raw text with the ``csv`` module: no type inference, no stripping, so a cell is exactly
what a spreadsheet program would be given.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import salesql_frames
from salesql_frames._io import defuse_formulas, formula_like

ROOT = Path(__file__).resolve().parents[1]

#: API values a spreadsheet program would run: each must come out as ``'`` + itself.
FORMULAS = [
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "+SUM(1)",
    "-1+2",
    '=HYPERLINK("http://x")',
    "=1+1",
    "-A1",
    "+1 415 555 0100 x12",  # a letter: X12 is a cell reference
    "\t=1+1",
]
#: Phone numbers, signed numbers and plain text: each must come out exactly as itself.
SAFE = [
    "+1 415 555 0100",
    "+49 (0)30 123456",
    "+44 20 7946 0958",
    "+1 415-555-0100",
    "+55 11 91234-5678",
    "+33 1.23.45.67.89",
    "-",
    "+",
    "-5",
    "-3.25",
    "Head of Sales",
    "O'Brien & Sons",
    "a=b",
    "ada@acme.io",
    "'=already quoted",
    "",
]
VALUES = FORMULAS + SAFE
SEPARATORS = {"csv": ",", "tsv": "\t"}


def read_raw(path: Path, fmt: str = "csv") -> list[dict[str, str]]:
    """The file's rows as the exact text of each cell, by header."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=SEPARATORS[fmt]))


def cells(path: Path, name: str, fmt: str = "csv") -> list[str]:
    return [row[name] for row in read_raw(path, fmt)]


def neutralized(values: list[str]) -> list[str]:
    return ["'" + v if v in FORMULAS else v for v in values]


def enriched_like(make: Any) -> Any:
    """A frame as enrichment leaves it: the user's columns, then ``salesql_*`` results."""
    n = len(VALUES)
    return make({
        "Notes": VALUES,  # the user's own column: never changed
        "salesql_status": ["found"] * n,
        "salesql_headline": VALUES,
        "salesql_phone_1": list(reversed(VALUES)),
        "salesql_organization_founded_year": [-5, 1999, *range(n - 2)],
    })


# -- the library: write_spreadsheet ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_result_columns_are_neutralized_user_columns_kept(
    tmp_path: Path, make_frame: Any, fmt: str
) -> None:
    path = salesql_frames.write_spreadsheet(enriched_like(make_frame), tmp_path / f"out.{fmt}")
    assert cells(path, "salesql_headline", fmt) == neutralized(VALUES)
    assert cells(path, "salesql_phone_1", fmt) == neutralized(list(reversed(VALUES)))
    assert cells(path, "Notes", fmt) == VALUES
    assert cells(path, "salesql_organization_founded_year", fmt)[:2] == ["-5", "1999"]
    raw = path.read_text(encoding="utf-8")
    assert "'=cmd|' /C calc'!A0" in raw
    assert "'@SUM(1+1)" in raw


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_switch_off_writes_raw_values(tmp_path: Path, make_frame: Any, fmt: str) -> None:
    path = salesql_frames.write_spreadsheet(
        enriched_like(make_frame), tmp_path / f"out.{fmt}", neutralize_formulas=False
    )
    assert cells(path, "salesql_headline", fmt) == VALUES
    assert cells(path, "Notes", fmt) == VALUES


def test_format_override_is_neutralized_too(tmp_path: Path) -> None:
    frame = pd.DataFrame({"salesql_title": ["=1+1", "+1 415 555 0100"]})
    path = salesql_frames.write_spreadsheet(frame, tmp_path / "out.txt", format="tsv")
    assert cells(path, "salesql_title", "tsv") == ["'=1+1", "+1 415 555 0100"]


def test_xlsx_is_unaffected(tmp_path: Path, make_frame: Any) -> None:
    path = salesql_frames.write_spreadsheet(enriched_like(make_frame), tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(path).active
    header = [cell.value for cell in sheet[1]]
    at = header.index("salesql_headline")
    written = [row[at] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value or "" for cell in written] == VALUES  # "" is an empty cell
    assert {cell.data_type for cell in written if cell.value} == {"s"}  # never a formula


def test_parquet_is_unaffected(tmp_path: Path) -> None:
    frame = pd.DataFrame({"salesql_headline": VALUES})
    path = salesql_frames.write_spreadsheet(frame, tmp_path / "out.parquet")
    assert pd.read_parquet(path)["salesql_headline"].tolist() == VALUES


def test_prefix_names_the_result_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Notes": ["=1+1"], "sq_title": ["=1+1"], "salesql_title": ["=1+1"]})
    custom = salesql_frames.write_spreadsheet(frame, tmp_path / "custom.csv", prefix="sq_")
    assert read_raw(custom) == [{"Notes": "=1+1", "sq_title": "'=1+1", "salesql_title": "=1+1"}]
    every = salesql_frames.write_spreadsheet(frame, tmp_path / "every.csv", prefix="")
    assert read_raw(every) == [{"Notes": "'=1+1", "sq_title": "'=1+1", "salesql_title": "'=1+1"}]


def test_round_trip_keeps_the_quote_once(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Notes": ["=1+1"], "salesql_title": ["=1+1"]})
    first = salesql_frames.write_spreadsheet(frame, tmp_path / "first.csv")
    again = salesql_frames.read_spreadsheet(first)
    assert again.to_dict("records") == [{"Notes": "=1+1", "salesql_title": "'=1+1"}]
    second = salesql_frames.write_spreadsheet(again, tmp_path / "second.csv")
    assert first.read_bytes() == second.read_bytes()


def test_carriage_returns_stay_inside_their_cell(tmp_path: Path, make_frame: Any) -> None:
    # A bare CR written unquoted would end the row, and put "=cmd..." at the start of
    # a new one, out of reach of the prefix.
    values = ["Acme\r=cmd|' /C calc'!A0", "\r=1+1", "plain"]
    frame = make_frame({"Notes": ["a", "b", "c"], "salesql_headline": values})
    for fmt in SEPARATORS:
        path = salesql_frames.write_spreadsheet(frame, tmp_path / f"out.{fmt}")
        assert cells(path, "salesql_headline", fmt) == [values[0], "'\r=1+1", "plain"]
        assert cells(path, "Notes", fmt) == ["a", "b", "c"]
        assert path.read_bytes().endswith(b"plain\r\n")  # CRLF: the CR is quoted


def test_caller_frame_is_not_changed(tmp_path: Path) -> None:
    frame = pd.DataFrame({"salesql_title": ["=1+1", "ok"]}, index=[7, 7])
    before = frame.copy()
    salesql_frames.write_spreadsheet(frame, tmp_path / "out.csv")
    pd.testing.assert_frame_equal(frame, before)
    polars_frame = pl.DataFrame({"salesql_title": ["=1+1", "ok"]})
    salesql_frames.write_spreadsheet(polars_frame, tmp_path / "out.tsv")
    assert polars_frame["salesql_title"].to_list() == ["=1+1", "ok"]


# -- the rule itself -----------------------------------------------------------------------------


def test_formula_like_is_the_rule() -> None:
    flagged = formula_like(pa.array([*VALUES, None]))
    assert flagged.tolist() == [v in FORMULAS for v in VALUES] + [False]
    assert formula_like(pa.chunked_array([["=1", "x"], ["-1+2"]])).tolist() == [True, False, True]
    assert formula_like(pa.array(["\r=1", "+1\n=2"], pa.large_string())).tolist() == [True, True]


@pytest.mark.parametrize(
    "dtype", [object, "string", pd.ArrowDtype(pa.string()), pd.ArrowDtype(pa.large_string()),
              "category"],
)
def test_every_text_dtype_is_scanned(dtype: Any) -> None:
    frame = pd.DataFrame({"salesql_x": pd.Series(["=1+1", "+1 415 555 0100", None], dtype=dtype)})
    out = defuse_formulas(frame)
    assert out["salesql_x"].tolist()[:2] == ["'=1+1", "+1 415 555 0100"]
    assert out["salesql_x"].isna().tolist() == [False, False, True]


def test_mixed_and_non_text_columns() -> None:
    frame = pd.DataFrame({
        "salesql_mixed": pd.Series(["=1+1", 7, None, -1.5], dtype=object),
        "salesql_int": [-1, 2, 3, 4],
        "salesql_when": pd.to_datetime(["2024-01-01"] * 4, utc=True),
    })
    out = defuse_formulas(frame)
    assert out["salesql_mixed"].tolist() == ["'=1+1", 7, None, -1.5]
    pd.testing.assert_frame_equal(out.drop(columns="salesql_mixed"),
                                  frame.drop(columns="salesql_mixed"))


def test_nothing_formula_like_returns_the_same_frame() -> None:
    frame = pd.DataFrame({"salesql_phone_1": SAFE, "Notes": ["=1+1"] * len(SAFE)})
    assert defuse_formulas(frame) is frame


def test_large_column_is_scanned_with_arrow() -> None:
    n = 1_000_000
    values = np.where(np.arange(n) % 1000 == 0, "=HYPERLINK(1)", "+1 415 555 0100")
    frame = pd.DataFrame({"salesql_phone_1": pd.Series(values, dtype="string")})
    out = defuse_formulas(frame)["salesql_phone_1"]
    assert out.str.startswith("'").sum() == n // 1000
    assert out.iloc[1] == "+1 415 555 0100"


def test_output_page_examples_are_the_rule(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "src" / "output.md").read_text(encoding="utf-8")
    section = page.split("## Formulas in CSV and TSV")[1].split("\n## ")[0]
    rows = re.findall(r"^\| (`.+?`) \| (unchanged|`[^`]+`)", section, re.MULTILINE)
    assert len(rows) >= 6
    for given, written in rows:
        for value in re.findall(r"`([^`]+)`", given):
            expected = value if written == "unchanged" else written.strip("`")
            frame = pd.DataFrame({"salesql_x": [value]})
            path = salesql_frames.write_spreadsheet(frame, tmp_path / "example.csv")
            assert cells(path, "salesql_x") == [expected], value


# -- the command line ----------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESQL_")}
    env["SALESQL_CACHE_DIR"] = str(cwd / "cache")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "salesql_frames", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=env)


#: Organization names the sandbox finds and echoes into ``salesql_organization_name``.
COMPANIES = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x")', "Acme Corp", "+1 415 555 0100"]


@pytest.fixture
def accounts(tmp_path: Path) -> Path:
    pd.DataFrame({"Company": COMPANIES}).to_csv(tmp_path / "accounts.csv", index=False)
    return tmp_path / "accounts.csv"


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_cli_neutralizes_api_values_not_input_columns(
    tmp_path: Path, accounts: Path, fmt: str
) -> None:
    run = cli("enrich-organizations", accounts.name, "-o", f"out.{fmt}", "--sandbox",
              "--quiet", "--map", "Company=organization_name", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rows = read_raw(tmp_path / f"out.{fmt}", fmt)
    assert [row["salesql_status"] for row in rows] == ["found"] * len(COMPANIES)
    assert [row["Company"] for row in rows] == COMPANIES
    assert [row["salesql_organization_name"] for row in rows] == [
        "'=cmd|' /C calc'!A0", "'=HYPERLINK(\"http://x\")", "Acme Corp", "+1 415 555 0100"
    ]


def test_cli_allow_formulas_writes_raw(tmp_path: Path, accounts: Path) -> None:
    run = cli("enrich-organizations", accounts.name, "-o", "out.csv", "--sandbox", "--quiet",
              "--map", "Company=organization_name", "--allow-formulas", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rows = read_raw(tmp_path / "out.csv")
    assert [row["salesql_organization_name"] for row in rows] == COMPANIES


def _undated(row: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in row.items() if name != "salesql_fetched_at"}


def test_cli_persons_phones_are_untouched(tmp_path: Path) -> None:
    urls = [f"https://www.linkedin.com/in/lead-{i}/" for i in range(40)]
    pd.DataFrame({"Person Linkedin Url": urls}).to_csv(tmp_path / "in.csv", index=False)
    for name, extra in [("out.csv", []), ("raw.csv", ["--allow-formulas"]), ("out.xlsx", [])]:
        run = cli("enrich-persons", "in.csv", "-o", name, "--sandbox", "--quiet", *extra,
                  cwd=tmp_path)
        assert run.returncode == 0, run.stderr
    safe, raw = read_raw(tmp_path / "out.csv"), read_raw(tmp_path / "raw.csv")
    phone_columns = [c for c in safe[0] if re.fullmatch(r"salesql_phone_\d+", c)]
    phones = [row[c] for row in safe for c in phone_columns if row[c]]
    assert len(phones) >= 10
    assert all(phone.startswith("+") for phone in phones)  # would be "'+..." if defused
    # Sandbox values hold nothing formula-like: the switch changes nothing (but the time
    # each run fetched its answers).
    assert [_undated(row) for row in safe] == [_undated(row) for row in raw]
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    header = [cell.value for cell in sheet[1]]
    from_xlsx = [row[header.index(c)] for row in sheet.iter_rows(min_row=2, values_only=True)
                 for c in phone_columns if row[header.index(c)]]
    assert from_xlsx == phones
