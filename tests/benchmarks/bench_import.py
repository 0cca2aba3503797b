"""Benchmark ``import salesql_frames`` against ``import pandas, polars`` (its own floor).

Run from the repository root::

    python tests/benchmarks/bench_import.py [--runs 15] [--max-extra-ms 50]

Each run starts a fresh interpreter (``python -c``) that times one import statement with
``time.perf_counter`` and prints the seconds; the two statements alternate, so load on
the machine hits both alike. Prints the median of each, the difference and the ratio,
and the modules ``import salesql_frames`` adds beyond pandas, polars and pyarrow; exits
with status 1 when the median difference exceeds ``--max-extra-ms`` (the target is
pandas + polars + 50 ms: registering the accessors should cost little beyond them).

The file name starts with ``bench_`` so pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

BASELINE = "import pandas, polars"
LIBRARY = "import salesql_frames"


def time_import(statement: str) -> float:
    """Seconds one fresh interpreter takes to run ``statement``."""
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return float(out.split()[-1])


def added_modules() -> list[str]:
    """Top-level packages ``import salesql_frames`` loads beyond pandas, polars, pyarrow."""
    code = ("import sys, json\nimport pandas, polars, pyarrow\nbefore = set(sys.modules)\n"
            "import salesql_frames\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return list(json.loads(out.splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per statement")
    parser.add_argument("--max-extra-ms", type=float, default=50.0,
                        help="fail when the library's median exceeds the baseline's by more")
    args = parser.parse_args(argv)

    time_import(LIBRARY)  # warm the file-system cache and the .pyc files once
    baseline: list[float] = []
    library: list[float] = []
    for _ in range(args.runs):
        baseline.append(time_import(BASELINE))
        library.append(time_import(LIBRARY))
    base, lib = statistics.median(baseline), statistics.median(library)
    extra_ms = (lib - base) * 1000
    print(f"{BASELINE:<24} median {base * 1000:7.1f} ms  (min {min(baseline) * 1000:.1f})")
    print(f"{LIBRARY:<24} median {lib * 1000:7.1f} ms  (min {min(library) * 1000:.1f})")
    print(f"difference {extra_ms:+.1f} ms, ratio {lib / base:.2f} (runs: {args.runs} each)")
    print("added beyond pandas, polars, pyarrow:", ", ".join(added_modules()))
    if extra_ms > args.max_extra_ms:
        print(f"FAIL: more than {args.max_extra_ms:g} ms over the baseline", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
