"""What a running sandbox shares with its request threads: `Runtime`."""

from __future__ import annotations

import random
import threading

from ._counters import Counters
from ._engine import Engine
from ._faults import FaultPlan

__all__ = ["Latency", "Runtime", "check_latency"]

#: Seconds slept per request, or a ``(min, max)`` range drawn per request.
Latency = float | tuple[float, float]


def check_latency(latency: Latency) -> tuple[float, float]:
    """Return ``latency`` as a ``(min, max)`` range of seconds.

    Raises:
        ValueError: Negative seconds, or a minimum above the maximum.
    """
    if isinstance(latency, tuple):
        low, high = (float(value) for value in latency)
    else:
        low = high = float(latency)
    if not 0.0 <= low <= high:
        raise ValueError(f"latency must be seconds >= 0 or a (min, max) tuple, got {latency!r}")
    return low, high


class Runtime:
    """The state request threads share: engine, counters, faults, latency and stop signal.

    Latency and stalls are real waits (clients' socket timeouts depend on them), cut short
    when the sandbox stops. Thread-safe.

    Args:
        engine: Answers authenticated requests; its counters are `counters`.
        faults: The faults to inject.
        latency: The ``(min, max)`` seconds per request, as `check_latency` returns them.
        seed: Seeds the latency draw.
    """

    def __init__(self, *, engine: Engine, faults: FaultPlan, latency: tuple[float, float],
                 seed: int) -> None:
        self.engine = engine
        self.counters: Counters = engine.counters
        self.faults = faults
        self._latency = latency
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def stopping(self) -> bool:
        """Whether the sandbox is stopping (or stopped)."""
        return self._stopping.is_set()

    def stop(self) -> None:
        """Signal every request thread to stop; pauses in progress end at once."""
        self._stopping.set()

    def latency(self) -> float:
        """Seconds to wait before serving the next request."""
        low, high = self._latency
        if low == high:
            return low
        with self._rng_lock:
            return self._rng.uniform(low, high)

    def pause(self, seconds: float) -> bool:
        """Wait ``seconds`` for real unless the sandbox stops first; True if it is stopping."""
        if seconds <= 0:
            return self._stopping.is_set()
        return self._stopping.wait(seconds)
