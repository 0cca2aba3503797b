"""polars LazyFrames: plan the distinct mapped values, send those, attach results per batch.

Only the mapped columns are scanned to find their distinct combinations (streaming
engine where the installed polars has it); those are planned and sent like an eager
frame's rows. Their answers are then flattened a chunk of queries at a time (the stored
ones read from the store chunk by chunk, never all at once) into one compact Arrow
table, repeating text dictionary-encoded. The returned LazyFrame attaches each batch of
rows its result columns (`LazyFrame.map_batches`, streamed): a row finds its
combination by a 64-bit hash of its mapped cells, unique among the combinations, and
gets what the eager path gives it. Memory is bounded by the unique queries, not by the
rows.
"""

from __future__ import annotations

import contextlib
import inspect
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _constants as C
from ._arrow import result_pool
from ._assemble import (
    Answers,
    answered_items,
    fetched_at,
    in_zone,
    result_schema,
    with_wide,
)
from ._enrich import Enrichment, OutputOptions, RunOptions, finish, session
from ._exceptions import InvalidArgumentError
from ._frames import PolarsFrame
from ._gc import release_memory
from ._kinds import KindSpec
from ._mapping import resolve_mapping
from ._models import UNREAD, RawRecord, StoredRow
from ._phones import forget_parsed
from ._plan import Plan, build_plan
from ._progress import Progress
from ._send import Outcomes, read_unread, row_outcomes, send
from ._store import ResultStore

__all__ = ["collect_streaming", "enrich_lazy", "plan_lazy", "run_lazy"]

#: Seeds tried until the combinations' hashes are all different (the first always is,
#: but for odds of about n² / 2⁶⁵).
_SEEDS = range(8)
#: Why a row has no combination: the source gave other rows on the second scan.
_NOT_PLANNED = ("this row's mapped cells were not among those planned: the source "
                "changed between its two scans? Enrich it again")


#: One day in each timestamp unit.
_DAY: Final = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def collect_streaming(query: Any) -> Any:
    """Collect a LazyFrame with the streaming engine, else the default one.

    ``engine="streaming"`` is the new streaming engine (polars >= 1.23); older 1.x
    releases know ``streaming=True``.
    """
    parameters = inspect.signature(query.collect).parameters
    if "engine" in parameters:
        try:
            return query.collect(engine="streaming")
        except (TypeError, ValueError):
            pass
    if "streaming" in parameters:
        return query.collect(streaming=True)
    return query.collect()


def _distinct(
    frame: Any, spec: KindSpec, explicit: Mapping[str, str | None],
    only_missing: str | Sequence[str] | None,
) -> tuple[Any, dict[str, str | None], list[str]]:
    """The distinct combinations of the mapped (and ``only_missing``) columns."""
    names = frame.collect_schema().names()
    mapping = resolve_mapping(names, spec, explicit)
    extra = [only_missing] if isinstance(only_missing, str) else list(only_missing or ())
    keys = list(dict.fromkeys([*mapping.values(), *(n for n in extra if n in names)]))
    distinct = collect_streaming(frame.select(keys).unique(maintain_order=True))
    return distinct, {param: mapping.get(param) for param in spec.params}, keys


def plan_lazy(
    frame: Any, spec: KindSpec, explicit: Mapping[str, str | None], *,
    only_missing: str | Sequence[str] | None = None, flags: Mapping[str, bool] | None = None,
) -> Plan:
    """Plan a LazyFrame: one plan row per distinct combination of the mapped columns."""
    distinct, columns, _ = _distinct(frame, spec, explicit, only_missing)
    return build_plan(PolarsFrame(distinct), spec, columns, only_missing=only_missing,
                      flags=flags)


def enrich_lazy(
    frame: Any, spec: KindSpec, explicit: Mapping[str, str | None], *,
    only_missing: str | Sequence[str] | None, flags: Mapping[str, bool] | None,
    output: OutputOptions, options: RunOptions,
) -> Any:
    """Enrich a LazyFrame: the unique queries are sent now, the rows attached lazily.

    Returns:
        A LazyFrame with the eager path's columns, in the input's row order.

    Raises:
        InvalidArgumentError: ``how="long"`` (collect the frame first for long output).
    """
    lazy = run_lazy(frame, spec, explicit, only_missing=only_missing, flags=flags,
                    output=output, options=options).frame
    release_memory()  # the plan and the outcomes are gone: the rows need neither
    return lazy


def run_lazy(
    frame: Any, spec: KindSpec, explicit: Mapping[str, str | None], *,
    only_missing: str | Sequence[str] | None, flags: Mapping[str, bool] | None,
    output: OutputOptions, options: RunOptions,
) -> Enrichment:
    """`enrich_lazy`, with the run's plan and outcomes (for the CLI's report).

    Raises:
        RunInterrupted: Ctrl-C; its ``partial`` is the LazyFrame of what arrived.
        RunStoppedError: ``strict=True`` and the run stopped early (``partial`` too).
    """
    if output.how != "wide":
        raise InvalidArgumentError(
            'how="long" is not supported on a polars LazyFrame: use how="wide", or '
            "collect the frame first (lf.collect().salesql...)"
        )
    distinct, columns, keys = _distinct(frame, spec, explicit, only_missing)
    plan = build_plan(PolarsFrame(distinct), spec, columns, only_missing=only_missing,
                      flags=flags)
    # Earlier result columns (a top-up) are checked on the first rows, before sending;
    # a later row whose earlier value cannot be kept gets the new one.
    output.check(spec, PolarsFrame(collect_streaming(frame.head(C.LAZY_CHECK_ROWS))))
    finder, order = _Finder.of(distinct, keys)
    del distinct  # the combinations are found again by their hashes
    release_memory()
    with session(options) as current:
        outcomes = send(
            plan, current.client, store=current.store, concurrency=options.concurrency,
            max_credits=options.max_credits, progress=options.progress,
            warn=not options.strict, max_age=options.max_age_seconds, read_stored=False,
        )
        current.outlive(outcomes.abandoned)
        with _held_interrupt() as pressed:  # every answer that arrived comes back
            answers = _flattened(plan, outcomes, current, output, pressed,
                                 progress=options.progress)
            lazy = _Results.of(plan, outcomes, answers, finder, order, output).attached(frame)
        if pressed():  # after the last chunk: the frame is whole, and the run interrupted
            outcomes.interrupted = True
    return finish(lazy, plan, outcomes, options)


@contextlib.contextmanager
def _held_interrupt() -> Iterator[Callable[[], bool]]:
    """Ctrl-C held while the answers are read: it says whether one came, when asked.

    Reading and flattening the stored answers, joining their columns and making the
    returned LazyFrame must not be cut off midway, or every answer (paid for, and with
    ``cache=False`` nowhere else) would be lost: a Ctrl-C in that stretch stops the
    reading at the next chunk instead, and the run raises `RunInterrupted` with what it
    has. Only in the main thread with Python's own handler; elsewhere a Ctrl-C raises
    where it lands (`_Flattener.add` still catches it there).
    """
    pressed = [False]
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield lambda: False
        return

    def hold(signum: int, frame: object) -> None:
        pressed[0] = True

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield lambda: pressed[0]
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True)
class _Finder:
    """Each row's combination of mapped cells, found by a 64-bit hash of them.

    Attributes:
        keys: The mapped (and ``only_missing``) columns.
        seed: The hash seed under which every combination's hash is different.
        hashes: The combinations' hashes, ascending.
    """

    keys: list[str]
    seed: int
    hashes: np.ndarray

    @classmethod
    def of(cls, distinct: Any, keys: list[str]) -> tuple[_Finder, np.ndarray]:
        """The finder of ``distinct``'s combinations, and the one at each hash position."""
        for seed in _SEEDS:
            hashes = _hashes(distinct, keys, seed)
            order = np.argsort(hashes, kind="stable")
            ordered = hashes[order]
            if len(ordered) < 2 or bool((ordered[1:] != ordered[:-1]).all()):
                return cls(keys, seed, ordered), order
        raise InvalidArgumentError(  # pragma: no cover - odds below 1e-40 per seed
            f"could not tell {len(distinct):,} combinations of {keys} apart by their hashes"
        )

    def positions(self, batch: Any) -> np.ndarray:
        """Per row of ``batch``: its position in `hashes`, or -1 if it has none."""
        hashes = _hashes(batch, self.keys, self.seed)
        at = np.searchsorted(self.hashes, hashes)
        at[at == len(self.hashes)] = 0
        hit = self.hashes[at] == hashes if len(self.hashes) else np.zeros(len(at), bool)
        return np.where(hit, at, -1)


def _hashes(frame: Any, keys: list[str], seed: int) -> np.ndarray:
    """One 64-bit hash per row of the ``keys`` cells (categories hashed as their text)."""
    import polars as pl

    schema = frame.schema
    cells = [pl.col(key).cast(pl.String)
             if isinstance(schema[key], (pl.Categorical, pl.Enum)) else pl.col(key)
             for key in keys]
    hashed = frame.select(pl.struct(cells).hash(seed).alias("hash")).to_series()
    return np.asarray(hashed.to_numpy(), dtype=np.uint64)


def _flattened(plan: Plan, outcomes: Outcomes, current: Any, output: OutputOptions,
               pressed: Callable[[], bool], *, progress: bool = True) -> Answers:
    """The wide result columns of every query with an answer, in one compact table.

    Queries are read (their `UNREAD` stored answers) and flattened a chunk at a time, and
    each chunk's records are dropped once flattened (the items become `UNREAD` again),
    so one chunk of records is in memory at a time. Queries without an answer (not
    found, failed) get no row: theirs would be all nulls. The stored answers are read even
    after a Ctrl-C while sending (as the eager path has them); a Ctrl-C here
    (``pressed``) ends the reading: from then on the store's answers are ``skipped``
    (they stay in the store for the next run), and those of this run's requests, in
    memory, are kept.
    """
    total = len(outcomes.items)
    flattener = _Flattener(plan, outcomes, current.store, current.client.account, output)
    # Reading a million stored answers takes a minute: it gets its own line.
    with Progress(total, label=f"SalesQL {plan.spec.plural}, reading answers",
                  enabled=progress and total > C.LAZY_CHUNK_QUERIES) as bar:
        for start in range(0, max(total, 1), C.LAZY_CHUNK_QUERIES):
            stop = min(start + C.LAZY_CHUNK_QUERIES, total)
            if pressed():
                flattener.stop()
            flattener.add(start, stop)
            bar.advance(stop - start, found=outcomes.status[start:stop].count(C.STATUS_FOUND))
    if total > C.PHONE_CACHE_SIZE:  # the cache holds the last numbers of many: no help
        forget_parsed()
    return Answers(_joined_parts(flattener.parts), flattener.row)


@dataclass
class _Flattener:
    """`_flattened`'s chunks: each column's compact pieces, and which are encoded."""

    plan: Plan
    outcomes: Outcomes
    store: ResultStore | None
    account: str | None
    output: OutputOptions
    parts: dict[str, list[pa.Array]] = field(default_factory=dict)
    encoded: dict[str, bool] = field(default_factory=dict)
    #: False after a Ctrl-C while reading: the store's answers are skipped from then on.
    reading: bool = True
    #: Per query: its row in the joined parts, or -1 (no answer).
    row: np.ndarray = field(init=False)
    rows: int = 0

    def __post_init__(self) -> None:
        self.row = np.full(len(self.outcomes.items), -1, dtype=np.int32)

    def stop(self) -> None:
        """Ctrl-C: read no more stored answers; the run ends interrupted."""
        self.reading = False
        self.outcomes.interrupted = True

    def add(self, start: int, stop: int) -> None:
        """Read and flatten queries ``start:stop`` (an empty range gives the columns)."""
        outcomes, chunk = self.outcomes, None
        try:
            if self.reading:
                read_unread(self.plan, outcomes, self.store, self.account, start, stop)
                chunk, answered = self.wide(start, stop)
        except KeyboardInterrupt:
            self.stop()
        if chunk is None:  # interrupted: the answers of this run only, not the store's
            _skip_stored(outcomes, start, stop)
            chunk, answered = self.wide(start, stop)
        for name, column in zip(chunk.column_names, chunk.columns, strict=True):
            array = column.combine_chunks()
            if name not in self.encoded:
                self.encoded[name] = _repeats(array)
            self.parts.setdefault(name, []).append(
                pc.dictionary_encode(array, memory_pool=result_pool())
                if self.encoded[name] else pa.concat_arrays([array], memory_pool=result_pool()))
        self.row[answered + start] = np.arange(self.rows, self.rows + len(answered),
                                               dtype=np.int32)
        self.rows += len(answered)
        items = outcomes.items
        items[start:stop] = [None if item is None else UNREAD for item in items[start:stop]]
        del chunk
        release_memory()

    def wide(self, start: int, stop: int) -> tuple[pa.Table, np.ndarray]:
        """The result columns of the answered queries among ``start:stop``, and which."""
        output = self.output
        items, answered = answered_items(self.outcomes.read_items(start, stop))
        chunk = self.plan.spec.wide(items, output.widths, output.prefix,
                                    output.default_region)
        return in_zone(chunk, output.tz), answered


def _skip_stored(outcomes: Outcomes, start: int, stop: int) -> None:
    """After Ctrl-C: answers from the store (read or not) become ``skipped``, and stay."""
    for j in range(start, stop):
        if outcomes.items[j] is UNREAD or isinstance(outcomes.items[j], (RawRecord, StoredRow)):
            outcomes.record(j, None, C.STATUS_SKIPPED, "not read: interrupted (Ctrl-C); "
                            "its answer is kept in the result store for the next run")


def _repeats(array: pa.Array) -> bool:
    """Whether a text column repeats enough to be kept dictionary-encoded."""
    if not pa.types.is_string(array.type) or len(array) - array.null_count < 2:
        return False
    return len(pc.unique(array)) <= C.LAZY_DICTIONARY_SHARE * len(array)


def _joined_parts(parts: dict[str, list[pa.Array]]) -> pa.Table:
    """One single-chunk table of each column's chunks, a column at a time.

    Each column's chunks are freed (and their memory handed back) once it is joined, so
    the table is never held twice.
    """
    names, columns = list(parts), []
    for name in names:
        pieces = parts.pop(name)
        if pa.types.is_dictionary(pieces[0].type):
            one = pa.Table.from_arrays([pa.chunked_array(pieces)], names=[name])
            pieces = []
            unified = one.unify_dictionaries(memory_pool=result_pool()).column(0)
            columns.append(_narrow(unified.combine_chunks(memory_pool=result_pool())))
            del one
        else:
            columns.append(_narrow(pa.concat_arrays(pieces, memory_pool=result_pool())))
        del pieces
        release_memory()
    return pa.Table.from_arrays(columns, names=names)


def _narrow(array: pa.Array) -> pa.Array:
    """``array`` in the narrowest type that holds its values (cast back when attached).

    Dictionary indices and integers take 1, 2 or 4 bytes instead of 4 or 8 where their
    values fit (most of a million answers' text columns are a few distinct values), and
    timestamps that are all whole days (the work history's dates) 4 instead of 8.
    """
    if pa.types.is_dictionary(array.type):
        index = _narrowest_int(0, len(array.dictionary))
        if index is None or index.bit_width >= array.type.index_type.bit_width:
            return array
        return pc.cast(array, pa.dictionary(index, array.type.value_type),
                       memory_pool=result_pool())
    if array.null_count == len(array):
        return array
    if pa.types.is_timestamp(array.type):  # dates (the work history's) as days
        ticks = np.asarray(pc.cast(array, pa.int64()).fill_null(0))
        per_day = _DAY[array.type.unit]
        if not (ticks % per_day == 0).all():
            return array
        return pa.array((ticks // per_day).astype(np.int32), pa.date32(),
                        mask=np.asarray(array.is_null()), memory_pool=result_pool())
    if not pa.types.is_integer(array.type):
        return array
    low, high = pc.min_max(array).values()
    narrow = _narrowest_int(low.as_py(), high.as_py())
    if narrow is None or narrow.bit_width >= array.type.bit_width:
        return array
    return pc.cast(array, narrow, memory_pool=result_pool())


def _narrowest_int(low: int, high: int) -> pa.DataType | None:
    """The narrowest signed integer type holding ``low..high``."""
    for typ in (pa.int8(), pa.int16(), pa.int32()):
        info = np.iinfo(typ.to_pandas_dtype())
        if info.min <= low and high <= info.max:
            return typ
    return None


@dataclass(frozen=True)
class _Results:
    """What every row's result columns are made of, by its combination's hash position.

    Attributes:
        finder: Finds each row's combination.
        query: Per hash position: its combination's query (-1: none sent).
        status: Per hash position: its combination's status (dictionary-encoded).
        error: Per hash position: its combination's error.
        fetched: Per query: when its answer was fetched (in the output's zone).
        answers: The answered queries' wide result columns (`_flattened`).
        prefix: The result columns' prefix.
        schema: The result columns' plain types (no dictionaries).
    """

    finder: _Finder
    query: np.ndarray
    status: pa.Array
    error: pa.Array
    fetched: pa.Array
    answers: Answers
    prefix: str
    schema: pa.Schema

    @classmethod
    def of(cls, plan: Plan, outcomes: Outcomes, answers: Answers, finder: _Finder,
           order: np.ndarray, output: OutputOptions) -> _Results:
        """The results of ``plan``'s combinations, at hash positions (``order``: which)."""
        row_query = plan.row_query[order]
        fetched = in_zone(pa.table({"at": fetched_at(outcomes)}), output.tz).column(0)
        schema = result_schema(plan.spec, "wide", None, output.widths, output.prefix,
                               output.tz)
        at = pa.array(order)
        status, error = (_narrow(column.take(at))
                         for column in row_outcomes(plan, outcomes, encoded=True))
        return cls(finder, row_query.astype(np.int32), status, error,
                   fetched.combine_chunks(), answers, output.prefix, schema)

    def table(self, positions: np.ndarray) -> pa.Table:
        """The result columns of rows at these hash positions (-1: not planned)."""
        known = positions >= 0
        if known.any():
            safe = np.where(known, positions, 0)
            query = self.query[safe]
            status = self.status.take(pa.array(safe)).cast(pa.string())
            error = self.error.take(pa.array(safe)).cast(pa.string())
        else:  # none planned (also when the source had no rows at the first scan)
            query = np.full(len(positions), -1, dtype=np.int64)
            status = error = pa.nulls(len(positions), pa.string())
        if not known.all():
            unknown = pa.array(~known)
            status = pc.if_else(unknown, pa.scalar(C.STATUS_ERROR), status)
            error = pc.if_else(unknown, pa.scalar(_NOT_PLANNED), error)
        missing = (query < 0) | ~known
        columns = [status, error, self.fetched.take(pa.array(query, mask=missing)),
                   *self.answers.take(query, missing)]
        return pa.Table.from_arrays(columns, names=self.schema.names).cast(self.schema)

    def attach(self, batch: Any) -> Any:
        """``batch`` (a polars DataFrame of input rows) with its result columns."""
        return with_wide(PolarsFrame(batch), self.table(self.finder.positions(batch)),
                         self.prefix)

    def attached(self, frame: Any) -> Any:
        """``frame`` with every row's result columns, lazily, a batch at a time.

        Where polars has Python sources (`register_io_source`) and ``collect_batches``,
        the rows come from a source that polars pulls from as its sink takes them, so a
        sink slower than the source (wide output is much more to write than the input)
        holds a few batches at a time. Older releases get ``map_batches``, whose output
        may pile up ahead of a slow sink.
        """
        import polars as pl

        schema = self.attach(pl.DataFrame(schema=frame.collect_schema())).schema
        source = _python_source()
        if source is None or not hasattr(frame, "collect_batches"):
            parameters = inspect.signature(frame.map_batches).parameters
            options = {name: False for name in ("predicate_pushdown", "projection_pushdown",
                                                "slice_pushdown") if name in parameters}
            return frame.map_batches(self.attach, schema=schema, streamable=True, **options)

        def batches(with_columns: list[str] | None, predicate: Any, n_rows: int | None,
                    batch_size: int | None) -> Iterator[Any]:
            rows = frame if n_rows is None else frame.head(n_rows)
            size = min(batch_size or C.LAZY_BATCH_ROWS, C.LAZY_BATCH_ROWS)
            chunks = rows.collect_batches(chunk_size=size)
            try:
                for batch in chunks:
                    out = self.attach(batch)
                    if predicate is not None:
                        out = out.filter(predicate)
                    yield out if with_columns is None else out.select(with_columns)
            finally:  # the consumer stopped early (or failed): end the scan too
                stop = getattr(chunks, "stop", None)
                if stop is not None:
                    stop()

        return source(batches, schema=dict(schema))


def _python_source() -> Any:
    """The installed polars' `register_io_source`, or None where it has none."""
    try:
        from polars.io.plugins import register_io_source
    except ImportError:
        return None
    return register_io_source
