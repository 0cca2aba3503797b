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
#: Longest quotation of a cell in a row's ``<prefix>error`` reason.
MAX_QUOTED_CELL: Final = 80

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
#: Seconds a store operation waits for another connection's write lock before it raises
#: `StoreError`: the one knob for waiting on the store. Runs hold the lock for
#: milliseconds per batch, so waiting longer means something is wrong with the file.
STORE_LOCK_TIMEOUT: Final = 5.0

# Pacing.
#: The window a bare ``rate_limit=N`` means (searches per minute), and the longest window
#: an adaptive pacer assumes.
DEFAULT_WINDOW_SECONDS: Final = 60.0
#: Parallel requests per client unless told otherwise.
DEFAULT_CONCURRENCY: Final = 2
#: A known window is treated as this much longer, for clock skew and latency.
WINDOW_MARGIN: Final = 1.03
WINDOW_SLACK_SECONDS: Final = 0.05
#: Adaptive mode: after a 429, the learned window allowance is multiplied by this...
ADAPTIVE_DECREASE: Final = 0.7
#: ...and recovers by this share of the learned ceiling per accepted request.
ADAPTIVE_INCREASE: Final = 0.05
#: Batches once a limit is known: at most this share of the window per request, so
#: searches are spread across the window instead of sent in one burst.
BATCH_SHARE_OF_WINDOW: Final = 1 / 6
#: On KeyboardInterrupt, how long to wait for batches in flight to be answered and stored.
INTERRUPT_GRACE_SECONDS: Final = 2.0
#: How long the run's thread blocks at once while batches are in flight: short, so
#: Ctrl-C is seen at once whatever SIGINT handler another library installed.
WAIT_SLICE_SECONDS: Final = 0.1
#: While someone watches the pacer (a progress line), a quota wait is slept in slices
#: of at most this many seconds, so the line counts the wait down.
QUOTA_WAIT_SLICE_SECONDS: Final = 1.0
#: Batches in a row without a usable answer (lost, timed out, malformed) that stop a
#: run: the circuit breaker. Each of them may have been charged.
UNKNOWN_OUTCOME_STREAK: Final = 3

# Flattening.
#: Records converted per ``pyarrow.array`` call. A chunk whose fast conversion fails
#: is sanitized in Python as a whole, so this bounds the cost of one bad value.
CHUNK_ROWS: Final = 16_384
#: A LazyFrame run reads its stored answers from the store and flattens them this many
#: queries at a time, so only one chunk of records is in memory at once.
LAZY_CHUNK_QUERIES: Final = CHUNK_ROWS
#: A LazyFrame's first rows checked, before sending, for earlier result columns whose
#: values cannot be kept (a top-up over a column of the user's own with a result's name).
LAZY_CHECK_ROWS: Final = 10_000
#: Rows per batch a LazyFrame's results are attached to (polars may ask for another size).
LAZY_BATCH_ROWS: Final = 5_000
#: Output cells (rows x columns) from which the result columns are taken on several
#: threads (`pyarrow.cpu_count` of them at most); below, threads cost more than they save.
THREADED_TAKE_CELLS: Final = 1_000_000
#: A result text column is dictionary-encoded in a LazyFrame's compact result table
#: when its first chunk has at most this share of distinct values.
LAZY_DICTIONARY_SHARE: Final = 0.5
#: A chunk is scanned for the top-level keys its items have (and converted with a
#: record type narrowed to them) when this many leading items lack at least
#: SPARSE_MIN_ABSENT of the record type's fields. See ``_decode._narrowed``.
SPARSE_SAMPLE: Final = 64
SPARSE_MIN_ABSENT: Final = 4

# Spreadsheet safety: formula-like text in CSV/TSV output (``_io.formula_like``).
#: Text starting with one of ``= @ + -``, a tab or a carriage return is taken for a
#: formula by spreadsheet programs (OWASP, "CSV Injection")...
FORMULA_START_PATTERN: Final = r"^[=@+\-\t\r]"
#: ...unless it is phone-like: ``+`` or ``-`` alone, or followed by a digit, space,
#: parenthesis or dot, then only digits, spaces, parentheses, dots, hyphens and slashes
#: (``+1 415-555-0100``, ``+49 (0)30 123456``, ``-5``). RE2 syntax: ``$`` is the end.
PHONE_LIKE_PATTERN: Final = r"^[+\-](?:[0-9 ().][0-9 ().\-/]*)?$"
#: Prefixed to a formula-like cell so that it is shown as text (OWASP's advice).
FORMULA_ESCAPE: Final = "'"

# Store claims: concurrent runs on one store never send the same query twice.
#: Seconds a run's claim on a key lasts (``ResultStore.claim``) unless its owner is seen
#: to be dead first. It covers one batch's worst case at the default settings: 3 attempts
#: x (5 s connect + 60 s write + 60 s read) + 2 Retry-After waits of 120 s + a pacing
#: window of 60 s = 11 min, with room to spare. A claim of a dead process on this host
#: is void at once, so the lease only matters for a live run, or one on another host.
STORE_CLAIM_LEASE: Final = 15 * 60.0
#: Seconds between two looks at keys another run has claimed (``Claim.busy``).
STORE_CLAIM_POLL: Final = 0.5

# Money safety in the client: what a request may take and what an answer may be.
#: Longest API key accepted; a longer value is not a key (a pasted file, a token dump).
MAX_API_KEY_LENGTH: Final = 1024
#: Seconds added to connect + read timeout to make one attempt's total deadline
#: (``_client._config.total_deadline``): the read timeout bounds each read, not the
#: response, so a server trickling bytes would otherwise hold a request forever.
DEADLINE_MARGIN: Final = 1.0
#: Largest response body read (after decompression); a larger one, or a Content-Length
#: above it, is refused unread. A full bulk answer is well under 1 MiB.
MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
#: Deepest nesting of arrays and objects accepted in an answer (a record is about 4 deep).
MAX_JSON_DEPTH: Final = 64
#: Redirects that keep the method and the body. The client follows one only to add a
#: trailing slash on the same server (what web frameworks answer for a path without
#: one); every other redirect is an error naming the base URL to fix.
METHOD_KEEPING_REDIRECTS: Final = frozenset({307, 308})

# Adaptive pacing: what a 429 teaches, and how success climbs back (``_client/_pacing``).
#: A ceiling is learned only from evidence: a 429 with a usable ``Retry-After`` (> 0 s)
#: while our own searches fill the window. A 429 without one (missing, 0, past, malformed)
#: teaches none. The first in a row only waits its retry's backoff; the second in a row,
#: with nothing learned, makes the allowance ADAPTIVE_DECREASE x what we sent in a
#: provisional window of this many seconds (each further one multiplies it by
#: ADAPTIVE_DECREASE again), and a window's worth of accepted searches lifts it.
ADAPTIVE_PROVISIONAL_WINDOW: Final = 1.0
#: Once the allowance is back at the learned ceiling, a window's worth of accepted
#: searches without a 429 starts a probe above it; each refused probe doubles the
#: windows' worth needed before the next (up to this many), and a confirmed one resets it.
ADAPTIVE_PROBE_MAX_WINDOWS: Final = 8
#: A probe admits this share of the allowance above it (at least one batch). The share
#: doubles with each confirmed probe, up to ADAPTIVE_PROBE_MAX_SHARE (twice the
#: allowance), and starts again from this after a refusal.
ADAPTIVE_PROBE_SHARE: Final = 0.1
ADAPTIVE_PROBE_MAX_SHARE: Final = 1.0

# -- CRM-ready results: E.164 phones (salesql_frames/_phones.py) ---------------------------

#: Parsed (number, region) pairs kept across flatten calls (the same answers flattened
#: wide, then long, or read back from the store): parsing costs some 30 microseconds a
#: number, a hit well under one.
PHONE_CACHE_SIZE: Final = 1 << 17

# -- CLI (issue 12): ask before a paid run on a terminal ---------------------------------
#: On a terminal, ``enrich-*`` asks before sending when the worst case exceeds this many
#: credits (``--yes`` skips the question; runs without a terminal never ask).
CLI_CONFIRM_CREDITS: Final = 100
