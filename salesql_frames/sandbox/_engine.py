"""What the sandbox API answers: auth, validation, limits, lookups and credits.

Transport-free: the HTTP layer hands in the endpoint, query string and body, and
gets back a `Reply` to send.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from .._constants import MAX_BULK_QUERIES
from .._kinds import ORGANIZATION, PERSON
from ._counters import Counters
from ._data import FREE_PROFILE_IDENTITY, DataSource, Record
from ._identity import IncompleteQuery, organization_identity, person_identity
from ._limits import Limiter, Rejection

__all__ = ["Engine", "Reply", "error_reply", "json_reply"]

#: The ``verifications`` figure `/allowance` reports (the sandbox never spends it).
VERIFICATIONS: Final = 50
PERSON_NOT_FOUND: Final = {"error": "Person not found"}
ORGANIZATION_NOT_FOUND: Final = {"error": "Organization not found"}
_TRUE: Final = frozenset({"true", "1"})
_FALSE: Final = frozenset({"false", "0", ""})


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body, content type, extra headers, and the JSON value sent."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    payload: Any = None


def json_reply(status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    """Encode ``payload`` as compact UTF-8 JSON."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(status, body, headers=tuple(headers), payload=payload)


def error_reply(status: int, detail: str, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    """Return the API's error body ``{"detail": ..., "status": ...}``."""
    return json_reply(status, {"detail": detail, "status": status}, headers)


def rejection_reply(rejection: Rejection) -> Reply:
    """Return the 429 for a rate-limit rejection."""
    return error_reply(429, rejection.detail, [("Retry-After", str(rejection.retry_after))])


class _BadQuery(Exception):
    """A query the API refuses: status and detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _flag(name: str, value: object) -> bool:
    """Read a boolean flag: true/false/1/0 (strings, bools or ints); absent is False."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _BadQuery(422, f"{name} must be a boolean (true, false, 1 or 0), got {value!r}")


def _has_direct_email(record: Record) -> bool:
    return any(email.get("type") == "Direct" for email in record.get("emails") or ())


def _has_direct_phone(record: Record) -> bool:
    """A direct phone is any phone not typed "Work" (so "Personal" or "Mobile")."""
    return any(phone.get("type") != "Work" for phone in record.get("phones") or ())


def _next_reset(now: datetime) -> str:
    """First day of next month, midnight UTC, in ISO 8601 with a Z."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{year:04d}-{month:02d}-01T00:00:00Z"


class Engine:
    """The API's behaviour, shared by every request thread.

    Args:
        api_key: The one key accepted.
        data: Who is found and what their records hold.
        counters: Where to count what happens.
        limiter: The rate limit and daily cap.
        credits: Initial ``emails_and_phones`` credits.
        organization_credit: Credits charged per organization found.
    """

    def __init__(self, *, api_key: str, data: DataSource, counters: Counters, limiter: Limiter,
                 credits: int, organization_credit: int) -> None:
        if credits < 0 or organization_credit < 0:
            raise ValueError("credits and organization_credit must be >= 0")
        self.api_key = api_key
        self.data = data
        self.counters = counters
        self.limiter = limiter
        self._credits = int(credits)
        self._organization_credit = int(organization_credit)
        self._credit_lock = threading.Lock()
        self._handlers: dict[str, Callable[[Mapping[str, str], bytes], Reply]] = {
            "allowance": self._allowance,
            "person": self._person,
            "persons_bulk": self._persons_bulk,
            "organization": self._organization,
            "organizations_bulk": self._organizations_bulk,
        }

    @property
    def credits_remaining(self) -> int:
        """Credits left in the allowance."""
        with self._credit_lock:
            return self._credits

    # -- entry points -------------------------------------------------------------------

    def authenticate(self, authorization: str | None, query_keys: Sequence[str]) -> Reply | None:
        """Return a 401 reply unless the request carries the key as a Bearer header only."""
        if "api_key" in query_keys:
            self.counters.refused()
            return error_reply(
                401,
                "API keys in the query string are not accepted; send the key in the "
                "Authorization header as 'Bearer <key>'",
            )
        scheme, _, token = (authorization or "").strip().partition(" ")
        if not authorization:
            detail = "Authentication credentials were not provided"
        elif scheme.lower() != "bearer" or not token.strip():
            detail = "Authorization header must be 'Bearer <key>'"
        elif not hmac.compare_digest(token.strip().encode(), self.api_key.encode()):
            detail = "Invalid API key"
        else:
            return None
        self.counters.refused()
        return error_reply(401, detail, [("WWW-Authenticate", "Bearer")])

    def handle(self, endpoint: str, params: Mapping[str, str], body: bytes) -> Reply:
        """Answer an authenticated request to ``endpoint``."""
        try:
            return self._handlers[endpoint](params, body)
        except _BadQuery as error:
            return error_reply(error.status, error.detail)

    def lookup_person(self, query: Mapping[str, object]) -> Record | None:
        """Return what the server would answer for ``query``, without counting or charging.

        Raises:
            ValueError: The query is incomplete or a flag is not a boolean.
        """
        try:
            return self._resolve_person(*self._read_person(query, ""))[1]
        except _BadQuery as error:
            raise ValueError(error.detail) from None

    def lookup_organization(self, query: Mapping[str, object]) -> Record | None:
        """Return what the server would answer for ``query``, without counting or charging.

        Raises:
            ValueError: The query is incomplete.
        """
        try:
            identity = organization_identity(query)
        except IncompleteQuery as error:
            raise ValueError(f"Missing parameters: {error}") from None
        return self.data.organization(identity, query)

    # -- endpoints ----------------------------------------------------------------------

    def _allowance(self, params: Mapping[str, str], body: bytes) -> Reply:
        credits = {"emails_and_phones": self.credits_remaining, "verifications": VERIFICATIONS}
        return json_reply(200, {
            "credits": credits, "reset_date": _next_reset(datetime.now(timezone.utc)),
        })

    def _person(self, params: Mapping[str, str], body: bytes) -> Reply:
        identity, query, flags = self._read_person(params, "")
        if (rejected := self._admit(1)) is not None:
            return rejected
        billable, record = self._resolve_person(identity, query, flags)
        self.counters.executed([identity])
        self._charge(billable)
        if record is None:
            return json_reply(404, dict(PERSON_NOT_FOUND))
        return json_reply(200, {"person": record})

    def _organization(self, params: Mapping[str, str], body: bytes) -> Reply:
        identity, query = self._read_organization(params, "")
        if (rejected := self._admit(1)) is not None:
            return rejected
        record = self.data.organization(identity, query)
        self.counters.executed([identity])
        self._charge(self._organization_credit if record is not None else 0)
        if record is None:
            return json_reply(404, dict(ORGANIZATION_NOT_FOUND))
        return json_reply(200, {"organization": record})

    def _persons_bulk(self, params: Mapping[str, str], body: bytes) -> Reply:
        items = _read_bulk(body)
        queries = [self._read_person(item, f"query {index}: ") for index, item in enumerate(items)]
        if (rejected := self._admit(len(queries))) is not None:
            return rejected
        results: list[Record] = []
        cost = 0
        for identity, query, flags in queries:
            billable, record = self._resolve_person(identity, query, flags)
            cost += billable
            results.append(record if record is not None else dict(PERSON_NOT_FOUND))
        self.counters.executed([identity for identity, _, _ in queries])
        self._charge(cost)
        return json_reply(200, results)

    def _organizations_bulk(self, params: Mapping[str, str], body: bytes) -> Reply:
        items = _read_bulk(body)
        queries = [self._read_organization(item, f"query {index}: ")
                   for index, item in enumerate(items)]
        if (rejected := self._admit(len(queries))) is not None:
            return rejected
        results: list[Record] = []
        found = 0
        for identity, query in queries:
            record = self.data.organization(identity, query)
            found += record is not None
            results.append(record if record is not None else dict(ORGANIZATION_NOT_FOUND))
        self.counters.executed([identity for identity, _ in queries])
        self._charge(found * self._organization_credit)
        return json_reply(200, results)

    # -- helpers ------------------------------------------------------------------------

    def _admit(self, searches: int) -> Reply | None:
        rejection = self.limiter.admit(self.api_key, searches)
        if rejection is None:
            return None
        self.counters.limited(daily=rejection.daily)
        return rejection_reply(rejection)

    def _charge(self, credits: int) -> None:
        if credits <= 0:
            return
        with self._credit_lock:
            taken = min(credits, self._credits)
            self._credits -= taken
        self.counters.charged(taken)

    @staticmethod
    def _read_person(source: Mapping[str, object], where: str
                     ) -> tuple[str, dict[str, object], tuple[bool, bool]]:
        query = {name: source[name] for name in PERSON.params if name in source}
        flags = (_flag(PERSON.flags[0], source.get(PERSON.flags[0])),
                 _flag(PERSON.flags[1], source.get(PERSON.flags[1])))
        try:
            return person_identity(query), query, flags
        except IncompleteQuery as error:
            raise _BadQuery(422, f"{where}Missing parameters: {error}") from None

    @staticmethod
    def _read_organization(source: Mapping[str, object], where: str
                           ) -> tuple[str, dict[str, object]]:
        query = {name: source[name] for name in ORGANIZATION.params if name in source}
        try:
            return organization_identity(query), query
        except IncompleteQuery as error:
            raise _BadQuery(422, f"{where}Missing parameters: {error}") from None

    def _resolve_person(self, identity: str, query: Mapping[str, object],
                        flags: tuple[bool, bool]) -> tuple[int, Record | None]:
        """Return (credits due, record or None) for one executed person query."""
        record = self.data.person(identity, query)
        if record is None:
            return 0, None
        direct_email, direct_phone = flags
        if (direct_email and not _has_direct_email(record)) or (
            direct_phone and not _has_direct_phone(record)
        ):
            return 0, None
        billable = identity != FREE_PROFILE_IDENTITY and bool(
            record.get("emails") or record.get("phones")
        )
        return int(billable), record


def _read_bulk(body: bytes) -> list[Mapping[str, object]]:
    """Parse a bulk body: a JSON array of 1..MAX_BULK_QUERIES objects.

    Every refusal is a 422: the reference lists only 200, 401, 422 and 429 for the bulk
    endpoints, so a malformed body is answered as "Missing Parameters".
    """
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise _BadQuery(422, f"Request body is not valid JSON: {error}") from None
    if not isinstance(items, list):
        raise _BadQuery(
            422, f"Request body must be a JSON array of query objects, got {type(items).__name__}"
        )
    if not items:
        raise _BadQuery(422, "Request body is an empty array; send 1 to "
                             f"{MAX_BULK_QUERIES} query objects")
    if len(items) > MAX_BULK_QUERIES:
        raise _BadQuery(422, f"Request body holds {len(items)} queries; at most "
                             f"{MAX_BULK_QUERIES} are allowed per request")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _BadQuery(422, f"query {index}: expected a JSON object, "
                                 f"got {type(item).__name__}")
    return items
