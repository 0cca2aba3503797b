"""Benchmark: planning (canonicalize + dedupe) a 1,000,000-row lead list, pandas and polars.

The list has LinkedIn URLs in cosmetic variants (one distinct person per 8 rows, so about
a quarter of the rows are distinct queries, as in the CRM export issue 11 measured),
names and company domains, and some blank cells, so both the LinkedIn group and the
name + domain group are planned. Baseline, measured in the same run: the per-row
Python loop a user writes (canonicalize each cell, build the query, a dict for the
dedupe), on the same pandas frame.

    python tests/benchmarks/bench_plan.py [--rows 1000000]

Target (issue 11): ``plan_persons`` <= 1.5 s on a 2-core machine, on pandas and polars
input; the printed ratio is baseline / library.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import pandas as pd
import polars as pl

import salesql_frames
from salesql_frames._canonical import canonical_domain, canonical_linkedin_url, canonical_name

TARGET_SECONDS = 1.5
COSMETICS = (
    "https://www.linkedin.com/in/{}/",
    "linkedin.com/in/{}",
    "https://uk.linkedin.com/in/{}?trk=public_profile",
    "https://linkedin.com/in/{}",
)


def leads(rows: int, seed: int = 0) -> pd.DataFrame:
    """A lead list: half the rows by LinkedIn URL, half by name + company website."""
    rnd = random.Random(seed)
    unique = rows // 8
    urls: list[str | None] = []
    names: list[str | None] = []
    sites: list[str | None] = []
    for i in range(rows):
        person = i if i < unique else rnd.randrange(unique)
        if i % 2:
            urls.append(rnd.choice(COSMETICS).format(f"plan-lead-{person}"))
        else:
            urls.append(None if i % 7 else "")
        names.append(None if i % 97 == 0 else f"Person {person}")
        sites.append(f"https://www.company{person % 5000}.com/about" if i % 3 else
                     f"company{person % 5000}.com")
    return pd.DataFrame({"LinkedIn": urls, "Full Name": names, "Website": sites})


def naive(frame: pd.DataFrame) -> int:
    """The per-row loop: canonicalize each cell, pick the group, dedupe in a dict."""
    seen: dict[tuple[str, ...], int] = {}
    cells = zip(frame["LinkedIn"], frame["Full Name"], frame["Website"], strict=True)
    for url, name, site in cells:
        li = canonical_linkedin_url(url)
        if li:
            key: tuple[str, ...] = ("li", li)
        else:
            full, domain = canonical_name(name), canonical_domain(site)
            if not (full and domain):
                continue
            key = ("name", full.casefold(), domain)
        seen.setdefault(key, len(seen))
    return len(seen)


def best_of(runs: int, action: object) -> tuple[float, object]:
    """The fastest of ``runs`` calls of ``action`` and its last result."""
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()  # type: ignore[operator]
        timings.append(time.perf_counter() - started)
    return min(timings), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    frame = leads(args.rows)
    polars_frame = pl.from_pandas(frame)
    assert salesql_frames  # registers the accessors
    columns = {"linkedin_url": "LinkedIn", "full_name": "Full Name",
               "organization_domain": "Website"}
    pandas_seconds, plan = best_of(3, lambda: frame.salesql.plan_persons(**columns))
    polars_seconds, polars_plan = best_of(3, lambda: polars_frame.salesql.plan_persons(**columns))
    naive_seconds, naive_unique = best_of(1, lambda: naive(frame))
    unique = plan.unique_queries  # type: ignore[attr-defined]
    agree = unique == polars_plan.unique_queries == naive_unique  # type: ignore[attr-defined]
    print(f"rows {args.rows:,}: {unique:,} unique queries "
          f"(polars {polars_plan.unique_queries:,}, baseline {naive_unique:,})")  # type: ignore[attr-defined]
    for label, seconds in (("pandas", pandas_seconds), ("polars", polars_seconds)):
        print(f"plan_persons, {label} input: {seconds:6.2f} s   target <= {TARGET_SECONDS} s   "
              f"baseline / library = {naive_seconds / seconds:.1f}x")
    print(f"naive per-row loop:          {naive_seconds:6.2f} s")
    ok = agree and max(pandas_seconds, polars_seconds) <= TARGET_SECONDS
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
