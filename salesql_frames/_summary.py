"""A one-screen account of an enrichment run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from . import _constants as C
from ._plan import Plan
from ._send import Outcomes, row_outcomes


@dataclass(frozen=True)
class RunSummary:
    """Counts of what happened to every row, and what it cost.

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
        status, _ = row_outcomes(plan, outcomes)
        counts = Counter(status.tolist())
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
