"""The durable result store: every answer paid for is kept, so nothing is paid twice.

One SQLite file (WAL mode, mode 0600) maps a query key to the raw answer item, or to a
not-found marker. A key is the account fingerprint (see the client) + the query's dedupe key;
the API key itself, request headers and anything else about the request are never
stored. Each batch is committed as soon as it comes back, so a crash loses at most the
batches still in flight.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import _constants as C
from ._exceptions import ConfigurationError
from ._gc import paused_gc
from ._models import Record

__all__ = ["CacheInfo", "ResultStore", "cache_info", "clear_cache", "default_cache_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key        TEXT PRIMARY KEY,
    account    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    found      INTEGER NOT NULL,
    item       TEXT,
    stored_at  REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS results_stored_at ON results (stored_at);
"""


def default_cache_path() -> Path:
    r"""Where the store lives unless told otherwise.

    ``$SALESQL_CACHE_DIR/results.sqlite3`` if set, else the platform's user cache
    directory (``~/.cache/salesql-frames`` on Linux, ``~/Library/Caches/salesql-frames``
    on macOS, ``%LOCALAPPDATA%\\salesql-frames\\Cache`` on Windows).
    """
    configured = os.environ.get(C.CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser() / C.CACHE_FILE_NAME
    if sys.platform == "win32":
        root = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return root / "salesql-frames" / "Cache" / C.CACHE_FILE_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "salesql-frames" / C.CACHE_FILE_NAME
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "salesql-frames" / C.CACHE_FILE_NAME


@dataclass(frozen=True)
class CacheInfo:
    """What the store holds.

    Attributes:
        path: The SQLite file.
        entries: Stored answers.
        found: Answers with a record (these hold personal data).
        not_found: Not-found markers.
        size_bytes: Size on disk (database and write-ahead log).
        oldest: When the oldest answer was stored.
        newest: When the newest answer was stored.
    """

    path: Path
    entries: int
    found: int
    not_found: int
    size_bytes: int
    oldest: datetime | None
    newest: datetime | None

    def __str__(self) -> str:
        span = (
            f"{self.oldest:%Y-%m-%d %H:%M} .. {self.newest:%Y-%m-%d %H:%M} UTC"
            if self.oldest and self.newest
            else "empty"
        )
        return (
            f"{self.path}\n{self.entries:,} answers ({self.found:,} found, "
            f"{self.not_found:,} not found), {self.size_bytes / 1024:,.0f} KiB, {span}"
        )


class ResultStore:
    """Answers by query key, with separate lifetimes for found and not-found answers.

    Thread-safe: workers may store batches while the caller reads.

    Args:
        path: The SQLite file (created with mode 0600, its folder with 0700).
        found_ttl: Seconds a found answer is reused.
        not_found_ttl: Seconds a not-found answer is reused.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        found_ttl: float = C.FOUND_TTL,
        not_found_ttl: float = C.NOT_FOUND_TTL,
    ) -> None:
        self.path = Path(path).expanduser()
        self.found_ttl = found_ttl
        self.not_found_ttl = not_found_ttl
        self._lock = threading.Lock()
        self._connection = _connect(self.path)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    def get_many(self, keys: Sequence[str]) -> dict[str, Record | None]:
        """Fresh stored answers for ``keys``: key -> record, or None for not-found."""
        now = time.time()
        found_since, missing_since = now - self.found_ttl, now - self.not_found_ttl
        answers: dict[str, Record | None] = {}
        with self._lock, paused_gc():
            for start in range(0, len(keys), C.SQLITE_MAX_PARAMS):
                chunk = keys[start : start + C.SQLITE_MAX_PARAMS]
                marks = ",".join("?" * len(chunk))
                rows = self._connection.execute(
                    f"SELECT key, found, item, stored_at FROM results WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
                for key, found, item, stored_at in rows:
                    if found and stored_at >= found_since:
                        answers[key] = json.loads(item)
                    elif not found and stored_at >= missing_since:
                        answers[key] = None
        return answers

    def put_many(
        self, account: str, kind: str, answers: Iterable[tuple[str, Record | None]]
    ) -> None:
        """Store answers (record, or None for not-found) in one committed transaction."""
        now = time.time()
        rows = [
            (key, account, kind, item is not None,
             None if item is None else json.dumps(item, separators=(",", ":")), now)
            for key, item in answers
        ]
        if not rows:
            return
        with self._lock, self._connection:
            self._connection.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)", rows
            )

    def info(self) -> CacheInfo:
        """Counts and size of what is stored."""
        with self._lock:
            entries, found, oldest, newest = self._connection.execute(
                "SELECT COUNT(*), COALESCE(SUM(found), 0), MIN(stored_at), MAX(stored_at) "
                "FROM results"
            ).fetchone()
        size = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"))
            if p.exists()
        )
        return CacheInfo(
            self.path, entries, found, entries - found, size, _when(oldest), _when(newest)
        )

    def clear(self, *, older_than: float | None = None) -> int:
        """Delete stored answers (all, or those older than ``older_than`` seconds)."""
        with self._lock, self._connection:
            if older_than is None:
                cursor = self._connection.execute("DELETE FROM results")
            else:
                cursor = self._connection.execute(
                    "DELETE FROM results WHERE stored_at < ?", (time.time() - older_than,)
                )
            removed = cursor.rowcount
        with self._lock:
            self._connection.execute("VACUUM")
        return int(removed)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        connection = sqlite3.connect(path, timeout=C.STORE_LOCK_TIMEOUT, check_same_thread=False,
                                     isolation_level="DEFERRED")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_SCHEMA)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigurationError(
            f"cannot open the result store at {path} ({exc}); pass cache=<another path>, "
            f"set {C.CACHE_DIR_ENV}, or cache=False to run without one"
        ) from None
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if companion.exists():
            os.chmod(companion, 0o600)
    return connection


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)


def cache_info(path: Path | str | None = None) -> CacheInfo:
    """Describe the result store (the default one unless ``path`` is given).

    Examples:
        >>> import pathlib, tempfile, salesql_frames
        >>> info = salesql_frames.cache_info(pathlib.Path(tempfile.mkdtemp()) / "r.sqlite3")
        >>> info.entries, info.found, info.not_found
        (0, 0, 0)
    """
    with ResultStore(path or default_cache_path()) as store:
        return store.info()


def clear_cache(path: Path | str | None = None, *, older_than: float | None = None) -> int:
    """Delete stored answers; return how many were removed.

    Args:
        path: The store file; by default the default store.
        older_than: Only remove answers older than this many seconds.

    Examples:
        >>> import pathlib, tempfile, salesql_frames
        >>> salesql_frames.clear_cache(pathlib.Path(tempfile.mkdtemp()) / "r.sqlite3")
        0
    """
    with ResultStore(path or default_cache_path()) as store:
        return store.clear(older_than=older_than)


def resolve_store(cache: bool | str | os.PathLike[str] | ResultStore | None) -> ResultStore | None:
    """``cache=`` as users pass it -> a store, or None for no store."""
    if cache is False:
        return None
    if isinstance(cache, ResultStore):
        return cache
    if cache is None or cache is True:
        return ResultStore(default_cache_path())
    return ResultStore(Path(os.fspath(cache)))

