"""Header rows, dates as dates, BOM, and the CLI's small manners."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

import salesql_frames as sf
from salesql_frames import SalesQLWarning, __version__
from salesql_frames._io import read_table, write_table


def title_row_xlsx(path: Path) -> None:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Leads")
    sheet.write_string(0, 0, "Q4 leads export")
    sheet.write_row(2, 0, ["Lead ID", "Person Linkedin Url"])
    sheet.write_row(3, 0, ["00017", "https://www.linkedin.com/in/sandrocarsava/"])
    sheet.write_number(4, 0, 1234567890123)
    sheet.write_datetime(4, 1, dt.datetime(2010, 8, 23),
                         book.add_format({"num_format": "yyyy-mm-dd"}))
    book.close()


def test_title_row_xlsx_is_detected_and_said(tmp_path: Path) -> None:
    title_row_xlsx(tmp_path / "leads.xlsx")
    with pytest.warns(SalesQLWarning, match="header on row 3"):
        frame = sf.read_spreadsheet(tmp_path / "leads.xlsx")
    assert list(frame.columns) == ["Lead ID", "Person Linkedin Url"]
    assert frame["Lead ID"].tolist() == ["00017", "1234567890123"]  # every cell as text
    table = read_table(tmp_path / "leads.xlsx")
    assert "header on row 3 (row 1 is a title, row 2 blank" in table.describe()


def test_header_row_given(tmp_path: Path) -> None:
    title_row_xlsx(tmp_path / "leads.xlsx")
    frame = sf.read_spreadsheet(tmp_path / "leads.xlsx", header_row=4)
    assert list(frame.columns) == ["00017", "https://www.linkedin.com/in/sandrocarsava/"]
    with pytest.raises(sf.SpreadsheetError, match="header_row=99"):
        sf.read_spreadsheet(tmp_path / "leads.xlsx", header_row=99)


def test_blank_first_line_csv(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("\nName;Zip\nAda;02139\n", encoding="utf-8")
    with pytest.warns(SalesQLWarning, match="row 1 blank"):
        frame = sf.read_spreadsheet(path)
    assert frame.to_dict("records") == [{"Name": "Ada", "Zip": "02139"}]


def test_cli_header_row_and_what_it_chose(tmp_path: Path) -> None:
    title_row_xlsx(tmp_path / "leads.xlsx")
    run = subprocess.run(
        [sys.executable, "-m", "salesql_frames", "enrich-persons", "leads.xlsx", "-o",
         "out.csv", "--sandbox", "--dry-run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert "header on row 3" in run.stdout
    assert "'Person Linkedin Url'" in run.stdout


def test_dates_are_dates_in_xlsx_and_csv(tmp_path: Path) -> None:
    day = pd.Series(pd.to_datetime(["2010-08-23", None], utc=True))
    moment = pd.Series(pd.to_datetime(["2010-08-23 10:30", None], utc=True))
    frame = pd.DataFrame({"Name": ["Zoë", "=1+1"], "Start": day, "Seen": moment})
    write_table(frame, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet["B2"].value == dt.datetime(2010, 8, 23)
    assert sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet["C2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["A3"].data_type == "s"
    assert sheet["A3"].value == "=1+1"
    assert sheet.auto_filter.ref == "A1:C3"
    write_table(frame, tmp_path / "out.csv", bom=True)
    raw = (tmp_path / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfName,Start,Seen")
    assert "Zoë,2010-08-23," in raw.decode("utf-8-sig")
    write_table(frame, tmp_path / "plain.csv")
    assert (tmp_path / "plain.csv").read_bytes().startswith(b"Name,")


def test_version_and_quiet_broken_pipe(tmp_path: Path) -> None:
    version = subprocess.run([sys.executable, "-m", "salesql_frames", "--version"],
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0
    assert version.stdout.strip() == f"salesql-frames {__version__}"
    # A reader that is gone (``| head``): more output than a pipe buffer holds.
    script = ("import sys, salesql_frames._cli as c\n"
              "c._parser = lambda: type('P', (), {'parse_args': lambda self, a: "
              "type('A', (), {'run': lambda self, a: [print('x' * 1000) for _ in "
              "range(1000)] and 0})()})()\n"
              "sys.exit(c.main([]))\n")
    piped = subprocess.run(f'"{sys.executable}" -c "{script}" | head -c 1', shell=True,
                           capture_output=True, text=True, timeout=60)
    assert piped.stderr == ""
