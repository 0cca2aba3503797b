"""Stage 1, plan: columns -> canonical, deduplicated queries, decided before any request.

Every cell of a mapped column is canonicalized by its parameter's canonicalizer (each
distinct value once), every row gets the first complete parameter group of its kind,
and rows describing one identity share one query. Rows that cannot be sent get their
status (``invalid_input`` with the reason, or ``skipped``) here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _constants as C
from ._canonical_series import map_unique
from ._exceptions import MappingError
from ._frames import Frame
from ._kinds import KindSpec, dedupe_key
from ._mapping import resolve_mapping
from ._models import Query
from ._params import CONTROL_CHARACTERS, missing_reason, value_problem

__all__ = ["Plan", "build_plan"]


@dataclass(frozen=True)
class Plan:
    """What an enrichment call will send, decided before anything is sent.

    Attributes:
        spec: The kind of lookup (persons or organizations).
        mapping: API parameter -> input column.
        rows: Rows in the input.
        queries: The unique canonical queries to send, in first-seen order.
        keys: The dedupe key of each query.
        row_query: Per row, the position of its query in ``queries``, or -1.
        row_status: Per row, a status decided locally (``invalid_input``/``skipped``),
            or None for rows whose query is sent.
        row_error: Per row, why it is not sent, or None.
    """

    spec: KindSpec = field(repr=False)
    mapping: dict[str, str]
    rows: int
    queries: list[Query] = field(repr=False)
    keys: list[str] = field(repr=False)
    row_query: np.ndarray = field(repr=False)
    row_status: list[str | None] = field(repr=False)
    row_error: list[str | None] = field(repr=False)

    @property
    def kind(self) -> str:
        """``"person"`` or ``"organization"``."""
        return self.spec.name

    @property
    def valid_rows(self) -> int:
        """Rows with a complete parameter group that will be sent (before dedupe)."""
        return int((self.row_query >= 0).sum())

    @property
    def invalid_rows(self) -> int:
        """Rows without a complete parameter group."""
        return self.row_status.count(C.STATUS_INVALID)

    @property
    def skipped_rows(self) -> int:
        """Rows left out on purpose (``only_missing``)."""
        return self.row_status.count(C.STATUS_SKIPPED)

    @property
    def unique_queries(self) -> int:
        """Distinct canonical queries: what is sent, at most once each."""
        return len(self.queries)

    def __repr__(self) -> str:
        lines = [
            f"Plan({self.spec.plural}): {self.rows:,} rows -> "
            f"{self.unique_queries:,} unique queries ({self.valid_rows:,} valid rows, "
            f"{self.valid_rows - self.unique_queries:,} duplicates), "
            f"{self.invalid_rows:,} invalid, {self.skipped_rows:,} skipped",
        ]
        lines += [f"  {param:<20} <- {column!r}" for param, column in self.mapping.items()]
        return "\n".join(lines)


def build_plan(
    frame: Frame,
    spec: KindSpec,
    explicit: Mapping[str, str | None],
    *,
    only_missing: str | Sequence[str] | None = None,
    flags: Mapping[str, bool] | None = None,
) -> Plan:
    """Decide, for every row, whether and what to send; dedupe to unique queries.

    Args:
        frame: The input, adapted (see `salesql_frames._frames.adapt`).
        spec: The kind of lookup.
        explicit: Parameter -> column as the caller named them (None: not named).
        only_missing: Column(s): rows where none of them is empty are ``skipped``.
        flags: The kind's flags to set on every query.

    Returns:
        The plan: every row's query, status or reason, and the unique queries.
    """
    mapping = resolve_mapping(frame.columns, spec, explicit)
    n = frame.height
    values: dict[str, list[str | None]] = {}
    filled: dict[str, np.ndarray] = {}
    notes: dict[int, list[str]] = {}
    for param, column in mapping.items():
        raw, not_text = frame.strings(column)
        clean = _sendable(map_unique(raw, spec.canonical[param]), column, notes)
        values[param] = clean.to_pylist()
        filled[param] = np.asarray(clean.is_valid(), dtype=bool)
        for bad in np.flatnonzero(not_text).tolist():
            notes.setdefault(bad, []).append(f"{column!r} is not text")
        if param in spec.unusable:
            unusable = np.asarray(raw.is_valid(), dtype=bool) & ~filled[param]
            texts = raw.to_pylist()
            for bad in np.flatnonzero(unusable).tolist():
                text = texts[bad]
                said = notes.get(bad, [])
                if text and text.strip() and not any(n.startswith(column) for n in said):
                    notes.setdefault(bad, []).append(
                        f"{column} {_shown(text)} {spec.unusable[param]}"
                    )

    skip_reason = _skip_mask(frame, only_missing)
    skipped = np.array([r is not None for r in skip_reason], dtype=bool) if skip_reason \
        else np.zeros(n, dtype=bool)
    # Each row's group: the first complete one in the recommended order (-1: none).
    kind_groups = spec.groups
    choice = np.full(n, -1, dtype=np.int64)
    for number, group in enumerate(kind_groups):
        if all(name in filled for name in group):
            mask = (choice < 0) & ~skipped
            for name in group:
                mask &= filled[name]
            choice[mask] = number

    set_flags: Query = {name: True for name, on in (flags or {}).items() if on}
    by_key: dict[str, int] = {}
    queries: list[Query] = []
    keys: list[str] = []
    row_query = np.full(n, -1, dtype=np.int64)
    row_status: list[str | None] = [None] * n
    row_error: list[str | None] = [None] * n
    for i in np.flatnonzero(choice >= 0).tolist():
        query: Query = {name: values[name][i] for name in kind_groups[choice[i]]}
        query.update(set_flags)
        key = dedupe_key(spec, query)
        position = by_key.get(key)
        if position is None:
            position = by_key[key] = len(queries)
            queries.append(query)
            keys.append(key)
        row_query[i] = position
    for i in np.flatnonzero(skipped).tolist():
        row_status[i], row_error[i] = C.STATUS_SKIPPED, skip_reason[i] if skip_reason else None
    for i in np.flatnonzero((choice < 0) & ~skipped).tolist():
        row = {name: column[i] for name, column in values.items() if column[i] is not None}
        reason = missing_reason(row, spec)
        if i in notes:
            reason = "; ".join(notes[i]) + "; " + reason
        row_status[i], row_error[i] = C.STATUS_INVALID, reason
    return Plan(spec, mapping, n, queries, keys, row_query, row_status, row_error)


def _shown(text: str) -> str:
    """A cell as a reason quotes it: its repr, cut short."""
    shown = repr(text)
    return shown if len(shown) <= C.MAX_QUOTED_CELL else shown[: C.MAX_QUOTED_CELL - 3] + "..."


def _sendable(clean: pa.Array, column: str, notes: dict[int, list[str]]) -> pa.Array:
    """``clean`` less the values that cannot be sent (too long, control characters).

    Such a cell makes no trustworthy query: it becomes null here, and its row
    ``invalid_input`` with the reason (`salesql_frames._params.value_problem`).
    """
    too_long = pc.greater(pc.utf8_length(clean), C.MAX_PARAM_LENGTH)
    unsendable = pc.fill_null(
        pc.or_(too_long, pc.match_substring_regex(clean, CONTROL_CHARACTERS)), False
    )
    if not pc.any(unsendable).as_py():
        return clean
    texts = clean.to_pylist()
    for row in np.flatnonzero(np.asarray(unsendable)).tolist():
        notes.setdefault(row, []).append(f"{column} {value_problem(texts[row])}")
    return pc.if_else(unsendable, pa.scalar(None, clean.type), clean)


def _skip_mask(frame: Frame, only_missing: str | Sequence[str] | None) -> list[str | None] | None:
    """Per row, why it is skipped under ``only_missing`` (None: it is sent)."""
    if only_missing is None:
        return None
    names = [only_missing] if isinstance(only_missing, str) else list(only_missing)
    missing_any = np.zeros(frame.height, dtype=bool)
    for name in names:
        if name not in frame.columns:
            raise MappingError(f"only_missing={name!r}: no such column. Columns: {frame.columns}")
        raw, not_text = frame.strings(name)
        filled = np.asarray(map_unique(raw, _filled_text).is_valid()) | not_text
        missing_any |= ~filled
    label = ", ".join(repr(n) for n in names)
    reason = f"already filled: {label} (only_missing)"
    return [None if missing else reason for missing in missing_any]


def _filled_text(value: str) -> str | None:
    return value if value.strip() else None
