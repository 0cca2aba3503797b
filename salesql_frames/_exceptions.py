"""The exceptions `salesql_frames` raises.

Every error derives from `SalesQLError`, so one ``except`` clause catches them all::

    SalesQLError
    ├── ConfigurationError               bad base URL, unusable result store
    │   ├── InvalidArgumentError         an argument has a wrong value (also ValueError)
    │   │   ├── InvalidArgumentTypeError an argument has a wrong type (also TypeError)
    │   │   ├── InvalidQueryError        a query fails local validation
    │   │   └── MappingError             columns cannot be mapped to API parameters
    │   ├── MissingAPIKeyError           no key configured (also AuthenticationError)
    │   └── StoreError                   the result store cannot be opened, read or written
    ├── SpreadsheetError                 a file cannot be read or written (also ValueError)
    ├── RunStoppedError                  a strict run stopped early; .partial has the frame
    ├── APIConnectionError               the request never got a response
    │   └── APITimeoutError
    ├── ResponseError                    a 2xx body that is not what the reference promises
    └── APIStatusError                   the server answered with an error status
        ├── AuthenticationError          401 / 403
        │   └── MissingAPIKeyError       no key configured; nothing was sent
        ├── InvalidRequestError          400 / 422
        ├── NotFoundError                404 where "not found" is not a result
        ├── RateLimitError               429
        │   └── QuotaExhaustedError      429 for the daily cap
        └── ServerError                  5xx

Every error of the first two branches is raised before anything is sent; a store
that cannot be written once a run has sent something is a `StoreWarning` instead, and
the run goes on without it. Argument errors stay ``ValueError`` / ``TypeError`` too, so
code that catches those keeps working. Messages and attributes never hold the API key
or request headers.

Ctrl-C during a run raises `RunInterrupted`, a ``KeyboardInterrupt`` (not an error)
that carries the partial frame in ``.partial``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "InvalidQueryError",
    "InvalidRequestError",
    "MappingError",
    "MissingAPIKeyError",
    "NotFoundError",
    "QuotaExhaustedError",
    "QuotaExhaustedWarning",
    "RateLimitError",
    "ResponseError",
    "RunInterrupted",
    "RunStoppedError",
    "RunStoppedWarning",
    "SalesQLError",
    "SalesQLWarning",
    "ServerError",
    "SpreadsheetError",
    "StoreError",
    "StoreWarning",
]


class SalesQLError(Exception):
    """Base class of every error raised by `salesql_frames`."""


class ConfigurationError(SalesQLError):
    """A setting is wrong: base URL, an option's value, an unusable result store.

    A missing API key raises `MissingAPIKeyError`, which is also a `ConfigurationError`.
    """


class InvalidArgumentError(ConfigurationError, ValueError):
    """An argument has a value the library cannot use; nothing was sent.

    The message names the argument (or the column or cell) and what would be accepted.
    """


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument has a type the library cannot use; nothing was sent."""


class MappingError(InvalidArgumentError):
    """The frame's columns cannot be mapped to API parameters as asked."""


class StoreError(ConfigurationError):
    """The result store cannot be opened, read or written; nothing was lost.

    Raised for every SQLite or file-system failure of the store, and for a write lock
    another connection holds longer than the store's ``lock_timeout``. The message
    says what happened and what to do: ``cache=False``, another path, free disk space,
    or delete a corrupt file.

    Attributes:
        path: The store's file.
        operation: ``"open"``, ``"read"`` or ``"write"`` (claims and releases are writes).
    """

    def __init__(
        self, message: str, *, path: Path, operation: Literal["open", "read", "write"]
    ) -> None:
        super().__init__(message)
        self.path = path
        self.operation = operation

    def __reduce__(self) -> tuple[object, ...]:
        state = {"path": self.path, "operation": self.operation}
        return (_rebuild, (type(self), str(self), state))


class SpreadsheetError(SalesQLError, ValueError):
    """A file cannot be read or written as the spreadsheet it should be."""


class RunStoppedError(SalesQLError):
    """A run with ``strict=True`` stopped early: what `RunStoppedWarning` says otherwise.

    Nothing that arrived is lost: ``partial`` is the frame the run would have returned,
    every answered row filled, the others ``skipped`` (or ``error``) with the reason.

    Attributes:
        partial: The enriched frame, of the caller's type.
        reason: Why the run stopped.
        category: The warning a non-strict run would have issued
            (`RunStoppedWarning` or `QuotaExhaustedWarning`).
    """

    def __init__(self, message: str, *, partial: object, reason: str,
                 category: type[Warning]) -> None:
        super().__init__(message)
        self.partial: Any = partial
        self.reason = reason
        self.category = category

    def __reduce__(self) -> tuple[object, ...]:
        state = {"partial": self.partial, "reason": self.reason, "category": self.category}
        return (_rebuild, (type(self), str(self), state))


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run: a ``KeyboardInterrupt`` that carries what arrived.

    The batches in flight got a short grace to be answered and stored; ``partial`` is
    the frame with every answered row, the others ``skipped``. In Jupyter the last
    exception is ``sys.last_value``: ``partial = sys.last_value.partial``.

    Attributes:
        partial: The enriched frame, of the caller's type.
    """

    def __init__(self, message: str, *, partial: object) -> None:
        super().__init__(message)
        self.partial: Any = partial

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), str(self), {"partial": self.partial}))


class InvalidQueryError(InvalidArgumentError):
    """A query failed local validation, so nothing was sent.

    Attributes:
        index: Position of the offending query in the list given, if any.
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class APIConnectionError(SalesQLError):
    """The request did not get a response: refused, reset, or cut off.

    Attributes:
        path: The endpoint path, e.g. ``/persons/enrich/bulk``.
        sent: True when the request may have reached the server (it may have done the work).
    """

    def __init__(self, message: str, *, path: str, sent: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.sent = sent

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), str(self), {"path": self.path, "sent": self.sent}))


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""


class ResponseError(SalesQLError):
    """A success status with a body that breaks the contract.

    The body is not JSON, has the wrong shape, or a bulk answer does not have one
    item per query. Also raised, whatever the status, for a body over the size cap (32
    MiB) or nested too deeply. Nothing from such a response is used.

    Attributes:
        path: The endpoint path.
        status: The HTTP status of the response.
    """

    def __init__(self, message: str, *, path: str, status: int) -> None:
        super().__init__(message)
        self.path = path
        self.status = status

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), str(self), {"path": self.path, "status": self.status}))


class APIStatusError(SalesQLError):
    """The server answered with an error status.

    Attributes:
        status: The HTTP status code.
        detail: The server's error message (``detail`` or ``error`` field), if any.
        path: The endpoint path, e.g. ``/persons/enrich/bulk``.
    """

    def __init__(self, message: str, *, status: int, detail: str | None, path: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        state: dict[str, object] = {"status": self.status, "detail": self.detail,
                                    "path": self.path}
        state.update(self._extra_state())
        return (_rebuild, (type(self), str(self), state))

    def _extra_state(self) -> dict[str, object]:
        return {}


class AuthenticationError(APIStatusError):
    """401 or 403: the API key is missing, wrong, revoked, or lacks API access."""


class MissingAPIKeyError(AuthenticationError, ConfigurationError):
    """No API key is configured, so the request was not sent.

    ``status`` is 401, the answer the server would give; ``detail`` is None.
    """


class InvalidRequestError(APIStatusError):
    """400 or 422: the server rejected the request as malformed or incomplete."""


class NotFoundError(APIStatusError):
    """404 from an endpoint where "not found" is not a normal answer."""


class RateLimitError(APIStatusError):
    """429: too many searches in the current window.

    Attributes:
        retry_after: Seconds the server asked to wait (from ``Retry-After``), if given.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        detail: str | None,
        path: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail, path=path)
        self.retry_after = retry_after

    def _extra_state(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}


class QuotaExhaustedError(RateLimitError):
    """429 for the daily cap: waiting a minute will not help.

    Attributes:
        resets_at: When the server said the quota resets (UTC), if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        detail: str | None,
        path: str,
        retry_after: float | None = None,
        resets_at: datetime | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail, path=path, retry_after=retry_after)
        self.resets_at = resets_at

    def _extra_state(self) -> dict[str, object]:
        return {"retry_after": self.retry_after, "resets_at": self.resets_at}


class ServerError(APIStatusError):
    """5xx: the server failed (500, 502, 503 and 504 are retried before this is raised)."""


class SalesQLWarning(UserWarning):
    """Base class of the warnings `salesql_frames` issues."""


class RunStoppedWarning(SalesQLWarning):
    """A run stopped early; unsent rows are ``skipped``.

    Causes: the ``max_credits`` budget, 429s that outlast the retries, or an API that
    cannot be reached.

    Finished answers are kept in the result store: running the same call again sends
    only what was not finished.
    """


class QuotaExhaustedWarning(RunStoppedWarning):
    """A run stopped early at the daily cap; unsent rows are marked ``skipped``."""


class StoreWarning(SalesQLWarning):
    """The result store failed during a run; the run went on without it.

    The answers are in the returned frame, but those not stored would be paid for
    again by another run. The message names the store's file and the failure.
    """


def _rebuild(
    cls: type[BaseException], message: str, state: dict[str, object]
) -> BaseException:
    """Unpickle an error with keyword-only attributes."""
    error = cls.__new__(cls)
    BaseException.__init__(error, message)
    error.__dict__.update(state)
    return error
