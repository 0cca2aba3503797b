"""pandas and polars DataFrame extension for the SalesQL B2B enrichment API.

``import salesql_frames`` registers the ``.salesql`` accessor on pandas DataFrames and
the ``.salesql`` namespace on polars DataFrames. `Client` (and `AsyncClient`, for
asyncio) talks to the API itself, and `sandbox` serves a local stand-in of the API for
demos and tests.

The package reads as its pipeline: ``_plan`` (columns -> canonical unique queries),
``_send`` (store, then paced bulk batches), ``_assemble`` (answers -> the caller's
frame), joined by ``_enrich``; ``_kinds`` holds one spec per kind of lookup, and
``_client`` the API client in layers. See the architecture page of the docs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _accessors
from ._api import (
    aenrich_organizations,
    aenrich_persons,
    enrich_organizations,
    enrich_persons,
    estimate_organizations,
    estimate_persons,
    plan_organizations,
    plan_persons,
)
from ._canonical import (
    canonical_domain,
    canonical_linkedin_url,
    canonical_name,
    canonical_organization_name,
    name_key,
    registrable_domain,
    strip_format,
)
from ._canonical_series import canonicalize_domains, canonicalize_linkedin_urls, canonicalize_names
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidQueryError,
    InvalidRequestError,
    MappingError,
    MissingAPIKeyError,
    NotFoundError,
    QuotaExhaustedError,
    QuotaExhaustedWarning,
    RateLimitError,
    ResponseError,
    RunInterrupted,
    RunStoppedError,
    RunStoppedWarning,
    SalesQLError,
    SalesQLWarning,
    ServerError,
    SpreadsheetError,
    StoreError,
    StoreWarning,
)
from ._hostlists import free_mail_domains, host_lists, profile_platforms
from ._models import Allowance
from ._plan import Plan
from ._store import CacheInfo, ResultStore, cache_info, clear_cache, default_cache_path
from ._version import __version__

if TYPE_CHECKING:  # imported on first use (see _LAZY); spelled out for type checkers
    from . import sandbox
    from ._client import AsyncClient, Client
    from ._estimate import Estimate
    from ._io import read_spreadsheet, write_spreadsheet

_accessors.register()

#: Public names imported on first access, so ``import salesql_frames`` stays cheap:
#: name -> the module that defines it (a module maps to itself).
_LAZY: dict[str, str] = {
    "AsyncClient": "._client",
    "Client": "._client",
    "Estimate": "._estimate",
    "sandbox": ".sandbox",
    "read_spreadsheet": "._io",
    "write_spreadsheet": "._io",
}


def __getattr__(name: str) -> Any:
    """Import a `_LAZY` name on first access (PEP 562)."""
    try:
        where = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(where, __name__)
    value = module if module.__name__ == f"{__name__}.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Allowance",
    "AsyncClient",
    "AuthenticationError",
    "CacheInfo",
    "Client",
    "ConfigurationError",
    "Estimate",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "InvalidQueryError",
    "InvalidRequestError",
    "MappingError",
    "MissingAPIKeyError",
    "NotFoundError",
    "Plan",
    "QuotaExhaustedError",
    "QuotaExhaustedWarning",
    "RateLimitError",
    "ResponseError",
    "ResultStore",
    "RunInterrupted",
    "RunStoppedError",
    "RunStoppedWarning",
    "SalesQLError",
    "SalesQLWarning",
    "ServerError",
    "SpreadsheetError",
    "StoreError",
    "StoreWarning",
    "__version__",
    "aenrich_organizations",
    "aenrich_persons",
    "cache_info",
    "canonical_domain",
    "canonical_linkedin_url",
    "canonical_name",
    "canonical_organization_name",
    "canonicalize_domains",
    "canonicalize_linkedin_urls",
    "canonicalize_names",
    "clear_cache",
    "default_cache_path",
    "enrich_organizations",
    "enrich_persons",
    "estimate_organizations",
    "estimate_persons",
    "free_mail_domains",
    "host_lists",
    "name_key",
    "plan_organizations",
    "plan_persons",
    "profile_platforms",
    "read_spreadsheet",
    "registrable_domain",
    "sandbox",
    "strip_format",
    "write_spreadsheet",
]
