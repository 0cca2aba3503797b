"""A progress bar over queries: a widget in Jupyter, a text bar elsewhere."""

from __future__ import annotations

from typing import Any


class Progress:
    """Counts queries done, with found / not found / credits in the postfix.

    Credits are those the answers confirm; ``possibly_charged`` appears once a batch's
    outcome is unknown (its worst case, see `salesql_frames._budget.Ledger`).

    Args:
        total: Queries to send.
        label: What the bar says it counts (``"SalesQL persons"``).
        enabled: False makes every method a no-op.
    """

    def __init__(self, total: int, *, label: str, enabled: bool = True) -> None:
        self.counts = {"cached": 0, "found": 0, "not_found": 0, "errors": 0, "credits": 0,
                       "possibly_charged": 0}
        self._bar: Any = None
        if enabled and total:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=label, unit="query", leave=True)

    def advance(self, done: int, **counts: int) -> None:
        """Mark ``done`` more queries finished and add to the named counters."""
        for name, value in counts.items():
            self.counts[name] += value
        if self._bar is not None:
            shown = {name: value for name, value in self.counts.items()
                     if value or name != "possibly_charged"}
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(done)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.close()
