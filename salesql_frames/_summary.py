"""A one-screen account of an enrichment run."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from . import _constants as C
from ._display import html_table
from ._plan import Plan
from ._send import Outcomes, status_counts


@dataclass(frozen=True)
class RunSummary:
    """Counts of what happened to every row, and what it cost (see `last_run`).

    ``credits_used`` is what the answers confirm; ``credits_possible`` is the worst case
    of batches whose outcome is unknown (lost, timed out, malformed): together they
    cover whatever the server charged.
    """

    rows: int
    found: int
    not_found: int
    invalid: int
    skipped: int
    errors: int
    queries_sent: int
    cached: int
    credits_used: int
    credits_possible: int = 0
    stopped: str | None = None

    @classmethod
    def of(cls, plan: Plan, outcomes: Outcomes) -> RunSummary:
        """Summarize a finished run."""
        counts = status_counts(plan, outcomes)
        return cls(
            rows=plan.rows,
            found=counts[C.STATUS_FOUND],
            not_found=counts[C.STATUS_NOT_FOUND],
            invalid=counts[C.STATUS_INVALID],
            skipped=counts[C.STATUS_SKIPPED],
            errors=counts[C.STATUS_ERROR],
            queries_sent=outcomes.sent,
            cached=outcomes.cached,
            credits_used=outcomes.credits_used,
            credits_possible=outcomes.credits_possible,
            stopped=outcomes.stopped,
        )

    def as_dict(self) -> dict[str, Any]:
        """The counts as a plain dict (JSON-safe: what ``df.attrs["salesql"]`` holds)."""
        return asdict(self)

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("rows", self.rows), ("found", self.found), ("not found", self.not_found),
                ("invalid", self.invalid), ("skipped", self.skipped), ("errors", self.errors),
                ("from the store", self.cached), ("queries sent", self.queries_sent),
                ("credits used", self.credits_used)]
        if self.credits_possible:
            rows.append(("credits possibly used besides", self.credits_possible))
        return [(name, f"{value:,}") for name, value in rows]

    def __repr__(self) -> str:
        counts = ", ".join(f"{name} {value}" for name, value in self._rows())
        stopped = f"; stopped early: {self.stopped}" if self.stopped else ""
        return f"<RunSummary: {counts}{stopped}>"

    def _repr_html_(self) -> str:
        notes = [f"stopped early: {self.stopped}"] if self.stopped else []
        return html_table("SalesQL run", self._rows(), notes)

    def __str__(self) -> str:
        lines = [
            f"rows           {self.rows:>8,}",
            f"  found        {self.found:>8,}",
            f"  not found    {self.not_found:>8,}",
            f"  invalid      {self.invalid:>8,}",
            f"  skipped      {self.skipped:>8,}",
            f"  errors       {self.errors:>8,}",
            f"from the store {self.cached:>8,}",
            f"queries sent   {self.queries_sent:>8,}",
            f"credits used   {self.credits_used:>8,}",
        ]
        if self.credits_possible:
            lines.append(f"  + possibly   {self.credits_possible:>8,}  (batches whose answer was "
                         "lost: they may have been charged)")
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        return "\n".join(lines)


_last: list[RunSummary | None] = [None]
_last_lock = threading.Lock()


def remember(summary: RunSummary) -> None:
    """Keep ``summary`` as the process's last run (see `last_run`)."""
    with _last_lock:
        _last[0] = summary


def last_run() -> RunSummary | None:
    """The summary of the last enrichment run in this process, or None before any.

    Counts per status, answers from the store, queries sent and credits used. On pandas
    the enriched frame carries the same counts as a plain dict in
    ``enriched.attrs["salesql"]``; polars frames have no attrs, so use this.

    Examples:
        >>> import polars as pl, salesql_frames
        >>> from salesql_frames import sandbox
        >>> df = pl.DataFrame({"linkedin_url": ["linkedin.com/in/sandrocarsava"]})
        >>> with sandbox.serve() as sb, sb.client() as client:
        ...     _ = df.salesql.enrich_persons(client=client, cache=False, progress=False)
        >>> salesql_frames.last_run().found
        1
    """
    with _last_lock:
        return _last[0]
