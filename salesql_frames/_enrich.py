"""The one entry: plan -> send -> assemble, for the accessors, the CLI and the demo.

`run_enrichment` runs a plan with a session (the client and the result store), so the
accessors and the command line behave the same and the command line can report what
the run did.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from . import _constants as C
from . import _validate as V
from ._assemble import How, assemble, check_shape, check_top_up
from ._client import Client, RateLimit
from ._estimate import Estimate, estimate
from ._exceptions import InvalidArgumentError, RunInterrupted, RunStoppedError
from ._frames import DTYPE_BACKENDS, DtypeBackend, Frame, adapt
from ._kinds import KindSpec
from ._phones import check_region
from ._plan import Plan, build_plan
from ._schema import DEFAULT_WIDTHS, ExplodeTarget, Widths
from ._send import Outcomes, send
from ._store import ResultStore, resolve_store
from ._summary import RunSummary, remember

__all__ = [
    "Cache",
    "Enrichment",
    "MaxAge",
    "OutputOptions",
    "RunOptions",
    "Session",
    "estimate_frame",
    "finish",
    "plan_frame",
    "run_enrichment",
    "session",
    "widths_of",
]

#: ``cache=`` takes a path, True/None (the default store), False (none), or a store.
Cache = bool | str | os.PathLike[str] | ResultStore | None
#: ``max_age=`` takes a timedelta, a number of days, a string such as "90d", or None.
MaxAge = datetime.timedelta | float | str | None


@dataclass(frozen=True)
class RunOptions:
    """How to reach the API and how hard to push it (see ``enrich_persons``).

    Checked when made, so a wrong option raises before anything is sent. ``max_age``
    (a ``timedelta``, a number of days, or ``"90d"``/``"12h"``) is kept as given, and as
    seconds in ``max_age_seconds``.
    """

    client: Client | None = None
    api_key: str | None = None
    base_url: str | None = None
    cache: Cache = None
    max_credits: int | None = None
    rate_limit: RateLimit | None = None
    daily_limit: int | None = None
    concurrency: int = C.DEFAULT_CONCURRENCY
    progress: bool = True
    strict: bool = False
    max_age: MaxAge = None
    max_age_seconds: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_age_seconds", V.age_seconds("max_age", self.max_age))
        V.instance("client", self.client, Client, "a salesql_frames.Client")
        V.instance("api_key", self.api_key, str, "a str")
        V.instance("base_url", self.base_url, str, "a str")
        if not (self.cache is None or isinstance(self.cache, (bool, ResultStore))
                or V.path_like(self.cache)):
            V.instance("cache", self.cache, (bool, str, os.PathLike, ResultStore),
                       "a path, True, False or a ResultStore")
        if self.max_credits is not None:
            object.__setattr__(self, "max_credits",
                               V.whole_number("max_credits", self.max_credits))
        if self.daily_limit is not None:
            object.__setattr__(self, "daily_limit",
                               V.whole_number("daily_limit", self.daily_limit, minimum=1))
        object.__setattr__(self, "concurrency",
                           V.whole_number("concurrency", self.concurrency, minimum=1))
        V.boolean("progress", self.progress)
        V.boolean("strict", self.strict)
        if self.client is not None:
            given = {"api_key": self.api_key, "base_url": self.base_url,
                     "rate_limit": self.rate_limit, "daily_limit": self.daily_limit}
            clash = [name for name, value in given.items() if value is not None]
            if clash:
                raise InvalidArgumentError(
                    f"pass either client= or {', '.join(clash)}=, not both "
                    "(set them on the Client instead)"
                )


@dataclass(frozen=True)
class OutputOptions:
    """The shape of the result (see ``enrich_persons``); checked when made.

    Attributes:
        how: ``"wide"`` or ``"long"``.
        explode: The list exploded into rows, with ``how="long"``.
        widths: Numbered columns per list, in wide output.
        prefix: Prefix of the result columns.
        dtype_backend: pandas only: ``"numpy_nullable"`` or ``"pyarrow"`` dtypes.
        default_region: Region (``"US"``) for phones without a country calling code or
            a known ``country_code``, for their E.164 form; None leaves those null.
        tz: Time zone of the datetime columns: None for naive UTC, or a zone name.
    """

    how: How = "wide"
    explode: ExplodeTarget | None = None
    widths: Widths = DEFAULT_WIDTHS
    prefix: str = C.DEFAULT_PREFIX
    dtype_backend: DtypeBackend = "numpy_nullable"
    default_region: str | None = None
    tz: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "default_region", check_region(self.default_region))
        V.time_zone("tz", self.tz)
        V.text("prefix", self.prefix)
        V.choice("dtype_backend", self.dtype_backend, DTYPE_BACKENDS)
        V.instance("widths", self.widths, Widths, "a Widths")

    def check(self, spec: KindSpec, frame: Frame) -> None:
        """Check the shape against the kind and the frame (its flags), before sending."""
        check_shape(spec, self.how, self.explode)
        if self.how == "long" and not frame.allows_repeated_labels:
            raise InvalidArgumentError(
                'how="long" repeats each row\'s index label once per item, and this frame '
                "has allows_duplicate_labels=False: use how=\"wide\", or "
                "df.set_flags(allows_duplicate_labels=True)"
            )
        check_top_up(frame, spec, how=self.how, explode=self.explode, widths=self.widths,
                     prefix=self.prefix, tz=self.tz)


def widths_of(*, max_emails: object, max_phones: object, max_work: object) -> Widths:
    """`Widths` from the accessors' arguments, an error naming the argument otherwise."""
    return Widths(
        emails=V.whole_number("max_emails", max_emails),
        phones=V.whole_number("max_phones", max_phones),
        work=V.whole_number("max_work", max_work),
    )


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
    with session(options) as current:
        return estimate(plan, current.client, current.store, max_age=options.max_age_seconds)


def run_enrichment(
    frame: Any,
    plan: Plan,
    *,
    output: OutputOptions = OutputOptions(),
    options: RunOptions = RunOptions(),
) -> Enrichment:
    """Send ``plan`` and return the enriched frame with what happened.

    Everything is checked before the first request. After it, the frame always comes
    back with every answer that arrived; a run that stopped early warns, or with
    ``strict=True`` raises `RunStoppedError` carrying the frame.

    Raises:
        RunInterrupted: Ctrl-C; it carries the partial frame.
        RunStoppedError: ``strict=True`` and the run stopped early.
    """
    adapted = adapt(frame, output.dtype_backend)
    output.check(plan.spec, adapted)
    with session(options) as current:
        outcomes = send(
            plan,
            current.client,
            store=current.store,
            concurrency=options.concurrency,
            max_credits=options.max_credits,
            progress=options.progress,
            warn=not options.strict,
            max_age=options.max_age_seconds,
        )
        current.outlive(outcomes.abandoned)
    enriched = assemble(
        adapted, plan, outcomes, how=output.how, explode=output.explode,
        widths=output.widths, prefix=output.prefix, default_region=output.default_region,
        tz=output.tz,
    )
    return finish(enriched, plan, outcomes, options)


def finish(enriched: Any, plan: Plan, outcomes: Outcomes, options: RunOptions) -> Enrichment:
    """The run's end, once ``enriched`` holds every answer: remember it, raise or return.

    Raises:
        RunInterrupted: Ctrl-C; it carries ``enriched``.
        RunStoppedError: ``strict=True`` and the run stopped early.
    """
    summary = RunSummary.of(plan, outcomes)
    remember(summary)  # salesql_frames.last_run()
    if isinstance(getattr(enriched, "attrs", None), dict):  # pandas: the counts travel along
        enriched.attrs = {**enriched.attrs, "salesql": summary.as_dict()}
    if outcomes.interrupted:
        raise RunInterrupted(
            f"interrupted: {outcomes.sent:,} queries were answered and kept; "
            "the partial frame is on this exception's .partial", partial=enriched
        )
    if options.strict and outcomes.stopped is not None:
        raise RunStoppedError(f"run stopped: {outcomes.stopped}", partial=enriched,
                              reason=outcomes.stopped, category=outcomes.stop_warning)
    return Enrichment(enriched, plan, outcomes)


@dataclass
class Session:
    """The client and the result store of one call, and what must outlive the call.

    Attributes:
        client: The caller's client, or one made for the call.
        store: The result store, or None.
    """

    client: Client
    store: ResultStore | None
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _pending: list[Future[Any]] = field(default_factory=list)

    def outlive(self, futures: Sequence[Future[Any]]) -> None:
        """Keep what the call opened open until ``futures`` (abandoned batches) are done.

        An interrupted run leaves its batches in flight to their workers, which store the
        answers that arrive: closing the store or the client under them would lose answers
        that were paid for.
        """
        self._pending.extend(futures)

    def close(self) -> None:
        left = [future for future in self._pending if not future.done()]
        if not left:
            for close in reversed(self._closers):
                close()
            return
        remaining = [len(left)]
        lock = threading.Lock()

        def one_done(_: Future[Any]) -> None:
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                for close in reversed(self._closers):
                    with contextlib.suppress(Exception):
                        close()

        for future in left:
            future.add_done_callback(one_done)


@contextlib.contextmanager
def session(options: RunOptions) -> Iterator[Session]:
    """The client (the caller's, or one made and closed here) and the result store."""
    client = options.client
    closers: list[Callable[[], None]] = []
    if client is None:
        client = Client(options.api_key, base_url=options.base_url,
                        rate_limit=options.rate_limit, daily_limit=options.daily_limit)
        closers.append(client.close)
    try:
        store = resolve_store(options.cache)
    except BaseException:
        for close in closers:
            close()
        raise
    if store is not None and store is not options.cache:
        closers.append(store.close)
    current = Session(client, store, closers)
    try:
        yield current
    finally:
        current.close()
