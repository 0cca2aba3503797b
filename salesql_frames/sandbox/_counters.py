"""What the sandbox saw and did: live, thread-safe counters for tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["Counters"]


class Counters:
    """Live counters of one sandbox, updated by its request threads.

    Read the attributes at any time; use `snapshot` for a consistent copy.

    Attributes:
        requests: Requests that reached a known endpoint, by endpoint name
            (``"allowance"``, ``"person"``, ``"persons_bulk"``, ``"organization"``,
            ``"organizations_bulk"``), including 401, 429 and faulted ones.
        queries: Executed queries by server-side identity (``"li:<slug>"``, ...).
        searches: Executed queries in total (what the rate limit counts).
        credits_charged: Credits taken from the allowance.
        rate_limited: 429 answers served, per-window and daily ones (and scripted ones).
        daily_capped: 429 answers served for the daily cap (a subset of ``rate_limited``).
        unauthorized: 401 answers served for a missing, wrong or query-string key.
        max_concurrent: Peak number of requests in flight at once.
        in_flight: Requests in flight now.
        faults_served: Faults injected, by fault name.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.queries: Counter[str] = Counter()
        self.searches = 0
        self.credits_charged = 0
        self.rate_limited = 0
        self.daily_capped = 0
        self.unauthorized = 0
        self.max_concurrent = 0
        self.in_flight = 0
        self.faults_served: Counter[str] = Counter()

    def reset(self) -> None:
        """Zero every counter (requests in flight stay counted as in flight)."""
        with self._lock:
            self.requests.clear()
            self.queries.clear()
            self.searches = 0
            self.credits_charged = 0
            self.rate_limited = 0
            self.daily_capped = 0
            self.unauthorized = 0
            self.max_concurrent = self.in_flight
            self.faults_served.clear()

    def snapshot(self) -> dict[str, Any]:
        """Return a consistent copy of every counter as a plain dict."""
        with self._lock:
            return {
                "requests": dict(self.requests),
                "queries": dict(self.queries),
                "searches": self.searches,
                "credits_charged": self.credits_charged,
                "rate_limited": self.rate_limited,
                "daily_capped": self.daily_capped,
                "unauthorized": self.unauthorized,
                "max_concurrent": self.max_concurrent,
                "in_flight": self.in_flight,
                "faults_served": dict(self.faults_served),
            }

    def __repr__(self) -> str:
        return f"Counters({self.snapshot()!r})"

    # -- updates, called by the server ----------------------------------------------------

    def enter(self, endpoint: str | None) -> None:
        """Count a request entering the handler (``endpoint`` None: unknown path)."""
        with self._lock:
            if endpoint is not None:
                self.requests[endpoint] += 1
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)

    def leave(self) -> None:
        """Count a request leaving the handler."""
        with self._lock:
            self.in_flight -= 1

    def executed(self, identities: list[str]) -> None:
        """Count queries executed, by identity."""
        with self._lock:
            self.queries.update(identities)
            self.searches += len(identities)

    def charged(self, credits: int) -> None:
        """Count credits taken."""
        with self._lock:
            self.credits_charged += credits

    def limited(self, *, daily: bool) -> None:
        """Count a 429 answer."""
        with self._lock:
            self.rate_limited += 1
            if daily:
                self.daily_capped += 1

    def refused(self) -> None:
        """Count a 401 answer."""
        with self._lock:
            self.unauthorized += 1

    def fault(self, name: str) -> None:
        """Count an injected fault."""
        with self._lock:
            self.faults_served[name] += 1
