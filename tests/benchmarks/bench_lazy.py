"""Benchmark: a LazyFrame enrichment of a large CSV, answered from the store, sunk to Parquet.

A CSV of ``--rows`` rows naming ``--unique`` people (LinkedIn URLs in cosmetic
spellings) is written, the store is filled with those people from a local sandbox, and
then, in a child process measured for peak RSS,

    pl.scan_csv(csv).salesql.enrich_persons(cache=store).sink_parquet(out)

runs with nothing to send. The baseline, in the same run, is the same scan sunk to
Parquet without enrichment.

    python tests/benchmarks/bench_lazy.py [--rows 10000000] [--unique 1000000]

Target (issue 11): peak RSS <= 1.5 GB at 10M rows and 1M unique people.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

import salesql_frames  # registers lf.salesql
from salesql_frames import sandbox

TARGET_BYTES = 1.5e9


def write_csv(path: Path, rows: int, unique: int) -> None:
    """``rows`` rows over ``unique`` people, in three spellings of their LinkedIn URL."""
    frame = pl.select(i=pl.int_range(rows, dtype=pl.Int64)).with_columns(
        who=(pl.col("i") * 7919) % unique, spelling=pl.col("i") % 3)
    url = pl.concat_str([pl.lit("lead-"), pl.col("who").cast(pl.String)])
    frame.select(
        **{"Person Linkedin Url": pl.when(pl.col("spelling") == 0)
           .then(pl.concat_str([pl.lit("https://www.linkedin.com/in/"), url, pl.lit("/")]))
           .when(pl.col("spelling") == 1)
           .then(pl.concat_str([pl.lit("linkedin.com/in/"), url]))
           .otherwise(pl.concat_str([pl.lit("https://LinkedIn.com/in/"), url.str.to_uppercase()])),
           "Note": pl.concat_str([pl.lit("row "), pl.col("i").cast(pl.String)])},
    ).write_csv(path)


def child(csv: Path, store: Path, out: Path, enrich: bool) -> None:
    started = time.perf_counter()
    lf = pl.scan_csv(csv)
    if enrich:
        lf = lf.salesql.enrich_persons(cache=store, progress=False)
    lf.sink_parquet(out)
    print(f"{time.perf_counter() - started:.1f}")


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in bytes) of a child run of this script (GNU time if present)."""
    command = [sys.executable, __file__, *args]
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        command = [str(gnu_time), "-f", "maxrss_kb=%M", *command]
    result = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    seconds = float(result.stdout.strip().splitlines()[-1])
    marks = [line for line in result.stderr.splitlines() if line.startswith("maxrss_kb=")]
    if marks:
        return seconds, int(marks[-1].split("=")[1]) * 1024
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--unique", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=4, metavar=("CSV", "STORE", "OUT", "ENRICH"))
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the CSV and the store in DIR, and reuse them if there")
    parser.add_argument("--port", type=int, default=18765,
                        help="the sandbox's port with --keep (the store's answers name it)")
    args = parser.parse_args()
    if args.child:
        csv, store, out, enrich = args.child
        child(Path(csv), Path(store), Path(out), enrich == "1")
        return
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        name = f"{args.rows}-{args.unique}"
        csv, store = where / f"leads-{name}.csv", where / f"store-{name}.sqlite"
        out = Path(tmp, "out.parquet")
        started = time.perf_counter()
        if not csv.exists():
            write_csv(csv, args.rows, args.unique)
        print(f"wrote {args.rows:,} rows ({csv.stat().st_size / 1e6:,.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s")
        # A kept store files its answers under the key and the URL: the same port each time.
        port = args.port if args.keep else 0
        with sandbox.serve(credits=10 * args.unique + 10, port=port) as sb:
            env = {**os.environ, "SALESQL_API_KEY": sb.api_key, "SALESQL_BASE_URL": sb.base_url}
            started = time.perf_counter()
            # A client from the key and URL, as the child's: the store files answers
            # under (key, server), and ``sb.client()`` names the server by the sandbox's
            # identity instead.
            if not store.exists():
                with salesql_frames.Client(sb.api_key, base_url=sb.base_url) as client:
                    people = pl.scan_csv(csv).select("Person Linkedin Url").unique()
                    people.salesql.enrich_persons(client=client, cache=store,
                                                  progress=False).collect()
            print(f"filled the store with {sb.counters.searches:,} people "
                  f"in {time.perf_counter() - started:.1f} s")
            searches = sb.counters.searches
            base_seconds, base_rss = measured(["--child", str(csv), str(store), str(out), "0"],
                                              env)
            seconds, rss = measured(["--child", str(csv), str(store), str(out), "1"], env)
            assert sb.counters.searches == searches, "the re-run sent queries"
        print(f"scan_csv -> sink_parquet:                 {base_seconds:6.1f} s, "
              f"peak RSS {base_rss / 1e9:.2f} GB")
        print(f"scan_csv -> enrich_persons -> sink_parquet: {seconds:6.1f} s, "
              f"peak RSS {rss / 1e9:.2f} GB ({rss / base_rss:.1f}x the baseline; "
              f"target <= {TARGET_BYTES / 1e9:.1f} GB)")
        statuses = dict(pl.scan_parquet(out).group_by("salesql_status").len().collect().rows())
        print(f"output rows: {sum(statuses.values()):,} ({statuses})")
        assert sum(statuses.values()) == args.rows, "rows were lost"
        assert set(statuses) <= {"found", "not_found"}, "rows without their stored answer"


if __name__ == "__main__":
    main()
