"""What every client shares, whatever does its I/O: state, decisions, reading answers.

`BaseClient` holds the configuration (key, base URL, timeouts, retries, pacer, clock)
and the sans-IO steps of a request: how an attempt's outcome is accounted with the
pacer and mapped to a typed error, whether and when to try again, and how a bulk or
single answer is checked. A client only adds the I/O: sending, and sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from .. import _constants as C
from .._clock import SYSTEM_CLOCK, Clock
from .._exceptions import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    MissingAPIKeyError,
    QuotaExhaustedError,
    RateLimitError,
    ResponseError,
    SalesQLError,
)
from .._kinds import KindSpec
from .._models import Allowance, Query, Record
from .._params import validate_query
from ._config import (
    BearerAuth,
    Secret,
    account_fingerprint,
    make_timeout,
    missing_key,
    normalize_base_url,
    read_api_key,
    total_deadline,
    user_agent,
)
from ._errors import (
    deadline_error,
    is_not_found,
    read_json,
    redirect_target,
    status_error,
    too_large_error,
    transport_error,
)
from ._pacing import Pacer, RateLimit
from ._retry import retry_delay, should_retry

__all__ = ["Attempts", "BaseClient", "BodyReader", "batches", "wire_params"]

logger = logging.getLogger(C.LOGGER_NAME)


@dataclass
class Attempts:
    """Where one request stands across its attempts.

    Attributes:
        number: The attempt under way, from 0.
        lost_retried: A connection lost after sending was retried already (it is, at
            most once).
        resend_unknown: Whether such a request may be sent again at all (a caller
            keeping a budget says False and decides itself).
    """

    number: int = 0
    lost_retried: bool = False
    resend_unknown: bool = True


class BodyReader:
    """One response body, read within the attempt's deadline and ``MAX_RESPONSE_BYTES``.

    Sans-IO: the request loop feeds it the chunks it receives, and each step returns
    the error that ends the read, else None. Both errors mean the server may have done
    the work (`outcome_unknown` is True for them).

    Args:
        response: The streamed response, its headers read.
        method: The request's method, for messages.
        path: The endpoint path, for messages.
        seconds: The attempt's total deadline (`total_deadline`).
        started: When the attempt began, on ``clock``.
        clock: The client's clock.
    """

    def __init__(self, response: httpx.Response, method: str, path: str, *, seconds: float,
                 started: float, clock: Clock) -> None:
        self._response = response
        self._method, self._path = method, path
        self._seconds, self._deadline, self._clock = seconds, started + seconds, clock
        self._chunks: list[bytes] = []
        self._size = 0

    def start(self) -> SalesQLError | None:
        """Refuse at once a Content-Length over the cap, or an attempt past its deadline."""
        declared = self._response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > C.MAX_RESPONSE_BYTES:
            return too_large_error(self._method, self._path, self._response.status_code,
                                   int(declared))
        return self._late()

    def feed(self, chunk: bytes) -> SalesQLError | None:
        """Take one decoded chunk of the body."""
        self._size += len(chunk)
        if self._size > C.MAX_RESPONSE_BYTES:
            return too_large_error(self._method, self._path, self._response.status_code, None)
        self._chunks.append(chunk)
        return self._late()

    def response(self) -> httpx.Response:
        """The response with its whole body, decoded: what the answer checks read."""
        original = self._response
        headers = [(name, value) for name, value in original.headers.multi_items()
                   if name.lower() != "content-encoding"]
        kept = {name: value for name, value in original.extensions.items()
                if name in ("http_version", "reason_phrase")}
        return httpx.Response(original.status_code, headers=headers,
                              content=b"".join(self._chunks), request=original.request,
                              extensions=kept)

    def _late(self) -> SalesQLError | None:
        if self._clock.monotonic() > self._deadline:
            return deadline_error(self._method, self._path, self._seconds)
        return None


class BaseClient:
    """Configuration and the sans-IO request steps (see `salesql_frames.Client`)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        max_retries: int = C.MAX_RETRIES,
        rate_limit: RateLimit | None = None,
        daily_limit: int | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        try:  # the raw key and URL leave this frame before an error does
            self._api_key = read_api_key(api_key)
            self.base_url = normalize_base_url(base_url, self._api_key)
        finally:
            del api_key, base_url
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self.timeout = make_timeout(timeout)
        self._clock = clock or SYSTEM_CLOCK
        self._pacer = Pacer(rate_limit, daily_limit, clock=self._clock)
        self._http = self._open(transport)

    def _open(self, transport: Any) -> Any:
        """The client's httpx client (sync or async) over ``transport`` (the I/O side)."""
        raise NotImplementedError

    # -- what the user sees ------------------------------------------------------------

    def __repr__(self) -> str:
        # getattr: a traceback capturing locals may show a client __init__ did not finish.
        key = "set" if getattr(self, "_api_key", None) else "missing"
        base_url = getattr(self, "base_url", None)
        return f"{type(self).__name__}(base_url={base_url!r}, api_key=<{key}>)"

    def __getstate__(self) -> dict[str, Any]:
        # The key never enters a pickle: an unpickled client reads SALESQL_API_KEY again.
        return {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "pacer": (self.pacer.known and (self.pacer.allowance, self.pacer.window)) or None,
            "daily_limit": self.pacer.daily_limit,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._api_key = read_api_key(None)
        self.base_url = state["base_url"]
        self.timeout = state["timeout"]
        self.max_retries = state["max_retries"]
        self._clock = SYSTEM_CLOCK
        self._pacer = Pacer(state["pacer"], state["daily_limit"], clock=self._clock)
        self._http = self._open(None)

    @property
    def clock(self) -> Clock:
        """The clock the client paces and waits on (see ``clock=``)."""
        return self._clock

    @property
    def pacer(self) -> Pacer:
        """The client's quota pacer, shared by all its requests.

        Read its ``known``, ``allowance`` and ``window`` (the limit given or learned),
        ``rate_limited`` (429s seen) and ``batch_size()``.
        """
        return self._pacer

    @property
    def has_api_key(self) -> bool:
        """Whether a key is configured (the key itself is never exposed)."""
        return self._api_key is not None

    @property
    def account(self) -> str | None:
        """A short non-reversible fingerprint of (key, base URL), or None without a key.

        The result store files answers under it, so accounts never share answers.
        """
        if self._api_key is None:
            return None
        return account_fingerprint(self._api_key, self.base_url)

    # -- request steps -----------------------------------------------------------------

    def _http_options(self) -> dict[str, Any]:
        """Keyword arguments for the httpx client (sync or async)."""
        return {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "headers": {"Accept": "application/json", "User-Agent": user_agent()},
            "follow_redirects": False,  # see _slash_redirect and status_error
        }

    def _auth(self, path: str) -> BearerAuth:
        """The Authorization step for a request to ``path``.

        Raises:
            MissingAPIKeyError: No key is configured; nothing is sent.
        """
        return BearerAuth(self._secret(path))

    def _secret(self, path: str) -> Secret:
        if self._api_key is None:
            raise missing_key(path)
        return self._api_key

    def _on_response(
        self, response: httpx.Response, method: str, path: str, weight: int,
        *, not_found_ok: bool, elapsed: float,
    ) -> SalesQLError | None:
        """Account an answered attempt with the pacer; the error it is, or None if usable."""
        logger.debug("%s %s -> %d in %.0f ms", method, path, response.status_code,
                     elapsed * 1000)
        if response.is_success or (not_found_ok and is_not_found(response)):
            self.pacer.on_success()
            return None
        error = status_error(response, method, path, self._secret(path), base_url=self.base_url)
        if isinstance(error, QuotaExhaustedError) or 300 <= response.status_code < 400:
            self.pacer.release(weight)  # no search was done; a daily cap says nothing of the window
        elif isinstance(error, RateLimitError):
            self.pacer.on_rate_limited(weight, error.retry_after)
            if not self.pacer.fits(weight):
                raise error  # larger than the window allows: the caller must split
        return error

    def _on_transport_error(
        self, exc: httpx.TransportError, method: str, path: str, weight: int
    ) -> APIConnectionError:
        """Account an attempt that got no answer; the error it is."""
        error = transport_error(exc, method, path)
        if not error.sent:
            self.pacer.release(weight)  # it never reached the server
        logger.info("%s %s failed: %s", method, path, type(exc).__name__)
        return error

    def _on_unread_body(self, error: SalesQLError, method: str, path: str) -> SalesQLError:
        """Account an attempt whose body was refused (deadline, size); the error it is.

        The server may have done the work, so the pacer keeps the searches.
        """
        logger.info("%s %s failed: %s", method, path, type(error).__name__)
        return error

    @contextmanager
    def _abandonable(self, method: str, path: str, weight: int) -> Iterator[None]:
        """Around an attempt's I/O: account one given up mid-request (a cancelled task, Ctrl-C).

        The request may have reached the server, which then does (and charges) the work
        whether or not anyone reads the answer: its searches stay counted against the
        window and the daily limit, as possibly charged. The exception goes on as it was.
        """
        try:
            yield
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            how = "cancelled" if isinstance(exc, asyncio.CancelledError) else "interrupted"
            logger.info("%s %s %s mid-request: the server may have done (and charged) it; "
                        "its %d searches stay counted", method, path, how, weight)
            raise

    def _slash_redirect(self, response: httpx.Response) -> httpx.URL | None:
        """Where to send again after a web framework's trailing-slash redirect, else None.

        Frameworks answer ``POST /v1/persons/enrich/bulk`` with ``307 -> .../bulk/``: the
        same request to the same server, so it is sent there once. Any other redirect
        (another scheme, host, port, path or query, or one that changes the method) is
        not followed: `status_error` makes it an error naming the base URL to fix.
        """
        if response.status_code not in C.METHOD_KEEPING_REDIRECTS:
            return None
        source, target = response.request.url, redirect_target(response)
        if target is None:
            return None
        same = (target.scheme, target.host, target.port, target.query) == (
            source.scheme, source.host, source.port, source.query)
        return target if same and target.path == source.path + "/" else None

    def _body_reader(self, response: httpx.Response, method: str, path: str,
                     started: float) -> BodyReader:
        """A reader for ``response``'s body, for an attempt begun at ``started``."""
        return BodyReader(response, method, path, seconds=total_deadline(self.timeout),
                          started=started, clock=self._clock)

    def _retry_after(self, error: SalesQLError, attempts: Attempts, method: str,
                     path: str) -> float:
        """Seconds to wait before the next attempt; raises ``error`` if there is none."""
        delay = retry_delay(error, attempts.number)
        if delay is None or not should_retry(error, attempts.number, self.max_retries,
                                             lost_retried=attempts.lost_retried,
                                             resend_unknown=attempts.resend_unknown):
            raise error
        if isinstance(error, APIConnectionError) and error.sent:
            attempts.lost_retried = True
        attempts.number += 1
        logger.info("retrying %s %s in %.2f s (%s)", method, path, delay, type(error).__name__)
        return delay

    def _on_attempt(
        self, answer: httpx.Response | SalesQLError | httpx.TransportError, method: str,
        path: str, weight: int, *, not_found_ok: bool, started: float,
    ) -> httpx.Response | SalesQLError:
        """Account one attempt's outcome (what `_exchange` returned, sync or async).

        Returns:
            The usable response, or the error the attempt ended with (for `_retry_after`).
        """
        if isinstance(answer, httpx.TransportError):
            return self._on_transport_error(answer, method, path, weight)
        if isinstance(answer, SalesQLError):
            return self._on_unread_body(answer, method, path)
        error = self._on_response(answer, method, path, weight, not_found_ok=not_found_ok,
                                  elapsed=self._clock.monotonic() - started)
        return answer if error is None else error

    # -- answers -----------------------------------------------------------------------

    def _bulk_batches(self, spec: KindSpec, queries: Iterable[Mapping[str, object]],
                      batch_size: int) -> list[Sequence[Query]]:
        """All queries validated (before anything is sent), cut into batches."""
        checked = [validate_query(query, spec, index=i) for i, query in enumerate(queries)]
        return list(batches(checked, batch_size))

    @staticmethod
    def _single_params(spec: KindSpec, params: Mapping[str, object]) -> dict[str, str]:
        """The query string of a single lookup, validated (nothing is sent otherwise)."""
        return wire_params(validate_query(params, spec))

    def _allowance_answer(self, response: httpx.Response) -> Allowance:
        """The `Allowance` of a ``GET /allowance`` answer, or a `ResponseError`."""
        body = read_json(response, C.PATH_ALLOWANCE)
        try:
            return Allowance.from_body(body)
        except TypeError as exc:
            problem = self._secret(C.PATH_ALLOWANCE).scrub(str(exc))
        del body  # raised outside the except (no chained context), without the body
        raise ResponseError(
            f"GET {C.PATH_ALLOWANCE}: unexpected allowance body ({problem})",
            path=C.PATH_ALLOWANCE,
            status=200,
        )

    @staticmethod
    def _verified(error: AuthenticationError) -> bool:
        """What `verify_key` answers when the free lookup was refused: False, unless no key."""
        if isinstance(error, MissingAPIKeyError):
            raise error
        return False

    def _check_batch(self, batch: Sequence[Query]) -> None:
        if not 1 <= len(batch) <= C.MAX_BULK_QUERIES:
            raise InvalidArgumentError(
                f"a bulk request takes 1 to {C.MAX_BULK_QUERIES} queries, got {len(batch)}"
            )

    @staticmethod
    def _bulk_answer(spec: KindSpec, batch: Sequence[Query], body: object) -> list[Record]:
        """The items of a bulk answer, one object per query, or a `ResponseError`.

        The body is dropped from this frame before the error is raised: what a server
        echoes into it never reaches a traceback that captures locals.
        """
        path = spec.bulk_path
        problem = _bulk_problem(len(batch), body)
        if problem is None and isinstance(body, list):
            return body
        del body
        raise ResponseError(f"POST {path}: {problem}", path=path, status=200)

    @staticmethod
    def _single_answer(spec: KindSpec, response: httpx.Response, body: object) -> Record | None:
        """The record of a single lookup, None when not found, or a `ResponseError`."""
        if response.status_code == 404:
            return None
        record = body.get(spec.envelope) if isinstance(body, dict) else None
        if isinstance(record, dict):
            return record
        del body, record  # what a server echoes never reaches a traceback's locals
        raise ResponseError(
            f"GET {spec.single_path}: expected an object with a {spec.envelope!r} field",
            path=spec.single_path, status=200,
        )


def _bulk_problem(sent: int, body: object) -> str | None:
    """What is wrong with a bulk answer to ``sent`` queries, or None."""
    if not isinstance(body, list):
        return f"expected a JSON array, got {type(body).__name__}"
    if len(body) != sent:
        return (f"sent {sent} queries but got {len(body)} answers; answers are matched by "
                "position, so none of them were used")
    position = next((i for i, item in enumerate(body) if not isinstance(item, dict)), None)
    if position is not None:
        return f"answer {position} is {type(body[position]).__name__}, not an object"
    return None


def wire_params(query: Query) -> dict[str, str]:
    """A checked query as URL parameters (flags spelled ``true``)."""
    return {name: ("true" if value is True else str(value)) for name, value in query.items()}


def batches(queries: Sequence[Query], batch_size: int) -> Iterator[Sequence[Query]]:
    """Split ``queries`` into bulk requests of at most ``batch_size``.

    Raises:
        InvalidArgumentError: ``batch_size`` is not 1..100.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise InvalidArgumentTypeError(
            f"batch_size must be an int between 1 and {C.MAX_BULK_QUERIES}, got {batch_size!r}"
        )
    if not 1 <= batch_size <= C.MAX_BULK_QUERIES:
        raise InvalidArgumentError(
            f"batch_size must be an int between 1 and {C.MAX_BULK_QUERIES}, got {batch_size!r}"
        )
    for start in range(0, len(queries), batch_size):
        yield queries[start : start + batch_size]

