"""Stage 1, plan: columns -> canonical, deduplicated queries, decided before any request.

Every cell of a mapped column is canonicalized by its parameter's canonicalizer (each
distinct value once), every row gets the first complete parameter group of its kind,
and rows describing one identity share one query. Rows that cannot be sent get their
status (``invalid_input`` with the reason, or ``skipped``) here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _constants as C
from ._arrow import join_text
from ._canonical import several_values
from ._canonical_series import map_unique, map_unique_encoded
from ._display import html_table, plural
from ._exceptions import MappingError
from ._frames import Frame
from ._kinds import KindSpec, flags_key
from ._mapping import resolve_mapping
from ._models import Query
from ._params import CONTROL_CHARACTERS, missing_reason, value_problem

__all__ = ["Keys", "Plan", "Queries", "build_plan"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class Plan:
    """What an enrichment call will send, decided before anything is sent.

    Attributes:
        spec: The kind of lookup (persons or organizations).
        mapping: API parameter -> input column.
        rows: Rows in the input.
        query_table: The unique canonical queries to send, in first-seen order, kept as
            columns (`queries` is them as a list, `query` one of them).
        keys: The dedupe key of each query (a sequence of str kept as one Arrow array).
        row_query: Per row, the position of its query in ``queries``, or -1.
        row_status: Per row, a status decided locally (``invalid_input``/``skipped``),
            or None for rows whose query is sent.
        row_error: Per row, why it is not sent, or None.
        remarks: What the plan did with the cells that a reader should know, one
            sentence each (cells holding several values, LinkedIn pages found in
            another column).
    """

    spec: KindSpec = field(repr=False)
    mapping: dict[str, str]
    rows: int
    query_table: Queries = field(repr=False)
    keys: Keys = field(repr=False)
    row_query: np.ndarray = field(repr=False)
    row_status: list[str | None] = field(repr=False)
    row_error: list[str | None] = field(repr=False)
    remarks: tuple[str, ...] = ()

    @functools.cached_property
    def queries(self) -> list[Query]:
        """The unique canonical queries to send, in first-seen order (made when first read)."""
        return list(self.query_table)

    def query(self, position: int) -> Query:
        """The unique query at ``position`` (as `queries` has it, without the whole list)."""
        return self.query_table[position]

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
        return len(self.query_table)

    def __repr__(self) -> str:
        lines = [
            f"Plan({self.spec.plural}): {self.rows:,} rows -> "
            f"{self.unique_queries:,} unique queries ({self.valid_rows:,} valid rows, "
            f"{plural(self.valid_rows - self.unique_queries, 'duplicate')}), "
            f"{self.invalid_rows:,} invalid, {self.skipped_rows:,} skipped",
        ]
        lines += [f"  {param:<20} <- {column!r}" for param, column in self.mapping.items()]
        lines += [f"  note: {remark}" for remark in self.remarks]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [("rows", f"{self.rows:,}"), ("unique queries", f"{self.unique_queries:,}"),
                ("valid rows", f"{self.valid_rows:,}"),
                ("duplicates", f"{self.valid_rows - self.unique_queries:,}"),
                ("invalid", f"{self.invalid_rows:,}"), ("skipped", f"{self.skipped_rows:,}")]
        rows += [(param, f"<- {column!r}") for param, column in self.mapping.items()]
        return html_table(f"Plan ({self.spec.plural})", rows, self.remarks)


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
    values: dict[str, pa.Array] = {}
    filled: dict[str, np.ndarray] = {}
    notes: dict[int, list[str]] = {}
    raws: dict[str, pa.Array] = {}
    for param, column in mapping.items():
        raw, not_text = frame.strings(column)
        raws[column] = raw
        clean = _sendable(*map_unique_encoded(raw, spec.canonical[param]), column, notes)
        values[param] = clean
        filled[param] = np.asarray(clean.is_valid(), dtype=bool)
        for bad in np.flatnonzero(not_text).tolist():
            notes.setdefault(bad, []).append(f"{column!r} is not text")
        if param in spec.unusable:
            unusable = np.flatnonzero(np.asarray(raw.is_valid(), dtype=bool) & ~filled[param])
            texts = raw.take(pa.array(unusable, type=pa.int64())).to_pylist()
            why = _memo(spec.unusable[param])
            for bad, text in zip(unusable.tolist(), texts, strict=True):
                said = notes.get(bad, [])
                if text and text.strip() and not any(n.startswith(column) for n in said):
                    notes.setdefault(bad, []).append(f"{column} {_shown(text)} {why(text)}")
    remarks = _several(spec, mapping, raws)
    if spec.linkedin_anywhere:
        remarks += _linkedin_anywhere(spec, mapping, raws, values, filled, notes)

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
    queries, keys, row_query = _dedupe(spec, values, choice, set_flags)
    row_status: list[str | None] = [None] * n
    row_error: list[str | None] = [None] * n
    for i in np.flatnonzero(skipped).tolist():
        row_status[i], row_error[i] = C.STATUS_SKIPPED, skip_reason[i] if skip_reason else None
    invalid = np.flatnonzero((choice < 0) & ~skipped)
    if len(invalid):
        # The reason names what the row has: one text per pattern of filled parameters.
        names = list(values)
        has = np.stack([filled[name][invalid] for name in names], axis=1)
        patterns, pattern_of = np.unique(has, axis=0, return_inverse=True)
        reasons = [
            missing_reason({name: "x" for name, on in zip(names, row, strict=True) if on}, spec)
            for row in patterns.tolist()
        ]
        for i, pattern in zip(invalid.tolist(), pattern_of.reshape(-1).tolist(), strict=True):
            reason = reasons[pattern]
            if i in notes:
                reason = "; ".join(notes[i]) + "; " + reason
            row_status[i], row_error[i] = C.STATUS_INVALID, reason
    return Plan(spec, mapping, n, queries, keys, row_query, row_status, row_error,
                tuple(remarks))


class _AsList(Sequence[_T]):
    """A compact sequence that compares equal to, and prints as, the list it stands for."""

    __slots__ = ()

    def _at(self, position: int) -> _T:
        """The item at ``position`` (negative counts from the end)."""
        raise NotImplementedError

    @overload
    def __getitem__(self, position: int) -> _T: ...
    @overload
    def __getitem__(self, position: slice) -> list[_T]: ...
    def __getitem__(self, position: int | slice) -> _T | list[_T]:
        if isinstance(position, slice):
            return [self._at(i) for i in range(*position.indices(len(self)))]
        return self._at(position)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable-like, as a list

    def __repr__(self) -> str:  # as the list it stands for (and was before)
        return repr(list(self))


class Queries(_AsList[Query]):
    """A plan's unique queries, kept as columns; each dict is made when it is asked for.

    A million single-value queries as dicts hold about 270 MB; as their values and two
    small arrays, about 90 MB. Compares equal to a list of the same dicts.

    Examples:
        >>> q = Queries((("linkedin_url",),), np.array([0]), np.array([0]),
        ...             [[["linkedin.com/in/ada"]]], {})
        >>> q[0], len(q), q == [{"linkedin_url": "linkedin.com/in/ada"}]
        ({'linkedin_url': 'linkedin.com/in/ada'}, 1, True)
    """

    __slots__ = ("_cells", "_flags", "_group_of", "_groups", "_index")

    def __init__(self, groups: Sequence[tuple[str, ...]], group_of: np.ndarray,
                 index: np.ndarray, cells: Sequence[Sequence[Sequence[Any]]],
                 flags: Query) -> None:
        self._groups, self._group_of, self._index = tuple(groups), group_of, index
        self._cells, self._flags = cells, flags

    def __len__(self) -> int:
        return len(self._group_of)

    def _at(self, position: int) -> Query:
        return self._made(int(self._group_of[position]), int(self._index[position]))

    def __iter__(self) -> Iterator[Query]:  # the dicts in order, without __getitem__'s checks
        for group, at in zip(self._group_of.tolist(), self._index.tolist(), strict=True):
            yield self._made(group, at)

    def take(self, positions: np.ndarray) -> Queries:
        """The queries at ``positions``, in that order (sharing the values)."""
        return Queries(self._groups, self._group_of[positions], self._index[positions],
                       self._cells, self._flags)

    def _made(self, group: int, at: int) -> Query:
        """The dict of combination ``at`` of group ``group``, with the flags."""
        query: Query = {name: column[at] for name, column
                        in zip(self._groups[group], self._cells[group], strict=True)}
        if self._flags:
            query.update(self._flags)
        return query


class Keys(_AsList[str]):
    """A plan's dedupe keys, kept in one Arrow array; compares equal to a list of them.

    A million keys as Python strings hold about 110 MB, and, scattered among the
    objects planning made and dropped, keep that memory from going back to the system.

    Examples:
        >>> keys = Keys(pa.array(["person|linkedin_url=a", "person|linkedin_url=b"]))
        >>> keys[1], len(keys), keys.take([1, 0]), keys == list(keys)
        ('person|linkedin_url=b', 2, ['person|linkedin_url=b', 'person|linkedin_url=a'], True)
    """

    __slots__ = ("_array",)

    def __init__(self, array: pa.Array) -> None:
        self._array = array

    def __len__(self) -> int:
        return len(self._array)

    def _at(self, position: int) -> str:
        return str(self._array[position].as_py())

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self._array), C.CHUNK_ROWS):
            yield from self._array.slice(start, C.CHUNK_ROWS).to_pylist()

    def take(self, positions: Iterable[int]) -> list[str]:
        """The keys at ``positions``, in that order."""
        return self.prefixed("", positions)

    def prefixed(self, prefix: str, positions: Iterable[int] | None = None) -> list[str]:
        """``prefix`` + each key (or each key at ``positions``, in that order).

        Joined in Arrow a chunk at a time: a million keys are never held twice.
        """
        keys = self._array if positions is None else self._array.take(
            pa.array(np.fromiter(positions, dtype=np.int64)))
        out: list[str] = []
        for start in range(0, len(keys), C.CHUNK_ROWS):
            chunk = keys.slice(start, C.CHUNK_ROWS)
            if prefix:
                chunk = join_text(prefix, chunk)
            out += chunk.to_pylist()
        return out


def _dedupe(
    spec: KindSpec, values: Mapping[str, pa.Array], choice: np.ndarray, set_flags: Query
) -> tuple[Queries, Keys, np.ndarray]:
    """The unique queries in first-seen row order, their keys, and each row's query.

    Rows are grouped by their canonical values with Arrow's hash encoding, so Python
    holds one query per distinct combination of values, not per row, and the dedupe
    keys are built in Arrow (`KindSpec.identities`). Combinations with one key (``ADA``
    and ``ada``; a full name and the same first + last name) share the query of the
    first row that has it.
    """
    first_rows: list[np.ndarray] = []  # per group: the first row of each combination
    combo_group: list[np.ndarray] = []  # per combination: its group, and where in it
    combo_index: list[np.ndarray] = []
    groups: list[tuple[str, ...]] = []  # the groups some row has
    group_cells: list[list[list[Any]]] = []  # per such group: per parameter, per combination
    identities: list[pa.Array] = []  # per such group: per combination, its identity
    combos = 0
    combo_rows: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, combination per row)
    for number, group in enumerate(spec.groups):
        rows = np.flatnonzero(choice == number)
        if not len(rows):
            continue
        taken = pa.array(rows, type=pa.int64())
        columns = [values[name].take(taken) for name in group]
        combo = _codes(columns[0])
        for column in columns[1:]:
            combo = _codes(pa.array(combo * (len(rows) + 1) + _codes(column)))
        first = _first_of_each(combo)
        at_first = pa.array(first, type=pa.int64())
        firsts = [column.take(at_first) for column in columns]
        identities.append(spec.identities(dict(zip(group, firsts, strict=True))))
        cells = [column.to_pylist() for column in firsts]
        combo_rows.append((rows, combo + combos))
        first_rows.append(rows[first])
        combo_group.append(np.full(len(first), len(group_cells), dtype=np.int64))
        combo_index.append(np.arange(len(first), dtype=np.int64))
        group_cells.append(cells)
        groups.append(group)
        combos += len(first)
    starts = np.concatenate(first_rows) if first_rows else np.empty(0, dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    every = Queries(groups, _joined(combo_group), _joined(combo_index), group_cells,
                    set_flags).take(order)
    # dedupe_key(spec, query) of each combination, the flags (the same on every query)
    # spelled once; codes number the keys in order of first appearance
    combo_keys = join_text(f"{spec.name}|", _concatenated(identities).take(pa.array(order)),
                           flags_key(spec, set_flags))
    ordered_positions = _codes(combo_keys)
    firsts_of_keys = _first_of_each(ordered_positions)  # each key's first combination
    queries = every.take(firsts_of_keys)
    keys = Keys(combo_keys.take(pa.array(firsts_of_keys, type=pa.int64())))
    position_of = np.empty(combos, dtype=np.int64)
    position_of[order] = ordered_positions
    row_query = np.full(len(choice), -1, dtype=np.int64)
    for rows, combo in combo_rows:
        row_query[rows] = position_of[combo]
    return queries, keys, row_query




def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _concatenated(parts: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(parts) if parts else pa.array([], pa.string())


def _memo(fn: Callable[[str], str]) -> Callable[[str], str]:
    """``fn`` computed once per distinct cell (a reason repeats on many rows)."""
    return functools.cache(fn)


def _several(spec: KindSpec, mapping: Mapping[str, str], raws: Mapping[str, pa.Array]) -> list[str]:
    """The remark on cells that hold several addresses or domains, if any do."""
    remarks = []
    for param in spec.several:
        column = mapping.get(param)
        if column is None:
            continue
        count = map_unique(raws[column], _several_mark).null_count
        count = len(raws[column]) - count
        if count:
            cells = "cell holds" if count == 1 else "cells hold"
            remarks.append(f"{count:,} {column!r} {cells} several values: the first usable "
                           "one is sent")
    return remarks


def _several_mark(value: str) -> str | None:
    return "" if several_values(value) else None


def _linkedin_anywhere(
    spec: KindSpec, mapping: Mapping[str, str], raws: Mapping[str, pa.Array],
    values: dict[str, pa.Array], filled: dict[str, np.ndarray],
    notes: dict[int, list[str]],
) -> list[str]:
    """Fill ``linkedin_url`` from LinkedIn pages of the kind found in other mapped columns.

    A company page in a "Website" column names the company exactly (its domain would be
    LinkedIn's): it is sent as the ``linkedin_url`` of rows that have none.
    """
    remarks = []
    canonical = spec.canonical["linkedin_url"]
    for param, column in mapping.items():
        if param == "linkedin_url":
            continue
        found = _sendable(*map_unique_encoded(raws[column], canonical), column, notes)
        have = filled.get("linkedin_url")
        use = np.asarray(found.is_valid(), dtype=bool)
        if have is not None:
            use &= ~have
        if not use.any():
            continue
        current = values.get("linkedin_url", pa.nulls(len(found), pa.string()))
        values["linkedin_url"] = pc.if_else(pa.array(use), found, current.cast(found.type))
        filled["linkedin_url"] = use if have is None else have | use
        count = int(use.sum())
        pages = "LinkedIn page" if count == 1 else "LinkedIn pages"
        remarks.append(f"{count:,} {pages} in {column!r} sent as linkedin_url")
    return remarks


def _first_of_each(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears, for `_codes` (which count up in that order).

    A first appearance is where the running maximum grows.

    Examples:
        >>> _first_of_each(np.array([0, 1, 0, 2, 1])).tolist()
        [0, 1, 3]
    """
    return np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)


def _codes(array: pa.Array) -> np.ndarray:
    """Per element, the number of its distinct value, counted in order of first appearance."""
    return np.asarray(array.dictionary_encode().indices, dtype=np.int64)


def _shown(text: str) -> str:
    """A cell as a reason quotes it: its repr, cut short."""
    shown = repr(text)
    return shown if len(shown) <= C.MAX_QUOTED_CELL else shown[: C.MAX_QUOTED_CELL - 3] + "..."


def _sendable(
    mapped: pa.Array, indices: pa.Array, column: str, notes: dict[int, list[str]]
) -> pa.Array:
    """Per row, its canonical value (``mapped.take(indices)``) if it can be sent.

    A value too long or with control characters makes no trustworthy query: its rows get
    null here, and ``invalid_input`` with the reason
    (`salesql_frames._params.value_problem`). Checked once per distinct value.
    """
    too_long = pc.greater(pc.utf8_length(mapped), C.MAX_PARAM_LENGTH)
    unsendable = pc.fill_null(
        pc.or_(too_long, pc.match_substring_regex(mapped, CONTROL_CHARACTERS)), False
    )
    if not pc.any(unsendable).as_py():
        return mapped.take(indices)
    per_row = np.asarray(pc.fill_null(unsendable.take(indices), False), dtype=bool)
    rows = np.flatnonzero(per_row)
    texts = mapped.take(indices.take(pa.array(rows, type=pa.int64()))).to_pylist()
    for row, text in zip(rows.tolist(), texts, strict=True):
        notes.setdefault(row, []).append(f"{column} {value_problem(text)}")
    return pc.if_else(unsendable, pa.scalar(None, mapped.type), mapped).take(indices)


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
