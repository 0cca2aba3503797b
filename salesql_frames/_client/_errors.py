"""Error mapping: an HTTP answer or a transport failure -> the library's typed error.

Messages name the request (method and path) and what to do; they never carry the API
key (server details are scrubbed) or an httpx object.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from .. import _constants as C
from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    QuotaExhaustedError,
    RateLimitError,
    ResponseError,
    ServerError,
)
from ._config import Secret
from ._retry import is_daily_cap, parse_retry_after

__all__ = ["is_not_found", "read_json", "status_error", "transport_error"]


def read_json(response: httpx.Response, path: str) -> Any:
    """The response's JSON body.

    Raises:
        ResponseError: The body is not valid JSON.
    """
    try:
        return response.json()
    except ValueError:
        raise ResponseError(
            f"{response.request.method} {path}: the response body is not valid JSON "
            f"(HTTP {response.status_code}, {len(response.content)} bytes)",
            path=path,
            status=response.status_code,
        ) from None


def is_not_found(response: httpx.Response) -> bool:
    """A 404 that means "no match": the reference's ``{"error": ...}`` body."""
    if response.status_code != 404:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "error" in body


def transport_error(exc: httpx.TransportError, method: str, path: str) -> APIConnectionError:
    """Map an httpx transport failure; ``sent`` says whether the server may have the request."""
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


def status_error(
    response: httpx.Response, method: str, path: str, secret: Secret,
    now: datetime | None = None,
) -> APIStatusError:
    """Map an error status to its typed error, the daily cap told apart from the window.

    Args:
        response: The error response.
        method: The request's method, for the message.
        path: The endpoint path, for the message.
        secret: The key, scrubbed from the server's detail.
        now: The current UTC time (default: now), for ``Retry-After`` dates.

    Returns:
        `AuthenticationError` (401/403), `InvalidRequestError` (400/422), `NotFoundError`
        (404), `QuotaExhaustedError` (429 for the daily cap, see `is_daily_cap`),
        `RateLimitError` (other 429s), `ServerError` (5xx), else `APIStatusError`.
    """
    now = now or datetime.now(timezone.utc)
    status = response.status_code
    detail = _detail(response, secret)
    where = f"{method} {path}"
    said = f": {detail}" if detail else ""
    fields: dict[str, Any] = {"status": status, "detail": detail, "path": path}
    if status in (401, 403):
        return AuthenticationError(
            f"{where} -> HTTP {status}{said}. The API key was refused: check it in the SalesQL "
            f"dashboard (Settings -> API Access) and the {C.API_KEY_ENV} variable.", **fields
        )
    if status in (400, 422):
        return InvalidRequestError(f"{where} -> HTTP {status}{said}", **fields)
    if status == 404:
        url = response.url
        port = f":{url.port}" if url.port else ""
        return NotFoundError(
            f"{where} -> HTTP 404{said}. Is the base URL right? ({url.scheme}://{url.host}{port})",
            **fields,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        if is_daily_cap(detail, retry_after):
            resets_at = None if retry_after is None else now + timedelta(seconds=retry_after)
            when = f"; it resets at {resets_at:%Y-%m-%d %H:%M} UTC" if resets_at else ""
            return QuotaExhaustedError(
                f"{where} -> HTTP 429{said}. The daily search quota is used up{when}. "
                "Finished results are kept; run again after the reset.",
                **fields, retry_after=retry_after, resets_at=resets_at,
            )
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        return RateLimitError(f"{where} -> HTTP 429{said}{wait}", **fields,
                              retry_after=retry_after)
    if status >= 500:
        return ServerError(f"{where} -> HTTP {status}{said}", **fields)
    return APIStatusError(f"{where} -> HTTP {status}{said}", **fields)


def _detail(response: httpx.Response, secret: Secret) -> str | None:
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
