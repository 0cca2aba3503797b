"""Stage 3, assemble: outcomes -> result columns fanned out to the caller's own frame.

The unique answers are flattened once (by the kind's flatten function), then taken to
every input row by position, so duplicates, index labels and order come back as they
went in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from . import _constants as C
from ._exceptions import InvalidArgumentError
from ._frames import Frame
from ._kinds import KindSpec
from ._plan import Plan
from ._schema import ExplodeTarget, Widths
from ._send import Outcomes, row_outcomes

__all__ = ["How", "assemble", "check_shape"]

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

    Returns:
        The caller's frame, aligned with the input, with the result columns appended.
    """
    spec = plan.spec
    check_shape(spec, how, explode)
    row_query = plan.row_query
    sent = row_query >= 0
    status, error = row_outcomes(plan, outcomes)
    head = {
        f"{prefix}status": pa.array(status.tolist(), type=pa.string()),
        f"{prefix}error": pa.array(error.tolist(), type=pa.string()),
    }
    take = pa.array(row_query, mask=~sent)
    if explode is None or spec.long is None:
        unique = spec.wide(outcomes.items, widths or Widths(), prefix, default_region)
        return frame.with_results(_prepend(unique.take(take), head))
    parents, unique_long = spec.long(outcomes.items, explode, prefix, default_region)
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
