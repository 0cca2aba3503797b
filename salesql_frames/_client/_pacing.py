"""Pacing to the search quota: one limiter per client, weighted by searches.

The API limits searches per window per account, and a bulk of n queries counts n. The
`Pacer` keeps a log of what was sent and lets a request go only when the searches sent
in the last window, plus this one, fit the allowance: the same rule a sliding-window
server applies, so a known limit is met with no 429 at all.

With no limit given the pacer adapts: it sends full batches until the first 429, then
takes the searches that were accepted in the window the server named (``Retry-After``)
as the allowance, cuts it multiplicatively on each further 429 and recovers it
additively on success, never above the best allowance seen.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import date, datetime, timedelta, timezone

from .. import _constants as C
from .._clock import SYSTEM_CLOCK, Clock
from .._exceptions import ConfigurationError, QuotaExhaustedError

__all__ = ["Pacer", "RateLimit"]

#: Searches per minute, or ``(searches, seconds)``.
RateLimit = float | tuple[float, float]


class Pacer:
    """Admits requests by weight (searches) so the account's quota is never exceeded.

    Thread-safe: every worker of a client shares one pacer.

    Args:
        rate_limit: Searches per minute, or a ``(searches, seconds)`` window. None adapts.
        daily_limit: Searches per UTC day this client may send; beyond it, requests
            fail with `QuotaExhaustedError` before anything is sent.
        clock: What to measure and wait with (tests pass a `FakeClock`).
    """

    def __init__(
        self,
        rate_limit: RateLimit | None = None,
        daily_limit: int | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._log: deque[tuple[float, int]] = deque()
        self.known = rate_limit is not None
        self.allowance, self.window = _parse_rate_limit(rate_limit)
        self._best = self.allowance
        if daily_limit is not None and daily_limit < 1:
            raise ConfigurationError(f"daily_limit must be a positive number, got {daily_limit}")
        self.daily_limit = daily_limit
        self._day = _utc_today()
        self._sent_today = 0
        self.rate_limited = 0
        self._lone_refusals = 0

    def __repr__(self) -> str:
        mode = "known" if self.known else "adaptive"
        allowance = "unlimited" if math.isinf(self.allowance) else f"{self.allowance:g}"
        return f"Pacer({mode}: {allowance} searches / {self.window:g} s)"

    def batch_size(self, largest: int = C.MAX_BULK_QUERIES) -> int:
        """Queries per bulk request under the current allowance.

        Batches shrink when the window allows fewer than 100 searches, and once a limit
        is known they take at most a sixth of the window, so searches are spread out.
        """
        if math.isinf(self.allowance):
            return largest
        spread = math.ceil(self.allowance * C.BATCH_SHARE_OF_WINDOW)
        return max(1, min(largest, spread, math.floor(self.allowance) or 1))

    def fits(self, weight: int) -> bool:
        """Whether ``weight`` searches can ever pass in one window."""
        return weight <= self.allowance

    def reserve(self, weight: int, path: str = "") -> float:
        """Record ``weight`` searches if they may be sent now and return 0, else the wait.

        The step every way of waiting shares: a caller sleeps the returned seconds (on
        its clock, or in its event loop) and asks again.

        Raises:
            QuotaExhaustedError: ``daily_limit`` would be exceeded (nothing is recorded).
        """
        if weight <= 0:
            return 0.0
        with self._lock:
            self._check_daily(weight, path)
            now = self._clock.monotonic()
            delay = self._delay(weight, now)
            if delay <= 0:
                self._log.append((now, weight))
                self._sent_today += weight
            return max(delay, 0.0)

    def acquire(self, weight: int, path: str = "") -> float:
        """Block until ``weight`` searches may be sent; record them. Return seconds waited."""
        waited = 0.0
        while (delay := self.reserve(weight, path)) > 0:
            self._clock.sleep(delay)
            waited += delay
        return waited

    def release(self, weight: int) -> None:
        """Take back the newest entry of ``weight``: the server refused it (429)."""
        with self._lock:
            for i in range(len(self._log) - 1, -1, -1):
                if self._log[i][1] == weight:
                    del self._log[i]
                    self._sent_today -= weight
                    return

    def on_rate_limited(self, weight: int, retry_after: float | None) -> None:
        """Learn from a 429 for a request of ``weight`` searches."""
        self.release(weight)
        with self._lock:
            self.rate_limited += 1
            if self.known:
                return
            window = max(1.0, retry_after) if retry_after is not None else C.DEFAULT_WINDOW_SECONDS
            accepted = self._in_window(self._clock.monotonic(), window * C.WINDOW_MARGIN)
            if not math.isinf(self.allowance):
                self.allowance = max(1.0, self.allowance * C.ADAPTIVE_DECREASE)
                if accepted:  # never recover beyond what the server just refused
                    self._best = min(self._best, float(accepted))
                return
            if accepted:
                # We filled the window ourselves: what it took is the allowance.
                self.window, self.allowance = window, float(accepted)
                self._best = self.allowance
                return
            # Refused with nothing of ours in the window: someone else filled it (retry
            # as told), or this request alone exceeds it (refused twice: halve it).
            self._lone_refusals += 1
            if self._lone_refusals >= 2:
                self.window = window
                self.allowance = float(max(1, weight // 2))
                self._best = float(max(1, weight - 1))

    def on_success(self) -> None:
        """Recover the allowance additively after an accepted request (adaptive mode)."""
        with self._lock:
            self._lone_refusals = 0
            if not self.known and self.allowance < self._best:
                step = max(1.0, self._best * C.ADAPTIVE_INCREASE)
                self.allowance = min(self._best, self.allowance + step)

    # -- internals (lock held) ---------------------------------------------------------

    def _span(self) -> float:
        return self.window * C.WINDOW_MARGIN + C.WINDOW_SLACK_SECONDS

    def _in_window(self, now: float, span: float) -> int:
        """Searches sent in the last ``span`` seconds (and drop entries nobody needs)."""
        keep = max(self._span(), C.DEFAULT_WINDOW_SECONDS)
        while self._log and self._log[0][0] <= now - keep:
            self._log.popleft()
        return sum(weight for sent_at, weight in self._log if sent_at > now - span)

    def _delay(self, weight: int, now: float) -> float:
        """Seconds until ``weight`` more searches fit in the window (0: now)."""
        span = self._span()
        used = self._in_window(now, span)
        if math.isinf(self.allowance):
            return 0.0
        room = self.allowance - used
        if weight <= room:
            return 0.0
        if weight > self.allowance and used == 0:
            return 0.0  # larger than any window: send alone rather than never
        # Wait until enough of the oldest entries leave the window.
        needed = weight - room
        freed = 0
        for sent_at, sent_weight in self._log:
            if sent_at <= now - span:
                continue
            freed += sent_weight
            if freed >= needed:
                return max(0.001, sent_at + span - now)
        return max(0.001, span)

    def _check_daily(self, weight: int, path: str) -> None:
        today = _utc_today()
        if today != self._day:
            self._day, self._sent_today = today, 0
        if self.daily_limit is not None and self._sent_today + weight > self.daily_limit:
            midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(),
                                        tzinfo=timezone.utc)
            raise QuotaExhaustedError(
                f"daily_limit reached: {self._sent_today:,} of {self.daily_limit:,} searches "
                f"sent today; {weight} more would exceed it. Nothing was sent. It resets at "
                f"{midnight:%Y-%m-%d %H:%M} UTC; finished results are kept.",
                status=429,
                detail="daily_limit reached (client side)",
                path=path,
                retry_after=(midnight - datetime.now(timezone.utc)).total_seconds(),
                resets_at=midnight,
            )


def _parse_rate_limit(rate_limit: RateLimit | None) -> tuple[float, float]:
    if rate_limit is None:
        return math.inf, C.DEFAULT_WINDOW_SECONDS
    if isinstance(rate_limit, tuple):
        searches, seconds = rate_limit
    else:
        searches, seconds = rate_limit, C.DEFAULT_WINDOW_SECONDS
    if not (searches > 0 and seconds > 0):
        raise ConfigurationError(
            "rate_limit must be searches per minute (e.g. 300) or a (searches, seconds) "
            f"window, both positive; got {rate_limit!r}"
        )
    return float(searches), float(seconds)


def _utc_today() -> date:
    return datetime.now(timezone.utc).date()
