"""pandas and polars DataFrame extension for the SalesQL B2B enrichment API.

``import salesql_frames`` registers the ``.salesql`` accessor on pandas DataFrames and
the ``.salesql`` namespace on polars DataFrames. `Client` talks to the API itself, and
`sandbox` serves a local stand-in of the API for demos and tests.

The package reads as its pipeline: ``_plan`` (columns -> canonical unique queries),
``_send`` (store, then paced bulk batches), ``_assemble`` (answers -> the caller's
frame), joined by ``_enrich``; ``_kinds`` holds one spec per kind of lookup, and
``_client`` the API client in layers. See the architecture page of the docs.
"""

from __future__ import annotations

from . import _accessors, sandbox
from ._canonical import (
    canonical_domain,
    canonical_linkedin_url,
    canonical_name,
    canonical_organization_name,
    name_key,
)
from ._canonical_series import canonicalize_domains, canonicalize_linkedin_urls, canonicalize_names
from ._client import AsyncClient, Client
from ._estimate import Estimate
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
from ._io import read_spreadsheet, write_spreadsheet
from ._models import Allowance
from ._plan import Plan
from ._store import CacheInfo, ResultStore, cache_info, clear_cache, default_cache_path
from ._version import __version__

_accessors.register()

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
    "name_key",
    "read_spreadsheet",
    "sandbox",
    "write_spreadsheet",
]
