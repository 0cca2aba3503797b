"""Retry decisions: small pure functions, shared by every way of sending a request.

Nothing here does I/O or reads a clock: the request loop passes in what happened and
the time, and gets back what to do.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from .. import _constants as C
from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    QuotaExhaustedError,
    RateLimitError,
    ResponseError,
    SalesQLError,
)

__all__ = [
    "backoff",
    "is_daily_cap",
    "outcome_unknown",
    "parse_retry_after",
    "retry_delay",
    "should_retry",
]

def backoff(attempt: int, jitter: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: 0.5 s doubling to 8 s, times 0.75-1.0.

    Args:
        attempt: How many attempts failed before this wait (0 for the first retry).
        jitter: A source of numbers in [0, 1).

    Examples:
        >>> backoff(0, jitter=lambda: 0.0), backoff(3, jitter=lambda: 0.0)
        (0.5, 4.0)
        >>> backoff(10, jitter=lambda: 0.999) >= 6.0
        True
    """
    delay: float = min(C.INITIAL_RETRY_DELAY * 2.0**attempt, C.MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * jitter())


def retry_delay(
    error: SalesQLError, attempt: int, jitter: Callable[[], float] = random.random
) -> float | None:
    """Seconds to wait before retrying after ``error``, or None if it must not be retried.

    Connection errors and timeouts back off; so do 408, 429, 500, 502, 503 and 504,
    except that a 429 with a usable ``Retry-After`` (0 to 120 s) waits as told. The
    daily cap and every other status are not retried.

    Examples:
        >>> from salesql_frames import RateLimitError
        >>> limited = RateLimitError("429", status=429, detail=None, path="/x", retry_after=2.0)
        >>> retry_delay(limited, 0)
        2.0
    """
    if isinstance(error, QuotaExhaustedError):
        return None
    if isinstance(error, APIConnectionError):
        return backoff(attempt, jitter)
    if not isinstance(error, APIStatusError) or error.status not in C.RETRYABLE_STATUSES:
        return None
    retry_after = error.retry_after if isinstance(error, RateLimitError) else None
    if retry_after is not None and 0 <= retry_after <= C.MAX_RETRY_AFTER:
        return retry_after
    return backoff(attempt, jitter)


def outcome_unknown(error: BaseException) -> bool:
    """Whether the server may have done (and charged) the work of a failed request.

    True for a connection lost after the request went out, a timeout after sending (the
    total deadline included), an answer that could not be used (`ResponseError`: not
    JSON, nested too deeply, over the size cap, truncated, the wrong length), and
    statuses in ``UNKNOWN_OUTCOME_STATUSES`` (500, 502, 504). A redirect is False: it
    did no work. A budget counts such a request as fully charged.

    Examples:
        >>> from salesql_frames import APIConnectionError, ServerError
        >>> outcome_unknown(APIConnectionError("reset", path="/x", sent=True))
        True
        >>> outcome_unknown(APIConnectionError("refused", path="/x", sent=False))
        False
        >>> outcome_unknown(ServerError("503", status=503, detail=None, path="/x"))
        False
    """
    if isinstance(error, APIConnectionError):
        return error.sent
    if isinstance(error, ResponseError):
        return True
    return isinstance(error, APIStatusError) and error.status in C.UNKNOWN_OUTCOME_STATUSES


def should_retry(
    error: SalesQLError, attempt: int, max_retries: int, *, lost_retried: bool,
    resend_unknown: bool = True,
) -> bool:
    """Whether a failed attempt may be tried again, its delay aside.

    Args:
        error: What the attempt failed with.
        attempt: The attempt that failed, from 0.
        max_retries: Retries allowed per request.
        lost_retried: A request that may have reached the server was retried already.
        resend_unknown: Whether a request whose outcome is unknown (see
            `outcome_unknown`) may be sent again here; a caller that keeps a budget
            says False and decides itself.

    Returns:
        False when the retries are used up, and for a second loss after sending: the
        server may have done (and charged) the work, so such a loss is retried once.

    Examples:
        >>> from salesql_frames import APIConnectionError
        >>> lost = APIConnectionError("reset", path="/x", sent=True)
        >>> should_retry(lost, 0, 2, lost_retried=False)
        True
        >>> should_retry(lost, 1, 2, lost_retried=True)
        False
    """
    if attempt >= max_retries or (not resend_unknown and outcome_unknown(error)):
        return False
    return not (isinstance(error, APIConnectionError) and error.sent and lost_retried)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` as seconds or an HTTP date; None when absent or malformed.

    Args:
        value: The header's value.
        now: The current UTC time, for a date (default: now).

    Examples:
        >>> parse_retry_after("3"), parse_retry_after("soon"), parse_retry_after("-4")
        (3.0, None, 0.0)
        >>> when = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=when)
        30.0
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = (moment - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(seconds, 0.0)


def is_daily_cap(detail: str | None, retry_after: float | None) -> bool:
    """Whether a 429 is the daily cap: a detail that says so, or a wait beyond a minute window.

    Examples:
        >>> is_daily_cap("Daily rate limit exceeded", 5.0), is_daily_cap(None, 3600.0)
        (True, True)
        >>> is_daily_cap("Rate limit exceeded", 30.0)
        False
    """
    if detail and any(word in detail.lower() for word in C.DAILY_CAP_WORDS):
        return True
    return retry_after is not None and retry_after > C.MAX_RETRY_AFTER
