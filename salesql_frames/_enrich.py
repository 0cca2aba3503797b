"""One enrichment run, start to finish: session, send, assemble.

The accessors and the command line both go through `run_enrichment`, so they behave
the same and the command line can report what the run did.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from . import _constants as C
from ._client import Client
from ._flatten import Widths
from ._frames import DtypeBackend, adapt
from ._pacing import RateLimit
from ._pipeline import Explode, Plan, assemble
from ._runner import Outcomes, send
from ._store import ResultStore, resolve_store
from ._summary import RunSummary

__all__ = ["Cache", "Enrichment", "RunOptions", "run_enrichment", "session"]

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


def run_enrichment(
    frame: Any,
    plan: Plan,
    *,
    how: Literal["wide", "long"] = "wide",
    explode: Explode | None = None,
    widths: Widths | None = None,
    prefix: str = C.DEFAULT_PREFIX,
    dtype_backend: DtypeBackend = "numpy_nullable",
    options: RunOptions = RunOptions(),
) -> Enrichment:
    """Send ``plan`` and return the enriched frame with what happened."""
    if how not in ("wide", "long"):
        raise ValueError(f'how must be "wide" or "long", got {how!r}')
    if (how == "long") != (explode is not None):
        raise ValueError(
            'how="long" goes with explode="emails", "phones" or "work_experience", '
            'and explode only with how="long"'
        )
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
            raise ValueError(
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
