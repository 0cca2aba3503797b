"""Stage 2, send: the plan's unique queries -> outcomes (store, then paced bulk batches).

Budgets and clean stops live here too. Workers (daemon threads, so a running event loop
in Jupyter is never touched and an abandoned request never holds up the interpreter's
exit) send one batch each and store its answers before returning, so an answer that was
paid for survives even if the caller is interrupted while the request is in flight. The
caller's thread only schedules batches and records outcomes, waiting in short slices so
Ctrl-C is seen at once whatever SIGINT handler another library installed.

After the first request a run ends in exactly one way: with outcomes for every query,
the ones not answered ``skipped`` or ``error`` with the reason, and ``stopped`` saying
why when it ended early. Only an error before any answer arrived (nothing was paid),
such as a refused key, is raised.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _constants as C
from ._budget import Ledger
from ._caller import caller_level
from ._client import Client, require_key, send_batch
from ._client._retry import backoff, outcome_unknown
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    QuotaExhaustedError,
    QuotaExhaustedWarning,
    RateLimitError,
    RunStoppedWarning,
    SalesQLError,
    StoreError,
    StoreWarning,
)
from ._models import UNREAD, Item, Record, Unread
from ._plan import Plan
from ._progress import Progress
from ._store import ResultStore, Stored, new_owner

__all__ = [
    "Outcomes", "classify", "look_up", "read_unread", "row_outcomes", "send", "status_counts",
    "wall_clock",
]

logger = logging.getLogger(C.LOGGER_NAME)

@dataclass
class Outcomes:
    """What came back for each unique query of a plan.

    Attributes:
        items: Per query: the record when found (a `RawRecord` or `StoredRow` from the
            store, decoded when it is flattened; `UNREAD` when sent with
            ``read_stored=False``, until `read_unread`), else None.
        status: Per query: found / not_found / error / skipped.
        error: Per query: why it is an error or was skipped, else None.
        cached: Queries answered from the result store.
        sent: Queries sent and answered by the server.
        credits_used: Credits the answers received confirm (a person with an email or
            phone; every organization found).
        credits_possible: Credits possibly charged besides: the worst case of batches
            whose outcome is unknown (lost, timed out, malformed, misaligned).
        fetched_at: Per query: when its answer was fetched (seconds since the epoch; from
            the store, or when it arrived), None for queries without an answer.
        stopped: Why the run stopped early, if it did.
        stop_warning: The warning category for ``stopped``.
        interrupted: The run ended on Ctrl-C.
        abandoned: Batches still in flight when the run ended: their workers store the
            answer if it arrives, so the store and the client must outlive them.
        looked_up_at: When the store was looked up (seconds since the epoch, its clock).
    """

    items: list[Item | Unread | None]
    status: list[str]
    error: list[str | None]
    cached: int = 0
    sent: int = 0
    credits_used: int = 0
    credits_possible: int = 0
    fetched_at: list[float | None] = field(default_factory=list)
    stopped: str | None = None
    stop_warning: type[Warning] = RunStoppedWarning
    interrupted: bool = False
    abandoned: list[Future[list[Record]]] = field(default_factory=list)
    #: When the store was looked up (its clock), for `read_unread`; None before.
    looked_up_at: float | None = None

    @classmethod
    def empty(cls, size: int) -> Outcomes:
        """Outcomes where nothing was sent yet."""
        return cls([None] * size, [C.STATUS_SKIPPED] * size, [None] * size)

    def record(self, position: int, item: Item | Unread | None, status: str,
               error: str | None,
               fetched_at: float | None = None) -> None:
        """Set one query's outcome (``fetched_at``: when its answer was fetched)."""
        self.items[position], self.status[position], self.error[position] = item, status, error
        self.fetched_at[position] = fetched_at

    def __post_init__(self) -> None:
        self.fetched_at += [None] * (len(self.items) - len(self.fetched_at))

    def read_items(self, start: int = 0, stop: int | None = None) -> list[Item | None]:
        """The items of queries ``start:stop``, every answer read: what is flattened.

        Raises:
            RuntimeError: One is still `UNREAD` (`read_unread` was not called): a bug.
        """
        part = self.items[start:stop]
        if any(item is UNREAD for item in part):
            raise RuntimeError("stored answers not read yet: call read_unread first")
        return part  # type: ignore[return-value]  # no UNREAD among them


def classify(item: Record) -> tuple[str, str | None]:
    """Status and error of one answer item: a record, not-found, or an item error."""
    error = item.get("error")
    if error is None or "uuid" in item:
        return C.STATUS_FOUND, None
    text = str(error)
    if "not found" in text.lower():
        return C.STATUS_NOT_FOUND, None
    return C.STATUS_ERROR, text


def store_keys(plan: Plan, account: str | None, positions: Iterable[int] | None = None,
               ) -> list[str]:
    """The result-store key of each unique query (or of those at ``positions``).

    A key is account + kind + canonical query + flags.
    """
    return plan.keys.prefixed(f"{account}|", positions)


def look_up(
    plan: Plan, store: ResultStore | None, account: str | None, *, max_age: float | None = None,
    records: bool = True, keys: Sequence[str] | None = None,
) -> list[Stored | None]:
    """Per query: its stored answer, fresh or stale (see `Stored.fresh`), or None.

    With ``records=False`` found answers are `UNREAD` (see `read_unread`). ``keys``: the
    queries' `store_keys`, when the caller has them.
    """
    if store is None or account is None or not plan.unique_queries:
        return [None] * plan.unique_queries
    keys = store_keys(plan, account) if keys is None else keys
    stored = store.look_up(keys, max_age=max_age, raw=True, codec=plan.spec.codec,
                           records=records)
    return [stored.get(key) for key in keys]


def read_unread(
    plan: Plan, outcomes: Outcomes, store: ResultStore | None, account: str | None,
    start: int, stop: int,
) -> None:
    """Read the `UNREAD` answers of queries ``start:stop`` from the store, in place.

    Freshness is judged as of the run's look-up (an answer that was fresh then is read,
    however long the sending took). An answer that is gone meanwhile (another process
    cleared the store), or that the store cannot give (a damaged one: the others of the
    chunk are read one by one), makes its query an ``error`` that says so: nothing is
    sent for it now, and a run again looks it up afresh.
    """
    positions = [j for j in range(start, stop) if outcomes.items[j] is UNREAD]
    if not positions or store is None:  # only a look-up in a store leaves answers unread
        return
    keys = store_keys(plan, account, positions)
    gone = ("its stored answer was gone when it was read (the store was cleared "
            "meanwhile?): run again to look it up")
    reasons: dict[str, str] = {}

    def read(some: list[str]) -> dict[str, Stored]:
        return store.look_up(some, raw=True, codec=plan.spec.codec,
                             as_of=outcomes.looked_up_at)

    try:
        stored = read(keys)
    except StoreError:  # one damaged answer fails its look-up: find which, one by one
        stored = {}
        for key in keys:
            try:
                stored.update(read([key]))
            except StoreError as exc:
                reasons[key] = f"its stored answer could not be read ({exc})"
    for j, key in zip(positions, keys, strict=True):
        one = stored.get(key)
        if one is not None and one.record is not None:
            outcomes.items[j] = one.record
            outcomes.fetched_at[j] = one.fetched_at
        else:
            outcomes.record(j, None, C.STATUS_ERROR, reasons.get(key, gone))


def wall_clock(store: ResultStore | None) -> Callable[[], float]:
    """What answers are dated by: the store's clock (so tests inject it), else the system's."""
    return store.now if store is not None else time.time


@dataclass
class _Batch:
    """Query positions sent together, the credits reserved for them, and their history."""

    positions: list[int]
    worst: int = 0
    resent: bool = False
    delay: float = 0.0
    #: When its answer arrived (seconds since the epoch), set by the worker.
    answered_at: float | None = None


def _start(
    work: Callable[[_Batch], list[Record]], batch: _Batch, future: Future[list[Record]]
) -> None:
    """Run ``work(batch)`` in a daemon thread, its result delivered to ``future``."""

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work(batch))
        except BaseException as exc:  # delivered to the caller's thread
            future.set_exception(exc)

    threading.Thread(target=target, name="salesql-batch", daemon=True).start()


@dataclass
class _Run:
    """One call's sending loop (see `send`)."""

    plan: Plan
    client: Client
    store: ResultStore | None
    ledger: Ledger
    bar: Progress
    max_age: float | None = None
    #: Read stored answers at once (False: leave them `UNREAD`).
    read_stored: bool = True
    account: str | None = None
    keys: list[str] = field(default_factory=list)
    outcomes: Outcomes = field(default_factory=lambda: Outcomes.empty(0))
    pending: deque[int] = field(default_factory=deque)
    #: Batches to send before new ones: halves of a refused batch, a batch to resend.
    queued: deque[_Batch] = field(default_factory=deque)
    split_since_success: bool = False
    #: A daily cap refused a batch: from then on one batch at a time, split to what is left.
    capped: bool = False
    unknown_streak: int = 0
    fatal: SalesQLError | None = None
    store_failure: str | None = None
    #: This run's name in the store's claims, and the positions it holds claims on.
    owner: str = ""
    claimed: set[int] = field(default_factory=set)
    #: Positions another run is sending: looked at again when nothing else is left.
    busy: deque[int] = field(default_factory=deque)
    in_flight: dict[Future[list[Record]], _Batch] = field(default_factory=dict)
    #: Answers a failed store write left in memory; stored with the next batch's.
    unstored: list[tuple[str, Record | None]] = field(default_factory=list)
    _keep_lock: threading.Lock = field(default_factory=threading.Lock)
    #: The wall clock answers are dated by (`wall_clock`).
    now: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.account = self.client.account
        self.keys = store_keys(self.plan, self.account)
        self.outcomes = Outcomes.empty(self.plan.unique_queries)
        self.owner = new_owner()
        self.now = wall_clock(self.store)

    @property
    def shared(self) -> ResultStore | None:
        """The store, when answers are filed in it (there is a key to file them under)."""
        return self.store if self.account is not None else None

    def store_failed(self, error: Exception) -> None:
        """Claims cannot be written: go on without the store, and say so at the end.

        Called on the caller's thread. The claims of batches in flight are kept (their
        workers still try to store the answers); the others are given up.
        """
        store, self.store = self.store, None
        flying = {j for batch in self.in_flight.values() for j in batch.positions}
        idle = [self.keys[j] for j in self.claimed - flying]
        with contextlib.suppress(Exception):  # others need not wait for our leases
            if store is not None and idle:
                store.release(idle, owner=self.owner)
        self.note_store_failure(store, error)

    def note_store_failure(self, store: ResultStore | None, error: Exception) -> None:
        self.store_failure = (
            f"the result store at {getattr(store, 'path', store)} failed ({error}); the run "
            "went on: its answers are in the returned frame, but those it could not store "
            "would be paid for again by another run"
        )

    # -- worker side -------------------------------------------------------------------

    def work(self, batch: _Batch) -> list[Record]:
        """Send one batch and store its answers before returning (worker thread)."""
        queries = [self.plan.query(j) for j in batch.positions]
        if batch.delay:
            self.client.clock.sleep(batch.delay)
        answers = send_batch(self.client, self.plan.spec, queries, resend_unknown=False)
        batch.answered_at = self.now()
        self.keep(batch, answers)
        return answers

    def keep(self, batch: _Batch, answers: list[Record]) -> None:
        """Store a batch's answers (worker thread).

        A write that fails keeps them in memory (they are in the frame anyway) and tries
        again with the next batch's; the run goes on and warns at the end.
        """
        store = self.store
        if store is None or self.account is None:
            return
        keep: list[tuple[str, Record | None]] = []
        for j, item in zip(batch.positions, answers, strict=True):
            status, _ = classify(item)
            if status != C.STATUS_ERROR:
                keep.append((self.keys[j], item if status == C.STATUS_FOUND else None))
        with self._keep_lock:
            keep, self.unstored = self.unstored + keep, []
            try:
                store.put_many(self.account, self.plan.spec.name, keep,
                               fetched_at=batch.answered_at, codec=self.plan.spec.codec)
            except Exception as exc:  # the answers are paid for: keep them in memory
                self.unstored = keep
                self.note_store_failure(store, exc)

    # -- caller side -------------------------------------------------------------------

    def next_batch(self) -> _Batch | None:
        """The next batch to send with its credits reserved, or None (none that fits)."""
        if self.queued:
            batch = self.queued[0]
            if not self.ledger.reserve(len(batch.positions)):
                return None
            self.queued.popleft()
            batch.worst = len(batch.positions)
            return batch
        while self.pending:
            size = min(self.client.pacer.batch_size(), len(self.pending))
            room = self.ledger.room()
            if room is not None:
                size = min(size, room)
            if size <= 0:
                return None
            daily = self.daily_room()
            if daily is not None and daily < size:
                size = daily  # the last batch of the day: what daily_limit has left
                if size <= 0:
                    if not self.in_flight:
                        self.halt(str(self.client.pacer.daily_error()), [],
                                  QuotaExhaustedWarning)
                    return None
            positions = self.claim([self.pending.popleft() for _ in range(size)])
            if positions:
                self.ledger.reserve(len(positions))  # fits: no more than the room
                return _Batch(positions, worst=len(positions))
        return None

    def daily_room(self) -> int | None:
        """Searches ``daily_limit`` leaves for a new batch (None: no limit).

        Batches in flight are counted whether or not the pacer counted them already, so
        this errs low while they fly and is exact once they are back.
        """
        left = self.client.pacer.daily_left()
        if left is None:
            return None
        return left - sum(len(batch.positions) for batch in self.in_flight.values())

    def claim(self, positions: list[int]) -> list[int]:
        """Of ``positions``, those this run sends: not answered or being sent by another run.

        Answers another run stored meanwhile are taken as they are; positions another run
        holds a claim on wait in `busy`.
        """
        store = self.shared
        if store is None:
            return positions
        by_key = {self.keys[j]: j for j in positions}
        try:
            claim = store.claim(list(by_key), owner=self.owner, max_age=self.max_age,
                                raw=True, codec=self.plan.spec.codec)
        except StoreError as exc:
            self.store_failed(exc)
            return positions
        for key, item in claim.answered.items():
            status = C.STATUS_FOUND if item is not None else C.STATUS_NOT_FOUND
            self.outcomes.record(by_key[key], item, status, None, claim.answered_at.get(key))
        self.outcomes.cached += len(claim.answered)
        self.bar.advance(len(claim.answered), cached=len(claim.answered))
        self.busy.extend(by_key[key] for key in claim.busy)
        mine = [by_key[key] for key in claim.claimed]
        self.claimed.update(mine)
        return mine

    def release(self, positions: Sequence[int]) -> None:
        """Give up this run's claims on ``positions`` (they were not answered)."""
        store, held = self.shared, [j for j in positions if j in self.claimed]
        if store is None or not held:
            return
        self.claimed.difference_update(held)
        try:
            store.release([self.keys[j] for j in held], owner=self.owner)
        except StoreError as exc:
            self.store_failed(exc)

    def wait_for_others(self) -> bool:
        """Nothing else to send: look again at what other runs are sending. False: none."""
        if not self.busy:
            return False
        time.sleep(C.STORE_CLAIM_POLL)  # another process's progress: real time
        self.pending.extend(self.busy)
        self.busy.clear()
        return True

    def finish(self, batch: _Batch, answers: list[Record]) -> None:
        self.split_since_success = False
        self.unknown_streak = 0
        found = not_found = errors = billable = 0
        for j, item in zip(batch.positions, answers, strict=True):
            status, error = classify(item)
            self.outcomes.record(j, item if status == C.STATUS_FOUND else None, status, error,
                                 None if status == C.STATUS_ERROR else batch.answered_at)
            found += status == C.STATUS_FOUND
            not_found += status == C.STATUS_NOT_FOUND
            errors += status == C.STATUS_ERROR
            billable += status == C.STATUS_FOUND and self.plan.spec.billable(item)
        self.ledger.settle(batch.worst, charged=billable)
        errored = [j for j in batch.positions if self.outcomes.status[j] == C.STATUS_ERROR]
        self.claimed.difference_update(batch.positions)  # put_many ended the others'
        self.claimed.update(errored)
        self.release(errored)
        self.outcomes.sent += len(batch.positions)
        self.bar.advance(len(batch.positions), found=found, not_found=not_found,
                         errors=errors, credits=billable)

    def fail(self, batch: _Batch, reason: str) -> None:
        """A batch failed for good: mark its rows, and let another run try them."""
        self.release(batch.positions)
        for j in batch.positions:
            self.outcomes.record(j, None, C.STATUS_ERROR, reason)
        self.bar.advance(len(batch.positions), errors=len(batch.positions))

    def lost(self, batch: _Batch, error: BaseException) -> None:
        """A batch's outcome is unknown: it may have been charged; resend it once.

        Resending draws on the budget like any batch (its worst case is reserved again),
        and a client with ``max_retries=0`` never resends.
        """
        self.ledger.lose(batch.worst)
        self.bar.advance(0, possibly_charged=batch.worst)
        self.unknown_streak += 1
        what = f"{type(error).__name__}: {error}"
        if self.unknown_streak >= C.UNKNOWN_OUTCOME_STREAK:
            self.fail(batch, f"no usable answer ({what}); it may have been charged")
            self.halt(f"{self.unknown_streak} batches in a row got no usable answer (last: "
                      f"{what}); finished rows are kept", [], RunStoppedWarning)
        elif not batch.resent and self.client.max_retries > 0:
            delay = backoff(0)
            logger.info("retrying a batch of %d queries in %.2f s (%s: its outcome is "
                        "unknown, so it may have been charged)", len(batch.positions), delay,
                        type(error).__name__)
            self.queued.appendleft(_Batch(batch.positions, resent=True, delay=delay))
        else:
            self.fail(batch, f"no usable answer twice ({what}); it may have been charged")

    def stop(self, reason: str, unsent: Sequence[int],
             category: type[Warning] = RunStoppedWarning) -> None:
        if self.outcomes.stopped is None:
            self.outcomes.stopped, self.outcomes.stop_warning = reason, category
        self.release(unsent)
        for j in unsent:
            self.outcomes.record(j, None, C.STATUS_SKIPPED, f"not sent: {reason}")

    def unsent(self) -> list[int]:
        """Positions not sent yet; the queues are emptied."""
        positions = [j for batch in self.queued for j in batch.positions]
        positions += [*self.pending, *self.busy]
        self.pending.clear()
        self.queued.clear()
        self.busy.clear()
        return positions

    def halt(self, reason: str, batch: Sequence[int], category: type[Warning]) -> None:
        """Stop sending: this batch and everything not yet sent is skipped."""
        if self.outcomes.stopped is not None:
            self.stop(self.outcomes.stopped, batch)
            return
        self.stop(reason, [*batch, *self.unsent()], category)

    def run(self, concurrency: int) -> Outcomes:
        self.outcomes.looked_up_at = self.now()
        record, cached = self.outcomes.record, 0
        for position, one in enumerate(look_up(
            self.plan, self.store, self.account, max_age=self.max_age,
            records=self.read_stored, keys=self.keys,
        )):
            if one is None or not one.fresh:
                self.pending.append(position)
                continue
            status = C.STATUS_FOUND if one.record is not None else C.STATUS_NOT_FOUND
            record(position, one.record, status, None, one.fetched_at)
            cached += 1
        self.outcomes.cached = cached
        self.bar.advance(cached, cached=cached)
        in_flight = self.in_flight
        try:
            self.loop(in_flight, concurrency)
        except KeyboardInterrupt:
            self.outcomes.interrupted = True
            self.abandon(in_flight, "interrupted (Ctrl-C)")
        except Exception as exc:  # a bug, or a failure no rule foresaw: keep what arrived
            self.abandon(in_flight, f"an unexpected error ({type(exc).__name__}: {exc}); "
                                    "finished rows are kept")
        left = self.unsent()  # after a stop, batches that failed late may be queued still
        if left:
            self.stop(self.outcomes.stopped or f"max_credits={self.ledger.limit} reached (at "
                      "most one credit per query is assumed before it is answered)", left)
        if self.fatal is not None and self.outcomes.sent == 0 and not self.ledger.possible:
            raise self.fatal  # nothing was answered, so nothing was paid: say it plainly
        if self.store_failure is not None:
            warnings.warn(self.store_failure, StoreWarning, stacklevel=caller_level())
        self.outcomes.credits_used = self.ledger.confirmed
        self.outcomes.credits_possible = self.ledger.possible
        return self.outcomes

    def loop(self, in_flight: dict[Future[list[Record]], _Batch], concurrency: int) -> None:
        while True:
            while (len(in_flight) < (1 if self.capped else concurrency)
                   and self.outcomes.stopped is None):
                batch = self.next_batch()
                if batch is None:
                    break
                future: Future[list[Record]] = Future()
                in_flight[future] = batch  # first: an interrupt now still finds it
                _start(self.work, batch, future)
            if not in_flight:
                if self.outcomes.stopped is None and self.wait_for_others():
                    continue
                return
            # Short slices: a blocked wait may not see SIGINT once a library re-installed
            # the handler with SA_RESTART (polars does).
            done, _ = wait(in_flight, timeout=C.WAIT_SLICE_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                self.collect(future, in_flight.pop(future))

    def abandon(self, in_flight: dict[Future[list[Record]], _Batch], reason: str) -> None:
        """Stop sending; give the batches in flight a short grace to be answered and stored."""
        self.halt(reason, [], RunStoppedWarning)
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: no grace
            wait(in_flight, timeout=C.INTERRUPT_GRACE_SECONDS)
        for future, batch in list(in_flight.items()):
            if future.done():
                self.collect(future, batch)
                continue
            # Still out there: it may be charged, and its answer is stored if it arrives.
            self.outcomes.abandoned.append(future)
            future.add_done_callback(functools.partial(self.release_if_failed, batch))
            self.ledger.lose(batch.worst)
            for j in batch.positions:
                self.outcomes.record(j, None, C.STATUS_SKIPPED,
                                     f"{reason} while in flight: it may have been charged; "
                                     "its answer is stored if it arrives")
        in_flight.clear()

    def release_if_failed(self, batch: _Batch, future: Future[list[Record]]) -> None:
        """An abandoned batch ended without an answer: let another run send it."""
        if future.exception() is not None:
            with contextlib.suppress(Exception):
                self.release(batch.positions)

    def collect(self, future: Future[list[Record]], batch: _Batch) -> None:
        try:
            answers = future.result()
        except QuotaExhaustedError as exc:
            self.ledger.release(batch.worst)
            self.quota_exhausted(batch, exc)
        except RateLimitError as exc:
            self.ledger.release(batch.worst)
            self.rate_limited(batch, exc)
        except Exception as exc:
            self.failed(batch, exc)
        else:
            self.finish(batch, answers)

    def quota_exhausted(self, batch: _Batch, error: QuotaExhaustedError) -> None:
        """A daily quota refused the batch (nothing was done): send what still fits.

        ``daily_limit`` says what is left: the batch is cut to it. The server's cap does
        not: the batch is halved, one half at a time, until a single query is refused,
        so the quota is used to the last search. Then the run stops.
        """
        positions = batch.positions
        daily = self.client.pacer.daily_left()
        if daily is not None and daily < len(positions):
            cut = max(daily, 0)
        else:
            cut = len(positions) // 2
            self.capped = True
        if cut <= 0:
            self.halt(str(error), positions, QuotaExhaustedWarning)
            return
        self.queued.extendleft([_Batch(positions[cut:], resent=batch.resent),
                                _Batch(positions[:cut], resent=batch.resent)])

    def rate_limited(self, batch: _Batch, error: RateLimitError) -> None:
        positions = batch.positions
        if not self.client.pacer.fits(len(positions)) and not self.split_since_success:
            # Larger than the window: split it (once until something passes again).
            self.split_since_success = True
            fits = self.client.pacer.batch_size()
            self.queued.extendleft(reversed(
                [_Batch(positions[i : i + fits]) for i in range(0, len(positions), fits)]
            ))
            return
        reason = (f"still rate limited after {self.client.max_retries} retries ({error}); "
                  "run again later: finished rows are kept")
        self.halt(reason, positions, RunStoppedWarning)

    def failed(self, batch: _Batch, error: Exception) -> None:
        """A batch raised: decide, by what the error says was charged, what comes next."""
        if outcome_unknown(error) or not isinstance(error, SalesQLError):
            self.lost(batch, error)
            return
        self.ledger.release(batch.worst)  # refused before any work: nothing was charged
        if isinstance(error, InvalidRequestError) and len(batch.positions) > 1:
            # The server refused the batch: find the query it objects to, save the rest.
            middle = len(batch.positions) // 2
            self.queued.extendleft([_Batch(batch.positions[middle:], resent=batch.resent),
                                    _Batch(batch.positions[:middle], resent=batch.resent)])
        elif isinstance(error, APIConnectionError):
            # Nothing reaches the server: the other batches would fail the same way.
            self.halt(f"cannot reach the API ({error}); finished rows are kept",
                      batch.positions, RunStoppedWarning)
        elif isinstance(error, AuthenticationError) or _redirected(error):
            # Every other batch would meet the same answer: a wrong key, or a base URL
            # that answers with a redirect.
            self.fatal = self.fatal or error
            what = "refused the key" if isinstance(error, AuthenticationError) else "redirected"
            self.halt(f"the API {what} ({error}); finished rows are kept",
                      batch.positions, RunStoppedWarning)
        else:
            self.fail(batch, str(error))


def _redirected(error: SalesQLError) -> bool:
    return isinstance(error, APIStatusError) and 300 <= error.status < 400


def send(
    plan: Plan,
    client: Client | None,
    *,
    store: ResultStore | None = None,
    concurrency: int = C.DEFAULT_CONCURRENCY,
    max_credits: int | None = None,
    progress: bool = True,
    warn: bool = True,
    max_age: float | None = None,
    read_stored: bool = True,
) -> Outcomes:
    """Answer the plan's unique queries: from the store, else in paced bulk batches.

    Args:
        plan: What to send.
        client: The API client (not needed when there is nothing to send).
        store: The result store, or None.
        concurrency: Batches in flight at once.
        max_credits: Never let the worst case (one credit per query sent, every batch
            whose outcome is unknown counted as fully charged) exceed this.
        progress: Show a progress bar.
        warn: Warn when the run stopped early (False: the caller raises instead).
        max_age: Seconds: stored answers fetched longer ago are sent again.
        read_stored: Read stored answers now; False leaves them `UNREAD`, for
            `read_unread` a chunk at a time.

    Returns:
        What came back for every query, and why the run stopped early if it did (it also
        warns). On Ctrl-C the batches in flight get a short grace and ``interrupted`` is
        set: the caller decides what to raise.

    Raises:
        AuthenticationError: The key is missing, or refused before any answer arrived.
    """
    if plan.unique_queries == 0:
        return Outcomes.empty(0)
    if client is None:
        raise ConfigurationError("a client is needed to send queries")
    require_key(client, plan.spec)
    pacer = client.pacer
    with Progress(plan.unique_queries, label=f"SalesQL {plan.spec.plural}",
                  rows=int((plan.row_query >= 0).sum()), quota_eta=pacer.seconds_for,
                  enabled=progress) as bar, pacer.watching(bar.waiting):
        run = _Run(plan, client, store, Ledger(max_credits), bar, max_age, read_stored)
        outcomes = run.run(concurrency)
    if outcomes.stopped and warn and not outcomes.interrupted:
        # Attributed to the caller of enrich_persons (send <- run_enrichment <- accessor).
        warnings.warn(f"run stopped: {outcomes.stopped}", outcomes.stop_warning,
                      stacklevel=caller_level())
    return outcomes


def row_outcomes(plan: Plan, outcomes: Outcomes, *, encoded: bool = False,
                 ) -> tuple[pa.Array, pa.Array]:
    """Per input row: its status and error (Arrow string arrays; error null if none).

    A row whose query was sent has its query's outcome; the others, the plan's. With
    ``encoded``, dictionary arrays: a LazyFrame has one row per distinct combination
    (millions), and these are a few texts.
    """
    status = _per_row(outcomes.status, plan.row_status, plan.row_query)
    error = _per_row(outcomes.error, plan.row_error, plan.row_query)
    if encoded:
        return status, error
    return status.cast(pa.string()), error.cast(pa.string())


def _per_row(per_query: Sequence[str | None], per_row: Sequence[str | None],
             row_query: np.ndarray) -> pa.DictionaryArray:
    """Per row: its query's value where it was sent (``row_query``), else its own."""
    queried = pc.dictionary_encode(pa.array(per_query, pa.string()))
    local = pc.dictionary_encode(pa.array(per_row, pa.string()))
    query_code = np.asarray(queried.indices.fill_null(-1), dtype=np.int32)
    local_code = np.asarray(local.indices.fill_null(-1), dtype=np.int32)
    code = np.where(local_code >= 0, local_code + np.int32(len(queried.dictionary)),
                    np.int32(-1))
    sent = row_query >= 0
    if sent.any():
        code = np.where(sent, query_code[np.where(sent, row_query, 0)], code)
    values = pa.concat_arrays([queried.dictionary, local.dictionary])
    return pa.DictionaryArray.from_arrays(pa.array(code, mask=code < 0), values)


def status_counts(plan: Plan, outcomes: Outcomes) -> Counter[str]:
    """How many input rows have each status."""
    counts = Counter(status for status in plan.row_status if status is not None)
    sent = plan.row_query[plan.row_query >= 0]
    if len(sent):
        per_query = np.bincount(sent, minlength=len(outcomes.status)).tolist()
        for status, rows in zip(outcomes.status, per_query, strict=True):
            counts[status] += rows
    return +counts

