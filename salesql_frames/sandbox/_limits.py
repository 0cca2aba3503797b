"""Rate limits: a sliding or fixed window weighted by searches, and a daily cap per UTC day."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final, Literal

__all__ = ["RATE_WINDOWS", "Limiter", "RateWindow", "Rejection", "seconds_until_utc_midnight"]

RATE_LIMIT_DETAIL = "Rate limit exceeded"
DAILY_LIMIT_DETAIL = "Daily rate limit exceeded"

#: How the rate-limit window is counted: ``"sliding"`` (the last ``seconds``) or
#: ``"fixed"`` (windows of ``seconds`` from multiples of it on the clock, each counted
#: from zero).
RateWindow = Literal["sliding", "fixed"]
RATE_WINDOWS: Final[tuple[RateWindow, ...]] = ("sliding", "fixed")


@dataclass(frozen=True)
class Rejection:
    """Why a request may not run now, and when to come back (whole seconds, >= 1)."""

    detail: str
    retry_after: int
    daily: bool


def seconds_until_utc_midnight(now: datetime | None = None) -> int:
    """Return the whole seconds (ceil, >= 1) until the next UTC midnight."""
    now = now or datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


class _Window:
    """Searches admitted within the last ``seconds``: (time, weight) pairs, oldest first."""

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()
        self.total = 0

    def expire(self, horizon: float) -> None:
        while self.entries and self.entries[0][0] <= horizon:
            self.total -= self.entries.popleft()[1]


class Limiter:
    """Admits or rejects requests by their weight (searches), per API key.

    Args:
        rate_limit: None, or ``(searches, seconds)``.
        daily_limit: None, or the searches allowed per UTC day.
        clock: Monotonic clock, for tests.
        window: ``"sliding"``: at most ``searches`` in any ``seconds``; a refusal's
            Retry-After is when enough of the oldest searches leave. ``"fixed"``: at most
            ``searches`` per window ``[k * seconds, (k + 1) * seconds)`` of the clock; a
            refusal's Retry-After is the time to the next boundary.
    """

    def __init__(self, rate_limit: tuple[int, float] | None, daily_limit: int | None,
                 *, clock: Callable[[], float] = time.monotonic,
                 window: RateWindow = "sliding") -> None:
        if rate_limit is not None:
            searches, seconds = rate_limit
            if int(searches) != searches or searches < 1 or not seconds > 0:
                raise ValueError(
                    f"rate_limit must be (searches >= 1, seconds > 0), got {rate_limit!r}"
                )
            rate_limit = (int(searches), float(seconds))
        if daily_limit is not None and (int(daily_limit) != daily_limit or daily_limit < 0):
            raise ValueError(f"daily_limit must be None or an int >= 0, got {daily_limit!r}")
        if window not in RATE_WINDOWS:
            raise ValueError(f"rate_window must be one of {RATE_WINDOWS}, got {window!r}")
        self.rate_limit = rate_limit
        self.daily_limit = daily_limit
        self.window: RateWindow = window
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._fixed: dict[str, tuple[int, int]] = {}  # key -> (window number, searches)
        self._day: dict[str, tuple[str, int]] = {}

    def admit(self, key: str, weight: int) -> Rejection | None:
        """Admit ``weight`` searches for ``key`` now, or say why not (nothing is consumed)."""
        if weight <= 0:
            return None
        with self._lock:
            today = datetime.now(timezone.utc).date().isoformat()
            day, used = self._day.get(key, (today, 0))
            if day != today:
                used = 0
            if self.daily_limit is not None and used + weight > self.daily_limit:
                return Rejection(DAILY_LIMIT_DETAIL, seconds_until_utc_midnight(), daily=True)
            if self.rate_limit is not None:
                admit = self._admit_fixed if self.window == "fixed" else self._admit_sliding
                if (wait := admit(key, weight, self._clock())) is not None:
                    return Rejection(RATE_LIMIT_DETAIL, wait, daily=False)
            self._day[key] = (today, used + weight)
            return None

    def _admit_sliding(self, key: str, weight: int, now: float) -> int | None:
        """Record ``weight`` in ``key``'s sliding window, or return the Retry-After."""
        assert self.rate_limit is not None
        limit, seconds = self.rate_limit
        window = self._windows.setdefault(key, _Window())
        window.expire(now - seconds)
        if weight > limit:
            return max(1, math.ceil(seconds))
        if window.total + weight > limit:
            return self._wait(window, weight, now)
        window.entries.append((now, weight))
        window.total += weight
        return None

    def _admit_fixed(self, key: str, weight: int, now: float) -> int | None:
        """Record ``weight`` in ``key``'s current fixed window, or return the Retry-After."""
        assert self.rate_limit is not None
        limit, seconds = self.rate_limit
        number = math.floor(now / seconds)
        current, used = self._fixed.get(key, (number, 0))
        if current != number:
            used = 0
        if used + weight > limit:
            return max(1, math.ceil((number + 1) * seconds - now))
        self._fixed[key] = (number, used + weight)
        return None

    def _wait(self, window: _Window, weight: int, now: float) -> int:
        """Seconds until enough of the window expires for ``weight`` more searches."""
        assert self.rate_limit is not None
        limit, seconds = self.rate_limit
        remaining = window.total
        for stamp, admitted in window.entries:
            remaining -= admitted
            if remaining + weight <= limit:
                return max(1, math.ceil(stamp + seconds - now))
        return max(1, math.ceil(seconds))
