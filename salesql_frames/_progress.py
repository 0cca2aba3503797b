"""A progress line over queries: a widget in Jupyter, a text bar elsewhere.

It says what it counts (queries, and the rows they answer), what they found and cost
so far, and when the pacer holds the next batch back for the account's quota, that it
waits and for how long; the ETA comes from the quota, not from the burst rate of the
first batches. On a narrow terminal the least useful parts go first (the row count,
then the bar), so that 80 columns keep the counts and the wait.

In Jupyter without ipywidgets (the plain install) tqdm would show a red ``TqdmWarning``
box and print a line per refresh; there one line of text is updated in place instead.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from collections.abc import Callable
from typing import Any

#: Seconds between two updates of the in-place notebook line.
_LINE_REFRESH = 0.25
#: Columns the bar needs to be worth showing: six cells, its edges and two spaces.
_BAR_ROOM = 10

#: Counters in the order they are shown, with the priority that keeps them on a narrow
#: line (lower stays longer).
_COUNTERS = (("cached", 3), ("found", 2), ("not_found", 4), ("errors", 3),
             ("credits", 2), ("possibly_charged", 1))

#: Seconds until ``n`` more searches fit the quota (None: no limit known).
QuotaETA = Callable[[int], "float | None"]


class Progress:
    """Counts queries done, with found / not found / credits and what the quota holds up.

    Credits are those the answers confirm; ``possibly charged`` appears once a batch's
    outcome is unknown (its worst case, see `salesql_frames._budget.Ledger`).

    Args:
        total: Queries to send.
        label: What the line is about (``"SalesQL persons"``).
        rows: Input rows the queries answer (shown when there is room).
        quota_eta: Seconds the quota needs for ``n`` more searches (the pacer's
            ``seconds_for``); None when nothing paces the run.
        enabled: False makes every method a no-op.
    """

    def __init__(self, total: int, *, label: str, rows: int | None = None,
                 quota_eta: QuotaETA | None = None, enabled: bool = True) -> None:
        self.counts = {name: 0 for name, _ in _COUNTERS}
        self.total, self.done = total, 0
        self._label, self._rows, self._quota_eta = label, rows, quota_eta
        self._waiting: float | None = None
        self._started = time.monotonic()  # the pace so far: display only
        self._bar: Any = None
        if enabled and total:
            if _in_notebook() and not _has_widgets():
                self._bar = _NotebookLine()
            else:
                from tqdm.auto import tqdm

                # delay: nothing is drawn before `_show` knows the width
                self._bar = tqdm(total=total, leave=True, dynamic_ncols=True, delay=1e-9,
                                 bar_format=self._format(None))
            self._show()

    def advance(self, done: int, **counts: int) -> None:
        """Mark ``done`` more queries finished and add to the named counters."""
        for name, value in counts.items():
            self.counts[name] += value
        self.done += done
        self._waiting = None
        if self._bar is not None:
            self._bar.bar_format = self._format(self._width())
            self._bar.update(done)

    def waiting(self, seconds: float) -> None:
        """Say, at once, that the next batch waits ``seconds`` for the quota."""
        self._waiting = seconds
        if self._bar is not None:
            self._show()

    def line(self, width: int | None = None) -> str:
        r"""The line as shown, ``{bar}`` being where the bar goes.

        Examples:
            >>> p = Progress(1738, label="SalesQL persons", rows=5000,
            ...              quota_eta=lambda searches: searches * 0.2, enabled=False)
            >>> p.advance(600, found=420, credits=420)
            >>> print(p.line(80))
            SalesQL persons: 600/1,738 queries |{bar}| found 420 · credits 420 · ETA 3m48s
            >>> p.waiting(38.2)
            >>> print(p.line().replace(" · ", "\n"))
            SalesQL persons: 600/1,738 queries for 5,000 rows |{bar}| found 420
            credits 420
            waiting 39s for the quota
            ETA 3m48s
            >>> print(p.line(80))  # what fits 80 columns
            persons: 600/1,738 queries · found 420 · credits 420 · waiting 39s · ETA 3m48s
            >>> p.line(120).startswith("SalesQL persons: 600/1,738 queries |{bar}|")  # no rows
            True
        """
        return self._format(width, plain=True)

    def _format(self, width: int | None, *, plain: bool = False) -> str:
        """The tqdm ``bar_format`` (braces escaped) fitted into ``width`` columns.

        Too wide, it gives up, in turn: the row count, the bar, the words "SalesQL" and
        "for the quota", then counters by priority (the wait and the ETA stay longest).
        """
        counters = [(priority, f"{name.replace('_', ' ')} {self.counts[name]:,}")
                    for name, priority in _COUNTERS
                    if self.counts[name] or name in ("found", "credits")]
        eta = self._eta()
        for short in range(5):
            label = self._label.removeprefix("SalesQL ") if short >= 3 else self._label
            head = f"{label}: {self.done:,}/{self.total:,} queries"
            if self._rows is not None and short < 1:
                head += f" for {self._rows:,} rows"
            timing = []
            if self._waiting is not None:
                wait = _duration(self._waiting)
                timing.append(f"waiting {wait}" if short >= 4 else
                              f"waiting {wait} for the quota")
            if eta is not None:
                timing.append(f"ETA {_duration(eta)}")
            tail = " · ".join([text for _, text in counters] + timing)
            bar = short < 2
            if width is None or len(head) + len(tail) + (_BAR_ROOM if bar else 3) <= width:
                break
        else:  # still too wide: counters go, least useful first
            while counters and width is not None and \
                    len(head) + len(tail) + 3 > width:
                counters.remove(max(counters, key=lambda part: part[0]))
                tail = " · ".join([text for _, text in counters] + timing)
        escape = (lambda text: text) if plain else _escape
        middle = " |{bar}| " if bar else " · "
        return f"{escape(head)}{middle}{escape(tail)}".rstrip()

    def _eta(self) -> float | None:
        """Seconds left: what the quota allows, and no less than the pace so far.

        Without a known quota the pace alone (after a first answer) says it.
        """
        left = self.total - self.done
        if left <= 0:
            return None
        quota = self._quota_eta(left) if self._quota_eta is not None else None
        elapsed = time.monotonic() - self._started
        pace = left * elapsed / self.done if self.done else None
        known = [value for value in (quota, pace) if value is not None]
        return max(known) if known else None

    def _width(self) -> int | None:
        ncols = getattr(self._bar, "ncols", None)
        return ncols if isinstance(ncols, int) and ncols > 0 else None

    def _show(self) -> None:
        self._bar.bar_format = self._format(self._width())
        self._bar.refresh()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._waiting = None
        if self._bar is not None:
            self._bar.bar_format = self._format(self._width())
            self._bar.close()


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _duration(seconds: float) -> str:
    """``38s``, ``3m50s``, ``1h02m`` (rounded up: a wait is never shorter than said).

    Examples:
        >>> [_duration(s) for s in (0.2, 59.5, 230, 3720)]
        ['1s', '1m00s', '3m50s', '1h02m']
    """
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


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

    ncols = None

    def __init__(self) -> None:
        from IPython.display import display

        self.bar_format = ""
        self._shown = 0.0
        self._handle = display(  # type: ignore[no-untyped-call]
            {"text/plain": ""}, raw=True, display_id=True)

    def update(self, done: int) -> None:
        now = time.monotonic()  # display throttling only: not a timing the tests measure
        if now - self._shown >= _LINE_REFRESH:
            self._shown = now
            self.refresh()

    def refresh(self) -> None:
        if self._handle is not None:
            text = self.bar_format.replace(" |{bar}| ", " · ").replace(" |{bar}|", "")
            text = text.format()  # the braces the bar format escapes
            self._handle.update({"text/plain": text}, raw=True)

    def close(self) -> None:
        self.refresh()
