"""Small typed values the client returns besides raw records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

#: A record as the API returns it: a person or organization object, or ``{"error": ...}``.
Record = dict[str, Any]

#: A query as it is sent: parameter name -> string (or True for a flag).
Query = dict[str, "str | bool"]


@dataclass(frozen=True)
class Allowance:
    """Credits left on the account, from ``GET /allowance``.

    Attributes:
        emails_and_phones: Credits left for emails and phones (what enrichment spends).
        verifications: Verification credits left, if the server reports them.
        reset_date: When the credits reset (UTC), if known.
        raw: The response body as received.
    """

    emails_and_phones: int | None
    verifications: int | None
    reset_date: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_body(cls, body: object) -> Allowance:
        """Parse an allowance body defensively (nested object, or a bare number).

        Examples:
            >>> Allowance.from_body({"credits": {"emails_and_phones": 5}, "reset_date": None})
            Allowance(emails_and_phones=5, verifications=None, reset_date=None)
            >>> Allowance.from_body(42).emails_and_phones
            42
        """
        if isinstance(body, (int, float)) and not isinstance(body, bool):
            return cls(int(body), None, None, {"credits": body})
        if not isinstance(body, Mapping):
            raise TypeError(f"expected an object, got {type(body).__name__}")
        credits = body.get("credits")
        if isinstance(credits, Mapping):
            emails_and_phones = _as_int(credits.get("emails_and_phones"))
            verifications = _as_int(credits.get("verifications"))
        else:
            emails_and_phones, verifications = _as_int(credits), None
        return cls(emails_and_phones, verifications, _as_datetime(body.get("reset_date")), body)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _as_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
