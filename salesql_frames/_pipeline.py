"""The backend-agnostic enrichment pipeline: plan, send, assemble.

1. `build_plan` maps columns to parameters, canonicalizes values, picks each row's
   parameter group and dedupes rows into unique queries.
2. `_runner.send` answers the unique queries (store, then paced bulk batches).
3. `assemble` flattens the answers (`_flatten`) and fans them back out to the rows,
   by position, returning the caller's own frame type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from . import _constants as C
from ._canonical import (
    canonical_domain,
    canonical_linkedin_url,
    canonical_name,
    canonical_organization_name,
)
from ._canonical_series import map_unique
from ._flatten import Widths, explode_persons, organization_columns, person_columns
from ._frames import Frame
from ._mapping import MappingError, resolve_mapping
from ._params import Kind, Query, groups, missing_reason

if TYPE_CHECKING:
    from ._runner import Outcomes

__all__ = ["Plan", "assemble", "build_plan", "row_outcomes"]

Explode = Literal["emails", "phones", "work_experience"]

#: How each parameter's cells are cleaned before sending (also the dedupe form).
_CANONICAL: dict[str, Callable[[str], str | None]] = {
    "linkedin_url": canonical_linkedin_url,
    "first_name": canonical_name,
    "last_name": canonical_name,
    "full_name": canonical_name,
    "organization_name": canonical_organization_name,
    "organization_domain": canonical_domain,
}
_WHAT_IS_WRONG: dict[str, str] = {
    "linkedin_url": "is not a LinkedIn URL",
    "organization_domain": "is not a domain, URL or email address",
}

@dataclass(frozen=True)
class Plan:
    """What an enrichment call will send, decided before anything is sent.

    Attributes:
        kind: ``"person"`` or ``"organization"``.
        mapping: API parameter -> input column.
        rows: Rows in the input.
        queries: The unique canonical queries to send, in first-seen order.
        keys: The dedupe key of each query.
        row_query: Per row, the position of its query in ``queries``, or -1.
        row_status: Per row, a status decided locally (``invalid_input``/``skipped``),
            or None for rows whose query is sent.
        row_error: Per row, why it is not sent, or None.
    """

    kind: Kind
    mapping: dict[str, str]
    rows: int
    queries: list[Query] = field(repr=False)
    keys: list[str] = field(repr=False)
    row_query: np.ndarray = field(repr=False)
    row_status: list[str | None] = field(repr=False)
    row_error: list[str | None] = field(repr=False)

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
            f"Plan({self.kind}s): {self.rows:,} rows -> {self.unique_queries:,} unique queries "
            f"({self.valid_rows:,} valid rows, {self.valid_rows - self.unique_queries:,} "
            f"duplicates), {self.invalid_rows:,} invalid, {self.skipped_rows:,} skipped",
        ]
        lines += [f"  {param:<20} <- {column!r}" for param, column in self.mapping.items()]
        return "\n".join(lines)


def build_plan(
    frame: Frame,
    kind: Kind,
    explicit: Mapping[str, str | None],
    *,
    only_missing: str | Sequence[str] | None = None,
    flags: Mapping[str, bool] | None = None,
) -> Plan:
    """Decide, for every row, whether and what to send; dedupe to unique queries."""
    mapping = resolve_mapping(frame.columns, kind, explicit)
    n = frame.height
    values: dict[str, list[str | None]] = {}
    filled: dict[str, np.ndarray] = {}
    notes: dict[int, list[str]] = {}
    for param, column in mapping.items():
        raw, not_text = frame.strings(column)
        clean = map_unique(raw, _CANONICAL[param])
        values[param] = clean.to_pylist()
        filled[param] = np.asarray(clean.is_valid(), dtype=bool)
        for bad in np.flatnonzero(not_text).tolist():
            notes.setdefault(bad, []).append(f"{column!r} is not text")
        if param in _WHAT_IS_WRONG:
            unusable = np.asarray(raw.is_valid(), dtype=bool) & ~filled[param]
            texts = raw.to_pylist()
            for bad in np.flatnonzero(unusable).tolist():
                text = texts[bad]
                if text and text.strip():
                    notes.setdefault(bad, []).append(
                        f"{column} {text!r} {_WHAT_IS_WRONG[param]}"
                    )

    skip_reason = _skip_mask(frame, only_missing)
    skipped = np.array([r is not None for r in skip_reason], dtype=bool) if skip_reason \
        else np.zeros(n, dtype=bool)
    # Each row's group: the first complete one in the recommended order (-1: none).
    kind_groups = groups(kind)
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
        key = _dedupe_key(kind, query)
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
        reason = missing_reason(row, kind)
        if i in notes:
            reason = "; ".join(notes[i]) + "; " + reason
        row_status[i], row_error[i] = C.STATUS_INVALID, reason
    return Plan(kind, mapping, n, queries, keys, row_query, row_status, row_error)


def _dedupe_key(kind: Kind, query: Query) -> str:
    """One key per real-world identity: names compared caseless, first+last == full."""
    if "linkedin_url" in query:
        head = f"li={query['linkedin_url']}"
    else:
        name = query.get("full_name") or f"{query.get('first_name')} {query.get('last_name')}"
        org = (
            f"domain={query['organization_domain']}"
            if "organization_domain" in query
            else f"org={str(query.get('organization_name', '')).casefold()}"
        )
        head = f"name={str(name).casefold()}|{org}" if kind == "person" else org
    flags = "".join(f"|{flag}" for flag in C.PERSON_FLAGS if query.get(flag))
    return f"{kind}|{head}{flags}"


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


def row_outcomes(plan: Plan, outcomes: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    """Per input row: its status and error (object arrays of str / None)."""
    sent = plan.row_query >= 0
    status = np.array(plan.row_status, dtype=object)
    error = np.array(plan.row_error, dtype=object)
    if outcomes.status:
        chosen = plan.row_query[sent]
        status[sent] = np.array(outcomes.status, dtype=object)[chosen]
        error[sent] = np.array(outcomes.error, dtype=object)[chosen]
    return status, error


def assemble(
    frame: Frame,
    plan: Plan,
    outcomes: Outcomes,
    *,
    how: Literal["wide", "long"] = "wide",
    explode: Explode | None = None,
    widths: Widths | None = None,
    prefix: str = C.DEFAULT_PREFIX,
) -> Any:
    """Fan the answers out to the input rows and return the caller's frame type."""
    row_query = plan.row_query
    sent = row_query >= 0
    status, error = row_outcomes(plan, outcomes)
    head = {
        f"{prefix}status": pa.array(status.tolist(), type=pa.string()),
        f"{prefix}error": pa.array(error.tolist(), type=pa.string()),
    }
    take = pa.array(row_query, mask=~sent)
    if how == "wide":
        if plan.kind == "person":
            unique = person_columns(outcomes.items, widths=widths or Widths(), prefix=prefix)
        else:
            unique = organization_columns(outcomes.items, prefix=prefix)
        return frame.with_results(_prepend(unique.take(take), head))
    if plan.kind != "person" or explode is None:
        raise ValueError('how="long" needs explode="emails", "phones" or "work_experience"')
    parents, unique_long = explode_persons(outcomes.items, explode=explode, prefix=prefix)
    positions, long_take = _long_positions(row_query, np.asarray(parents, dtype=np.int64),
                                           len(outcomes.items))
    rows = unique_long.take(long_take)
    long_head = {name: column.take(pa.array(positions)) for name, column in head.items()}
    long_head[f"{prefix}row"] = pa.array(positions, type=pa.int64())
    return frame.with_long_results(positions, _prepend(rows, long_head))


def _prepend(table: pa.Table, columns: Mapping[str, pa.Array]) -> pa.Table:
    for position, (name, column) in enumerate(columns.items()):
        table = table.add_column(position, name, column)
    return table


def _long_positions(
    row_query: np.ndarray, parents: np.ndarray, unique: int
) -> tuple[np.ndarray, pa.Array]:
    """For explode output: each input row's position, repeated, and the long rows to take.

    ``parents`` is ascending, each unique query appearing at least once. A row that was
    not sent appears once, with a null take (all result columns null).
    """
    counts = np.bincount(parents, minlength=unique) if unique else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if unique else counts
    sent = row_query >= 0
    safe = np.where(sent, row_query, 0)
    per_row = np.where(sent, counts[safe] if unique else 1, 1).astype(np.int64)
    positions = np.repeat(np.arange(len(row_query), dtype=np.int64), per_row)
    first = np.repeat(np.cumsum(per_row) - per_row, per_row)
    offsets = np.arange(len(positions), dtype=np.int64) - first
    base = np.repeat(np.where(sent, starts[safe] if unique else 0, 0), per_row)
    take = base + offsets
    return positions, pa.array(take, mask=~np.repeat(sent, per_row))
