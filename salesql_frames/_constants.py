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

#: The one endpoint that is no kind's (see `salesql_frames._kinds` for the others).
PATH_ALLOWANCE: Final = "/allowance"

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
#: Error statuses after which the server may have done (and charged) the work: a gateway
#: that timed out or failed upstream, or a server that failed after its work. Other
#: statuses (400-429, 501, 503) refuse before any work is done.
UNKNOWN_OUTCOME_STATUSES: Final = frozenset({500, 502, 504})
#: Words in a 429's detail that mean the daily cap, not the per-minute window.
DAILY_CAP_WORDS: Final = ("daily", "per day", "quota", "today")

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
#: Keys looked up per statement: SQLite's limit on host parameters is 999 on old builds.
SQLITE_MAX_PARAMS: Final = 900
#: Seconds a store operation waits for another connection's write lock.
STORE_LOCK_TIMEOUT: Final = 30.0

# Pacing.
#: The window a bare ``rate_limit=N`` means (searches per minute), and the one assumed
#: for a 429 that names none.
DEFAULT_WINDOW_SECONDS: Final = 60.0
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

# Flattening.
#: Records converted per ``pyarrow.array`` call. A chunk whose fast conversion fails
#: is sanitized in Python as a whole, so this bounds the cost of one bad value.
CHUNK_ROWS: Final = 16_384
#: A chunk is scanned for the top-level keys its items have (and converted with a
#: record type narrowed to them) when this many leading items lack at least
#: SPARSE_MIN_ABSENT of the record type's fields. See ``_decode._narrowed``.
SPARSE_SAMPLE: Final = 64
SPARSE_MIN_ABSENT: Final = 4
