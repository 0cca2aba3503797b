"""The function API: ``salesql_frames.enrich_persons(frame, ...)`` and friends, over any frame.

Each function takes a pandas DataFrame, a polars DataFrame or LazyFrame, or a
``pyarrow.Table`` and returns the same type. These signatures are the one place that
spells out each kind's keyword arguments; the ``.salesql`` accessors delegate here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _constants as C
from ._frames import is_lazy
from ._kinds import ORGANIZATION, PERSON, KindSpec

if TYPE_CHECKING:  # the run (client, HTTP, store) is imported on the first call
    from ._assemble import How
    from ._client import Client, RateLimit
    from ._enrich import Cache, MaxAge, OutputOptions, RunOptions
    from ._estimate import Estimate
    from ._frames import DtypeBackend
    from ._plan import Plan
    from ._schema import ExplodeTarget

__all__ = [
    "aenrich_organizations",
    "aenrich_persons",
    "enrich_organizations",
    "enrich_persons",
    "estimate_organizations",
    "estimate_persons",
    "plan_organizations",
    "plan_persons",
]


def _plan(
    frame: Any, spec: KindSpec, columns: Mapping[str, str | None], *,
    only_missing: str | Sequence[str] | None, flags: Mapping[str, bool] | None = None,
) -> Plan:
    """Stage 1 on any frame (a LazyFrame: its distinct mapped values)."""
    from ._enrich import plan_frame
    from ._lazy import plan_lazy

    plan = plan_lazy if is_lazy(frame) else plan_frame
    return plan(frame, spec, columns, only_missing=only_missing, flags=flags)


def _enrich(
    frame: Any, spec: KindSpec, columns: Mapping[str, str | None], *,
    only_missing: str | Sequence[str] | None, flags: Mapping[str, bool] | None,
    output: OutputOptions, options: RunOptions,
) -> Any:
    """Plan, send and assemble on any frame; a LazyFrame comes back lazy."""
    from ._enrich import plan_frame, run_enrichment
    from ._lazy import enrich_lazy

    if is_lazy(frame):
        return enrich_lazy(frame, spec, columns, only_missing=only_missing, flags=flags,
                           output=output, options=options)
    plan = plan_frame(frame, spec, columns, only_missing=only_missing, flags=flags)
    return run_enrichment(frame, plan, output=output, options=options).frame


# -- persons ---------------------------------------------------------------------


def plan_persons(
    frame: Any,
    /,
    *,
    linkedin_url: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    full_name: str | None = None,
    organization_name: str | None = None,
    organization_domain: str | None = None,
    only_missing: str | Sequence[str] | None = None,
    match_if_direct_email: bool = False,
    match_if_direct_phone: bool = False,
) -> Plan:
    """Show what `enrich_persons` would send, without sending anything.

    Takes the same column arguments as `enrich_persons`. On a LazyFrame, the plan's
    rows are the distinct combinations of the mapped columns.

    Returns:
        A `Plan`: the column mapping, rows, unique queries, invalid and skipped rows.

    Examples:
        >>> import pandas as pd, salesql_frames
        >>> df = pd.DataFrame({"LinkedIn": ["linkedin.com/in/ada/", "https://www.linkedin.com/in/ADA"]})
        >>> salesql_frames.plan_persons(df).unique_queries
        1
    """
    columns = (linkedin_url, first_name, last_name, full_name, organization_name,
               organization_domain)
    return _plan(
        frame, PERSON, dict(zip(PERSON.params, columns, strict=True)),
        only_missing=only_missing,
        flags=dict(zip(PERSON.flags, (match_if_direct_email, match_if_direct_phone),
                       strict=True)),
    )

def enrich_persons(
    frame: Any,
    /,
    *,
    linkedin_url: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    full_name: str | None = None,
    organization_name: str | None = None,
    organization_domain: str | None = None,
    how: How = "wide",
    explode: ExplodeTarget | None = None,
    only_missing: str | Sequence[str] | None = None,
    match_if_direct_email: bool = False,
    match_if_direct_phone: bool = False,
    client: Client | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    cache: Cache = None,
    max_age: MaxAge = None,
    max_credits: int | None = None,
    rate_limit: RateLimit | None = None,
    daily_limit: int | None = None,
    concurrency: int = C.DEFAULT_CONCURRENCY,
    prefix: str = C.DEFAULT_PREFIX,
    max_emails: int = C.DEFAULT_WIDE_ITEMS,
    max_phones: int = C.DEFAULT_WIDE_ITEMS,
    max_work: int = C.DEFAULT_WIDE_ITEMS,
    default_region: str | None = None,
    tz: str | None = None,
    progress: bool = True,
    dtype_backend: DtypeBackend = "numpy_nullable",
    strict: bool = False,
) -> Any:
    """Enrich every row with the SalesQL person it describes.

    Columns are named by the API parameter they feed (``linkedin_url="Profile"``);
    with none named, they are detected from common spreadsheet headers. Each row is
    sent with its best complete group (LinkedIn URL; else name + domain; else name
    + organization name), duplicates once, in bulk batches of up to 100.

    Args:
        frame: A pandas or polars DataFrame, a polars LazyFrame or a ``pyarrow.Table``.
        linkedin_url: Column of LinkedIn profile (or Sales Navigator) URLs.
        first_name: Column of first names (with ``last_name``).
        last_name: Column of last names.
        full_name: Column of full names.
        organization_name: Column of company names.
        organization_domain: Column of company domains, websites or email addresses.
        how: ``"wide"`` (one row per input row, numbered columns for lists) or
            ``"long"`` (one row per list item, see ``explode``).
        explode: With ``how="long"``: ``"emails"``, ``"phones"`` or
            ``"work_experience"``. Long output has ``<prefix>row`` (the input row
            position) and the item columns (``<prefix>email``, ``..._type``, ...);
            with ``"phones"``, ``<prefix>phone`` holds each phone instead of the
            best pick.
        only_missing: Column name(s): send only rows where one of them is empty;
            the others are ``skipped`` and cost nothing.
        match_if_direct_email: Only match people with a direct (non-work) email.
        match_if_direct_phone: Only match people with a direct phone number.
        client: A `Client` to use; by default one is made from ``api_key`` /
            ``base_url`` or the ``SALESQL_API_KEY`` / ``SALESQL_BASE_URL`` variables.
        api_key: API key, when no ``client`` is given.
        base_url: API root, when no ``client`` is given.
        cache: The result store: None or True (default location, see
            `default_cache_path`), a file path, a `ResultStore`, or False for none.
            Stored answers are reused and cost nothing; every batch is stored as
            soon as it is answered.
        max_age: Send again stored answers fetched longer ago than this: a
            ``datetime.timedelta``, a number of days, or ``"90d"``/``"12h"``.
        max_credits: A cap the server's charges never exceed: a batch is sent only
            when its worst case (one credit per query) fits what is left, and a batch
            whose answer was lost counts as fully charged. Unsent rows are
            ``skipped``.
        rate_limit: Searches per minute of your plan (or ``(searches, seconds)``),
            when no ``client`` is given; None learns it from 429s.
        daily_limit: Searches per UTC day this call may use, when no ``client``.
        concurrency: Bulk requests in flight at once.
        prefix: Prefix of the result columns.
        max_emails: Numbered email columns in wide output.
        max_phones: Numbered phone columns in wide output.
        max_work: Numbered work-experience columns in wide output.
        default_region: Region (``"US"``, ``"GB"``) for phones written without a
            country calling code and without a ``country_code``, for their
            ``*_e164`` column; None (default) leaves those null, never a guess.
            Checked before anything is sent.
        tz: Time zone of the datetime columns (``<prefix>fetched_at``, work
            starts and ends): None (default) for naive datetimes in UTC, which every
            writer takes (``to_excel`` refuses zoned ones); ``"UTC"`` or a zone name
            such as ``"Europe/Paris"`` for zoned ones.
        progress: Show a progress bar (a widget in Jupyter).
        dtype_backend: pandas only: ``"numpy_nullable"`` (``string``, ``boolean``,
            ``Int64``) or ``"pyarrow"`` (``ArrowDtype``) result columns.
        strict: Raise `RunStoppedError` (carrying the frame as ``.partial``) when the
            run stops early, instead of warning and returning the frame.

    Returns:
        The input frame (same type, length, order and index; a LazyFrame stays
        lazy) with ``<prefix>status``, ``<prefix>error`` and the result columns
        appended. Every answer that arrived is in it, also when the run stopped early
        (a `RunStoppedWarning` says why).

    Raises:
        InvalidArgumentError: A wrong argument; nothing was sent.
        RunInterrupted: Ctrl-C; the partial frame is on ``.partial``.

    Examples:
        >>> import pandas as pd, salesql_frames
        >>> from salesql_frames import sandbox
        >>> df = pd.DataFrame({"Person Linkedin Url": ["linkedin.com/in/sandrocarsava"]})
        >>> with sandbox.serve() as sb, sb.client() as client:
        ...     out = salesql_frames.enrich_persons(df, client=client, cache=False, progress=False)
        >>> out.loc[0, "salesql_full_name"]
        'Sandro Carsava'
    """
    from ._enrich import OutputOptions, RunOptions, widths_of

    columns = (linkedin_url, first_name, last_name, full_name, organization_name,
               organization_domain)
    output = OutputOptions(
        how=how, explode=explode, prefix=prefix, dtype_backend=dtype_backend,
        default_region=default_region, tz=tz,
        widths=widths_of(max_emails=max_emails, max_phones=max_phones, max_work=max_work),
    )
    options = RunOptions(
        client=client, api_key=api_key, base_url=base_url, cache=cache,
        max_credits=max_credits, rate_limit=rate_limit, daily_limit=daily_limit,
        concurrency=concurrency, progress=progress, strict=strict, max_age=max_age,
    )
    return _enrich(
        frame, PERSON, dict(zip(PERSON.params, columns, strict=True)),
        only_missing=only_missing,
        flags=dict(zip(PERSON.flags, (match_if_direct_email, match_if_direct_phone),
                       strict=True)),
        output=output, options=options,
    )

# -- organizations ---------------------------------------------------------------

def plan_organizations(
    frame: Any,
    /,
    *,
    linkedin_url: str | None = None,
    organization_name: str | None = None,
    organization_domain: str | None = None,
    only_missing: str | Sequence[str] | None = None,
) -> Plan:
    """Show what `enrich_organizations` would send, without sending anything.

    Examples:
        >>> import polars as pl, salesql_frames
        >>> df = pl.DataFrame({"Website": ["https://www.salesql.com/", "salesql.com"]})
        >>> salesql_frames.plan_organizations(df).unique_queries
        1
    """
    columns = (linkedin_url, organization_name, organization_domain)
    return _plan(frame, ORGANIZATION, dict(zip(ORGANIZATION.params, columns, strict=True)),
                 only_missing=only_missing)

def enrich_organizations(
    frame: Any,
    /,
    *,
    linkedin_url: str | None = None,
    organization_name: str | None = None,
    organization_domain: str | None = None,
    only_missing: str | Sequence[str] | None = None,
    client: Client | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    cache: Cache = None,
    max_age: MaxAge = None,
    max_credits: int | None = None,
    rate_limit: RateLimit | None = None,
    daily_limit: int | None = None,
    concurrency: int = C.DEFAULT_CONCURRENCY,
    prefix: str = C.DEFAULT_PREFIX,
    tz: str | None = None,
    progress: bool = True,
    dtype_backend: DtypeBackend = "numpy_nullable",
    strict: bool = False,
) -> Any:
    """Enrich every row with the SalesQL organization it describes.

    Each row is sent with its best parameter: LinkedIn company URL, else domain
    (a website URL or an email address works), else name.

    Args:
        frame: A pandas or polars DataFrame, a polars LazyFrame or a ``pyarrow.Table``.
        linkedin_url: Column of LinkedIn company URLs.
        organization_name: Column of company names.
        organization_domain: Column of domains, websites or email addresses.
        only_missing: Column name(s): send only rows where one of them is empty.
        client: A `Client` to use (see `enrich_persons`).
        api_key: API key, when no ``client`` is given.
        base_url: API root, when no ``client`` is given.
        cache: The result store (see `enrich_persons`).
        max_age: Re-ask stored answers older than this (see `enrich_persons`).
        max_credits: Credit budget (see `enrich_persons`).
        rate_limit: Searches per minute (see `enrich_persons`).
        daily_limit: Searches per UTC day (see `enrich_persons`).
        concurrency: Bulk requests in flight at once.
        prefix: Prefix of the result columns.
        tz: Time zone of ``<prefix>fetched_at`` (see `enrich_persons`): None for
            naive UTC.
        progress: Show a progress bar.
        dtype_backend: pandas only, as in `enrich_persons`.
        strict: Raise instead of warning when the run stops early (see
            `enrich_persons`).

    Returns:
        The input frame with ``<prefix>status``, ``<prefix>error`` and
        ``<prefix>organization_*`` columns appended.

    Examples:
        >>> import polars as pl, salesql_frames
        >>> from salesql_frames import sandbox
        >>> df = pl.DataFrame({"Website": ["https://www.clarosys.com"]})
        >>> with sandbox.serve() as sb, sb.client() as client:
        ...     out = salesql_frames.enrich_organizations(df, client=client,
        ...                                               cache=False, progress=False)
        >>> out["salesql_status"].to_list()[0] in ("found", "not_found")
        True
    """
    from ._enrich import OutputOptions, RunOptions

    columns = (linkedin_url, organization_name, organization_domain)
    output = OutputOptions(prefix=prefix, dtype_backend=dtype_backend, tz=tz)
    options = RunOptions(
        client=client, api_key=api_key, base_url=base_url, cache=cache,
        max_credits=max_credits, rate_limit=rate_limit, daily_limit=daily_limit,
        concurrency=concurrency, progress=progress, strict=strict, max_age=max_age,
    )
    return _enrich(frame, ORGANIZATION, dict(zip(ORGANIZATION.params, columns, strict=True)),
                   only_missing=only_missing, flags=None, output=output, options=options)

# -- estimates -------------------------------------------------------------------

def estimate_persons(
    frame: Any,
    /,
    *,
    client: Client | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    cache: Cache = None,
    max_age: MaxAge = None,
    **columns_and_filters: Any,
) -> Estimate:
    """Estimate `enrich_persons` without sending a query: the dry run.

    Reports rows, valid rows, unique queries, those already in the result store,
    what is left to send, the worst-case credits, and (with a key) the credits left
    from ``GET /allowance``, which costs nothing.

    Args:
        frame: A pandas or polars DataFrame, a polars LazyFrame or a ``pyarrow.Table``.
        client: A `Client`, or use ``api_key``/``base_url``/the environment.
        api_key: API key, when no ``client`` is given.
        base_url: API root, when no ``client`` is given.
        cache: The result store to check (see `enrich_persons`).
        max_age: Stored answers older than this count as ``stale``: to send.
        **columns_and_filters: As for `plan_persons` (column names, ``only_missing``,
            flags).

    Examples:
        >>> import pandas as pd, salesql_frames
        >>> df = pd.DataFrame({"LinkedIn": ["linkedin.com/in/ada-l", "linkedin.com/in/ADA-L/"]})
        >>> estimate = salesql_frames.estimate_persons(df, cache=False)
        >>> estimate.unique_queries, estimate.worst_case_credits
        (1, 1)
    """
    from ._enrich import RunOptions, estimate_frame

    plan = plan_persons(frame, **columns_and_filters)
    return estimate_frame(
        plan, RunOptions(client=client, api_key=api_key, base_url=base_url, cache=cache,
                         max_age=max_age)
    )

def estimate_organizations(
    frame: Any,
    /,
    *,
    client: Client | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    cache: Cache = None,
    max_age: MaxAge = None,
    **columns_and_filters: Any,
) -> Estimate:
    """Estimate `enrich_organizations` without sending a query (see `estimate_persons`).

    Examples:
        >>> import pandas as pd, salesql_frames
        >>> df = pd.DataFrame({"Website": ["salesql.com", "https://www.salesql.com/"]})
        >>> salesql_frames.estimate_organizations(df, cache=False).to_send
        1
    """
    from ._enrich import RunOptions, estimate_frame

    plan = plan_organizations(frame, **columns_and_filters)
    return estimate_frame(
        plan, RunOptions(client=client, api_key=api_key, base_url=base_url, cache=cache,
                         max_age=max_age)
    )


# -- asyncio ---------------------------------------------------------------------


async def aenrich_persons(frame: Any, /, **options: Any) -> Any:
    """`enrich_persons` for asyncio code: ``await`` it, and the event loop stays free.

    The run (planning, the bulk requests, the result store, the result frame) goes to a
    worker thread, as the frame work is CPU-bound and the sends are threaded anyway;
    the coroutine returns the same frame `enrich_persons` would. Takes the same keyword
    arguments, with a `Client` (or ``api_key=``), not an `AsyncClient`.

    Cancelling the awaiting task does not stop a run already under way: it finishes in
    its thread, and its answers reach the result store, so running again pays nothing
    twice.

    Raises:
        InvalidArgumentTypeError: ``client=`` is an `AsyncClient`.

    Examples:
        >>> import asyncio, pandas as pd, salesql_frames
        >>> from salesql_frames import sandbox
        >>> df = pd.DataFrame({"linkedin_url": ["linkedin.com/in/sandrocarsava"]})
        >>> async def main():
        ...     with sandbox.serve() as sb, sb.client() as client:
        ...         out = await salesql_frames.aenrich_persons(
        ...             df, client=client, cache=False, progress=False)
        ...     return out["salesql_status"].tolist()
        >>> asyncio.run(main())
        ['found']
    """
    return await _in_thread(enrich_persons, "aenrich_persons", frame, options)


async def aenrich_organizations(frame: Any, /, **options: Any) -> Any:
    """`enrich_organizations` for asyncio code (see `aenrich_persons`).

    Examples:
        >>> import asyncio, pandas as pd, salesql_frames
        >>> from salesql_frames import sandbox
        >>> df = pd.DataFrame({"Website": ["salesql.com"]})
        >>> async def main():
        ...     with sandbox.serve() as sb, sb.client() as client:
        ...         out = await salesql_frames.aenrich_organizations(
        ...             df, client=client, cache=False, progress=False)
        ...     return out["salesql_status"].tolist()
        >>> asyncio.run(main())
        ['found']
    """
    return await _in_thread(enrich_organizations, "aenrich_organizations", frame, options)


async def _in_thread(
    function: Any, name: str, frame: Any, options: Mapping[str, Any]
) -> Any:
    import asyncio

    from ._client import AsyncClient

    if isinstance(options.get("client"), AsyncClient):
        from ._exceptions import InvalidArgumentTypeError

        raise InvalidArgumentTypeError(
            f"{name}() runs the enrichment in a worker thread with a Client: pass "
            "client=salesql_frames.Client(...) (or api_key=), not an AsyncClient"
        )
    return await asyncio.to_thread(function, frame, **options)

