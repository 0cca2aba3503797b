"""The one entry: plan -> send -> assemble, for the accessors, the CLI and the demo.

`run_enrichment` runs a plan with a session (the client and the result store), so the
accessors and the command line behave the same and the command line can report what
the run did.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import _constants as C
from ._assemble import How, assemble, check_shape
from ._client import Client, RateLimit
from ._estimate import Estimate, estimate
from ._exceptions import InvalidArgumentError
from ._frames import DtypeBackend, adapt
from ._kinds import KindSpec
from ._plan import Plan, build_plan
from ._schema import ExplodeTarget, Widths
from ._send import Outcomes, send
from ._store import ResultStore, resolve_store
from ._summary import RunSummary

__all__ = [
    "Cache",
    "Enrichment",
    "RunOptions",
    "estimate_frame",
    "plan_frame",
    "run_enrichment",
    "session",
]

#: ``cache=`` takes a path, True/None (the default store), False (none), or a store.
Cache = bool | str | os.PathLike[str] | ResultStore | None


@dataclass(frozen=True)
class RunOptions:
    """How to reach the API and how hard to push it (see ``enrich_persons``)."""

    client: Client | None = None
    api_key: str | None = None
    base_url: str | None = None
    cache: Cache = None
    max_credits: int | None = None
    rate_limit: RateLimit | None = None
    daily_limit: int | None = None
    concurrency: int = C.DEFAULT_CONCURRENCY
    progress: bool = True


@dataclass(frozen=True)
class Enrichment:
    """A finished run: the enriched frame, the plan it followed and what came back."""

    frame: Any
    plan: Plan
    outcomes: Outcomes

    @property
    def summary(self) -> RunSummary:
        """Counts per status, queries sent, answers from the store, credits used."""
        return RunSummary.of(self.plan, self.outcomes)


def plan_frame(
    frame: Any,
    spec: KindSpec,
    columns: Mapping[str, str | None],
    *,
    only_missing: str | Sequence[str] | None = None,
    flags: Mapping[str, bool] | None = None,
) -> Plan:
    """Plan enriching a pandas or polars ``frame`` (stage 1 only: nothing is sent)."""
    return build_plan(adapt(frame), spec, columns, only_missing=only_missing, flags=flags)


def estimate_frame(plan: Plan, options: RunOptions) -> Estimate:
    """The dry run of ``plan``: what the store answers, what is left, what it may cost."""
    with session(options) as (client, store):
        return estimate(plan, client, store)


def run_enrichment(
    frame: Any,
    plan: Plan,
    *,
    how: How = "wide",
    explode: ExplodeTarget | None = None,
    widths: Widths | None = None,
    prefix: str = C.DEFAULT_PREFIX,
    dtype_backend: DtypeBackend = "numpy_nullable",
    options: RunOptions = RunOptions(),
) -> Enrichment:
    """Send ``plan`` and return the enriched frame with what happened."""
    check_shape(plan.spec, how, explode)
    with session(options) as (client, store):
        outcomes = send(
            plan,
            client,
            store=store,
            concurrency=options.concurrency,
            max_credits=options.max_credits,
            progress=options.progress,
        )
    enriched = assemble(
        adapt(frame, dtype_backend), plan, outcomes, how=how, explode=explode, widths=widths,
        prefix=prefix,
    )
    return Enrichment(enriched, plan, outcomes)


@contextlib.contextmanager
def session(options: RunOptions) -> Iterator[tuple[Client, ResultStore | None]]:
    """The client (the caller's, or one made and closed here) and the result store."""
    client = options.client
    if client is not None:
        given = {"api_key": options.api_key, "base_url": options.base_url,
                 "rate_limit": options.rate_limit, "daily_limit": options.daily_limit}
        clash = [name for name, value in given.items() if value is not None]
        if clash:
            raise InvalidArgumentError(
                f"pass either client= or {', '.join(clash)}=, not both "
                "(set them on the Client instead)"
            )
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(
                Client(options.api_key, base_url=options.base_url,
                       rate_limit=options.rate_limit, daily_limit=options.daily_limit)
            )
        store = resolve_store(options.cache)
        if store is not None and store is not options.cache:
            stack.callback(store.close)
        yield client, store
