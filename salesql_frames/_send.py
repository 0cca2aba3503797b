"""Stage 2, send: the plan's unique queries -> outcomes (store, then paced bulk batches).

Budgets and clean stops live here too.

Workers (threads, so a running event loop in Jupyter is never touched) send one batch
each and store its answers before returning, so an answer that was paid for survives
even if the caller is interrupted while the request is in flight. The caller's thread
only schedules batches and records outcomes.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from . import _constants as C
from ._client import Client, require_key, send_batch
from ._exceptions import (
    APIConnectionError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidRequestError,
    QuotaExhaustedError,
    QuotaExhaustedWarning,
    RateLimitError,
    ResponseError,
    RunStoppedWarning,
    ServerError,
)
from ._models import Record
from ._plan import Plan
from ._progress import Progress
from ._store import ResultStore

__all__ = ["Outcomes", "classify", "look_up", "row_outcomes", "send"]

#: Failures that mark one batch's rows as errors; the run goes on.
_BATCH_FAILURES = (ServerError, ResponseError, InvalidRequestError)


@dataclass
class Outcomes:
    """What came back for each unique query of a plan.

    Attributes:
        items: Per query: the record when found, else None.
        status: Per query: found / not_found / error / skipped.
        error: Per query: why it is an error or was skipped, else None.
        cached: Queries answered from the result store.
        sent: Queries sent and answered by the server.
        credits_used: Billable answers received (a person with an email or phone).
        stopped: Why the run stopped early, if it did.
    """

    items: list[Record | None]
    status: list[str]
    error: list[str | None]
    cached: int = 0
    sent: int = 0
    credits_used: int = 0
    stopped: str | None = None
    stop_warning: type[Warning] = RunStoppedWarning

    @classmethod
    def empty(cls, size: int) -> Outcomes:
        """Outcomes where nothing was sent yet."""
        return cls([None] * size, [C.STATUS_SKIPPED] * size, [None] * size)

    def record(self, position: int, item: Record | None, status: str, error: str | None) -> None:
        """Set one query's outcome."""
        self.items[position], self.status[position], self.error[position] = item, status, error


def classify(item: Record) -> tuple[str, str | None]:
    """Status and error of one answer item: a record, not-found, or an item error."""
    error = item.get("error")
    if error is None or "uuid" in item:
        return C.STATUS_FOUND, None
    text = str(error)
    if "not found" in text.lower():
        return C.STATUS_NOT_FOUND, None
    return C.STATUS_ERROR, text


def store_keys(plan: Plan, account: str | None) -> list[str]:
    """The result-store key of each unique query: account + kind + canonical query + flags."""
    return [f"{account}|{key}" for key in plan.keys]


def look_up(plan: Plan, store: ResultStore | None, account: str | None) -> dict[int, Record | None]:
    """Stored answers by query position: record, or None for a stored not-found."""
    if store is None or account is None or not plan.queries:
        return {}
    keys = store_keys(plan, account)
    stored = store.get_many(keys)
    return {position: stored[key] for position, key in enumerate(keys) if key in stored}


class _Run:
    """One call's sending loop (see `send`)."""

    def __init__(
        self,
        plan: Plan,
        client: Client,
        store: ResultStore | None,
        max_credits: int | None,
        bar: Progress,
    ) -> None:
        self.plan = plan
        self.client = client
        self.store = store
        self.max_credits = max_credits
        self.bar = bar
        self.account = client.account
        self.keys = store_keys(plan, self.account)
        self.outcomes = Outcomes.empty(plan.unique_queries)
        self.pending: deque[int] = deque()
        self.split: deque[list[int]] = deque()  # halves of a batch the server refused
        self.split_since_success = False

    # -- worker side -------------------------------------------------------------------

    def work(self, batch: list[int]) -> list[Record]:
        """Send one batch and store its answers before returning (worker thread)."""
        answers = send_batch(self.client, self.plan.spec, [self.plan.queries[j] for j in batch])
        if self.store is not None and self.account is not None:
            keep: list[tuple[str, Record | None]] = []
            for j, item in zip(batch, answers, strict=True):
                status, _ = classify(item)
                if status != C.STATUS_ERROR:
                    keep.append((self.keys[j], item if status == C.STATUS_FOUND else None))
            self.store.put_many(self.account, self.plan.spec.name, keep)
        return answers

    # -- caller side -------------------------------------------------------------------

    def next_batch(self, in_flight_worst: int) -> list[int] | None:
        """The next batch to send, or None (nothing left, or the budget is spent)."""
        if self.split:
            return self.split.popleft()
        if not self.pending:
            return None
        size = self.client.pacer.batch_size()
        if self.max_credits is not None:
            budget = self.max_credits - self.outcomes.credits_used - in_flight_worst
            if budget <= 0:
                return None
            size = min(size, budget)
        return [self.pending.popleft() for _ in range(min(size, len(self.pending)))]

    def finish(self, batch: list[int], answers: list[Record]) -> None:
        self.split_since_success = False
        found = not_found = errors = billable = 0
        for j, item in zip(batch, answers, strict=True):
            status, error = classify(item)
            self.outcomes.record(j, item if status == C.STATUS_FOUND else None, status, error)
            found += status == C.STATUS_FOUND
            not_found += status == C.STATUS_NOT_FOUND
            errors += status == C.STATUS_ERROR
            billable += status == C.STATUS_FOUND and self.plan.spec.billable(item)
        self.outcomes.sent += len(batch)
        self.outcomes.credits_used += billable
        self.bar.advance(len(batch), found=found, not_found=not_found, errors=errors,
                         credits=billable)

    def fail(self, batch: list[int], error: Exception) -> None:
        """A batch failed for good: split a refused batch, else mark its rows."""
        if isinstance(error, InvalidRequestError) and len(batch) > 1:
            # The server refused the batch: find the query it objects to, save the rest.
            middle = len(batch) // 2
            self.split.extendleft([batch[middle:], batch[:middle]])
            return
        for j in batch:
            self.outcomes.record(j, None, C.STATUS_ERROR, str(error))
        self.bar.advance(len(batch), errors=len(batch))

    def stop(self, reason: str, unsent: Sequence[int],
             category: type[Warning] = RunStoppedWarning) -> None:
        if self.outcomes.stopped is None:
            self.outcomes.stopped, self.outcomes.stop_warning = reason, category
        for j in unsent:
            self.outcomes.record(j, None, C.STATUS_SKIPPED, f"not sent: {reason}")

    def run(self, concurrency: int) -> Outcomes:
        stored = look_up(self.plan, self.store, self.account)
        for position, item in stored.items():
            status = C.STATUS_FOUND if item is not None else C.STATUS_NOT_FOUND
            self.outcomes.record(position, item, status, None)
        self.outcomes.cached = len(stored)
        self.bar.advance(len(stored), cached=len(stored))
        self.pending.extend(j for j in range(self.plan.unique_queries) if j not in stored)

        in_flight: dict[Future[list[Record]], list[int]] = {}
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="salesql")
        try:
            while True:
                while len(in_flight) < concurrency and self.outcomes.stopped is None:
                    worst = sum(len(b) for b in in_flight.values())
                    batch = self.next_batch(worst)
                    if batch is None:
                        break
                    in_flight[pool.submit(self.work, batch)] = batch
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    self.collect(future, in_flight.pop(future), in_flight)
        except BaseException:
            # Interrupted (the stop button) or failed: send nothing more, but let the
            # batches in flight finish and be stored, briefly, so they are not paid twice.
            pool.shutdown(wait=False, cancel_futures=True)
            if in_flight:
                wait(in_flight, timeout=C.INTERRUPT_GRACE_SECONDS)
            raise
        pool.shutdown(wait=True)
        if self.outcomes.stopped is None and (self.pending or self.split):
            unsent = list(self.pending) + [j for b in self.split for j in b]
            self.stop(f"max_credits={self.max_credits} reached (at most one credit per "
                      "query is assumed before it is answered)", unsent)
        return self.outcomes

    def collect(
        self,
        future: Future[list[Record]],
        batch: list[int],
        in_flight: dict[Future[list[Record]], list[int]],
    ) -> None:
        try:
            answers = future.result()
        except QuotaExhaustedError as exc:
            self.halt(str(exc), batch, QuotaExhaustedWarning)
        except RateLimitError as exc:
            if not self.client.pacer.fits(len(batch)) and not self.split_since_success:
                # Larger than the window: split it (once until something passes again).
                self.split_since_success = True
                fits = self.client.pacer.batch_size()
                self.split.extendleft(
                    reversed([batch[i : i + fits] for i in range(0, len(batch), fits)])
                )
                return
            reason = (f"still rate limited after {self.client.max_retries} retries ({exc}); "
                      "run again later: finished rows are kept")
            self.halt(reason, batch, RunStoppedWarning)
        except APIConnectionError as exc:
            if exc.sent:
                self.fail(batch, exc)
            else:  # nothing reaches the server: the other batches would fail the same way
                self.halt(f"cannot reach the API ({exc}); finished rows are kept",
                          batch, RunStoppedWarning)
        except _BATCH_FAILURES as exc:
            self.fail(batch, exc)
        else:
            self.finish(batch, answers)

    def halt(self, reason: str, batch: list[int], category: type[Warning]) -> None:
        """Stop sending: this batch and everything not yet sent is skipped."""
        if self.outcomes.stopped is not None:
            self.stop(self.outcomes.stopped, batch)
            return
        unsent = batch + list(self.pending) + [j for b in self.split for j in b]
        self.pending.clear()
        self.split.clear()
        self.stop(reason, unsent, category)


def send(
    plan: Plan,
    client: Client | None,
    *,
    store: ResultStore | None = None,
    concurrency: int = C.DEFAULT_CONCURRENCY,
    max_credits: int | None = None,
    progress: bool = True,
) -> Outcomes:
    """Answer the plan's unique queries: from the store, else in paced bulk batches.

    Args:
        plan: What to send.
        client: The API client (not needed when there is nothing to send).
        store: The result store, or None.
        concurrency: Batches in flight at once.
        max_credits: Stop before the worst case (one credit per query) would exceed it.
        progress: Show a progress bar.

    Raises:
        AuthenticationError: The key is missing or refused (nothing more is sent).
    """
    if concurrency < 1:
        raise InvalidArgumentError(f"concurrency must be at least 1, got {concurrency}")
    if max_credits is not None and max_credits < 0:
        raise InvalidArgumentError(f"max_credits must be >= 0, got {max_credits}")
    if plan.unique_queries == 0:
        return Outcomes.empty(0)
    if client is None:
        raise ConfigurationError("a client is needed to send queries")
    require_key(client, plan.spec)
    with Progress(plan.unique_queries, label=f"SalesQL {plan.spec.plural}",
                  enabled=progress) as bar:
        outcomes = _Run(plan, client, store, max_credits, bar).run(concurrency)
    if outcomes.stopped:
        # Attributed to the caller of enrich_persons (send <- run_enrichment <- accessor).
        warnings.warn(f"run stopped: {outcomes.stopped}", outcomes.stop_warning, stacklevel=4)
    return outcomes


def row_outcomes(plan: Plan, outcomes: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    """Per input row: its status and error (object arrays of str / None)."""
    sent = plan.row_query >= 0
    status = np.array(plan.row_status, dtype=object)
    error = np.array(plan.row_error, dtype=object)
    if outcomes.status:
        chosen = plan.row_query[sent]
        status[sent] = np.array(outcomes.status, dtype=object)[chosen]
        error[sent] = np.array(outcomes.error, dtype=object)[chosen]
    return status, error
