"""How results show in a notebook: one small HTML table (a leaf: imports nothing)."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["html_table"]


def html_table(title: str, rows: Sequence[tuple[str, str]], notes: Sequence[str] = ()) -> str:
    """A titled two-column table for ``_repr_html_``; every text is escaped.

    Examples:
        >>> html_table("Run", [("rows", "3")]).count("<tr>")
        1
    """
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
                   f"<td style='text-align:right'>{html.escape(value)}</td></tr>"
                   for name, value in rows)
    extra = "".join(f"<p>{html.escape(note)}</p>" for note in notes)
    return (f"<div class='salesql'><strong>{html.escape(title)}</strong>"
            f"<table>{body}</table>{extra}</div>")


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and ``noun``, in the plural unless ``count`` is 1.

    Examples:
        >>> plural(1, "request"), plural(0, "request"), plural(2, "query", "queries")
        ('1 request', '0 requests', '2 queries')
    """
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
