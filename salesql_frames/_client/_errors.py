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

__all__ = [
    "deadline_error",
    "is_not_found",
    "read_json",
    "redirect_target",
    "status_error",
    "too_large_error",
    "transport_error",
    "undecodable_error",
    "url_without_query",
]


def read_json(response: httpx.Response, path: str) -> Any:
    """The response's JSON body.

    Raises:
        ResponseError: The body is not valid JSON, or is nested deeper than
            ``MAX_JSON_DEPTH``.
    """
    body, problem = _parse(response)
    if problem is None and _deeper_than(body, C.MAX_JSON_DEPTH):
        problem = f"nested deeper than {C.MAX_JSON_DEPTH} levels"
    if problem is not None:  # raised outside the parser's except: no chained context
        del body  # what a server echoes never reaches a traceback's locals
        raise ResponseError(
            f"{response.request.method} {path}: the response body is {problem} "
            f"(HTTP {response.status_code}, {len(response.content)} bytes)",
            path=path,
            status=response.status_code,
        )
    return body


def _parse(response: httpx.Response) -> tuple[Any, str | None]:
    """The body parsed, or None and why it is not JSON; never raises."""
    try:
        return response.json(), None
    except RecursionError:  # json's own limit, far deeper than MAX_JSON_DEPTH
        return None, "nested too deeply to parse"
    except ValueError:  # not JSON, or not UTF-8
        return None, "not valid JSON"


def _deeper_than(body: object, limit: int) -> bool:
    """Whether arrays and objects in ``body`` nest deeper than ``limit`` (no recursion)."""
    stack: list[tuple[dict[str, Any] | list[Any], int]] = (
        [(body, 1)] if isinstance(body, (dict, list)) else []
    )
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def is_not_found(response: httpx.Response) -> bool:
    """A 404 that means "no match": the reference's ``{"error": ...}`` body."""
    if response.status_code != 404:
        return False
    body, _ = _parse(response)
    return isinstance(body, dict) and "error" in body


def deadline_error(method: str, path: str, seconds: float) -> APITimeoutError:
    """The attempt outlived its total deadline; the server may have done the work."""
    return APITimeoutError(
        f"{method} {path}: no complete response within {seconds:g} s (the connect and read "
        "timeouts plus a margin); the server may be trickling its answer, and may have "
        "done the work",
        path=path,
        sent=True,
    )


def too_large_error(method: str, path: str, status: int, declared: int | None) -> ResponseError:
    """The body is larger than ``MAX_RESPONSE_BYTES`` (``declared``: its Content-Length)."""
    size = f"{declared} bytes" if declared is not None else "larger than that"
    return ResponseError(
        f"{method} {path}: the response body is over the {C.MAX_RESPONSE_BYTES}-byte limit "
        f"({size}, HTTP {status}); it was not read further, and nothing from it was used",
        path=path,
        status=status,
    )


def undecodable_error(method: str, path: str, status: int) -> ResponseError:
    """The body's Content-Encoding could not be decoded."""
    return ResponseError(
        f"{method} {path}: the response body could not be decoded as its Content-Encoding "
        f"says (HTTP {status}); nothing from it was used",
        path=path,
        status=status,
    )


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
    now: datetime | None = None, *, base_url: str | None = None,
) -> APIStatusError:
    """Map an error status to its typed error, the daily cap told apart from the window.

    Args:
        response: The error response.
        method: The request's method, for the message.
        path: The endpoint path, for the message.
        secret: The key, scrubbed from the server's detail.
        now: The current UTC time (default: now), for ``Retry-After`` dates.
        base_url: The client's base URL, named in the message of a redirect.

    Returns:
        `AuthenticationError` (401/403), `InvalidRequestError` (400/422), `NotFoundError`
        (404), `QuotaExhaustedError` (429 for the daily cap, see `is_daily_cap`),
        `RateLimitError` (other 429s), `ServerError` (5xx), else `APIStatusError`
        (a 3xx among them: redirects are not followed, see `redirect_target`).
    """
    now = now or datetime.now(timezone.utc)
    status = response.status_code
    where = f"{method} {path}"
    if 300 <= status < 400:
        return _redirect_error(response, where, path, secret, base_url)
    detail = _detail(response, secret)
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
                "Run again after the reset to send the rest.",
                **fields, retry_after=retry_after, resets_at=resets_at,
            )
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        return RateLimitError(f"{where} -> HTTP 429{said}{wait}", **fields,
                              retry_after=retry_after)
    if status >= 500:
        return ServerError(f"{where} -> HTTP {status}{said}", **fields)
    return APIStatusError(f"{where} -> HTTP {status}{said}", **fields)


def redirect_target(response: httpx.Response) -> httpx.URL | None:
    """Where a 3xx answer points (its Location, resolved), or None without a usable one."""
    location = response.headers.get("Location")
    if not location:
        return None
    try:
        return response.request.url.join(location)
    except (httpx.InvalidURL, ValueError):
        return None


def url_without_query(url: httpx.URL) -> str:
    """``scheme://host[:port]/path``: no user name, password, query or fragment."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{host}{port}{url.path}"


def _redirect_error(
    response: httpx.Response, where: str, path: str, secret: Secret, base_url: str | None
) -> APIStatusError:
    """A 3xx: name the base URL to fix and where it pointed, never the query or the key."""
    status = response.status_code
    target = redirect_target(response)
    current = f" (now {secret.scrub(base_url)})" if base_url else ""
    if target is None:
        said = f"the API answered {status} without a usable Location: check base_url{current}"
    else:
        full = url_without_query(target)
        said = f"the API answered {status} -> {secret.scrub(full)}: "
        endpoint = full.rstrip("/")  # a framework's trailing slash is no other endpoint
        if endpoint.endswith(path):
            said += f"set base_url to {secret.scrub(endpoint[: -len(path)])}{current}"
        else:
            said += f"that is not an API endpoint; check base_url{current}"
    return APIStatusError(
        f"{where}: {said}. Redirects are not followed, so nothing was sent there.",
        status=status, detail=None, path=path,
    )


def _detail(response: httpx.Response, secret: Secret) -> str | None:
    """The server's error message, from ``detail``/``error``/``message``; scrubbed of the key."""
    text: str | None = None
    body, _ = _parse(response)
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
