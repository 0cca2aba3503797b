"""Client configuration: the API key as a secret, the base URL, timeouts, the account.

Pure functions and small values; nothing here sends a request.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Generator
from typing import NoReturn
from urllib.parse import parse_qsl, urlsplit

import httpx

from .. import _constants as C
from .._exceptions import ConfigurationError, InvalidArgumentTypeError, MissingAPIKeyError
from .._version import __version__

__all__ = [
    "BearerAuth",
    "Secret",
    "account_fingerprint",
    "make_timeout",
    "missing_key",
    "normalize_base_url",
    "read_api_key",
    "redact_url",
    "total_deadline",
    "user_agent",
]


class Secret:
    """Holds the API key; shows up as ``'***'`` and refuses to be pickled.

    Code that needs the key asks this object at the last moment (`reveal` inside
    `BearerAuth`, `occurs_in`, `scrub`), so no library frame holds it in a local variable
    that a traceback capturing locals could show.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the Authorization header only."""
        return self._value

    def occurs_in(self, text: str) -> bool:
        """Whether the key appears in ``text``."""
        return bool(self._value) and self._value in text

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
    """The key given, else ``SALESQL_API_KEY``, stripped and checked; None if neither is set.

    A blank key counts as none. The raw key is dropped from this frame before an error
    leaves it, and no message repeats it.

    Raises:
        InvalidArgumentTypeError: ``api_key`` is not a str.
        ConfigurationError: The key has whitespace inside, a character that is not
            printable ASCII, or more than ``MAX_API_KEY_LENGTH`` characters.
    """
    where = "the api_key= argument" if api_key is not None else f"the {C.API_KEY_ENV} variable"
    secret, problem = _check_key(os.environ.get(C.API_KEY_ENV) if api_key is None else api_key,
                                 where)
    del api_key
    if problem is not None:
        raise problem
    return secret


def _check_key(value: object, where: str) -> tuple[Secret | None, ConfigurationError | None]:
    """The key as a `Secret` (None when blank), or the error to raise.

    Never raises, so its locals, which hold the key, never reach a traceback.
    """
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, InvalidArgumentTypeError(f"api_key must be a str, got {type(value).__name__}")
    key = value.strip()
    if not key:
        return None, None
    bad = next((i for i, char in enumerate(key)
                if not (char.isascii() and char.isprintable()) or char.isspace()), None)
    if len(key) > C.MAX_API_KEY_LENGTH:
        problem = f"is {len(key)} characters long, more than a key's {C.MAX_API_KEY_LENGTH}"
    elif bad is not None:
        kind = "whitespace" if key[bad].isspace() else "a character that is not printable ASCII"
        problem = (f"has {kind} at character {bad + 1} of {len(key)}; a key is one word of "
                   "printable ASCII (was a line break, a space or a curly quote pasted with it?)")
    else:
        return Secret(key), None
    return None, ConfigurationError(
        f"The API key from {where} {problem}. Nothing was sent: copy the key again from "
        "the SalesQL dashboard (Settings -> API Access)."
    )


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


def account_fingerprint(secret: Secret, server: str) -> str:
    """A stable, non-reversible id of (key, server): results never cross accounts.

    ``server`` is the base URL, or the identity of an in-process sandbox
    (``"sandbox:..."``, never an http(s) URL, so it never names a real server).
    """
    digest = hashlib.sha256(f"salesql-frames\x00{server}\x00{secret.reveal()}".encode())
    return digest.hexdigest()[:16]


def redact_url(url: str, secret: Secret | None = None) -> str:
    """``url`` for a message: user name, password, query and fragment shown as ``***``.

    Examples:
        >>> redact_url("https://user:pass@api.example.com/v1?token=abc#top")
        'https://***@api.example.com/v1?***#***'
    """
    shown = re.sub(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#]*@", r"\1***@", url)
    shown = re.sub(r"\?[^#]*", "?***", shown, count=1)
    shown = re.sub(r"#.*", "#***", shown, count=1, flags=re.DOTALL)
    return secret.scrub(shown) if secret is not None else shown


def normalize_base_url(value: str | None, secret: Secret | None = None) -> str:
    """The base URL given, else ``SALESQL_BASE_URL``, else the public API; checked.

    Messages show the URL through `redact_url`, with the key (``secret``) scrubbed; the
    raw URL is dropped from this frame before an error leaves it.

    Raises:
        InvalidArgumentTypeError: ``value`` is not a str.
        ConfigurationError: Not an http(s) URL, or it has whitespace, a user name or
            password, a query, a fragment, or the key in it.
    """
    url, problem = _check_base_url(value or os.environ.get(C.BASE_URL_ENV) or C.DEFAULT_BASE_URL,
                                   secret)
    del value
    if problem is not None:
        raise problem
    return url


def _check_base_url(value: object, secret: Secret | None) -> tuple[str, ConfigurationError | None]:
    """The base URL without trailing slashes, or the error to raise; never raises."""
    if not isinstance(value, str):
        return "", InvalidArgumentTypeError(f"base_url must be a str, got {type(value).__name__}")
    url = value.strip().rstrip("/")
    shown = redact_url(url, secret)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not 0..65535)
    except ValueError:
        parts = None
    if any(char.isspace() or not char.isprintable() for char in url):
        problem = f"base_url must not contain whitespace or control characters, got {shown!r}"
    elif parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        problem = f"base_url must be an http(s) URL such as {C.DEFAULT_BASE_URL!r}, got {shown!r}"
    elif "@" in parts.netloc:
        problem = (f"base_url must not carry a user name or password ({shown}): the key is "
                   f"sent only in the Authorization header (pass api_key=... or set "
                   f"{C.API_KEY_ENV})")
    elif any(name.lower() == "api_key" for name, _ in parse_qsl(parts.query)):
        problem = ("base_url must not carry an api_key: the key is sent only in the "
                   f"Authorization header (pass api_key=... or set {C.API_KEY_ENV})")
    elif "?" in url or "#" in url:
        problem = f"base_url must not have a query or fragment, got {shown!r}"
    elif secret is not None and secret.occurs_in(url):
        problem = (f"base_url must not contain the API key ({shown}): the key is sent only "
                   "in the Authorization header")
    else:
        try:
            httpx.URL(url)
        except httpx.InvalidURL:
            problem = f"base_url is not a valid URL: {shown!r}"
        else:
            return url, None
    return "", ConfigurationError(problem)


def make_timeout(timeout: float | tuple[float, float] | None) -> httpx.Timeout:
    """Seconds, a ``(connect, read)`` pair, or None for the defaults; never unbounded.

    Raises:
        ConfigurationError: Not a positive finite number of seconds (or a pair of them).
    """
    if timeout is None:
        return httpx.Timeout(
            connect=C.CONNECT_TIMEOUT, read=C.READ_TIMEOUT, write=C.WRITE_TIMEOUT,
            pool=C.POOL_TIMEOUT,
        )
    if isinstance(timeout, tuple):
        pair = timeout if len(timeout) == 2 else (None, None)
        connect, read = _seconds(pair[0]), _seconds(pair[1])
    else:
        read = _seconds(timeout)
        connect = None if read is None else min(C.CONNECT_TIMEOUT, read)
    if connect is None or read is None:
        raise ConfigurationError(
            f"timeouts must be positive numbers of seconds or a (connect, read) pair, "
            f"got {timeout!r}"
        )
    return httpx.Timeout(connect=connect, read=read, write=read, pool=read)


def _seconds(value: object) -> float | None:
    """A positive finite number of seconds as a float, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = float(value)
    return seconds if 0 < seconds < math.inf else None


def total_deadline(timeout: httpx.Timeout) -> float:
    """Seconds one attempt may take in all: connect + read timeout + ``DEADLINE_MARGIN``.

    httpx's read timeout bounds each read, not the response: a server trickling a byte a
    second never trips it. The request loop reads the body against this deadline.

    Examples:
        >>> total_deadline(make_timeout(2))
        5.0
    """
    return (timeout.connect or 0.0) + (timeout.read or 0.0) + C.DEADLINE_MARGIN


def user_agent() -> str:
    """``salesql-frames/<version>``."""
    return f"{C.USER_AGENT}/{__version__}"
