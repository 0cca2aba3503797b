"""Pacing to the search quota: one limiter per client, weighted by searches.

The API limits searches per window per account, and a bulk of n queries counts n. The
`Pacer` keeps a log of what was sent and lets a request go only when the searches sent
in the last window, plus this one, fit the allowance: the same rule a sliding-window
server applies (and a stricter one than a fixed window), so a known limit is met with
no 429 at all.

With no limit given the pacer adapts, and learns a ceiling only from evidence: a 429
whose ``Retry-After`` is usable while our own searches fill the window. Then the window
is what the server named (or longer, if it refused once our window had passed) and the
ceiling is what it accepted in it. A 429 without that evidence backs off (its retry's
backoff; from the second in a row, a provisional allowance) and never sets a ceiling.
Sustained success climbs back: a provisional allowance lifts after a window's worth of
accepted searches, a cut one recovers additively to the ceiling, and at the ceiling the
pacer probes above it, so a limit that was raised, or a ceiling learned from a transient
refusal, is found again.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        daily_limit: Searches per UTC day this client may send; a request beyond it
            fails with `QuotaExhaustedError` before anything is sent (`daily_left` says
            what is left, so a run can cut its last batch to it).
        clock: What to measure and wait with (tests pass a `FakeClock`).

    Attributes:
        known: Whether the limit was given (else it is learned).
        allowance: Searches admitted per ``window`` (``inf``: unlimited). While probing
            above a learned ceiling the pacer admits a little more; the allowance rises
            once the server is seen to accept it.
        window: The window's seconds.
        rate_limited: 429s seen.
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
        self._log: deque[tuple[float, int]] = deque()  # (sent at, weight)
        self.known = rate_limit is not None
        self.allowance, self.window = _parse_rate_limit(rate_limit)
        if daily_limit is not None and daily_limit < 1:
            raise ConfigurationError(f"daily_limit must be a positive number, got {daily_limit}")
        self.daily_limit = daily_limit
        self._day = _utc_today()
        self._sent_today = 0
        self.rate_limited = 0
        # Adaptive state (all of it under the lock):
        self._ceiling = self.allowance  # learned from evidence; inf until then
        self._learned = False  # whether `window` came from evidence
        self._accepted = 0  # searches sent, and not refused, since the last 429 or raise
        self._refused_in_row = 0  # 429s since the last accepted request
        self._reset_at = -math.inf  # when the last usable Retry-After said the window frees
        self._counted_from = -math.inf  # searches before this are not the server's any more
        self._probe_windows = 1  # windows' worth of success before the next probe
        self._probe_share = 0.0  # headroom admitted above the allowance (0: no probe)
        self._next_share = C.ADAPTIVE_PROBE_SHARE
        self._watchers: list[Callable[[float], None]] = []

    def __repr__(self) -> str:
        mode = "known" if self.known else "adaptive"
        allowance = "unlimited" if math.isinf(self.allowance) else f"{self.allowance:g}"
        return f"Pacer({mode}: {allowance} searches / {self.window:g} s)"

    def batch_size(self, largest: int = C.MAX_BULK_QUERIES) -> int:
        """Queries per bulk request under the current allowance.

        Batches shrink when the window allows fewer than 100 searches, and once a limit
        is known they take at most a sixth of the window, so searches are spread out. A
        learned allowance is cut in whole sixths (rounded down), so that six batches
        fill the window it was learned in.
        """
        return _batch_size(self.allowance, largest, learned=not self.known)

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
                self._accepted += weight
            watchers = list(self._watchers)
        for watcher in watchers if delay > 0 else ():
            watcher(delay)
        return max(delay, 0.0)

    @contextmanager
    def watching(self, watcher: Callable[[float], None]) -> Iterator[None]:
        """Call ``watcher(seconds)`` whenever a request must wait for the quota.

        Examples:
            >>> from salesql_frames._clock import FakeClock
            >>> pacer, waits = Pacer((1, 60), clock=FakeClock()), []
            >>> with pacer.watching(waits.append):
            ...     first, second = pacer.acquire(1), pacer.acquire(1)
            >>> first, round(second), round(waits[0])  # the window, rounded up a little
            (0.0, 62, 62)
        """
        with self._lock:
            self._watchers.append(watcher)
        try:
            yield
        finally:
            with self._lock:
                self._watchers.remove(watcher)

    def seconds_for(self, searches: int) -> float | None:
        """About when the last of ``searches`` more may be sent (None: no limit).

        Those the window has room for go now; the next ones as the searches in the
        window leave it; the rest a full allowance per window after that.

        Examples:
            >>> from salesql_frames._clock import FakeClock
            >>> pacer = Pacer((300, 60), clock=FakeClock())
            >>> pacer.seconds_for(300)
            0.0
            >>> _ = pacer.acquire(300)
            >>> round(pacer.seconds_for(300) or 0), round(pacer.seconds_for(900) or 0)
            (62, 186)
        """
        with self._lock:
            limit = self._limit()
            if math.isinf(limit) or limit <= 0:
                return None
            now, span = self._clock.monotonic(), self._span()
            needed = searches - max(0.0, limit - self._in_window(now, span))
            if needed <= 0:
                return 0.0
            freed, last = 0, now
            for sent_at, weight in self._log:
                if sent_at <= now - span:
                    continue
                freed, last = freed + weight, sent_at + span
                if freed >= needed:
                    return max(0.0, last - now)
            return max(0.0, last - now) + math.ceil((needed - freed) / limit) * span

    def acquire(self, weight: int, path: str = "") -> float:
        """Block until ``weight`` searches may be sent; record them. Return seconds waited."""
        waited = 0.0
        while (delay := self.reserve(weight, path)) > 0:
            delay = self.slice(delay)
            self._clock.sleep(delay)
            waited += delay
        return waited

    def slice(self, delay: float) -> float:
        """How much of a ``delay`` to sleep before asking again.

        All of it, unless a watcher counts it down: then at most
        ``QUOTA_WAIT_SLICE_SECONDS``.
        """
        return min(delay, C.QUOTA_WAIT_SLICE_SECONDS) if self._watchers else delay

    def release(self, weight: int) -> None:
        """Take back the newest entry of ``weight``: the server refused it (429)."""
        with self._lock:
            for i in range(len(self._log) - 1, -1, -1):
                if self._log[i][1] == weight:
                    del self._log[i]
                    self._sent_today -= weight
                    self._accepted = max(0, self._accepted - weight)
                    return

    def on_rate_limited(self, weight: int, retry_after: float | None) -> None:
        """Learn from a 429 for a request of ``weight`` searches.

        Args:
            weight: The refused request's searches (taken back from the log).
            retry_after: The ``Retry-After`` in seconds; None or 0 when it was missing,
                malformed, 0, negative or a past date, which is no evidence of a window.
        """
        self.release(weight)
        with self._lock:
            self.rate_limited += 1
            if self.known:
                return
            now = self._clock.monotonic()
            probing = self._probe_share > 0
            self._probe_share, self._accepted = 0.0, 0
            self._refused_in_row += 1
            usable = retry_after if retry_after is not None and retry_after > 0 else None
            if usable is not None and self._learn(now, usable, weight):
                if probing:  # the probe found the ceiling: wait longer before the next
                    self._probe_windows = min(2 * self._probe_windows,
                                              C.ADAPTIVE_PROBE_MAX_WINDOWS)
                self._next_share = C.ADAPTIVE_PROBE_SHARE
                return
            self._back_off(now, weight)

    def on_success(self) -> None:
        """Climb back after an accepted request (adaptive mode): recover, lift or probe."""
        with self._lock:
            self._refused_in_row = 0
            if self.known or math.isinf(self.allowance):
                return
            if math.isinf(self._ceiling):
                # A provisional allowance (no evidence): lifted after a window's worth.
                if self._accepted >= self.allowance:
                    self.allowance, self._accepted = math.inf, 0
                return
            if self.allowance < self._ceiling:  # cut by a bare 429: recover additively
                step = max(1.0, self._ceiling * C.ADAPTIVE_INCREASE)
                self.allowance = min(self._ceiling, self.allowance + step)
                return
            if self._probe_share > 0:
                # Accepted in one window, but for the newest request: it may still be in
                # flight (another worker's), and refused yet.
                seen = self._in_window(self._clock.monotonic(), self.window, self._counted_from)
                seen -= self._log[-1][1] if self._log else 0
                if seen > self.allowance:  # accepted above the ceiling: it was raised
                    self.allowance = self._ceiling = float(seen)
                    self._probe_windows, self._accepted = 1, 0
                    self._next_share = min(2 * self._probe_share, C.ADAPTIVE_PROBE_MAX_SHARE)
                    self._probe_share = self._next_share
                return
            if self._accepted >= self._probe_windows * self.allowance:
                self._probe_share, self._accepted = self._next_share, 0

    # -- internals (lock held) ---------------------------------------------------------

    def _learn(self, now: float, retry_after: float, weight: int) -> bool:
        """Take a ceiling from a 429 with a usable ``Retry-After``, if ours filled the window.

        Only searches sent since the window last freed (when the last such 429 said it
        would) are counted: a fixed window may have counted the ones before apart.

        Args:
            now: When the 429 came.
            retry_after: Its ``Retry-After``, in seconds (> 0).
            weight: The refused request's searches.

        Returns:
            False when none of our searches is in the window: no evidence.
        """
        if now >= self._reset_at:  # the window freed since the last 429 said it would
            self._counted_from = self._reset_at
        self._reset_at = now + retry_after
        since = self._counted_from
        if self._learned:
            # A wait is at most the window, give or take its rounding up; what a longer
            # window would hold was let go by ours, and may have counted in another
            # (fixed) window: only our window's searches are evidence here.
            window = max(self.window, retry_after - 1.0)
            accepted = self._in_window(now, self._span(), since)
        else:
            window = max(1.0, retry_after)
            accepted = self._in_window(now, _span(window), since)
        if not accepted or (self._learned and accepted + weight < self.allowance):
            # Refused although our window had room: the server's window is longer (a
            # fixed one, say). It frees when told and began at our first search since
            # it last freed that it may still count; all of those count.
            start = now - _span(self.window + retry_after)
            first = next((t for t, _ in self._log if t > start and t >= since), None)
            if first is not None:
                window = max(window, now + retry_after - first)
                accepted = self._in_window(now, now - first + 1.0, since)
        if not accepted:
            return False
        self.window, self._learned = window, True
        self.allowance = self._ceiling = float(accepted)
        return True

    def _back_off(self, now: float, weight: int) -> None:
        """Back off after a 429 that teaches no ceiling."""
        if not math.isinf(self.allowance):
            self.allowance = max(1.0, self.allowance * C.ADAPTIVE_DECREASE)
            return
        if self._refused_in_row < 2:
            return  # a stray refusal: its retry's backoff is the cool-down
        self.window = C.ADAPTIVE_PROVISIONAL_WINDOW
        sent = self._in_window(now, self._span())
        if sent:
            self.allowance = max(1.0, sent * C.ADAPTIVE_DECREASE)
        else:  # refused again with nothing of ours in the window: this request alone is too big
            self.allowance = float(max(1, weight // 2))

    def _limit(self) -> float:
        """What the window admits now: the allowance, plus the headroom of a probe.

        A probe's headroom is at least two batches: one is confirmed only once the next
        one was sent (see `on_success`).
        """
        if self._probe_share <= 0:
            return self.allowance
        return self.allowance + max(self._probe_share * self.allowance,
                                    2.0 * _batch_size(self.allowance, learned=True))

    def _span(self) -> float:
        return _span(self.window)

    def _in_window(self, now: float, span: float, since: float = -math.inf) -> int:
        """Searches sent in the last ``span`` seconds, and not before ``since``.

        Drops the entries nobody needs any more.
        """
        keep = max(self._span(), C.DEFAULT_WINDOW_SECONDS)
        while self._log and self._log[0][0] <= now - keep:
            self._log.popleft()
        return sum(weight for sent_at, weight in self._log
                   if sent_at > now - span and sent_at >= since)

    def _delay(self, weight: int, now: float) -> float:
        """Seconds until ``weight`` more searches fit in the window (0: now)."""
        span = self._span()
        used = self._in_window(now, span)
        limit = self._limit()
        if math.isinf(limit):
            return 0.0
        room = limit - used
        if weight <= room:
            return 0.0
        if weight > limit and used == 0:
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

    def daily_left(self) -> int | None:
        """Searches ``daily_limit`` still allows today (None: no daily limit).

        A run sizes its last batch to this, so the limit is used exactly.
        """
        with self._lock:
            self._roll_day()
            if self.daily_limit is None:
                return None
            return max(0, self.daily_limit - self._sent_today)

    def daily_error(self, weight: int = 0, path: str = "") -> QuotaExhaustedError:
        """The error for ``weight`` searches ``daily_limit`` does not allow (0: none left)."""
        with self._lock:
            self._roll_day()
            return self._daily_error(weight, path)

    def _roll_day(self) -> None:
        today = _utc_today()
        if today != self._day:
            self._day, self._sent_today = today, 0

    def _check_daily(self, weight: int, path: str) -> None:
        self._roll_day()
        if self.daily_limit is not None and self._sent_today + weight > self.daily_limit:
            raise self._daily_error(weight, path)

    def _daily_error(self, weight: int, path: str) -> QuotaExhaustedError:
        limit = self.daily_limit or 0
        left = max(0, limit - self._sent_today)
        midnight = datetime.combine(self._day + timedelta(days=1), datetime.min.time(),
                                    tzinfo=timezone.utc)
        sent = f"{self._sent_today:,} of {limit:,} searches sent today"
        if left and weight:
            what = (f"daily_limit={limit:,}: {sent}, {left:,} left, fewer than the {weight:,} "
                    "of this request")
        else:
            what = f"daily_limit={limit:,} reached: {sent}"
        if weight:
            what += ". Nothing was sent by this request"
        return QuotaExhaustedError(
            f"{what}. It resets at {midnight:%Y-%m-%d %H:%M} UTC.",
            status=429,
            detail="daily_limit reached (client side)",
            path=path,
            retry_after=(midnight - datetime.now(timezone.utc)).total_seconds(),
            resets_at=midnight,
        )


def _span(window: float) -> float:
    """How long a window of ``window`` seconds is taken, for clock skew and latency."""
    return window * C.WINDOW_MARGIN + C.WINDOW_SLACK_SECONDS


def _batch_size(allowance: float, largest: int = C.MAX_BULK_QUERIES, *,
                learned: bool = False) -> int:
    if math.isinf(allowance):
        return largest
    share = allowance * C.BATCH_SHARE_OF_WINDOW
    spread = math.floor(share) if learned else math.ceil(share)
    return max(1, min(largest, spread, math.floor(allowance) or 1))


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
