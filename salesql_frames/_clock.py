"""Time as the library sees it: one injectable clock for pacing, retries and the sandbox.

Everything that waits or measures time asks a `Clock` instead of calling `time` itself,
so tests pass a `FakeClock` and assert exact waits without sleeping.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol

__all__ = ["SYSTEM_CLOCK", "Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """A monotonic clock and a way to wait on it."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the event loop (what `AsyncClient` awaits)."""
        ...


class SystemClock:
    """The real clock: `time.monotonic` and `time.sleep`."""

    def monotonic(self) -> float:
        """Return `time.monotonic`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """`asyncio.sleep` for real."""
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


#: The clock used unless another is given.
SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """A clock that only moves when told to, or when something sleeps on it.

    Thread-safe. ``sleep`` returns at once and moves the clock forward, and every sleep
    is recorded in `sleeps`, so a test asserts the exact waits.

    Args:
        start: The initial reading.

    Examples:
        >>> clock = FakeClock()
        >>> clock.sleep(1.5)
        >>> clock.monotonic(), clock.sleeps
        (1001.5, [1.5])
        >>> clock.advance(10)
        >>> clock.monotonic()
        1011.5
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The current reading."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock forward by it, without waiting."""
        with self._lock:
            self.sleeps.append(float(seconds))
            self._now += max(0.0, float(seconds))

    async def asleep(self, seconds: float) -> None:
        """`sleep`, then let the event loop's other tasks run once.

        The clock moves at once, also under requests other tasks have in flight (real
        time would let them finish first): a sandbox on this clock counts them later.
        """
        self.sleep(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move the clock forward (not recorded as a sleep)."""
        with self._lock:
            self._now += max(0.0, float(seconds))

    @property
    def slept(self) -> float:
        """Total seconds slept on this clock."""
        with self._lock:
            return sum(self.sleeps)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.monotonic():g})"
