"""Benchmark reading and writing XLSX against pandas+openpyxl, in the same run.

Run from the repository root::

    python tests/benchmarks/bench_xlsx.py [--rows 20000] [--columns 12] [--repeat 2]
        [--min-read 5] [--min-write 1.5]

It writes a ``rows`` x ``columns`` sheet of text cells (IDs with leading zeros,
13-digit IDs, names, URLs, ISO dates), then times, best of ``repeat``:

* read, library:  ``salesql_frames.read_spreadsheet`` (calamine, every cell as text);
* read, baseline: ``pandas.read_excel(engine="openpyxl", dtype=str)``;
* write, library:  ``salesql_frames.write_spreadsheet`` (xlsxwriter, constant memory,
  widths, frozen header, filter);
* write, baseline: openpyxl's write-only mode appending the same rows (what the
  library used before).

It checks that both readers return the same cells, prints the timings and the ratios
baseline / library, and exits 1 if the cells differ or a ratio is below its minimum.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import salesql_frames as sf


def sample(rows: int, columns: int) -> pd.DataFrame:
    kinds = [
        lambda i: f"{i:06d}",
        lambda i: f"{1_000_000_000_000 + i}",
        lambda i: f"Person {i}",
        lambda i: f"https://www.linkedin.com/in/lead-{i}/",
        lambda i: f"20{i % 25:02d}-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
        lambda i: f"Company {i % 997} GmbH",
    ]
    return pd.DataFrame({f"col{c}": [kinds[c % len(kinds)](i) for i in range(rows)]
                         for c in range(columns)})


def best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def openpyxl_write(frame: pd.DataFrame, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("enriched")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    book.save(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--columns", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--min-read", type=float, default=5.0)
    parser.add_argument("--min-write", type=float, default=1.5)
    args = parser.parse_args()
    frame = sample(args.rows, args.columns)
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = Path(folder) / "ours.xlsx", Path(folder) / "theirs.xlsx"
        write_lib = best(args.repeat, lambda: sf.write_spreadsheet(frame, ours))
        write_base = best(args.repeat, lambda: openpyxl_write(frame, theirs))
        read_lib = best(args.repeat, lambda: sf.read_spreadsheet(ours))
        read_base = best(args.repeat, lambda: pd.read_excel(
            ours, engine="openpyxl", dtype=str, keep_default_na=False, na_values=[""]))
        same = sf.read_spreadsheet(ours).equals(pd.read_excel(
            ours, engine="openpyxl", dtype=str, keep_default_na=False, na_values=[""]))
    read_ratio, write_ratio = read_base / read_lib, write_base / write_lib
    print(f"{args.rows:,} rows x {args.columns} columns, best of {args.repeat}")
    print(f"read   library (calamine) {read_lib:6.2f} s   pandas+openpyxl {read_base:6.2f} s"
          f"   ratio {read_ratio:4.1f}x (target >= {args.min_read})")
    print(f"write  library (xlsxwriter) {write_lib:4.2f} s   openpyxl write-only "
          f"{write_base:4.2f} s   ratio {write_ratio:4.1f}x (target >= {args.min_write})")
    print(f"cells identical: {same}")
    return 0 if same and read_ratio >= args.min_read and write_ratio >= args.min_write else 1


if __name__ == "__main__":
    sys.exit(main())
