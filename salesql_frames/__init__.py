"""pandas and polars DataFrame extension for the SalesQL B2B enrichment API.

``import salesql_frames`` registers the ``.salesql`` accessor on pandas DataFrames and
the ``.salesql`` namespace on polars DataFrames. `Client` talks to the API itself, and
`sandbox` serves a local stand-in of the API for demos and tests.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("salesql-frames")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from . import sandbox
from ._accessors import SalesQLAccessor, register
from ._canonical import (
    canonical_domain,
    canonical_linkedin_url,
    canonical_name,
    canonical_organization_name,
    name_key,
)
from ._canonical_series import canonicalize_domains, canonicalize_linkedin_urls, canonicalize_names
from ._client import Client
from ._estimate import Estimate
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    InvalidQueryError,
    InvalidRequestError,
    MissingAPIKeyError,
    NotFoundError,
    QuotaExhaustedError,
    QuotaExhaustedWarning,
    RateLimitError,
    ResponseError,
    RunStoppedWarning,
    SalesQLError,
    SalesQLWarning,
    ServerError,
)
from ._io import SpreadsheetError, read_spreadsheet, write_spreadsheet
from ._mapping import MappingError
from ._models import Allowance, Record
from ._pacing import Pacer
from ._pipeline import Plan
from ._store import CacheInfo, ResultStore, cache_info, clear_cache, default_cache_path

register()

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Allowance",
    "AuthenticationError",
    "CacheInfo",
    "Client",
    "ConfigurationError",
    "Estimate",
    "InvalidQueryError",
    "InvalidRequestError",
    "MappingError",
    "MissingAPIKeyError",
    "NotFoundError",
    "Pacer",
    "Plan",
    "QuotaExhaustedError",
    "QuotaExhaustedWarning",
    "RateLimitError",
    "Record",
    "ResponseError",
    "ResultStore",
    "RunStoppedWarning",
    "SalesQLAccessor",
    "SalesQLError",
    "SalesQLWarning",
    "ServerError",
    "SpreadsheetError",
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
    "register",
    "sandbox",
    "write_spreadsheet",
]
