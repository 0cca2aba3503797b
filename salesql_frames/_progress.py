"""A progress bar over queries: a widget in Jupyter, a text bar elsewhere.

In Jupyter without ipywidgets (the plain install) tqdm would show a red ``TqdmWarning``
box and print a line per refresh; there one line of text is updated in place instead.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import Any

#: Seconds between two updates of the in-place notebook line.
_LINE_REFRESH = 0.25


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
            if _in_notebook() and not _has_widgets():
                self._bar = _NotebookLine(total, label)
            else:
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


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (IPython loaded and a kernel app configured)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _has_widgets() -> bool:
    """Whether ipywidgets can be imported (what tqdm's notebook bar needs)."""
    try:
        return importlib.util.find_spec("ipywidgets") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["ipywidgets"] is None
        return False


class _NotebookLine:
    """The tqdm calls `Progress` makes, shown as one text line updated in place."""

    def __init__(self, total: int, label: str) -> None:
        from IPython.display import display

        self._total, self._label, self._n = total, label, 0
        self._postfix: dict[str, int] = {}
        self._shown = 0.0
        self._handle = display(  # type: ignore[no-untyped-call]
            {"text/plain": self._line()}, raw=True, display_id=True)

    def set_postfix(self, postfix: dict[str, int], refresh: bool = False) -> None:
        self._postfix = dict(postfix)

    def update(self, done: int) -> None:
        self._n += done
        now = time.monotonic()  # display throttling only: not a timing the tests measure
        if now - self._shown >= _LINE_REFRESH:
            self._shown = now
            self._show()

    def close(self) -> None:
        self._show()

    def _show(self) -> None:
        if self._handle is not None:
            self._handle.update({"text/plain": self._line()}, raw=True)

    def _line(self) -> str:
        share = f" ({100 * self._n // self._total}%)" if self._total else ""
        counts = "".join(f", {name.replace('_', ' ')} {value:,}"
                         for name, value in self._postfix.items())
        return f"{self._label}: {self._n:,} of {self._total:,} queries{share}{counts}"
