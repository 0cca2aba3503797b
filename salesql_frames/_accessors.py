"""The ``.salesql`` accessor (pandas), and namespace (polars DataFrame and LazyFrame).

One class: it holds only the frame (pandas caches accessor objects, so nothing derived
from the columns may live here). Each method is its function in `_api` with the frame
bound, so the keyword signatures live in one place and ``inspect.signature``, tab
completion and the docs show them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from . import _api

__all__ = ["SalesQLAccessor", "register"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
#: The ``frame`` line of the functions' Args, which the bound methods do not take.
_FRAME_ARGUMENT = (
    "        frame: A pandas or polars DataFrame, a polars LazyFrame or a ``pyarrow.Table``.\n"
)


def _method(function: Callable[Concatenate[Any, _P], _R]) -> Callable[Concatenate[Any, _P], _R]:
    """``function(frame, ...)`` as a method on the accessor: ``df.salesql.name(...)``."""

    @functools.wraps(function)
    def method(self: SalesQLAccessor, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return function(self._frame, *args, **kwargs)

    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self_parameter, *parameters[1:]]
    )
    method.__doc__ = (function.__doc__ or "").replace(
        f"salesql_frames.{function.__name__}(df, ", f"df.salesql.{function.__name__}("
    ).replace(f"salesql_frames.{function.__name__}(df)", f"df.salesql.{function.__name__}()"
    ).replace(_FRAME_ARGUMENT, "")
    return method


class SalesQLAccessor:
    """SalesQL enrichment for a DataFrame: ``df.salesql.enrich_persons()`` and friends.

    Works the same on pandas and polars (DataFrame and LazyFrame) and returns the
    caller's own frame type, aligned with the input: same length, same order, and for
    pandas the same index. Each method is the function of the same name
    (`salesql_frames.enrich_persons` ...) with the frame bound.
    """

    def __init__(self, frame: Any) -> None:
        self._frame = frame

    plan_persons = _method(_api.plan_persons)
    enrich_persons = _method(_api.enrich_persons)
    plan_organizations = _method(_api.plan_organizations)
    enrich_organizations = _method(_api.enrich_organizations)
    estimate_persons = _method(_api.estimate_persons)
    estimate_organizations = _method(_api.estimate_organizations)
    aenrich_persons = _method(_api.aenrich_persons)
    aenrich_organizations = _method(_api.aenrich_organizations)


def register() -> None:
    """Register ``.salesql`` on pandas DataFrames and polars DataFrames and LazyFrames."""
    import pandas as pd
    import polars as pl

    if getattr(pd.DataFrame, "salesql", None) is not SalesQLAccessor:
        pd.api.extensions.register_dataframe_accessor("salesql")(SalesQLAccessor)
    if getattr(pl.DataFrame, "salesql", None) is not SalesQLAccessor:
        pl.api.register_dataframe_namespace("salesql")(SalesQLAccessor)
    if getattr(pl.LazyFrame, "salesql", None) is not SalesQLAccessor:
        pl.api.register_lazyframe_namespace("salesql")(SalesQLAccessor)
