"""Small typed values the client returns besides raw records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import pyarrow as pa

#: A record as the API returns it: a person or organization object, or ``{"error": ...}``.
Record = dict[str, Any]


class RawRecord:
    """A stored answer still as its JSON text; `load` decodes it.

    A re-run's answers from the result store stay text until the flatten step decodes
    them, a chunk at a time: holding every answer decoded at once (tens of KB of dicts
    each) was most of a large re-run's memory.

    Examples:
        >>> RawRecord('{"full_name": "Ada"}').load()
        {'full_name': 'Ada'}
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawRecord({len(self.text):,} characters)"

    def load(self) -> Record:
        """The record: orjson on the hot path, the standard library as the fallback.

        orjson decodes these records about 6x faster than `json`; what it refuses
        (``NaN``, integers past 64 bits) goes to `json`, so every item `json.dumps`
        wrote reads back.
        """
        try:
            record: Record = orjson.loads(self.text)
        except orjson.JSONDecodeError:
            record = json.loads(self.text)
        return record


class StoredRow:
    """A stored answer already in columnar form: row ``index`` of ``pool``.

    The result store keeps, next to each batch's JSON (the source of truth), the batch's
    records as the decode step makes them (`salesql_frames._columnar`). A re-run gets
    these rows, and the flatten step takes them from the pool with one Arrow ``take``:
    no JSON is parsed. ``pool`` is a struct array of the kind's full record type,
    shared by every row of one look-up.
    """

    __slots__ = ("index", "pool")

    def __init__(self, pool: pa.StructArray, index: int) -> None:
        self.pool = pool
        self.index = index

    def __repr__(self) -> str:
        return f"StoredRow({self.index:,} of {len(self.pool):,})"


class Unread:
    """A found answer the result store holds, not read yet: `UNREAD` is the one value.

    A LazyFrame run asks the store only which answers it has (``look_up`` with
    ``records=False``), then reads them a chunk at a time while it flattens them, so a
    million stored answers are never in memory at once.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNREAD"


#: The marker of a found answer not read from the store yet (see `Unread`).
UNREAD = Unread()

#: An answer item as the run keeps it: a record, or a stored one not decoded yet (its
#: text, or its row in columnar form).
Item = Record | RawRecord | StoredRow

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
