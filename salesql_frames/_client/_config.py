"""Client configuration: the API key as a secret, the base URL, timeouts, the account.

Pure functions and small values; nothing here sends a request.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Generator
from typing import NoReturn
from urllib.parse import parse_qsl, urlsplit

import httpx

from .. import _constants as C
from .._exceptions import ConfigurationError, MissingAPIKeyError
from .._version import __version__

__all__ = [
    "BearerAuth",
    "Secret",
    "account_fingerprint",
    "make_timeout",
    "missing_key",
    "normalize_base_url",
    "read_api_key",
    "user_agent",
]


class Secret:
    """Holds the API key; shows up as ``'***'`` and refuses to be pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the Authorization header only."""
        return self._value

    def scrub(self, text: str) -> str:
        """Replace any occurrence of the key in ``text``."""
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return "'***'"

    def __reduce__(self) -> NoReturn:
        raise TypeError("the API key is not picklable")


class BearerAuth(httpx.Auth):
    """Sets ``Authorization: Bearer <key>`` inside httpx's auth flow.

    No frame of the library holds the header in a local variable, so a traceback that
    captures locals never shows the key.
    """

    def __init__(self, secret: Secret) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header to ``request``."""
        request.headers["Authorization"] = f"Bearer {self._secret.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


def read_api_key(api_key: str | None) -> Secret | None:
    """The key given, else ``SALESQL_API_KEY``; None when neither is set or both are blank."""
    key = api_key if api_key is not None else os.environ.get(C.API_KEY_ENV)
    return Secret(key.strip()) if key and key.strip() else None


def missing_key(path: str) -> MissingAPIKeyError:
    """The error for a request that cannot be sent for want of a key."""
    return MissingAPIKeyError(
        f"No SalesQL API key: pass Client(api_key=...) or set the {C.API_KEY_ENV} "
        "environment variable (Settings -> API Access in the SalesQL dashboard). "
        "To try things without an account, use the local sandbox: "
        "`salesql-frames sandbox`, or `with salesql_frames.sandbox.serve() as sb:`.",
        status=401,
        detail=None,
        path=path,
    )


def account_fingerprint(api_key: str, base_url: str) -> str:
    """A stable, non-reversible id of (key, server): results never cross accounts."""
    digest = hashlib.sha256(f"salesql-frames\x00{base_url}\x00{api_key}".encode())
    return digest.hexdigest()[:16]


def normalize_base_url(value: str | None) -> str:
    """The base URL given, else ``SALESQL_BASE_URL``, else the public API; checked.

    Raises:
        ConfigurationError: Not an http(s) URL, or it carries a query, fragment or key.
    """
    url = (value or os.environ.get(C.BASE_URL_ENV) or C.DEFAULT_BASE_URL).strip().rstrip("/")
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


def make_timeout(timeout: float | tuple[float, float] | None) -> httpx.Timeout:
    """Seconds, a ``(connect, read)`` pair, or None for the defaults; never unbounded."""
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


def user_agent() -> str:
    """``salesql-frames/<version>``."""
    return f"{C.USER_AGENT}/{__version__}"
