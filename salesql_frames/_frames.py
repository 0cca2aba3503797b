"""Thin per-backend adapters: read input columns as Arrow, attach result columns.

The pipeline only ever sees Arrow arrays and tables; these two small classes are the
only code that knows pandas or polars. Results are attached by position, never by
label, so duplicate labels and MultiIndexes come back exactly as they went in.
"""

from __future__ import annotations

import copy
import functools
import math
import sys
from typing import Any, Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import result_pool
from ._exceptions import InvalidArgumentTypeError, MappingError

__all__ = ["DTYPE_BACKENDS", "DtypeBackend", "Frame", "adapt", "is_lazy"]

DtypeBackend = Literal["numpy_nullable", "pyarrow"]
#: The ``dtype_backend=`` values.
DTYPE_BACKENDS: tuple[DtypeBackend, ...] = ("numpy_nullable", "pyarrow")


class Frame(Protocol):
    """What the pipeline needs from a DataFrame, whatever its library."""

    @property
    def columns(self) -> list[str]: ...

    @property
    def height(self) -> int: ...

    @property
    def allows_repeated_labels(self) -> bool:
        """Whether rows may be repeated (long output repeats each row's labels)."""
        ...

    def strings(self, column: str) -> tuple[pa.Array, np.ndarray]:
        """The column as an Arrow string array, plus a mask of non-text cells."""
        ...

    def values(self, column: str) -> pa.Array | None:
        """The column as an Arrow array of its own type, or None if it has none."""
        ...

    def with_results(self, results: pa.Table) -> Any:
        """The input frame with ``results`` (one row per input row) appended.

        A result column the input already has (an earlier run's) is replaced where it
        is; the others are appended.
        """
        ...

    def with_long_results(self, positions: np.ndarray, results: pa.Table) -> Any:
        """Input rows repeated by ``positions`` (explode semantics) with ``results``."""
        ...

    def result_types(self, table: pa.Table) -> pa.Table:
        """``table`` (one row per distinct answer) in the types the frame's results take.

        Cast before the rows are spread to the input rows: a cast of the distinct
        answers, not of every row.
        """
        ...


def adapt(frame: object, dtype_backend: DtypeBackend = "numpy_nullable") -> Frame:
    """Wrap a pandas or polars DataFrame for the pipeline."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(frame, pd.DataFrame):
        return PandasFrame(frame, dtype_backend)
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(frame, pl.DataFrame):
        return PolarsFrame(frame)
    if isinstance(frame, pa.Table):
        return ArrowFrame(frame)
    lazy = " (use the function API or lf.salesql for a LazyFrame)" if is_lazy(frame) else ""
    raise InvalidArgumentTypeError(
        "expected a pandas DataFrame, a polars DataFrame or LazyFrame, or a pyarrow.Table, "
        f"got {type(frame).__name__}{lazy}"
    )


def is_lazy(frame: object) -> bool:
    """Whether ``frame`` is a polars LazyFrame (served by `salesql_frames._lazy`)."""
    pl = sys.modules.get("polars")
    return pl is not None and isinstance(frame, pl.LazyFrame)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    pd = sys.modules.get("pandas")
    return pd is not None and (value is pd.NA or value is pd.NaT)


def _strings_from_objects(values: Any) -> tuple[pa.Array, np.ndarray]:
    """Text cells kept, missing cells null, anything else null and flagged."""
    texts: list[str | None] = []
    bad = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        if isinstance(value, str):
            texts.append(value)
        else:
            texts.append(None)
            if not _is_missing(value):
                bad[i] = True
    return pa.array(texts, type=pa.string()), bad


class _Adapter:
    """What both adapters share: columns, and attaching results by position.

    A subclass says how to drop columns, take rows and put a result table beside the
    input; replacing existing result columns (a re-run) and repeating rows for long
    output are the same for every backend.
    """

    def __init__(self, frame: Any) -> None:
        self.frame = frame

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    @property
    def height(self) -> int:
        return len(self.frame)

    @property
    def allows_repeated_labels(self) -> bool:
        return True

    def with_results(self, results: pa.Table) -> Any:
        out = self._beside(self._without(results.column_names), results)
        return self._pick(out, self._order(results.column_names))

    def with_long_results(self, positions: np.ndarray, results: pa.Table) -> Any:
        left = self._rows(self._without(results.column_names), positions)
        out = self._beside(left, results)
        return self._pick(out, self._order(results.column_names))

    def result_types(self, table: pa.Table) -> pa.Table:
        return table

    def _order(self, names: list[str]) -> list[int]:
        """Positions in (input less results) + results: earlier result columns in place.

        Each result column the input had goes back where it was; new ones go at the end.
        """
        replaced = set(names)
        kept = [column for column in self.columns if column not in replaced]
        at = {name: len(kept) + i for i, name in enumerate(names)}
        order, left = [], iter(range(len(kept)))
        for column in self.columns:
            if column not in replaced:
                order.append(next(left))
            elif column in at:  # a repeated name: its result goes where it first was
                order.append(at.pop(column))
        return order + sorted(at.values())

    def _pick(self, frame: Any, order: list[int]) -> Any:
        """``frame``'s columns at positions ``order``."""
        return frame if order == sorted(order) else frame.iloc[:, order]

    def _without(self, names: list[str]) -> Any:
        """The input less the columns in ``names`` (results of an earlier run)."""
        present = set(self.columns)
        return self._drop(self.frame, [name for name in names if name in present])

    def _drop(self, frame: Any, names: list[str]) -> Any:
        raise NotImplementedError

    def _rows(self, frame: Any, positions: np.ndarray) -> Any:
        raise NotImplementedError

    def _beside(self, frame: Any, results: pa.Table) -> Any:
        raise NotImplementedError


class PandasFrame(_Adapter):
    """pandas adapter."""

    def __init__(self, frame: Any, dtype_backend: DtypeBackend) -> None:
        super().__init__(frame)
        self.dtype_backend = dtype_backend

    @property
    def allows_repeated_labels(self) -> bool:
        return bool(self.frame.flags.allows_duplicate_labels)

    def strings(self, column: str) -> tuple[pa.Array, np.ndarray]:
        import pandas as pd

        series = self.frame[column]
        if isinstance(series, pd.DataFrame):
            raise MappingError(f"column {column!r} appears more than once; rename the duplicates")
        dtype = series.dtype
        if isinstance(dtype, pd.ArrowDtype):  # every Arrow type, string_view included
            return arrow_strings(pa.array(series.array))
        if isinstance(dtype, pd.StringDtype):
            array = pa.array(series.array)
            return array.cast(pa.string()), np.zeros(len(series), dtype=bool)
        return _strings_from_objects(series.to_numpy(dtype=object, na_value=None))

    def values(self, column: str) -> pa.Array | None:
        import pandas as pd

        series = self.frame[column]
        if isinstance(series, pd.DataFrame):
            return None
        try:
            return pa.Array.from_pandas(series)
        except (pa.ArrowException, TypeError, ValueError):
            return None

    def result_types(self, table: pa.Table) -> pa.Table:
        return table if self.dtype_backend == "pyarrow" else _as_large_strings(table)

    def _drop(self, frame: Any, names: list[str]) -> Any:
        return frame.drop(columns=names)

    def _rows(self, frame: Any, positions: np.ndarray) -> Any:
        return frame.iloc[positions]

    def _beside(self, frame: Any, results: pa.Table) -> Any:
        import pandas as pd

        if self.dtype_backend == "pyarrow":
            appended = results.to_pandas(types_mapper=pd.ArrowDtype)
        else:
            appended = _as_large_strings(results).to_pandas(types_mapper=_nullable_types().get)
        appended.index = frame.index
        out = pd.concat([frame, appended], axis=1)
        out.attrs = copy.deepcopy(self.frame.attrs)  # concat keeps them only when all agree
        if not isinstance(out.columns, pd.MultiIndex):
            out.columns.name = self.frame.columns.name
        return out


def _as_large_strings(table: pa.Table) -> pa.Table:
    """``table`` with its ``string`` columns as ``large_string``, in `result_pool`.

    pandas' ``StringDtype`` holds ``large_string``: cast here, pandas' own cast (in
    Arrow's default pool) has nothing left to do.
    """
    columns = [pc.cast(column, pa.large_string(), memory_pool=result_pool())
               if column.type == pa.string() else column for column in table.columns]
    return pa.Table.from_arrays(columns, schema=pa.schema(
        [pa.field(field.name, column.type, field.nullable, field.metadata)
         for field, column in zip(table.schema, columns, strict=True)],
        metadata=table.schema.metadata))


@functools.cache
def _nullable_types() -> dict[pa.DataType, Any]:
    """Arrow type -> pandas nullable dtype, for ``to_pandas(types_mapper=...)``."""
    import pandas as pd

    return {
        pa.string(): pd.StringDtype(),
        pa.large_string(): pd.StringDtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.float64(): pd.Float64Dtype(),
    }


class PolarsFrame(_Adapter):
    """polars adapter."""

    def strings(self, column: str) -> tuple[pa.Array, np.ndarray]:
        import polars as pl

        series = self.frame.get_column(column)
        if series.dtype in (pl.Categorical, pl.Enum):
            series = series.cast(pl.String)
        if series.dtype == pl.String:
            array = series.to_arrow()
            return array.cast(pa.string()), np.zeros(len(series), dtype=bool)
        if series.dtype == pl.Null:
            return pa.nulls(len(series), pa.string()), np.zeros(len(series), dtype=bool)
        if series.dtype == pl.Object:
            return _strings_from_objects(series.to_list())
        bad = series.is_not_null().to_numpy()
        if series.dtype.is_float():
            bad &= ~series.is_nan().fill_null(False).to_numpy()
        return pa.nulls(len(series), pa.string()), bad

    def values(self, column: str) -> pa.Array | None:
        import polars as pl

        series = self.frame.get_column(column)
        if series.dtype == pl.Object:
            return None
        return series.to_arrow()

    def _drop(self, frame: Any, names: list[str]) -> Any:
        return frame.drop(names)

    def _pick(self, frame: Any, order: list[int]) -> Any:
        return frame if order == sorted(order) else frame[:, order]

    def _rows(self, frame: Any, positions: np.ndarray) -> Any:
        import polars as pl

        return frame[pl.Series(positions, dtype=pl.Int64)] if len(positions) else frame.clear()

    def _beside(self, frame: Any, results: pa.Table) -> Any:
        import polars as pl

        appended = pl.from_arrow(results)
        assert isinstance(appended, pl.DataFrame)
        return pl.concat([frame, appended], how="horizontal")


class ArrowFrame(_Adapter):
    """pyarrow.Table adapter (DuckDB's ``.arrow()``, ``pyarrow.parquet.read_table``)."""

    @property
    def height(self) -> int:
        return int(self.frame.num_rows)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.column_names)

    def strings(self, column: str) -> tuple[pa.Array, np.ndarray]:
        if self.frame.column_names.count(column) > 1:
            raise MappingError(f"column {column!r} appears more than once; rename the duplicates")
        return arrow_strings(self.frame.column(column))

    def values(self, column: str) -> pa.Array | None:
        if self.frame.column_names.count(column) > 1:
            return None
        return self.frame.column(column).combine_chunks()

    def _drop(self, frame: Any, names: list[str]) -> Any:
        return frame.drop_columns(names) if names else frame

    def _pick(self, frame: Any, order: list[int]) -> Any:
        return frame if order == sorted(order) else frame.select(order)

    def _rows(self, frame: Any, positions: np.ndarray) -> Any:
        return frame.take(pa.array(positions, type=pa.int64()))

    def _beside(self, frame: Any, results: pa.Table) -> Any:
        for name, column in zip(results.column_names, results.columns, strict=True):
            frame = frame.append_column(name, column)
        return frame


def arrow_strings(array: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """An Arrow column as ``string`` text, and where it holds a value that is not text.

    Every Arrow string type is text (``string``, ``large_string``, ``string_view`` and
    dictionaries of them); other types give nulls, flagged where a value was present
    (NaN is missing, not a value).
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    none = np.zeros(len(array), dtype=bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or is_string_view(kind):
        return array.cast(pa.string()), none
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string()), none
    bad = np.asarray(array.is_valid(), dtype=bool)
    if pa.types.is_floating(kind):
        import pyarrow.compute as pc

        bad &= ~np.asarray(pc.fill_null(pc.is_nan(array), False), dtype=bool)
    return pa.nulls(len(array), pa.string()), bad


def is_string_view(kind: pa.DataType) -> bool:
    """Whether ``kind`` is Arrow's ``string_view`` (pyarrow 16 and newer have it)."""
    check = getattr(pa.types, "is_string_view", None)
    return bool(check(kind)) if check is not None else False
