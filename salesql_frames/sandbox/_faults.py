"""Scripted and random faults the sandbox injects, to test a client's resilience.

Faults and what the server does (after authentication, before rate limiting):

=================  =====================================================================
``http_500``       500 with a JSON ``{"detail", "status"}`` body.
``http_502``       502 with an HTML body (``text/html``), as a proxy would send.
``http_503``       503 with a JSON body; option ``retry_after`` (int, str or None).
``http_504``       504 with a JSON body.
``http_401``       401 with a JSON body.
``http_422``       422 with a JSON body.
``rate_limit``     429 ``Rate limit exceeded``; option ``retry_after``: int seconds, an
                   HTTP-date, any malformed string, or None for no header (default 1).
``daily_cap``      429 ``Daily rate limit exceeded``, Retry-After until UTC midnight.
``reset``          Abort the TCP connection with RST before doing any work.
``lost``           Do the work (execute, count, charge), then abort the connection (RST).
``stall``          Wait ``seconds`` (default 30) before answering normally.
``truncate``       Do the work; 200 with the full Content-Length, half the body, close.
``malformed_json`` Do the work; 200 ``application/json`` whose body is not JSON.
``short``          Bulk only: do the work; answer the array without its last item.
``pass``           Nothing: answer normally. Script it first to aim a fault at a later
                   request (``add("pass", times=2); add("http_500")`` hits the third).
=================  =====================================================================
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["ENDPOINTS", "FAULTS", "Fault", "FaultPlan", "take_fault"]

FAULTS: Final = (
    "http_500", "http_502", "http_503", "http_504", "http_401", "http_422", "rate_limit",
    "daily_cap", "reset", "lost", "stall", "truncate", "malformed_json", "short", "pass",
)
ENDPOINTS: Final = ("allowance", "person", "persons_bulk", "organization", "organizations_bulk")
BULK_ENDPOINTS: Final = frozenset({"persons_bulk", "organizations_bulk"})

_OPTIONS: Final[dict[str, dict[str, Any]]] = {
    "http_503": {"retry_after": None},
    "rate_limit": {"retry_after": 1},
    "stall": {"seconds": 30.0},
}


@dataclass(frozen=True)
class Fault:
    """One fault to inject: its name and its options (defaults filled in)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


def _check_retry_after(value: object) -> None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return
    if isinstance(value, str) and "\r" not in value and "\n" not in value:
        return
    raise ValueError(f"retry_after must be an int, a one-line str or None, got {value!r}")


def _make_fault(name: str, options: Mapping[str, Any]) -> Fault:
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    defaults = _OPTIONS.get(name, {})
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) or "none"
        raise ValueError(f"fault {name!r} takes no option(s) {unknown}; allowed: {allowed}")
    merged = {**defaults, **options}
    if "retry_after" in merged:
        _check_retry_after(merged["retry_after"])
    if "seconds" in merged:
        seconds = merged["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"stall seconds must be a number >= 0, got {seconds!r}")
        merged["seconds"] = float(seconds)
    return Fault(name, merged)


def _applies(fault_name: str, endpoint: str) -> bool:
    return fault_name != "short" or endpoint in BULK_ENDPOINTS


@dataclass
class _Script:
    endpoint: str
    fault: Fault
    times: int


class FaultPlan:
    """Which requests fail, and how: scripted faults first, then random ones.

    Scripted faults (`add`) hit the next matching requests in the order they were added;
    random ones (`set_rates`) hit any request with the given probabilities.
    Thread-safe.
    """

    KINDS: Final = FAULTS

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: list[_Script] = []
        self._rates: list[tuple[Fault, float]] = []
        self._rng = random.Random(0)

    def add(self, fault: str, *, endpoint: str = "*", times: int = 1, **options: Any) -> None:
        """Script ``fault`` for the next ``times`` requests to ``endpoint``.

        Args:
            fault: A fault name, one of `FaultPlan.KINDS` (``"http_500"``, ``"reset"``,
                ``"stall"``, ``"short"``, ``"pass"``...; the sandbox docs list them all).
            endpoint: An endpoint name, or ``"*"`` for any endpoint.
            times: How many requests it hits.
            **options: The fault's options (``retry_after`` or ``seconds``).

        Raises:
            ValueError: Unknown fault, endpoint or option, or ``times`` < 1.
        """
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: *, {', '.join(ENDPOINTS)}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be an int >= 1, got {times!r}")
        made = _make_fault(fault, options)
        if endpoint != "*" and not _applies(fault, endpoint):
            raise ValueError(f"fault {fault!r} only applies to bulk endpoints")
        with self._lock:
            self._scripts.append(_Script(endpoint, made, times))

    def set_rates(self, rates: Mapping[str, float], *, seed: int = 0,
                  options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Inject faults at random, each with its probability per request.

        Args:
            rates: Fault name -> probability; the probabilities must sum to at most 1.
            seed: Seeds the draw, so a run's sequence of faults repeats.
            options: Fault name -> its options, e.g. ``{"stall": {"seconds": 0.2}}``.

        Raises:
            ValueError: Unknown fault or option, or probabilities out of range.
        """
        options = options or {}
        table: list[tuple[Fault, float]] = []
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate of {name!r} must be within [0, 1], got {rate!r}")
            table.append((_make_fault(name, options.get(name, {})), float(rate)))
        if sum(rate for _, rate in table) > 1.0 + 1e-9:
            raise ValueError("fault rates must sum to at most 1")
        with self._lock:
            self._rates = table
            self._rng = random.Random(seed)

    def clear(self) -> None:
        """Drop every scripted fault and every rate."""
        with self._lock:
            self._scripts.clear()
            self._rates = []

    def pending(self) -> list[tuple[str, str, int]]:
        """Return the scripted faults still to serve as (fault, endpoint, times) tuples."""
        with self._lock:
            return [(s.fault.name, s.endpoint, s.times) for s in self._scripts]

    def _take(self, endpoint: str) -> Fault | None:
        """Consume and return the fault for the next request to ``endpoint``, if any."""
        with self._lock:
            for index, script in enumerate(self._scripts):
                if script.endpoint in ("*", endpoint) and _applies(script.fault.name, endpoint):
                    script.times -= 1
                    if script.times == 0:
                        del self._scripts[index]
                    return script.fault
            if not self._rates:
                return None
            draw = self._rng.random()
            for fault, rate in self._rates:
                if draw < rate:
                    return fault if _applies(fault.name, endpoint) else None
                draw -= rate
            return None


def take_fault(plan: FaultPlan, endpoint: str) -> Fault | None:
    """Consume the fault ``plan`` holds for the next request to ``endpoint`` (server side)."""
    return plan._take(endpoint)
