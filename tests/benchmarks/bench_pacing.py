"""Benchmark: how close pacing gets to the quota, with a known limit and adaptively.

The sandbox enforces a compressed quota (300 searches per 3 s sliding window) and 3,000
unique people are enriched twice in one run: once with the limit given
(``rate_limit=(300, 3)``) and once with no limit (adaptive: learned from 429s and
``Retry-After``). Ideal time = searches / quota; the figure reported is ideal / elapsed
(the share of the quota used), with the 429s the sandbox served.

    python tests/benchmarks/bench_pacing.py [--people 3000] [--searches 300] [--window 3]

Targets: known limit >= 0.95 of the quota with zero 429s; adaptive >= 0.85 with 429s
under 2% of requests.
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


@dataclass
class Result:
    name: str
    elapsed: float
    ideal: float
    requests: int
    rate_limited: int
    searches: int

    @property
    def share_of_quota(self) -> float:
        return self.ideal / self.elapsed

    @property
    def rate_limited_share(self) -> float:
        return self.rate_limited / max(1, self.requests)

    def line(self) -> str:
        return (
            f"{self.name:<10} elapsed {self.elapsed:6.2f} s  ideal {self.ideal:6.2f} s  "
            f"share of quota {self.share_of_quota:5.2f}  requests {self.requests:4d}  "
            f"429s {self.rate_limited:3d} ({self.rate_limited_share:5.1%})  "
            f"searches {self.searches}"
        )


def run(name: str, people: int, window: tuple[int, float], client_limit: object) -> Result:
    frame = pd.DataFrame(
        {"linkedin_url": [f"https://linkedin.com/in/{name}-pace-{i}" for i in range(people)]}
    )
    with sandbox.serve(rate_limit=window) as sb:
        with Client(sb.api_key, base_url=sb.base_url, rate_limit=client_limit,  # type: ignore[arg-type]
                    max_retries=5) as client:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame.salesql.enrich_persons(client=client, cache=False, progress=False)
            elapsed = time.perf_counter() - started
        searches, seconds = window
        return Result(
            name=name,
            elapsed=elapsed,
            ideal=people / searches * seconds,
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
    window = (args.searches, args.window)
    print(f"quota {args.searches} searches / {args.window:g} s, {args.people} unique people")
    known = run("known", args.people, window, window)
    print(known.line())
    adaptive = run("adaptive", args.people, window, None)
    print(adaptive.line())
    ok_known = known.share_of_quota >= 0.95 and known.rate_limited == 0
    ok_adaptive = adaptive.share_of_quota >= 0.85 and adaptive.rate_limited_share < 0.02
    complete = known.searches == adaptive.searches == args.people
    print(f"known:    {'PASS' if ok_known else 'FAIL'} (>= 0.95 of quota, zero 429s)")
    print(f"adaptive: {'PASS' if ok_adaptive else 'FAIL'} (>= 0.85 of quota, 429s < 2%)")
    print(f"every person searched exactly once per run: {complete}")
    return 0 if ok_known and ok_adaptive and complete else 1


if __name__ == "__main__":
    sys.exit(main())
