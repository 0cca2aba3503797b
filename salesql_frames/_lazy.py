"""polars LazyFrames: collect the unique raw mapped values, plan and send those, join back.

Only the mapped columns are scanned (streaming engine where the installed polars has
it), so memory is bounded by the distinct combinations of the mapped cells, not the
rows. The distinct combinations run through the eager pipeline (`_plan`, `_send`,
`_assemble` on a small polars frame); the result is joined back lazily on the raw mapped
columns, so every row gets exactly what the eager path gives it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from ._enrich import Enrichment, OutputOptions, RunOptions, run_enrichment
from ._exceptions import InvalidArgumentError, RunInterrupted, RunStoppedError
from ._frames import PolarsFrame
from ._kinds import KindSpec
from ._mapping import resolve_mapping
from ._plan import Plan, build_plan

__all__ = ["collect_streaming", "enrich_lazy", "plan_lazy", "run_lazy"]


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
    """Enrich a LazyFrame: the unique queries are sent now, the rows joined lazily.

    Returns:
        A LazyFrame with the eager path's columns, in the input's row order.

    Raises:
        InvalidArgumentError: ``how="long"`` (collect the frame first for long output).
    """
    return run_lazy(frame, spec, explicit, only_missing=only_missing, flags=flags,
                    output=output, options=options)[0]


def run_lazy(
    frame: Any, spec: KindSpec, explicit: Mapping[str, str | None], *,
    only_missing: str | Sequence[str] | None, flags: Mapping[str, bool] | None,
    output: OutputOptions, options: RunOptions,
) -> tuple[Any, Enrichment]:
    """`enrich_lazy`, with the run's plan and summary (for the CLI's report)."""
    if output.how != "wide":
        raise InvalidArgumentError(
            'how="long" is not supported on a polars LazyFrame: use how="wide", or '
            "collect the frame first (lf.collect().salesql...)"
        )
    distinct, columns, keys = _distinct(frame, spec, explicit, only_missing)
    plan = build_plan(PolarsFrame(distinct), spec, columns, only_missing=only_missing,
                      flags=flags)
    try:
        result = run_enrichment(distinct, plan, output=output, options=options)
    except (RunInterrupted, RunStoppedError) as stopped:
        stopped.partial = _joined(frame, stopped.partial, keys)
        raise
    return _joined(frame, result.frame, keys), result


def _joined(frame: Any, results: Any, keys: list[str]) -> Any:
    """``frame`` (less stale result columns) left-joined lazily with ``results``."""
    added = [name for name in results.columns if name not in keys]
    stale = [name for name in frame.collect_schema().names() if name in added]
    left = frame.drop(stale) if stale else frame
    return left.join(results.lazy(), on=keys, how="left", **_join_options(left))


def _join_options(frame: Any) -> dict[str, Any]:
    """Nulls match nulls and the left order is kept, spelled for the installed polars."""
    parameters = inspect.signature(frame.join).parameters
    options: dict[str, Any] = {}
    options["nulls_equal" if "nulls_equal" in parameters else "join_nulls"] = True
    if "maintain_order" in parameters:
        options["maintain_order"] = "left"
    if "coalesce" in parameters:
        options["coalesce"] = True
    return options
