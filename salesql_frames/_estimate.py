"""Credit estimates: what a call would send and cost, before anything is sent."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import _constants as C
from ._client import Client
from ._display import html_table, plural
from ._exceptions import SalesQLError
from ._plan import Plan
from ._send import look_up
from ._store import ResultStore


@dataclass(frozen=True)
class Estimate:
    """What an enrichment call would do, computed without sending a query.

    Attributes:
        plan: The plan (mapping, per-row decisions).
        cached: Unique queries already answered in the result store (free).
        stale: Unique queries with a stored answer too old to reuse (past its lifetime or
            ``max_age``): they are sent again, and are part of ``to_send``.
        to_send: Unique queries that would be sent (each one search of the quota).
        requests: Bulk requests that would carry them.
        worst_case_credits: Credits if every query sent came back billable (one each).
        allowance_left: Credits left on the account (``GET /allowance``, free), if known.
        note: Why something is unknown (no key, allowance not reachable), if so.
    """

    plan: Plan = field(repr=False)
    cached: int
    to_send: int
    requests: int
    worst_case_credits: int
    allowance_left: int | None
    note: str | None = None
    stale: int = 0

    @property
    def rows(self) -> int:
        """Rows in the input."""
        return self.plan.rows

    @property
    def valid_rows(self) -> int:
        """Rows with a complete parameter group."""
        return self.plan.valid_rows

    @property
    def unique_queries(self) -> int:
        """Distinct canonical queries among the valid rows."""
        return self.plan.unique_queries

    @property
    def fits_allowance(self) -> bool | None:
        """Whether the worst case fits the credits left (None when unknown)."""
        if self.allowance_left is None:
            return None
        return self.worst_case_credits <= self.allowance_left

    def _rows(self) -> list[tuple[str, str]]:
        allowance = "unknown" if self.allowance_left is None else f"{self.allowance_left:,}"
        rows = [("rows", f"{self.rows:,}"), ("valid rows", f"{self.valid_rows:,}"),
                ("invalid rows", f"{self.plan.invalid_rows:,}"),
                ("skipped rows", f"{self.plan.skipped_rows:,}"),
                ("unique queries", f"{self.unique_queries:,}"),
                ("already cached", f"{self.cached:,}"),
                ("to send", f"{self.to_send:,} in {plural(self.requests, 'request')}"),
                ("worst-case credits", f"{self.worst_case_credits:,}"),
                ("allowance left", allowance)]
        if self.stale:
            rows.insert(6, ("stale, sent again", f"{self.stale:,}"))
        return rows

    def __repr__(self) -> str:
        counts = ", ".join(f"{name} {value}" for name, value in self._rows())
        note = f"; note: {self.note}" if self.note else ""
        return f"<Estimate({self.plan.spec.plural}): {counts}{note}>"

    def _repr_html_(self) -> str:
        notes = [f"note: {self.note}"] if self.note else []
        return html_table(f"SalesQL estimate ({self.plan.spec.plural})", self._rows(), notes)

    def __str__(self) -> str:
        allowance = "unknown" if self.allowance_left is None else f"{self.allowance_left:,}"
        lines = [
            f"rows                 {self.rows:>9,}",
            f"valid rows           {self.valid_rows:>9,}",
            f"invalid rows         {self.plan.invalid_rows:>9,}",
            f"skipped rows         {self.plan.skipped_rows:>9,}",
            f"unique queries       {self.unique_queries:>9,}",
            f"already cached       {self.cached:>9,}",
            f"to send              {self.to_send:>9,}  in {plural(self.requests, 'request')}",
            f"worst-case credits   {self.worst_case_credits:>9,}",
            f"allowance left       {allowance:>9}",
        ]
        if self.stale:  # only then, so a run without stale answers reads as before
            lines.insert(6, f"stale, sent again    {self.stale:>9,}")
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)


def estimate(
    plan: Plan, client: Client | None, store: ResultStore | None, *,
    max_age: float | None = None,
) -> Estimate:
    """Estimate a plan: store hits, what is left to send, its worst-case cost, credits left.

    ``max_age`` (seconds): stored answers fetched longer ago count as stale, to send.
    """
    notes: list[str] = []
    account = client.account if client is not None else None
    if account is None:
        notes.append("no API key: the result store was not checked and the allowance is unknown")
    stored = [one for one in look_up(plan, store, account, max_age=max_age, records=False)
              if one is not None]
    cached = sum(one.fresh for one in stored)
    to_send = plan.unique_queries - cached
    batch = client.pacer.batch_size() if client is not None else C.MAX_BULK_QUERIES
    allowance_left: int | None = None
    if account is not None and client is not None:
        try:
            allowance_left = client.allowance().emails_and_phones
        except SalesQLError as exc:
            notes.append(f"allowance unavailable: {exc}")
    return Estimate(
        plan=plan,
        cached=cached,
        stale=len(stored) - cached,
        to_send=to_send,
        requests=math.ceil(to_send / batch) if to_send else 0,
        worst_case_credits=to_send,
        allowance_left=allowance_left,
        note="; ".join(notes) or None,
    )
