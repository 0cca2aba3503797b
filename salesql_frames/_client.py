"""The synchronous SalesQL API client: the only module that talks HTTP.

Every request goes through `Client._request`, so retries, pacing and logging wrap
one place. The API key lives in a `_Secret`, is sent only as a Bearer header, and is
kept out of reprs, errors, logs and pickles.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

import httpx

from . import _constants as C
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidQueryError,
    InvalidRequestError,
    MissingAPIKeyError,
    NotFoundError,
    QuotaExhaustedError,
    RateLimitError,
    ResponseError,
    SalesQLError,
    ServerError,
)
from ._models import Allowance, Record
from ._pacing import Pacer, RateLimit
from ._params import Kind, Query, validate_query
from ._store import account_fingerprint

__all__ = ["Client"]

logger = logging.getLogger(C.LOGGER_NAME)

_BULK_PATHS: dict[Kind, str] = {
    "person": C.PATH_PERSONS_BULK,
    "organization": C.PATH_ORGANIZATIONS_BULK,
}
_DAILY_CAP_WORDS = ("daily", "per day", "quota", "today")


class _Secret:
    """Holds the API key; shows up as ``'***'`` and refuses to be pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        """Replace any occurrence of the key in ``text``."""
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return "'***'"

    def __reduce__(self) -> NoReturn:
        raise TypeError("the API key is not picklable")


class Client:
    """A client for the SalesQL public API.

    Args:
        api_key: The API key. Defaults to the ``SALESQL_API_KEY`` environment variable.
            A missing key is reported when the first request is about to be sent.
        base_url: The API root. Defaults to ``SALESQL_BASE_URL``, else the public API.
        timeout: Seconds to wait for a response (read/write); connecting waits at most
            5 s. A ``(connect, read)`` pair sets both. Never unbounded.
        max_retries: How often a failed request is retried: connection errors, timeouts,
            408, 429 (waiting as ``Retry-After`` says, up to 120 s; longer means the
            daily cap, which is not retried), 500, 502, 503 and 504. 400, 401, 403, 404
            and 422 are never retried.
        rate_limit: The plan's searches per minute, or a ``(searches, seconds)``
            window. Requests are paced to it, so no 429 is provoked. None (the
            default) learns the limit from 429s and ``Retry-After``.
        daily_limit: Searches this client may send per UTC day; past it, requests
            fail with `QuotaExhaustedError` before anything is sent.
        transport: An ``httpx`` transport, for tests.

    Examples:
        >>> from salesql_frames import Client, sandbox
        >>> with sandbox.serve() as sb, Client(sb.api_key, base_url=sb.base_url) as client:
        ...     person = client.enrich_person(linkedin_url="https://linkedin.com/in/sandrocarsava")
        >>> person["full_name"]
        'Sandro Carsava'
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        max_retries: int = C.MAX_RETRIES,
        rate_limit: RateLimit | None = None,
        daily_limit: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(C.API_KEY_ENV)
        self._api_key = _Secret(key.strip()) if key and key.strip() else None
        self.base_url = _normalize_base_url(base_url or os.environ.get(C.BASE_URL_ENV) or "")
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {max_retries}")
        self.max_retries = max_retries
        self.timeout = _make_timeout(timeout)
        self.pacer = Pacer(rate_limit, daily_limit)
        self._transport = transport
        self._http = self._open()

    # -- lifecycle -------------------------------------------------------------------

    def _open(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            timeout=self.timeout,
            transport=self._transport,
            headers={"Accept": "application/json", "User-Agent": _user_agent()},
            follow_redirects=True,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        key = "set" if self._api_key else "missing"
        return f"Client(base_url={self.base_url!r}, api_key=<{key}>)"

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
        key = os.environ.get(C.API_KEY_ENV)
        self._api_key = _Secret(key.strip()) if key and key.strip() else None
        self.base_url = state["base_url"]
        self.timeout = state["timeout"]
        self.max_retries = state["max_retries"]
        self.pacer = Pacer(state["pacer"], state["daily_limit"])
        self._transport = None
        self._http = self._open()

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
        return account_fingerprint(self._api_key.reveal(), self.base_url)

    # -- endpoints -------------------------------------------------------------------

    def allowance(self) -> Allowance:
        """Return the credits left on the account (``GET /allowance``; costs nothing).

        Examples:
            >>> from salesql_frames import sandbox
            >>> with sandbox.serve(credits=500) as sb, sb.client() as client:
            ...     client.allowance().emails_and_phones
            500
        """
        body = self._json(self._request("GET", C.PATH_ALLOWANCE), C.PATH_ALLOWANCE)
        try:
            return Allowance.from_body(body)
        except TypeError as exc:
            raise ResponseError(
                f"GET {C.PATH_ALLOWANCE}: unexpected allowance body ({exc})",
                path=C.PATH_ALLOWANCE,
                status=200,
            ) from None

    def verify_key(self) -> bool:
        """Check the key with the reference's free test profile (never costs a credit).

        Returns:
            True if the server accepted the key, False if it refused it (401/403).

        Examples:
            >>> from salesql_frames import Client, sandbox
            >>> with sandbox.serve() as sb:
            ...     Client(sb.api_key, base_url=sb.base_url).verify_key()
            ...     Client("wrong", base_url=sb.base_url).verify_key()
            True
            False
        """
        try:
            self.enrich_person(linkedin_url=C.FREE_PROFILE_URL)
        except MissingAPIKeyError:
            raise
        except AuthenticationError:
            return False
        return True

    def enrich_person(self, **params: str | bool | None) -> Record | None:
        """Enrich one person (``GET /persons/enrich``).

        Args:
            **params: A complete parameter group (``linkedin_url``; or ``full_name`` /
                ``first_name`` + ``last_name`` with ``organization_domain`` or
                ``organization_name``), plus optional ``match_if_direct_email`` /
                ``match_if_direct_phone`` flags.

        Returns:
            The person record, or None if the person was not found.

        Examples:
            >>> from salesql_frames import sandbox
            >>> with sandbox.serve() as sb, sb.client() as client:
            ...     person = client.enrich_person(full_name="Ada Lovelace",
            ...                                   organization_domain="acme.io")
            >>> person is None or person["full_name"] == "Ada Lovelace"
            True
        """
        return self._enrich_one("person", C.PATH_PERSON, params)

    def enrich_organization(self, **params: str | None) -> Record | None:
        """Enrich one organization (``GET /organizations/enrich``).

        Args:
            **params: ``linkedin_url``, ``organization_domain`` or ``organization_name``.

        Returns:
            The organization record, or None if it was not found.

        Examples:
            >>> from salesql_frames import sandbox
            >>> with sandbox.serve() as sb, sb.client() as client:
            ...     found = client.enrich_organization(organization_domain="salesql.com")
            >>> found is None or found["website_domain"] == "salesql.com"
            True
        """
        return self._enrich_one("organization", C.PATH_ORGANIZATION, params)

    def enrich_persons_bulk(
        self, queries: Iterable[Mapping[str, object]], *, batch_size: int = C.MAX_BULK_QUERIES
    ) -> list[Record]:
        """Enrich any number of persons through ``POST /persons/enrich/bulk``.

        All queries are validated before anything is sent; they go out in batches of at
        most ``batch_size`` (<= 100), and the answers come back in query order.

        Args:
            queries: Mappings of parameter name to value, each with a complete group.
            batch_size: Queries per request, 1..100.

        Returns:
            One item per query: the person record, or ``{"error": "Person not found"}``
            (or another item-level error) exactly as the API answered.

        Raises:
            InvalidQueryError: A query is incomplete or malformed (nothing is sent).

        Examples:
            >>> from salesql_frames import sandbox
            >>> queries = [{"linkedin_url": "linkedin.com/in/sandrocarsava"},
            ...            {"full_name": "Ada Lovelace", "organization_name": "Acme"}]
            >>> with sandbox.serve() as sb, sb.client() as client:
            ...     answers = client.enrich_persons_bulk(queries)
            >>> answers[0]["full_name"], len(answers)
            ('Sandro Carsava', 2)
        """
        return self._bulk("person", queries, batch_size)

    def enrich_organizations_bulk(
        self, queries: Iterable[Mapping[str, object]], *, batch_size: int = C.MAX_BULK_QUERIES
    ) -> list[Record]:
        """Enrich any number of organizations through ``POST /organizations/enrich/bulk``.

        Works like `enrich_persons_bulk`; not-found items are
        ``{"error": "Organization not found"}``.

        Examples:
            >>> from salesql_frames import sandbox
            >>> with sandbox.serve() as sb, sb.client() as client:
            ...     answers = client.enrich_organizations_bulk([{"organization_name": "Acme"}])
            >>> len(answers)
            1
        """
        return self._bulk("organization", queries, batch_size)

    # -- bulk plumbing ---------------------------------------------------------------

    def _bulk(
        self, kind: Kind, queries: Iterable[Mapping[str, object]], batch_size: int
    ) -> list[Record]:
        checked = [validate_query(query, kind, index=i) for i, query in enumerate(queries)]
        results: list[Record] = []
        for batch in _batches(checked, batch_size):
            results.extend(self.send_batch(kind, batch))
        return results

    def send_batch(self, kind: Kind, batch: Sequence[Query]) -> list[Record]:
        """Send one already-validated batch of 1..100 queries to a bulk endpoint.

        The answer is checked to hold one object per query; otherwise a
        `ResponseError` is raised and nothing from the answer is used.
        """
        path = _BULK_PATHS[kind]
        if not 1 <= len(batch) <= C.MAX_BULK_QUERIES:
            raise InvalidQueryError(
                f"a bulk request takes 1 to {C.MAX_BULK_QUERIES} queries, got {len(batch)}"
            )
        response = self._request("POST", path, json_body=list(batch), weight=len(batch))
        body = self._json(response, path)
        if not isinstance(body, list):
            raise ResponseError(
                f"POST {path}: expected a JSON array, got {type(body).__name__}",
                path=path,
                status=200,
            )
        if len(body) != len(batch):
            raise ResponseError(
                f"POST {path}: sent {len(batch)} queries but got {len(body)} answers; "
                "answers are matched by position, so none of them were used",
                path=path,
                status=200,
            )
        for position, item in enumerate(body):
            if not isinstance(item, dict):
                raise ResponseError(
                    f"POST {path}: answer {position} is {type(item).__name__}, not an object",
                    path=path,
                    status=200,
                )
        return body

    def _enrich_one(self, kind: Kind, path: str, params: Mapping[str, object]) -> Record | None:
        query = validate_query(params, kind)
        wire = {name: _wire_value(value) for name, value in query.items()}
        response = self._request("GET", path, params=wire, not_found_ok=True, weight=1)
        body = self._json(response, path)
        if response.status_code == 404:
            return None
        record = body.get(kind) if isinstance(body, dict) else None
        if not isinstance(record, dict):
            raise ResponseError(
                f"GET {path}: expected an object with a {kind!r} field", path=path, status=200
            )
        return record

    # -- the request path ------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        not_found_ok: bool = False,
        weight: int = 0,
    ) -> httpx.Response:
        """Send one API request with pacing and retries.

        Args:
            method: HTTP method.
            path: Endpoint path below the base URL.
            params: Query parameters.
            json_body: JSON request body.
            not_found_ok: Return a reference-style 404 (``{"error": ...}``) as is.
            weight: Searches the request counts toward the rate limit.

        Returns:
            A 2xx response (or an accepted 404).
        """
        secret = self._secret(path)
        headers = {"Authorization": f"Bearer {secret.reveal()}"}
        resent_after_send = False
        for attempt in range(self.max_retries + 1):
            self.pacer.acquire(weight, path)
            started = time.perf_counter()
            try:
                response = self._http.request(
                    method, path, params=params, json=json_body, headers=headers
                )
            except httpx.TransportError as exc:
                lost = _transport_error(exc, method, path)
                error: SalesQLError = lost
                if not lost.sent:
                    self.pacer.release(weight)  # never reached the server
                logger.info("%s %s failed: %s", method, path, type(exc).__name__)
            else:
                elapsed_ms = (time.perf_counter() - started) * 1000
                logger.debug("%s %s -> %d in %.0f ms", method, path, response.status_code,
                             elapsed_ms)
                if response.is_success or (not_found_ok and _is_not_found(response)):
                    self.pacer.on_success()
                    return response
                error = _status_error(response, method, path, secret)
                if isinstance(error, QuotaExhaustedError):
                    self.pacer.release(weight)  # a daily cap says nothing about the window
                elif isinstance(error, RateLimitError):
                    self.pacer.on_rate_limited(weight, error.retry_after)
                    if not self.pacer.fits(weight):
                        raise error  # larger than the window allows: the caller must split
            delay = _retry_delay(error, attempt)
            if delay is None or attempt >= self.max_retries:
                raise error
            if isinstance(error, APIConnectionError) and error.sent:
                # The server may have done (and charged) the work: retry such a loss once.
                if resent_after_send:
                    raise error
                resent_after_send = True
            logger.info("retrying %s %s in %.2f s (%s)", method, path, delay,
                        type(error).__name__)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def require_key(self, path: str = C.PATH_PERSONS_BULK) -> None:
        """Raise `MissingAPIKeyError` now, before a long run, if no key is configured.

        Args:
            path: The endpoint about to be called, for the error.

        Examples:
            >>> Client(api_key="").require_key()  # an empty key counts as none
            Traceback (most recent call last):
            ...
            salesql_frames._exceptions.MissingAPIKeyError: No SalesQL API key: ...
        """
        self._secret(path)

    def _secret(self, path: str) -> _Secret:
        if self._api_key is None:
            raise MissingAPIKeyError(
                f"No SalesQL API key: pass Client(api_key=...) or set the {C.API_KEY_ENV} "
                "environment variable (Settings -> API Access in the SalesQL dashboard). "
                "To try things without an account, use the local sandbox: "
                "`salesql-frames sandbox`, or `with salesql_frames.sandbox.serve() as sb:`.",
                status=401,
                detail=None,
                path=path,
            )
        return self._api_key

    def _json(self, response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ResponseError(
                f"{response.request.method} {path}: the response body is not valid JSON "
                f"(HTTP {response.status_code}, {len(response.content)} bytes)",
                path=path,
                status=response.status_code,
            ) from None


# -- pure helpers: retry arithmetic, error mapping, configuration ------------------------


def _retry_delay(error: SalesQLError, attempt: int) -> float | None:
    """Seconds to wait before retrying after ``error``, or None if it must not be retried."""
    if isinstance(error, QuotaExhaustedError):
        return None
    if isinstance(error, APIConnectionError):
        return _backoff(attempt)
    if not isinstance(error, APIStatusError) or error.status not in C.RETRYABLE_STATUSES:
        return None
    retry_after = error.retry_after if isinstance(error, RateLimitError) else None
    if retry_after is not None and 0 <= retry_after <= C.MAX_RETRY_AFTER:
        return retry_after
    return _backoff(attempt)


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter: 0.5 s doubling to 8 s, times 0.75-1.0."""
    delay: float = min(C.INITIAL_RETRY_DELAY * 2.0**attempt, C.MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * random.random())


def _is_not_found(response: httpx.Response) -> bool:
    """A 404 that means "no match": the reference's ``{"error": ...}`` body."""
    if response.status_code != 404:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "error" in body


def _transport_error(exc: httpx.TransportError, method: str, path: str) -> APIConnectionError:
    # A request that failed before any byte went out cannot have been processed.
    sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{method} {path}: no response within the timeout ({type(exc).__name__}); "
            "the server may be overloaded or unreachable",
            path=path,
            sent=sent,
        )
    return APIConnectionError(
        f"{method} {path}: connection failed ({type(exc).__name__}: {exc}); "
        "check the base URL and your network",
        path=path,
        sent=sent,
    )


def _status_error(
    response: httpx.Response, method: str, path: str, secret: _Secret
) -> APIStatusError:
    status = response.status_code
    detail = _detail(response, secret)
    where = f"{method} {path}"
    said = f": {detail}" if detail else ""
    if status in (401, 403):
        return AuthenticationError(
            f"{where} -> HTTP {status}{said}. The API key was refused: check it in the SalesQL "
            f"dashboard (Settings -> API Access) and the {C.API_KEY_ENV} variable.",
            status=status,
            detail=detail,
            path=path,
        )
    if status in (400, 422):
        return InvalidRequestError(
            f"{where} -> HTTP {status}{said}", status=status, detail=detail, path=path
        )
    if status == 404:
        return NotFoundError(
            f"{where} -> HTTP 404{said}. Is the base URL right? ({response.url.scheme}://"
            f"{response.url.host}{':' + str(response.url.port) if response.url.port else ''})",
            status=status,
            detail=detail,
            path=path,
        )
    if status == 429:
        retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        if _is_daily_cap(detail, retry_after):
            resets_at = (
                datetime.now(timezone.utc) + timedelta(seconds=retry_after)
                if retry_after is not None
                else None
            )
            when = f"; it resets at {resets_at:%Y-%m-%d %H:%M} UTC" if resets_at else ""
            return QuotaExhaustedError(
                f"{where} -> HTTP 429{said}. The daily search quota is used up{when}. "
                "Finished results are kept; run again after the reset.",
                status=status,
                detail=detail,
                path=path,
                retry_after=retry_after,
                resets_at=resets_at,
            )
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        return RateLimitError(
            f"{where} -> HTTP 429{said}{wait}",
            status=status,
            detail=detail,
            path=path,
            retry_after=retry_after,
        )
    if status >= 500:
        return ServerError(f"{where} -> HTTP {status}{said}", status=status, detail=detail,
                           path=path)
    return APIStatusError(f"{where} -> HTTP {status}{said}", status=status, detail=detail,
                          path=path)


def _detail(response: httpx.Response, secret: _Secret) -> str | None:
    """The server's error message, from ``detail``/``error``/``message``; scrubbed of the key."""
    text: str | None = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for name in ("detail", "error", "message"):
            value = body.get(name)
            if isinstance(value, list):  # framework-style validation errors
                value = "; ".join(
                    str(entry.get("msg", entry)) if isinstance(entry, dict) else str(entry)
                    for entry in value
                )
            if isinstance(value, str) and value.strip():
                text = value.strip()
                break
    if text is None:
        content_type = response.headers.get("Content-Type", "")
        raw = response.text.strip() if "html" not in content_type else ""
        text = raw[:200] or None
    return secret.scrub(text) if text else None


def _parse_retry_after(value: str | None) -> float | None:
    """Parse ``Retry-After`` as seconds or an HTTP date; None when absent or malformed."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(seconds, 0.0)


def _is_daily_cap(detail: str | None, retry_after: float | None) -> bool:
    """A 429 for the daily cap: a detail that says so, or a wait beyond any minute window."""
    if detail and any(word in detail.lower() for word in _DAILY_CAP_WORDS):
        return True
    return retry_after is not None and retry_after > C.MAX_RETRY_AFTER


def _batches(queries: Sequence[Query], batch_size: int) -> Iterator[Sequence[Query]]:
    if not 1 <= batch_size <= C.MAX_BULK_QUERIES:
        raise InvalidQueryError(
            f"batch_size must be between 1 and {C.MAX_BULK_QUERIES}, got {batch_size}"
        )
    for start in range(0, len(queries), batch_size):
        yield queries[start : start + batch_size]


def _wire_value(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _normalize_base_url(value: str) -> str:
    url = (value or C.DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"base_url must be an http(s) URL such as {C.DEFAULT_BASE_URL!r}, got {url!r}"
        )
    if any(name.lower() == "api_key" for name, _ in parse_qsl(parts.query)):
        raise ConfigurationError(
            "base_url must not carry an api_key: the key is sent only in the Authorization "
            f"header (pass api_key=... or set {C.API_KEY_ENV})"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not have a query or fragment, got {url!r}")
    return url


def _make_timeout(timeout: float | tuple[float, float] | None) -> httpx.Timeout:
    if timeout is None:
        return httpx.Timeout(
            connect=C.CONNECT_TIMEOUT, read=C.READ_TIMEOUT, write=C.WRITE_TIMEOUT,
            pool=C.POOL_TIMEOUT,
        )
    if isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect, read = min(C.CONNECT_TIMEOUT, float(timeout)), float(timeout)
    if not (connect > 0 and read > 0):
        raise ConfigurationError(f"timeouts must be positive numbers of seconds, got {timeout!r}")
    return httpx.Timeout(connect=connect, read=read, write=read, pool=read)


def _user_agent() -> str:
    from . import __version__

    return f"{C.USER_AGENT}/{__version__}"
