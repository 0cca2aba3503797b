"""The API client, in layers.

- `_config`: the key as a secret, the base URL, timeouts, the account fingerprint.
- `_retry`: retry decisions as small pure functions (`should_retry`, `retry_delay`,
  `parse_retry_after`, `is_daily_cap`).
- `_errors`: an HTTP answer or transport failure -> the library's typed error.
- `_pacing`: the quota pacer, one per client.
- `_base`: `BaseClient`, what every client shares: state, pacer accounting, reading
  answers (no I/O).
- `_sync`: `Client`, the endpoints and the request loop (the I/O).
- `_async`: `AsyncClient`, the same endpoints and loop, awaited.
"""

from ._async import AsyncClient, asend_batch
from ._pacing import Pacer, RateLimit
from ._sync import Client, require_key, send_batch

__all__ = ["AsyncClient", "Client", "Pacer", "RateLimit", "asend_batch", "require_key",
           "send_batch"]
