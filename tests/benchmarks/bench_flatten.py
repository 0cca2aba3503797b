"""Benchmark the flatten step against the pandas code a user would write by hand.

Run from the repository root::

    python tests/benchmarks/bench_flatten.py [--n 100000] [--shape both] [--repeat 3]
        [--json-roundtrip] [--min-ratio 5]

For each record shape ("documented" as in the API reference, "lean" as real bulk
answers look) it generates ``n`` synthetic FOUND person records with
``salesql_frames.sandbox.synthetic_person_records`` and times, best of ``repeat``:

* wide, library:  ``person_columns`` -> ``Table.to_pandas`` with nullable dtypes;
* wide, baseline: ``pandas.json_normalize`` for the scalars, plus numbered
  ``email_1..3``/``phone_1..3``/``work_1..3`` columns built with
  ``Series.explode`` + ``json_normalize`` + ``groupby.cumcount`` + ``unstack``;
* long, library:  ``explode_persons(..., explode="emails")`` -> ``to_pandas``;
* long, baseline: ``json_normalize`` + ``DataFrame.explode("emails")`` +
  ``json_normalize`` of the exploded dicts.

Both baselines also compute what the library's tables hold besides the flattened
fields, the way a user would: the best picks (``work_email``, ``direct_email``,
``phone``) with a function per row (``Series.map``), and the counts with
``Series.str.len``. Those columns are compared too.

It then checks that library and baseline agree on a shared set of columns (values
cast to comparable Python values; for long also the parent positions), prints the
timings and the ratio baseline / library, and exits with status 1 if any value
differs (or, with ``--min-ratio``, if a ratio falls below it).

The file name starts with ``bench_`` so pytest does not collect it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from salesql_frames._flatten import explode_persons, person_columns
from salesql_frames._schema import PERSON_SCALAR_COLUMNS
from salesql_frames.sandbox import synthetic_person_records

P = "salesql_"
WIDTH = 3
SHAPES = ("documented", "lean")
LIST_KEYS = ("emails", "phones", "work_experience")

#: Nullable pandas dtypes for Arrow types, as a user (and the library's frame layer) maps them.
NULLABLE: dict[pa.DataType, Any] = {
    pa.string(): pd.StringDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}

#: json_normalize column -> output column: every person scalar read from one field
#: (the timestamp is converted separately; location, organization name, best picks and
#: counts are computed).
SCALARS = {
    ".".join(path): suffix
    for suffix, typ, path in PERSON_SCALAR_COLUMNS
    if path is not None and not pa.types.is_timestamp(typ)
}
#: list key -> (column stem, [(item field in json_normalize, column suffix)]).
LISTS = {
    "emails": ("email", [("email", ""), ("type", "_type"), ("status", "_status")]),
    "phones": (
        "phone",
        [
            ("phone", ""),
            ("type", "_type"),
            ("country_code", "_country_code"),
            ("is_valid", "_is_valid"),
        ],
    ),
    "work_experience": (
        "work",
        [
            ("title", "_title"),
            ("organization.name", "_organization_name"),
            ("organization.website_domain", "_organization_domain"),
            ("timestamp_start", "_start"),
            ("timestamp_end", "_end"),
            ("is_current", "_is_current"),
        ],
    ),
}
TIMESTAMP_SUFFIXES = ("_start", "_end")
COUNTS = {
    "emails": "email_count",
    "phones": "phone_count",
    "work_experience": "work_experience_count",
}


# ---------------------------------------------------------------------------
# (a) the library
# ---------------------------------------------------------------------------


def library_wide(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return person_columns(records).to_pandas(types_mapper=NULLABLE.get)


def library_long(records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, pd.DataFrame]:
    parents, table = explode_persons(records, explode="emails")
    return parents.to_numpy(), table.to_pandas(types_mapper=NULLABLE.get)


# ---------------------------------------------------------------------------
# (b) what a user writes with pandas
# ---------------------------------------------------------------------------


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def _ms_to_datetime(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, unit="ms", utc=True)


def _best_email(items: Any, wanted: str) -> str | None:
    """First email of that type with status Valid, else the first of that type."""
    if not isinstance(items, list):
        return None
    of_type = [e for e in items if isinstance(e, dict) and e.get("email")
               and str(e.get("type") or "").strip().lower() == wanted]
    valid = [e for e in of_type if str(e.get("status") or "").strip().lower() == "valid"]
    chosen = (valid or of_type or [None])[0]
    return None if chosen is None else str(chosen["email"])


def _best_phone(items: Any) -> str | None:
    """First phone marked valid, else the first phone."""
    if not isinstance(items, list):
        return None
    phones = [p for p in items if isinstance(p, dict) and p.get("phone")]
    valid = [p for p in phones if p.get("is_valid") is True]
    chosen = (valid or phones or [None])[0]
    return None if chosen is None else str(chosen["phone"])


def _location_text(parts: tuple[Any, ...]) -> str | None:
    return ", ".join(p.strip() for p in parts if isinstance(p, str) and p.strip()) or None


def baseline_picks_and_counts(flat: pd.DataFrame) -> dict[str, pd.Series]:
    """The computed columns, as a user writes them: a function per row."""
    emails, phones = _column(flat, "emails"), _column(flat, "phones")
    location = [_column(flat, f"location.{key}") for key in ("city", "state", "country")]
    parts = zip(*location, strict=True)
    columns = {
        P + "location": pd.Series([_location_text(p) for p in parts], index=flat.index),
        P + "work_email": emails.map(lambda items: _best_email(items, "work")),
        P + "direct_email": emails.map(lambda items: _best_email(items, "direct")),
        P + "phone": phones.map(_best_phone),
    }
    for key, name in COUNTS.items():
        columns[P + name] = _column(flat, key).str.len().fillna(0).astype(int)
    return columns


def baseline_wide(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    flat = pd.json_normalize(records)
    out = pd.DataFrame(index=flat.index)
    for source, target in SCALARS.items():
        out[P + target] = _column(flat, source)
    # the nested organization's name wins over the lean shape's flat one
    out[P + "organization_name"] = _column(flat, "organization.name").combine_first(
        _column(flat, "organization_name")
    )
    out[P + "timestamp_work_experience_start"] = _ms_to_datetime(
        _column(flat, "timestamp_work_experience_start")
    )
    for name, values in baseline_picks_and_counts(flat).items():
        out[name] = values
    for key, (stem, fields) in LISTS.items():
        lists = _column(flat, key)
        exploded = lists.explode().dropna()
        items = pd.json_normalize(exploded.tolist())
        items.index = exploded.index
        rank = items.groupby(level=0).cumcount() + 1
        keep = rank <= WIDTH
        items = items[keep].set_index(rank[keep].rename("i"), append=True)
        numbered = items.unstack("i")
        for i in range(1, WIDTH + 1):
            for field, suffix in fields:
                name = f"{P}{stem}_{i}{suffix}"
                if (field, i) in numbered.columns:
                    values = numbered[(field, i)].reindex(out.index)
                else:
                    values = pd.Series(None, index=out.index, dtype=object)
                if suffix in TIMESTAMP_SUFFIXES:
                    values = _ms_to_datetime(values)
                out[name] = values
    return out


def baseline_long(records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, pd.DataFrame]:
    frame = pd.json_normalize(records)
    frame["organization_name"] = _column(frame, "organization.name").combine_first(
        _column(frame, "organization_name")
    )
    picks = baseline_picks_and_counts(frame)
    for name, values in picks.items():
        frame[name] = values
    long = frame.explode("emails")
    parents = long.index.to_numpy()
    long = long.reset_index(drop=True)
    items = pd.json_normalize([e if isinstance(e, dict) else {} for e in long["emails"]])
    stem, fields = LISTS["emails"]
    out = pd.DataFrame({P + target: _column(long, source) for source, target in SCALARS.items()})
    out[P + "organization_name"] = long["organization_name"]
    for name in picks:
        out[name] = long[name]
    out[P + "timestamp_work_experience_start"] = _ms_to_datetime(
        _column(long, "timestamp_work_experience_start")
    )
    for field, suffix in fields:
        out[f"{P}{stem}{suffix}"] = _column(items, field)
    return parents, out


# ---------------------------------------------------------------------------
# comparison and timing
# ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Map a cell to a comparable Python value (None for every missing spelling)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return pd.Timestamp(value).tz_convert("UTC").value // 1_000_000
    return value


def compare(library: pd.DataFrame, baseline: pd.DataFrame, label: str) -> list[str]:
    """Return one message per compared column whose values differ."""
    problems = []
    missing = [c for c in baseline.columns if c not in library.columns]
    if missing:
        problems.append(f"{label}: library lacks columns {missing}")
    for name in baseline.columns:
        if name in missing:
            continue
        left = [_plain(v) for v in library[name].astype(object).tolist()]
        right = [_plain(v) for v in baseline[name].astype(object).tolist()]
        if len(left) != len(right):
            problems.append(f"{label}: {name}: {len(left)} rows vs {len(right)}")
            continue
        for row, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                problems.append(f"{label}: {name} row {row}: library {a!r} != baseline {b!r}")
                break
    return problems


def best_of(repeat: int, function: Callable[[], Any]) -> tuple[float, Any]:
    best = math.inf
    result: Any = None
    for _ in range(repeat):
        gc.collect()  # start each run from the same heap, whichever ran before
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def run_shape(
    shape: str, n: int, repeat: int, *, json_roundtrip: bool = False
) -> tuple[list[str], dict[str, float]]:
    start = time.perf_counter()
    records = synthetic_person_records(n, seed=0, shape=shape)  # type: ignore[arg-type]
    if json_roundtrip:  # as a client hands them over: freshly parsed from JSON
        records = json.loads(json.dumps(records))
    how = " (JSON round trip)" if json_roundtrip else ""
    print(f"\n[{shape}] {n:,} records generated{how} in {time.perf_counter() - start:.1f} s")
    emails = sum(len(r.get("emails") or ()) for r in records)
    print(f"[{shape}] {emails:,} emails in all")

    lib_wide_s, lib_wide = best_of(repeat, lambda: library_wide(records))
    base_wide_s, base_wide = best_of(repeat, lambda: baseline_wide(records))
    lib_long_s, (lib_parents, lib_long) = best_of(repeat, lambda: library_long(records))
    base_long_s, (base_parents, base_long) = best_of(repeat, lambda: baseline_long(records))

    problems = compare(lib_wide, base_wide, f"{shape} wide")
    problems += compare(lib_long, base_long, f"{shape} long")
    if not np.array_equal(lib_parents, base_parents):
        problems.append(f"{shape} long: parent positions differ")

    figures = {
        "wide_library": lib_wide_s,
        "wide_baseline": base_wide_s,
        "long_library": lib_long_s,
        "long_baseline": base_long_s,
    }
    print(f"[{shape}] wide: {lib_wide.shape[1]} columns; compared {base_wide.shape[1]}")
    print(f"[{shape}] long: {len(lib_long):,} rows; compared {base_long.shape[1]} columns")
    for kind in ("wide", "long"):
        lib, base = figures[f"{kind}_library"], figures[f"{kind}_baseline"]
        print(
            f"[{shape}] {kind:4s}  library {lib:7.3f} s   baseline {base:7.3f} s   "
            f"ratio {base / lib:5.1f}x"
        )
    return problems, figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=100_000, help="records per shape")
    parser.add_argument("--shape", choices=(*SHAPES, "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs; the best counts")
    parser.add_argument(
        "--min-ratio", type=float, default=None, help="also fail when a ratio is below this"
    )
    parser.add_argument(
        "--json-roundtrip",
        action="store_true",
        help="pass the records through json.dumps/json.loads first, as an API client would",
    )
    args = parser.parse_args(argv)

    print(
        f"python {platform.python_version()}, pandas {pd.__version__}, "
        f"pyarrow {pa.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"{dt.date.today().isoformat()}"
    )
    problems: list[str] = []
    ratios: list[float] = []
    for shape in SHAPES if args.shape == "both" else (args.shape,):
        found, figures = run_shape(shape, args.n, args.repeat, json_roundtrip=args.json_roundtrip)
        problems += found
        ratios += [
            figures[f"{kind}_baseline"] / figures[f"{kind}_library"] for kind in ("wide", "long")
        ]
    if problems:
        print("\nVALUES DIFFER:")
        for problem in problems:
            print("  " + problem)
        return 1
    print("\nvalues identical on every compared column")
    if args.min_ratio is not None and min(ratios) < args.min_ratio:
        print(f"slowest ratio {min(ratios):.1f}x is below --min-ratio {args.min_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
