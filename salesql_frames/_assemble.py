"""Stage 3, assemble: outcomes -> result columns fanned out to the caller's own frame.

The unique answers are flattened once (by the kind's flatten function), then taken to
every input row by position, so duplicates, index labels and order come back as they
went in.

A top-up (the input already holds result columns, from an earlier run) never erases:
a row that gets no new answer (skipped, invalid, not sent, failed) keeps the values the
input has in those columns, and its earlier status and error when the earlier run had
answered it (``found``/``not_found``); a row with a new answer gets the new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _constants as C
from ._arrow import one_array, result_pool
from ._exceptions import InvalidArgumentError
from ._frames import Frame
from ._kinds import KindSpec
from ._models import Item
from ._plan import Plan
from ._schema import ExplodeTarget, Widths
from ._send import Outcomes, row_outcomes

__all__ = [
    "Answers", "How", "answered_items", "assemble", "check_shape", "check_top_up",
    "fetched_at", "in_zone", "result_schema", "with_wide",
]

#: ``<prefix>fetched_at``: when each row's answer was fetched (in UTC until `in_zone`).
FETCHED_AT_TYPE = pa.timestamp("ms", tz="UTC")
#: Statuses that mean the row has an answer (and the result values that go with it).
_ANSWERED = pa.array([C.STATUS_FOUND, C.STATUS_NOT_FOUND])

#: Output shapes: one row per input row, or one row per element of a list.
How = Literal["wide", "long"]


def check_shape(spec: KindSpec, how: object, explode: object) -> None:
    """Check ``how``/``explode`` for ``spec``: long output goes with a list to explode.

    Raises:
        InvalidArgumentError: ``how`` is not wide/long, ``explode`` names no list of the
            kind, or one is given without the other.

    Examples:
        >>> from salesql_frames._kinds import ORGANIZATION, PERSON
        >>> check_shape(PERSON, "long", "phones")
        >>> check_shape(ORGANIZATION, "long", "phones")
        Traceback (most recent call last):
        ...
        salesql_frames._exceptions.InvalidArgumentError: how="long" explodes a list, ...
    """
    if how not in ("wide", "long"):
        raise InvalidArgumentError(f'how must be "wide" or "long", got {how!r}')
    if explode is not None and spec.explode and explode not in spec.explode:
        choices = ", ".join(f'"{name}"' for name in spec.explode)
        raise InvalidArgumentError(
            f"explode={explode!r} names no list of a {spec.name}: use one of {choices} "
            '(with how="long")'
        )
    if how == "wide":
        if explode is not None:
            raise InvalidArgumentError(
                f'explode={explode!r} goes with how="long"; leave it out for wide output'
            )
        return
    if not spec.explode:
        raise InvalidArgumentError(
            f'how="long" explodes a list, and {spec.plural} have none: use how="wide"'
        )
    if explode not in spec.explode:
        choices = ", ".join(f'"{name}"' for name in spec.explode)
        raise InvalidArgumentError(
            f'how="long" needs explode= one of {choices}; got explode={explode!r}'
        )


def assemble(
    frame: Frame,
    plan: Plan,
    outcomes: Outcomes,
    *,
    how: How = "wide",
    explode: ExplodeTarget | None = None,
    widths: Widths | None = None,
    prefix: str = C.DEFAULT_PREFIX,
    default_region: str | None = None,
    tz: str | None = None,
) -> Any:
    """Fan the answers out to the input rows and return the caller's frame type.

    Args:
        frame: The input, adapted.
        plan: The plan that was sent.
        outcomes: What came back, per unique query.
        how: ``"wide"`` or ``"long"`` (see `check_shape`).
        explode: The list exploded into rows, with ``how="long"``.
        widths: Numbered columns per list, in wide output.
        prefix: Prefix of the result columns.
        default_region: Region for phones without a country code (already checked).
        tz: Time zone of the datetime columns: None for naive UTC (checked).

    Returns:
        The caller's frame, aligned with the input, with the result columns appended.
    """
    spec = plan.spec
    check_shape(spec, how, explode)
    row_query = plan.row_query
    sent = row_query >= 0
    status, error = row_outcomes(plan, outcomes)
    take = pa.array(row_query, mask=~sent)
    head = {
        f"{prefix}status": status,
        f"{prefix}error": error,
        f"{prefix}fetched_at": fetched_at(outcomes).take(take),
    }
    if explode is None or spec.long is None:
        items, at = answered_items(outcomes.read_items())
        unique = frame.result_types(
            _one_chunk(spec.wide(items, widths or Widths(), prefix, default_region)))
        row = np.full(len(outcomes.items), -1, dtype=np.int32)
        row[at] = np.arange(len(at), dtype=np.int32)
        columns = Answers(unique, row).take(row_query, ~sent)
        wide = pa.Table.from_arrays(columns, names=unique.column_names)
        return with_wide(frame, in_zone(_prepend(wide, head), tz), prefix)
    answered = _answered(head[f"{prefix}status"])
    parents, unique_long = spec.long(outcomes.read_items(), explode, prefix, default_region)
    positions, long_take = _long_positions(row_query, np.asarray(parents, dtype=np.int64),
                                           len(outcomes.items))
    unique_rows = frame.result_types(_one_chunk(unique_long))
    rows = pa.Table.from_arrays(take_columns(unique_rows, long_take),
                                schema=unique_rows.schema)
    long_head = {name: column.take(pa.array(positions)) for name, column in head.items()}
    long_head[f"{prefix}row"] = pa.array(positions, type=pa.int64())
    table = _keep_earlier(frame, in_zone(_prepend(rows, long_head), tz), answered[positions],
                          positions, prefix)
    return frame.with_long_results(positions, table)


def answered_items(items: Sequence[Item | None]) -> tuple[list[Item], np.ndarray]:
    """The items with an answer, and their positions: the rows worth flattening.

    A query without one (not found, failed, not sent) flattens to nulls, which a take
    with a null index gives as well.

    Examples:
        >>> answered_items([None, {"uuid": "a"}, None])
        ([{'uuid': 'a'}], array([1]))
    """
    answered = [(j, item) for j, item in enumerate(items) if item is not None]
    return [item for _, item in answered], np.asarray([j for j, _ in answered], dtype=np.int64)


@dataclass(frozen=True)
class Answers:
    """The wide result columns of the queries with an answer, and where each query's is.

    Attributes:
        table: One row per answered query (compact types in a LazyFrame's).
        row: Per query: its row of ``table``, or -1 (no answer: all nulls).
    """

    table: pa.Table
    row: np.ndarray

    def take(self, query: np.ndarray, missing: np.ndarray) -> list[pa.Array]:
        """The result columns of these queries (all nulls where ``missing``)."""
        row = self.row[np.where(missing, 0, query)] if len(self.row) else np.full(
            len(query), -1, dtype=np.int32)
        return take_columns(self.table, pa.array(row, mask=missing | (row < 0)))


def take_columns(table: pa.Table, indices: pa.Array) -> list[pa.Array]:
    """Each column of ``table`` at ``indices`` (null: a null), as one array in `result_pool`.

    Arrow takes a table's columns one after another; a large take (a 100,000-row re-run
    is 90 columns) is split by column over up to `pyarrow.cpu_count` threads, as Arrow
    releases the GIL.

    Examples:
        >>> t = pa.table({"a": ["x", "y"], "b": [1, 2]})
        >>> [c.to_pylist() for c in take_columns(t, pa.array([1, None, 0]))]
        [['y', None, 'x'], [2, None, 1]]
    """
    def take(column: pa.ChunkedArray) -> pa.Array:
        return one_array(pc.take(column, indices, memory_pool=result_pool()))

    workers = min(pa.cpu_count(), table.num_columns)
    if workers < 2 or len(indices) * table.num_columns < C.THREADED_TAKE_CELLS:
        return [take(column) for column in table.columns]
    with ThreadPoolExecutor(workers, thread_name_prefix="salesql-take") as pool:
        return list(pool.map(take, table.columns))



def with_wide(frame: Frame, table: pa.Table, prefix: str = C.DEFAULT_PREFIX) -> Any:
    """``frame`` with its wide result ``table`` (one row per input row, status first).

    A row without a new answer keeps the earlier results ``frame`` has (a top-up).
    """
    answered = _answered(table.column(f"{prefix}status"))
    return frame.with_results(_keep_earlier(frame, table, answered, None, prefix))


def _answered(status: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which rows' statuses mean an answer (found, not found)."""
    return np.asarray(pc.fill_null(pc.is_in(status, _ANSWERED), False))


def in_zone(table: pa.Table, tz: str | None) -> pa.Table:
    """Every zoned datetime column of ``table`` in ``tz``, or as naive UTC for None.

    Naive UTC is what every writer takes (Excel stores no time zone, so pandas'
    ``to_excel`` refuses zoned values); the instant is the same in every zone.

    Examples:
        >>> t = pa.table({"at": pa.array([0], pa.timestamp("ms", tz="UTC"))})
        >>> in_zone(t, None).schema.field("at").type
        TimestampType(timestamp[ms])
        >>> in_zone(t, "Europe/Paris").column("at")[0].as_py().isoformat()
        '1970-01-01T01:00:00+01:00'
    """
    fields = [
        pa.field(field.name, pa.timestamp(field.type.unit, tz=tz), field.nullable)
        if pa.types.is_timestamp(field.type) and field.type.tz is not None else field
        for field in table.schema
    ]
    schema = pa.schema(fields, metadata=table.schema.metadata)
    return table if schema.equals(table.schema) else table.cast(schema)


def _one_chunk(table: pa.Table) -> pa.Table:
    """``table`` with one chunk per column.

    Taking rows from a chunked column (one chunk per 16,384 answers) is about three times
    slower than from a single array; combining the chunks first costs little.
    """
    if all(column.num_chunks <= 1 for column in table.columns):
        return table
    return table.combine_chunks()


def fetched_at(outcomes: Outcomes) -> pa.Array:
    """Per unique query: when its answer was fetched (null without one)."""
    # as Python's round(at * 1000): the same product, rounded half to even
    millis = pc.round(pc.multiply(pa.array(outcomes.fetched_at, pa.float64()), 1000.0),
                      round_mode="half_to_even")
    return millis.cast(pa.int64()).cast(FETCHED_AT_TYPE)


def result_schema(spec: KindSpec, how: How, explode: ExplodeTarget | None,
                   widths: Widths | None, prefix: str, tz: str | None) -> pa.Schema:
    """The result columns' names and types, whatever the answers (from no answer).

    Examples:
        >>> from salesql_frames._kinds import ORGANIZATION
        >>> result_schema(ORGANIZATION, "wide", None, None, "q_", None).names[:3]
        ['q_status', 'q_error', 'q_fetched_at']
    """
    if explode is None or spec.long is None:
        table = spec.wide([], widths or Widths(), prefix, None)
    else:
        table = spec.long([], explode, prefix, None)[1]
    head = [pa.field(f"{prefix}status", pa.string()), pa.field(f"{prefix}error", pa.string()),
            pa.field(f"{prefix}fetched_at", FETCHED_AT_TYPE)]
    return in_zone(pa.schema(head + list(table.schema)).empty_table(), tz).schema


def check_top_up(
    frame: Frame, spec: KindSpec, *, how: How = "wide", explode: ExplodeTarget | None = None,
    widths: Widths | None = None, prefix: str = C.DEFAULT_PREFIX, tz: str | None = None,
) -> None:
    """Check, before sending, that the earlier results in ``frame`` can be kept.

    Raises:
        InvalidArgumentError: ``how="long"`` on a frame that is already long output (it
            has ``<prefix>row``), or a result column holds values that are not of its
            type (a column of your own with a result column's name?).
    """
    present = set(frame.columns)
    if how == "long" and f"{prefix}row" in present:
        raise InvalidArgumentError(
            f"this frame is already long output (it has {prefix + 'row'!r}): exploding "
            'it again repeats every row; top up the wide frame, use how="wide", or '
            "another prefix="
        )
    for field in result_schema(spec, how, explode, widths, prefix, tz):
        if field.name in present and _earlier(frame, field.name, field.type) is None:
            raise InvalidArgumentError(
                f"column {field.name!r} has a result column's name but cannot be read as "
                f"{field.type} (earlier results are kept in it on rows that get no new "
                "answer): a column of your own, or a repeated one? Rename or drop it, or "
                "pass another prefix="
            )


def _earlier(frame: Frame, name: str, type_: pa.DataType) -> pa.Array | None:
    """An earlier result column of ``frame`` as ``type_``, or None if it is not one."""
    values = frame.values(name)
    if values is None:
        return None
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    failures = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)
    try:
        return values.cast(type_)
    except failures:
        if not pa.types.is_timestamp(type_):
            return None
    # Text read back from a file: with an offset and more digits than the unit (pyarrow 15
    # refuses "10:00:00.123000+00:00" as ms), or without one (naive UTC, as
    # spreadsheets keep timestamps); zoned and naive UTC values cast to each other.
    for wider in (pa.timestamp("ns", tz="UTC"), pa.timestamp("ns")):
        try:
            return values.cast(wider).cast(type_, safe=False)
        except failures:
            continue
    return None


def _keep_earlier(
    frame: Frame, table: pa.Table, answered: np.ndarray, positions: np.ndarray | None,
    prefix: str,
) -> pa.Table:
    """Rows without a new answer keep the result values the input already has.

    ``table`` has one row per output row; ``answered`` says which got an answer now;
    ``positions`` (long output) is each output row's input row.
    """
    present = set(frame.columns)
    names = [name for name in table.column_names if name in present and name != f"{prefix}row"]
    if not names or answered.all():
        return table
    keep = ~answered
    said = {f"{prefix}status", f"{prefix}error"}
    had_answer = np.zeros(frame.height, dtype=bool)
    if f"{prefix}status" in present:
        status = _earlier(frame, f"{prefix}status", pa.string())
        if status is not None:
            had_answer = np.asarray(pc.fill_null(pc.is_in(status, _ANSWERED), False))
    if positions is not None:
        had_answer = had_answer[positions]
    for name in names:
        index = table.schema.get_field_index(name)
        old = _earlier(frame, name, table.schema.field(index).type)
        if old is None:  # check_top_up said so before sending; never raise after it
            continue
        if positions is not None:
            old = old.take(pa.array(positions, type=pa.int64()))
        mask = keep & had_answer if name in said else keep
        new = table.column(index).combine_chunks()
        table = table.set_column(index, name, pc.if_else(pa.array(mask), old, new))
    return table


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
