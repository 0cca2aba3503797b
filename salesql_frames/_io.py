"""Reading and writing lead spreadsheets: CSV, TSV, XLSX and Parquet.

Reading keeps every column and its order and reads CSV, TSV and XLSX cells as text, so
IDs and zip codes keep their leading zeros; empty cells become missing. Rows whose
cells are all empty (or blank) are dropped, and so are columns without a header
(``Unnamed: N``) that hold nothing, which spreadsheet programs often leave behind:
the output then has one row per non-blank input row, in input order. CSV may be
UTF-8 (with or without BOM) or Windows-1252, separated by commas, semicolons or tabs
(whichever the header line has most of). Parquet keeps its dtypes both ways.

Writing goes through a temporary file renamed into place, so an existing output is
never left half-written. XLSX output has a bold, frozen header row, a filter, readable
column widths, timezone-aware datetimes as naive UTC (Excel stores no timezone), and
text starting with ``=`` kept as text, never as a formula. CSV and TSV have no such
cell type: there, formula-like text in the result columns is prefixed with ``'``
(see `defuse_formulas`).
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import secrets
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, Literal, cast

import numpy as np
import pandas as pd

from . import _constants as C
from ._display import plural
from ._exceptions import SpreadsheetError
from ._presets import apply_preset

__all__ = [
    "FORMATS",
    "Format",
    "SpreadsheetError",
    "Table",
    "defuse_formulas",
    "format_of",
    "formula_like",
    "read_table",
    "write_table",
]

Format = Literal["csv", "tsv", "xlsx", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "tsv", "xlsx", "parquet")
_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: Widest XLSX column, in characters; rows sampled to size the columns.
MAX_COLUMN_WIDTH = 50
_WIDTH_SAMPLE = 1000
#: Excel's limit on the characters in one cell.
_EXCEL_CELL_CHARS = 32_767
_ILLEGAL_XML = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_UNNAMED = re.compile(r"^Unnamed: \d+(_level_\d+)?$")
#: Rows looked at to find the header (under a title or blank rows).
_HEADER_SCAN = 20
_TEXT_ENCODINGS = ("utf-8-sig", "cp1252")


@dataclass(frozen=True)
class Table:
    """A spreadsheet as read.

    Attributes:
        frame: The data, one row per non-blank input row, columns in input order.
        path: The file read.
        format: Its format.
        sheet: The XLSX sheet read, else None.
        blank_rows: Fully blank rows dropped.
        empty_columns: Header-less empty columns dropped.
        header_note: Which row was taken as the header when it was not the first
            (blank or title rows above it), else ``""``.
    """

    frame: pd.DataFrame
    path: Path
    format: Format
    sheet: str | None = None
    blank_rows: int = 0
    empty_columns: list[str] = field(default_factory=list)
    header_note: str = ""

    def describe(self) -> str:
        """One line: what was read and what was dropped."""
        where = f"{self.path.name} (sheet {self.sheet!r})" if self.sheet else self.path.name
        notes = [plural(len(self.frame), "row"), plural(self.frame.shape[1], "column")]
        if self.header_note:
            notes.append(self.header_note)
        if self.blank_rows:
            notes.append(f"{plural(self.blank_rows, 'blank row')} dropped")
        if self.empty_columns:
            notes.append(f"{plural(len(self.empty_columns), 'empty unnamed column')} dropped")
        return f"read {where}: {', '.join(notes)}"


def format_of(
    path: str | os.PathLike[str], given: str | None = None, *, option: str = "--input-format"
) -> Format:
    """The format to use for ``path``: ``given`` if set, else from its extension.

    ``option`` is how the caller lets users name the format, for the error message.

    Raises:
        SpreadsheetError: ``given`` is unknown, or the extension is not recognized.

    Examples:
        >>> format_of("leads.XLSX")
        'xlsx'
        >>> format_of("leads.txt", "tsv")
        'tsv'
    """
    if given is not None:
        if given not in FORMATS:
            raise SpreadsheetError(f"unknown format {given!r}; use one of {', '.join(FORMATS)}")
        return given
    suffix = Path(path).suffix.lower()
    found = _EXTENSIONS.get(suffix)
    if found is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise SpreadsheetError(
            f"cannot tell the format of {Path(path).name!r} from its extension "
            f"(known: {known}); pass {option} {'|'.join(FORMATS)}"
        )
    return found


# -- reading -----------------------------------------------------------------------------


def read_table(
    path: str | os.PathLike[str], *, fmt: str | None = None, sheet: str | None = None,
    header_row: int | None = None,
) -> Table:
    """Read a spreadsheet of leads.

    Args:
        path: The file.
        fmt: ``"csv"``, ``"tsv"``, ``"xlsx"`` or ``"parquet"``; by default from the
            extension.
        sheet: XLSX only: the sheet to read (the first one by default).
        header_row: CSV/TSV/XLSX: the row holding the column names (1 = the first);
            by default the first row, or the row under leading blank or title rows
            (`Table.header_note` says which was chosen).

    Raises:
        SpreadsheetError: The file is missing, is not the format it should be, or has
            no such sheet.
    """
    source = Path(path)
    kind = format_of(source, fmt)
    if not source.exists():
        raise SpreadsheetError(f"{source}: no such file")
    if source.is_dir():
        raise SpreadsheetError(f"{source} is a folder, not a spreadsheet")
    if sheet is not None and kind != "xlsx":
        raise SpreadsheetError(f"a sheet name only applies to XLSX input, not {kind}")
    if kind == "parquet":
        if header_row is not None:
            raise SpreadsheetError("a header row only applies to CSV, TSV and XLSX input")
        return Table(_read_parquet(source), source, kind)
    if kind == "xlsx":
        raw, sheet = _read_xlsx(source, sheet)
        if raw.empty:
            raise SpreadsheetError(f"{source.name}: sheet {sheet!r} is empty")
        index, note = pick_header(raw.head(_HEADER_SCAN).values.tolist(), header_row)
        frame = _with_header(raw, index)
    else:
        frame, note = _read_delimited(source, "\t" if kind == "tsv" else None, header_row)
    frame.columns = pd.Index([str(column) for column in frame.columns], dtype=object)
    tidy, blank_rows, empty_columns = drop_blank(frame)
    return Table(tidy, source, kind, sheet, blank_rows, empty_columns, note)


def drop_blank(frame: pd.DataFrame) -> tuple[pd.DataFrame, int, list[str]]:
    """Drop fully blank rows and header-less empty columns; renumber the rows.

    Returns:
        The tidy frame, the number of rows dropped, and the columns dropped.
    """
    filled = np.zeros((len(frame), frame.shape[1]), dtype=bool)
    for i in range(frame.shape[1]):
        filled[:, i] = _filled(frame.iloc[:, i])
    rows = np.flatnonzero(filled.any(axis=1))
    names = [str(name) for name in frame.columns]
    dropped = [
        i for i, name in enumerate(names) if _UNNAMED.match(name) and not filled[rows, i].any()
    ]
    columns = [i for i in range(len(names)) if i not in dropped]
    tidy = frame.iloc[rows].iloc[:, columns].reset_index(drop=True)
    return tidy, len(frame) - len(rows), [names[i] for i in dropped]


def _filled(column: pd.Series[Any]) -> np.ndarray:
    """Cells holding something other than whitespace."""
    text = column.astype("string").str.strip()
    return np.asarray(text.fillna("").ne(""), dtype=bool)


def _read_delimited(
    path: Path, sep: str | None, header_row: int | None
) -> tuple[pd.DataFrame, str]:
    with path.open("rb") as handle:
        head = handle.read(65536)
    if b"\x00" in head:
        raise SpreadsheetError(f"{path.name} is not a text file (CSV or TSV)")
    for encoding in _TEXT_ENCODINGS:
        try:
            text = head.decode(encoding, errors="ignore")
            lines = text.splitlines()[:_HEADER_SCAN]
            delimiter = sep or _sniff_delimiter(lines)
            rows = list(csv.reader(lines, delimiter=delimiter))
            index, note = pick_header(rows, header_row) if rows else (0, "")
            frame = pd.read_csv(
                path, sep=delimiter, dtype=str, keep_default_na=False, na_values=[""],
                encoding=encoding, skip_blank_lines=False, skiprows=index,
            )
            return frame, note
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise SpreadsheetError(f"{path.name} is empty") from None
        except (pd.errors.ParserError, csv.Error) as exc:
            raise SpreadsheetError(f"{path.name} is not valid CSV/TSV: {exc}") from None
    raise SpreadsheetError(f"{path.name} is neither UTF-8 nor Windows-1252 text")


def _sniff_delimiter(lines: Sequence[str]) -> str:
    """The commonest of ``,``, ``;`` (European Excel) and tab in the first filled line."""
    header = next((line for line in lines if line.strip(" ,;\t")), "")
    return max((",", ";", "\t"), key=header.count)


def _read_xlsx(path: Path, sheet: str | None) -> tuple[pd.DataFrame, str]:
    """Every cell of one sheet as text (calamine), no header picked yet."""
    from python_calamine import CalamineError

    try:
        with pd.ExcelFile(path, engine="calamine") as book:
            names = [str(name) for name in book.sheet_names]
            if not names:
                raise SpreadsheetError(f"{path.name} has no sheets")
            chosen = names[0] if sheet is None else sheet
            if chosen not in names:
                listed = ", ".join(repr(name) for name in names)
                raise SpreadsheetError(f"{path.name} has no sheet {sheet!r}; sheets: {listed}")
            frame = pd.read_excel(
                book, sheet_name=chosen, dtype=str, keep_default_na=False, na_values=[""],
                header=None,
            )
    except (CalamineError, zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise SpreadsheetError(f"{path.name} is not a readable XLSX workbook ({reason})") from None
    return frame, chosen


def pick_header(rows: Sequence[Sequence[Any]], header_row: int | None) -> tuple[int, str]:
    """The 0-based index of the header among ``rows``, and a note when it is not the first.

    ``header_row`` (1-based, as a spreadsheet numbers rows) is taken as given. Otherwise
    leading blank rows are skipped, and so is a title row: one filled cell above a
    row with two or more.

    Examples:
        >>> pick_header([["Leads Q4"], [], ["Name", "Zip"], ["Ada", "02139"]], None)
        (2, 'header on row 3 (row 1 is a title, row 2 blank; --header-row N picks another)')
        >>> pick_header([["Name", "Zip"]], None)
        (0, '')
    """
    if header_row is not None:
        if header_row < 1:
            raise SpreadsheetError(f"header_row must be 1 or more, got {header_row}")
        if header_row > len(rows):
            raise SpreadsheetError(f"header_row={header_row}: the sheet has only "
                                   f"{plural(len(rows), 'row')}")
        return header_row - 1, ""
    counts = [sum(1 for cell in row if _cell_text(cell)) for row in rows]
    skipped: list[str] = []
    index = 0
    while index < len(rows):
        later = [n for n in counts[index + 1:] if n]
        if counts[index] == 0 and later:
            skipped.append(f"row {index + 1} blank")
        elif counts[index] == 1 and later and later[0] >= 2:
            skipped.append(f"row {index + 1} is a title")
        else:
            break
        index += 1
    if not skipped:
        return index, ""
    if len(skipped) > 2:
        skipped = [f"rows 1-{index} are blank or titles"]
    return index, (f"header on row {index + 1} ({', '.join(skipped)}; --header-row N "
                   "picks another)")


def _cell_text(cell: Any) -> str:
    return "" if cell is None or (isinstance(cell, float) and cell != cell) else str(cell).strip()


def _with_header(raw: pd.DataFrame, index: int) -> pd.DataFrame:
    """Row ``index`` of a header-less frame as its column names, the rows below as data."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(raw.iloc[index].tolist() if len(raw) else []):
        name = _cell_text(cell) and str(cell)
        name = name or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        names.append(name)
    frame: pd.DataFrame = raw.iloc[index + 1:].reset_index(drop=True)
    frame.columns = pd.Index(names, dtype=object)
    return frame




def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpreadsheetError(f"{path.name} is not a readable Parquet file ({reason})") from None


# -- writing -----------------------------------------------------------------------------


def write_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    sheet_name: str = "enriched",
    neutralize_formulas: bool = True,
    prefix: str = C.DEFAULT_PREFIX,
    preset: str = "generic",
    bom: bool = False,
) -> Path:
    """Write ``frame`` (without its index) and return the path written.

    Args:
        frame: The data.
        path: Where to write; an existing file is replaced.
        fmt: ``"csv"``, ``"tsv"``, ``"xlsx"`` or ``"parquet"``; by default from the
            extension.
        sheet_name: XLSX only: the sheet's name.
        neutralize_formulas: CSV/TSV only: prefix formula-like text in the columns
            named ``prefix*`` with ``'`` (`defuse_formulas`); False writes it raw.
        prefix: The result columns' prefix; ``""`` means every column.
        preset: A CRM's column names (`salesql_frames._presets.apply_preset`), applied
            after the result columns are neutralized.
        bom: CSV/TSV only: start the file with a UTF-8 byte-order mark, so Excel on
            Windows reads accents (``Zoë``) right.

    Raises:
        SpreadsheetError: The format is unknown, or the data does not fit the format.
        InvalidArgumentError: An unknown preset, or a frame it does not fit.
        OSError: The file cannot be written.
    """
    target = Path(path)
    kind = format_of(target, fmt, option="--output-format")
    if not target.parent.is_dir():
        raise SpreadsheetError(f"cannot write {target}: folder {target.parent} does not exist")
    if neutralize_formulas and kind in ("csv", "tsv"):
        frame = defuse_formulas(frame, prefix)
    frame = apply_preset(frame, preset, prefix)
    line_end = _line_end(frame) if kind in ("csv", "tsv") else None
    encoding = "utf-8-sig" if bom else "utf-8"
    with _replacing(target) as temporary:
        if kind in ("csv", "tsv"):
            frame = _dates_as_text(frame)
            frame.to_csv(temporary, index=False, lineterminator=line_end, encoding=encoding,
                         sep="\t" if kind == "tsv" else ",")
        elif kind == "parquet":
            frame.to_parquet(temporary, index=False)
        else:
            write_xlsx(frame, temporary, sheet_name=sheet_name)
    return target


def _dates_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns whose values are all dates (midnight UTC) as ``yyyy-mm-dd`` text."""
    fixed: dict[int, pd.Series[Any]] = {}
    for i in range(frame.shape[1]):
        column = naive_utc(frame.iloc[:, i])
        if not pd.api.types.is_datetime64_any_dtype(column.dtype):
            continue
        present = column.dropna()
        if len(present) and bool((present == present.dt.normalize()).all()):
            fixed[i] = column.dt.strftime("%Y-%m-%d").astype(object)
    if not fixed:
        return frame
    out = cast("pd.DataFrame", frame.copy(deep=False))
    for i, text in fixed.items():
        out.isetitem(i, text.where(text.notna(), None))
    return out


def formula_like(cells: Any) -> np.ndarray:
    """Which text cells a spreadsheet program would take for a formula.

    A cell is formula-like when it starts with ``=``, ``@``, a tab or a carriage return,
    or with ``+`` or ``-`` unless it is phone-like: the sign alone, or the sign then a
    digit, space, parenthesis or dot, then only digits, spaces, parentheses, dots,
    hyphens and slashes. A phone-like cell is at most arithmetic on numbers: no function,
    no cell reference. Vectorized: two regular-expression passes of ``pyarrow.compute``.

    Args:
        cells: An Arrow string array (or chunked array); nulls are not formula-like.

    Returns:
        A NumPy bool array, one entry per cell.

    Examples:
        >>> import pyarrow as pa
        >>> cells = ['=HYPERLINK("http://x")', "@SUM(1+1)", "-1+2", "+SUM(1)",
        ...          "+1 415-555-0100", "+49 (0)30 123456", "-", "-5", "Acme", None]
        >>> formula_like(pa.array(cells)).tolist()
        [True, True, True, True, False, False, False, False, False, False]
    """
    import pyarrow.compute as pc

    starts = pc.match_substring_regex(cells, C.FORMULA_START_PATTERN)
    phone = pc.match_substring_regex(cells, C.PHONE_LIKE_PATTERN)
    risky = pc.and_not(starts, phone).fill_null(False)
    return np.asarray(risky.to_numpy(zero_copy_only=False), dtype=bool)


def defuse_formulas(frame: pd.DataFrame, prefix: str = C.DEFAULT_PREFIX) -> pd.DataFrame:
    """``frame`` with each `formula_like` text cell of its ``prefix*`` columns prefixed.

    The prefix is ``'`` (OWASP's advice for CSV injection): spreadsheet programs then
    show the cell as text. Only text columns are scanned, each with Arrow compute;
    the caller's frame is never changed, and is returned as is when nothing is
    formula-like. A prefixed cell starts with ``'``, so defusing twice changes nothing.

    Args:
        frame: The data to write.
        prefix: Only columns whose name starts with it are scanned; ``""`` scans all.

    Returns:
        The frame to write.

    Examples:
        >>> frame = pd.DataFrame({"Note": ["=1+1"], "salesql_title": ["=1+1"]})
        >>> defuse_formulas(frame).to_dict("records")
        [{'Note': '=1+1', 'salesql_title': "'=1+1"}]
    """
    fixed: dict[int, pd.Series[Any]] = {}
    for i, name in enumerate(frame.columns):
        if str(name).startswith(prefix):
            column = _defused(frame.iloc[:, i])
            if column is not None:
                fixed[i] = column
    if not fixed:
        return frame
    out = cast("pd.DataFrame", frame.copy(deep=False))
    for i, column in fixed.items():
        out.isetitem(i, column.array)
    return out


def _defused(column: pd.Series[Any]) -> pd.Series[Any] | None:
    """The column with its formula-like cells prefixed, or None if it has none."""
    cells = _text_cells(column)
    if cells is None:
        return None
    risky = formula_like(cells)
    if not risky.any():
        return None
    import pyarrow.compute as pc

    rows = np.flatnonzero(risky)
    prefixed = pc.utf8_replace_slice(cells.take(rows), 0, 0, C.FORMULA_ESCAPE)
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    out = cast("pd.Series[Any]", column.copy())
    out.iloc[rows] = prefixed.to_numpy(zero_copy_only=False)
    return out


def _text_cells(column: pd.Series[Any]) -> Any:
    """A column's text cells as an Arrow string array (other cells null), or None."""
    import pyarrow as pa

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        column = column.astype(object)
    elif isinstance(dtype, pd.ArrowDtype):
        if not (pa.types.is_string(dtype.pyarrow_dtype)
                or pa.types.is_large_string(dtype.pyarrow_dtype)):
            return None
    elif not isinstance(dtype, pd.StringDtype) and not pd.api.types.is_object_dtype(dtype):
        return None
    try:
        cells = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # An object column mixing text with other values: keep the text only.
        is_text = np.fromiter((isinstance(v, str) for v in column), bool, len(column))
        cells = pa.array(column.where(is_text, None), type=pa.large_string(), from_pandas=True)
    if not (pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type)):
        return None
    return cells


def _line_end(frame: pd.DataFrame) -> str | None:
    """CRLF if a text cell holds a carriage return (CR), else None (the default).

    The CSV writer quotes a cell only for the characters of its line end: with LF
    alone, a bare CR would be written unquoted and end the row there (and text after
    it, such as ``=cmd|...``, would start a new row: a formula no prefix can defuse).
    """
    import pyarrow.compute as pc

    for i in range(frame.shape[1]):
        cells = _text_cells(frame.iloc[:, i])
        if cells is not None and pc.any(pc.match_substring(cells, "\r")).as_py():
            return "\r\n"
    return None


@contextlib.contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed onto it when the body succeeds."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


#: The formats `sink_lazy` streams to.
STREAM_FORMATS: Final = ("csv", "parquet")


def scan_lazy(path: str | os.PathLike[str], *, fmt: str | None = None) -> Any:
    """A polars LazyFrame over a CSV (every cell as text, as `read_table` reads) or Parquet.

    Raises:
        SpreadsheetError: Another format than CSV or Parquet, or no such file.
    """
    import inspect

    import polars as pl

    source = Path(path)
    kind = format_of(source, fmt, option="--input-format")
    if kind not in STREAM_FORMATS:
        raise SpreadsheetError(f"streaming reads CSV or Parquet, not {kind}: convert the "
                               "file, or leave out --stream")
    if not source.is_file():
        raise SpreadsheetError(f"cannot read {source}: no such file")
    if kind == "parquet":
        return pl.scan_parquet(source)
    # Text, as the eager reader keeps it: leading zeros and long IDs as written.
    text = ({"infer_schema": False} if "infer_schema" in inspect.signature(pl.scan_csv).parameters
            else {"infer_schema_length": 0})
    return pl.scan_csv(source, **text)


def sink_lazy(
    frame: Any, path: str | os.PathLike[str], *, fmt: str | None = None,
    neutralize_formulas: bool = True, prefix: str = C.DEFAULT_PREFIX,
) -> Path:
    """Stream a polars LazyFrame to CSV or Parquet, replacing ``path`` atomically.

    The `formula_like` rule of `defuse_formulas` holds, as polars expressions over the
    ``prefix*`` text columns (CSV only).

    Raises:
        SpreadsheetError: Another format than CSV or Parquet.
    """
    import polars as pl

    target = Path(path)
    kind = format_of(target, fmt, option="--output-format")
    if kind not in STREAM_FORMATS:
        raise SpreadsheetError(f"streaming writes CSV or Parquet, not {kind}: use a .csv or "
                               ".parquet output")
    if neutralize_formulas and kind == "csv":
        schema = frame.collect_schema()
        frame = frame.with_columns(
            pl.when(pl.col(name).str.contains(C.FORMULA_START_PATTERN)
                    & ~pl.col(name).str.contains(C.PHONE_LIKE_PATTERN))
            .then(pl.lit(C.FORMULA_ESCAPE) + pl.col(name))
            .otherwise(pl.col(name))
            .alias(name)
            for name, dtype in schema.items()
            if name.startswith(prefix) and dtype == pl.String
        )
    with _replacing(target) as temporary:
        if kind == "csv":
            frame.sink_csv(temporary)
        else:
            frame.sink_parquet(temporary)
    return target


def write_xlsx(frame: pd.DataFrame, path: Path, *, sheet_name: str = "enriched") -> None:
    """Write an XLSX sheet with xlsxwriter: a bold frozen header, a filter, sized columns.

    Text is always written as text (never as a formula, number or link); datetimes
    are naive UTC, shown ``yyyy-mm-dd`` when every value of the column is a date
    (midnight), else ``yyyy-mm-dd hh:mm:ss``. Rows are streamed (constant memory).

    Raises:
        SpreadsheetError: More rows or columns than a sheet holds.
    """
    import xlsxwriter

    rows, columns = frame.shape
    if rows + 1 > 1_048_576 or columns > 16_384:
        raise SpreadsheetError(
            f"{rows:,} rows x {columns:,} columns do not fit an Excel sheet "
            "(1,048,576 x 16,384); write CSV or Parquet instead"
        )
    book = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False, "nan_inf_to_errors": True,
    })
    try:
        sheet = book.add_worksheet(_sheet_title(sheet_name))
        bold = book.add_format({"bold": True})
        formats = {"date": book.add_format({"num_format": "yyyy-mm-dd"}),
                   "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})}
        headers = [_excel_text(str(name)) for name in frame.columns]
        values = [_excel_values(frame.iloc[:, i]) for i in range(columns)]
        kinds = [_date_kind(column) for column in values]
        styles = [None if kind is None else formats[kind] for kind in kinds]
        for i, (header, column) in enumerate(zip(headers, values, strict=True)):
            # xlsxwriter stores a width's cell padding (about 0.7) on top of it.
            width = min(MAX_COLUMN_WIDTH - 1, _display_width(header, column[:_WIDTH_SAMPLE]) + 1)
            sheet.set_column(i, i, width, styles[i])
        sheet.freeze_panes(1, 0)
        if columns:
            sheet.autofilter(0, 0, rows, columns - 1)
        for i, header in enumerate(headers):
            sheet.write_string(0, i, header, bold)
        writers = [_cell_writer(sheet, column, styles[i]) for i, column in enumerate(values)]
        for r in range(rows):
            for i, column in enumerate(values):
                value = column[r]
                if value is not None:
                    writers[i](r + 1, i, value)
    finally:
        book.close()


def _cell_writer(sheet: Any, column: list[Any], style: Any) -> Any:
    """The fastest xlsxwriter call for a column's cells (text cells cleaned first)."""
    kinds = {type(value) for value in column if value is not None}
    if kinds <= {str}:
        for r, value in enumerate(column):
            if value is not None and (len(value) > _EXCEL_CELL_CHARS or
                                      _ILLEGAL_XML.search(value)):
                column[r] = _excel_text(value)
        # Cells are clean text: xlsxwriter's own writer, without its argument parsing.
        return sheet._write_string
    if all(issubclass(kind, datetime) for kind in kinds):
        return lambda row, col, value: sheet.write_datetime(row, col, value, style)

    def mixed(row: int, col: int, value: Any) -> Any:
        if isinstance(value, str):
            return sheet.write_string(row, col, _excel_text(value))
        if isinstance(value, datetime):
            return sheet.write_datetime(row, col, value, style)
        return sheet.write(row, col, value)

    return mixed


def _sheet_title(name: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/ nor a backslash."""
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "Sheet1"


def _date_kind(values: Sequence[Any]) -> str | None:
    """``"date"`` when every datetime is at midnight, ``"datetime"`` if any is not."""
    seen = False
    for value in values:
        if isinstance(value, datetime):
            seen = True
            if value.hour or value.minute or value.second or value.microsecond:
                return "datetime"
    return "date" if seen else None


def naive_utc(column: pd.Series[Any]) -> pd.Series[Any]:
    """A timezone-aware datetime column as naive UTC; any other column unchanged.

    Examples:
        >>> s = pd.Series(pd.to_datetime(["2024-01-01 10:00"]).tz_localize("Europe/Paris"))
        >>> str(naive_utc(s)[0])
        '2024-01-01 09:00:00'
    """
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return cast("pd.Series[Any]", column.dt.tz_convert("UTC").dt.tz_localize(None))
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        if pa.types.is_timestamp(arrow) and arrow.tz is not None:
            return cast("pd.Series[Any]", column.dt.tz_convert("UTC").dt.tz_localize(None))
    return column


def _excel_values(column: pd.Series[Any]) -> list[Any]:
    """A column's cells as Python values for the XLSX writer, missing cells as None."""
    column = naive_utc(column)
    present = np.asarray(column.notna(), dtype=bool)
    cells = column.astype(object).tolist()
    return [
        (value if value.__class__ is str else _excel_scalar(value)) if keep else None
        for value, keep in zip(cells, present.tolist(), strict=True)
    ]


def _excel_scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _excel_text(value: str) -> str:
    """Text without the control characters XML cannot hold, cut to Excel's cell limit."""
    return _ILLEGAL_XML.sub("", value)[:_EXCEL_CELL_CHARS]


def _display_width(header: str, values: Sequence[Any]) -> int:
    longest = len(header)
    for value in values:
        if value is not None:
            longest = max(longest, 19 if isinstance(value, datetime) else len(str(value)))
    return max(longest, 6)


# -- public helpers ----------------------------------------------------------------------


def read_spreadsheet(
    path: str | os.PathLike[str], *, sheet: str | None = None, format: str | None = None,
    header_row: int | None = None,
) -> pd.DataFrame:
    r"""Read a lead list as the command line does: every cell as text, blank rows dropped.

    Args:
        path: A ``.csv``, ``.tsv``, ``.xlsx`` or ``.parquet`` file.
        sheet: XLSX only: the sheet (the first one by default).
        format: Override the format the extension implies.
        header_row: The row holding the column names (1 = the first). By default the
            first row, or the one under leading blank or title rows, with a
            `SalesQLWarning` saying which row was chosen.

    Returns:
        A pandas DataFrame (``pl.from_pandas`` it for polars).

    Examples:
        >>> import pathlib, tempfile, pandas as pd, salesql_frames
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "leads.csv"
        >>> _ = path.write_text("Name,Zip\nAda,02139\n,\n")
        >>> salesql_frames.read_spreadsheet(path).to_dict("records")
        [{'Name': 'Ada', 'Zip': '02139'}]
    """
    table = read_table(path, fmt=format, sheet=sheet, header_row=header_row)
    if table.header_note:
        import warnings

        from ._exceptions import SalesQLWarning

        warnings.warn(f"{table.path.name}: {table.header_note}", SalesQLWarning, stacklevel=2)
    return table.frame


def write_spreadsheet(
    frame: Any, path: str | os.PathLike[str], *, format: str | None = None,
    sheet_name: str = "enriched", neutralize_formulas: bool = True,
    prefix: str = C.DEFAULT_PREFIX, preset: str = "generic", bom: bool = False,
) -> Path:
    """Write an enriched frame (pandas or polars) where Excel and others can open it.

    XLSX output gets readable column widths, a frozen header, and timezone-aware
    datetimes as naive UTC (``DataFrame.to_excel`` refuses those); the file is replaced
    atomically. In CSV and TSV output, text in the result columns that a spreadsheet
    program would run as a formula (``=HYPERLINK(...)``, ``@SUM(...)``, ``-1+2``) is
    prefixed with ``'``; phone numbers such as ``+1 415-555-0100`` and your own columns
    are written as they are. XLSX never turns text into a formula.

    Args:
        frame: A pandas or polars DataFrame (the index is not written).
        path: A ``.csv``, ``.tsv``, ``.xlsx`` or ``.parquet`` file.
        format: Override the format the extension implies.
        sheet_name: XLSX only: the sheet's name.
        neutralize_formulas: CSV/TSV only: False writes formula-like text raw.
        prefix: The result columns' prefix, as given to ``enrich_*``: only columns
            whose name starts with it are neutralized (``""``: every column).
        preset: ``"generic"`` (the library's layout), ``"hubspot"`` or ``"salesforce"``:
            the result columns under the names that CRM's import maps on its own, your
            own columns kept (see `salesql_frames._presets.apply_preset`).
        bom: CSV/TSV only: write a UTF-8 byte-order mark first, for Excel on Windows.

    Returns:
        The path written.

    Examples:
        >>> import pathlib, tempfile, pandas as pd, salesql_frames
        >>> when = pd.Series(pd.to_datetime(["2026-01-02"], utc=True))
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "enriched.xlsx"
        >>> salesql_frames.write_spreadsheet(pd.DataFrame({"When": when}), path).name
        'enriched.xlsx'
        >>> frame = pd.DataFrame({"Note": ["=1+1"], "salesql_title": ["=1+1"]})
        >>> print(salesql_frames.write_spreadsheet(frame, path.with_suffix(".csv")).read_text())
        Note,salesql_title
        =1+1,'=1+1
        <BLANKLINE>
    """
    if not isinstance(frame, pd.DataFrame):
        to_pandas = getattr(frame, "to_pandas", None)
        if to_pandas is None:
            raise SpreadsheetError(f"expected a pandas or polars DataFrame, got {type(frame)}")
        frame = to_pandas()
    return write_table(frame, path, fmt=format, sheet_name=sheet_name,
                       neutralize_formulas=neutralize_formulas, prefix=prefix, preset=preset,
                       bom=bom)
