"""Every tunable and every fact about the API, in one place."""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL: Final = "https://api-public.salesql.com/v1"
API_KEY_ENV: Final = "SALESQL_API_KEY"
BASE_URL_ENV: Final = "SALESQL_BASE_URL"
CACHE_DIR_ENV: Final = "SALESQL_CACHE_DIR"

#: The profile the reference names for testing a key: it never costs a credit.
FREE_PROFILE_URL: Final = "https://linkedin.com/in/sandrocarsava"

#: The bulk endpoints take 1..100 queries per request.
MAX_BULK_QUERIES: Final = 100

# Endpoint paths, relative to the base URL.
PATH_ALLOWANCE: Final = "/allowance"
PATH_PERSON: Final = "/persons/enrich"
PATH_PERSONS_BULK: Final = "/persons/enrich/bulk"
PATH_ORGANIZATION: Final = "/organizations/enrich"
PATH_ORGANIZATIONS_BULK: Final = "/organizations/enrich/bulk"

# Query parameters, as the reference names them.
PERSON_PARAMS: Final = (
    "linkedin_url",
    "first_name",
    "last_name",
    "full_name",
    "organization_name",
    "organization_domain",
)
PERSON_FLAGS: Final = ("match_if_direct_email", "match_if_direct_phone")
ORGANIZATION_PARAMS: Final = ("linkedin_url", "organization_name", "organization_domain")

#: Complete parameter groups for a person, in the reference's recommended order
#: (most accurate first). A query is sent with the first group it completes.
PERSON_GROUPS: Final[tuple[tuple[str, ...], ...]] = (
    ("linkedin_url",),
    ("full_name", "organization_domain"),
    ("first_name", "last_name", "organization_domain"),
    ("full_name", "organization_name"),
    ("first_name", "last_name", "organization_name"),
)
#: Organization groups, in the reference's recommended order.
ORGANIZATION_GROUPS: Final[tuple[tuple[str, ...], ...]] = (
    ("linkedin_url",),
    ("organization_domain",),
    ("organization_name",),
)

#: Longest value accepted for one query parameter; longer is surely not a name or URL.
MAX_PARAM_LENGTH: Final = 2048

# Timeouts (seconds). Never None: a silent server must not hang a notebook.
CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 60.0
WRITE_TIMEOUT: Final = 60.0
POOL_TIMEOUT: Final = 60.0

# Retries, in the spirit of openai-python.
MAX_RETRIES: Final = 2
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
#: A Retry-After longer than this is not waited for: it means the daily cap.
MAX_RETRY_AFTER: Final = 120.0
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})

USER_AGENT: Final = "salesql-frames"
LOGGER_NAME: Final = "salesql_frames"

# Per-row outcome, in the ``<prefix>status`` column.
STATUS_FOUND: Final = "found"
STATUS_NOT_FOUND: Final = "not_found"
STATUS_INVALID: Final = "invalid_input"
STATUS_ERROR: Final = "error"
STATUS_SKIPPED: Final = "skipped"

DEFAULT_PREFIX: Final = "salesql_"
DEFAULT_WIDE_ITEMS: Final = 3

# The durable result store.
CACHE_FILE_NAME: Final = "results.sqlite3"
#: Found answers are reused for 30 days: contact data goes stale slowly, and re-buying
#: it costs a credit per person.
FOUND_TTL: Final = 30 * 24 * 3600.0
#: Not-found answers are reused for 7 days: new profiles appear, and a retry is free.
NOT_FOUND_TTL: Final = 7 * 24 * 3600.0

# Pacing.
#: Parallel requests per client unless told otherwise.
DEFAULT_CONCURRENCY: Final = 2
#: A known window is treated as this much longer, for clock skew and latency.
WINDOW_MARGIN: Final = 1.03
WINDOW_SLACK_SECONDS: Final = 0.05
#: Adaptive mode: after a 429, the learned window allowance is multiplied by this...
ADAPTIVE_DECREASE: Final = 0.7
#: ...and recovers by this share of the best allowance per window without a 429.
ADAPTIVE_INCREASE: Final = 0.05
#: Batches once a limit is known: at most this share of the window per request, so
#: searches are spread across the window instead of sent in one burst.
BATCH_SHARE_OF_WINDOW: Final = 1 / 6
#: On KeyboardInterrupt, how long to wait for batches in flight to be answered and stored.
INTERRUPT_GRACE_SECONDS: Final = 5.0
