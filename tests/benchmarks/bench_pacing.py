"""Benchmark: how close pacing gets to the quota, known and adaptive, on both window kinds.

The sandbox enforces a compressed quota (300 searches per 3 s), once as a sliding window
and once as a fixed one (reset at each boundary, ``Retry-After`` = seconds to the next),
and 3,000 unique people are enriched against each twice: with the limit given
(``rate_limit=(300, 3)``) and with no limit (adaptive: learned from 429s). The baseline,
measured in the same run, is what the server would accept in the time each run took,
quota x elapsed windows; the figure is searches / baseline, the share of the quota used
(above 1 when the first window's searches go at once), with the 429s the sandbox served.

    python tests/benchmarks/bench_pacing.py [--people 3000] [--searches 300] [--window 3]

Targets: known limit >= 0.95 of the quota with zero 429s; adaptive >= 0.85.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass

import pandas as pd

import salesql_frames  # noqa: F401  (registers df.salesql)
from salesql_frames import Client, sandbox
from salesql_frames._client import RateLimit
from salesql_frames.sandbox._limits import RATE_WINDOWS, RateWindow


@dataclass
class Result:
    kind: RateWindow
    mode: str
    elapsed: float
    quota: tuple[int, float]
    requests: int
    rate_limited: int
    searches: int

    @property
    def baseline(self) -> float:
        """Searches the server would accept in the elapsed time: quota x windows."""
        searches, seconds = self.quota
        return searches * self.elapsed / seconds

    @property
    def share_of_quota(self) -> float:
        return self.searches / self.baseline

    @property
    def rate_limited_share(self) -> float:
        return self.rate_limited / max(1, self.requests)

    def target(self) -> bool:
        if self.mode == "known":
            return self.share_of_quota >= 0.95 and self.rate_limited == 0
        return self.share_of_quota >= 0.85

    def line(self) -> str:
        return (
            f"{self.kind:<8} {self.mode:<9} elapsed {self.elapsed:6.2f} s  "
            f"baseline {self.baseline:6.0f}  share of quota {self.share_of_quota:5.2f}  "
            f"requests {self.requests:3d}  429s {self.rate_limited:2d} "
            f"({self.rate_limited_share:5.1%})  searches {self.searches}  "
            f"{'PASS' if self.target() else 'FAIL'}"
        )


def run(kind: RateWindow, mode: str, people: int, quota: tuple[int, float]) -> Result:
    frame = pd.DataFrame(
        {"linkedin_url": [f"https://linkedin.com/in/{kind}-{mode}-{i}" for i in range(people)]}
    )
    limit: RateLimit | None = quota if mode == "known" else None
    with sandbox.serve(rate_limit=quota, rate_window=kind) as sb:
        with Client(sb.api_key, base_url=sb.base_url, rate_limit=limit, max_retries=5) as client:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame.salesql.enrich_persons(client=client, cache=False, progress=False)
            elapsed = time.perf_counter() - started
        return Result(
            kind=kind,
            mode=mode,
            elapsed=elapsed,
            quota=quota,
            requests=sb.counters.requests["persons_bulk"],
            rate_limited=sb.counters.rate_limited,
            searches=sb.counters.searches,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--window", type=float, default=3.0)
    args = parser.parse_args()
    quota = (args.searches, args.window)
    ideal = args.people / args.searches * args.window
    print(f"quota {args.searches} searches / {args.window:g} s, {args.people} unique people "
          f"(ideal {ideal:.1f} s a run)")
    results = []
    for kind in RATE_WINDOWS:
        for mode in ("known", "adaptive"):
            results.append(run(kind, mode, args.people, quota))
            print(results[-1].line(), flush=True)
    complete = all(result.searches == args.people for result in results)
    print("targets: known >= 0.95 of the quota with zero 429s; adaptive >= 0.85")
    print(f"every person searched exactly once per run: {complete}")
    return 0 if complete and all(result.target() for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
