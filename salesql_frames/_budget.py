"""The credit ledger of one run: what answers confirmed, and the worst case of the rest.

A batch reserves its worst case (one credit per query) before it is sent. Its answer
settles the reservation at what it really cost; a batch whose outcome is unknown (the
answer was lost, timed out, truncated, malformed or misaligned) keeps its whole
reservation as *possibly charged*. A batch is sent, or sent again, only when its worst
case fits what is left of ``max_credits``, so the server can never charge more.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["Ledger"]


@dataclass
class Ledger:
    """Credits of one run, against an optional limit. Thread-safe.

    Attributes:
        limit: ``max_credits``, or None for no limit.
        confirmed: Credits the answers received say were charged.
        possible: Worst case of batches whose outcome is unknown: possibly charged.
        reserved: Worst case of batches in flight.

    Examples:
        >>> ledger = Ledger(limit=150)
        >>> ledger.reserve(100)
        True
        >>> ledger.settle(100, charged=40)   # answered: 40 of the 100 cost a credit
        >>> ledger.room()
        110
        >>> ledger.reserve(100)
        True
        >>> ledger.lose(100)                 # the answer was lost: all 100 may have cost one
        >>> ledger.confirmed, ledger.possible, ledger.room()
        (40, 100, 10)
        >>> ledger.reserve(11)
        False
    """

    limit: int | None = None
    confirmed: int = 0
    possible: int = 0
    reserved: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def room(self) -> int | None:
        """Credits that may still be reserved (None: no limit)."""
        with self._lock:
            return self._room()

    def _room(self) -> int | None:
        if self.limit is None:
            return None
        return max(0, self.limit - self.confirmed - self.possible - self.reserved)

    def reserve(self, worst: int) -> bool:
        """Reserve ``worst`` credits for a batch about to be sent; False if they do not fit."""
        with self._lock:
            room = self._room()
            if room is not None and worst > room:
                return False
            self.reserved += worst
            return True

    def settle(self, worst: int, *, charged: int) -> None:
        """A reserved batch was answered: ``charged`` of its ``worst`` credits were spent."""
        with self._lock:
            self.reserved -= worst
            self.confirmed += charged

    def release(self, worst: int) -> None:
        """A reserved batch was refused before any work (nothing was charged)."""
        self.settle(worst, charged=0)

    def lose(self, worst: int) -> None:
        """A reserved batch's outcome is unknown: its worst case stays, as possibly charged."""
        with self._lock:
            self.reserved -= worst
            self.possible += worst
