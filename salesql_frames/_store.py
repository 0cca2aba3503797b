"""The durable result store: every answer paid for is kept, so nothing is paid twice.

One SQLite file (WAL mode, mode 0600) maps a query key to the raw answer item, or to a
not-found marker. A key is the account fingerprint (see the client) + the query's dedupe key;
the API key itself, request headers and anything else about the request are never
stored. Each batch is committed as soon as it comes back, so a crash loses at most the
batches still in flight.

Runs that share the file (threads, processes) claim the keys they are about to send
(`ResultStore.claim`), so two of them never send the same query: a claim holds until its
answer is stored, it is released, its lease runs out, or its owner is seen to be a dead
process on this host. Every SQLite or file-system failure is a `StoreError` that names
the operation that failed.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, NamedTuple

from . import _constants as C
from ._columnar import Codec
from ._exceptions import StoreError
from ._gc import paused_gc
from ._models import UNREAD, RawRecord, Record, StoredRow, Unread

__all__ = [
    "CacheInfo",
    "Claim",
    "ResultStore",
    "Stored",
    "cache_info",
    "clear_cache",
    "default_cache_path",
    "new_owner",
]

Operation = Literal["open", "read", "write"]

#: Every table, index and trigger is created if missing, so a file written by an older
#: version (``results`` only, or without the columnar tables) gains the rest on first open
#: and keeps its answers; older versions ignore what they do not know.
#:
#: ``columnar``/``columnar_batches`` hold a second, compact form of the answers that a
#: re-run reads without touching ``results`` (`salesql_frames._columnar`): per write, one
#: blob of the batch's decoded found records, and per key its ``batch`` and ``row`` in
#: it, or NULL for a not-found answer. The JSON in ``results`` stays the source of
#: truth: the triggers drop a key's columnar row whenever its ``results`` row is
#: written, changed or deleted (by any version: triggers live in the file), and a blob
#: once no row points into it. So a columnar row always belongs to the answer
#: ``results`` holds, with its ``stored_at``; a key without one is read from ``results``.
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS results (
    key        TEXT PRIMARY KEY,
    account    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    found      INTEGER NOT NULL,
    item       TEXT,
    stored_at  REAL NOT NULL
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS results_stored_at ON results (stored_at)",
    """CREATE TABLE IF NOT EXISTS claims (
    key        TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS claims_owner ON claims (owner)",
    "CREATE INDEX IF NOT EXISTS claims_expires_at ON claims (expires_at)",
    """CREATE TABLE IF NOT EXISTS columnar_batches (
    id         INTEGER PRIMARY KEY,
    format     TEXT NOT NULL,
    data       BLOB NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS columnar (
    key        TEXT PRIMARY KEY,
    stored_at  REAL NOT NULL,
    batch      INTEGER,
    row        INTEGER
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS columnar_batch ON columnar (batch)",
    """CREATE TRIGGER IF NOT EXISTS results_inserted AFTER INSERT ON results BEGIN
    DELETE FROM columnar WHERE key = NEW.key;
END""",
    """CREATE TRIGGER IF NOT EXISTS results_updated AFTER UPDATE ON results BEGIN
    DELETE FROM columnar WHERE key IN (OLD.key, NEW.key);
END""",
    """CREATE TRIGGER IF NOT EXISTS results_deleted AFTER DELETE ON results BEGIN
    DELETE FROM columnar WHERE key = OLD.key;
END""",
    """CREATE TRIGGER IF NOT EXISTS columnar_deleted AFTER DELETE ON columnar
WHEN OLD.batch IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM columnar WHERE batch = OLD.batch) BEGIN
    DELETE FROM columnar_batches WHERE id = OLD.batch;
END""",
)
#: What a store file of this version has (tables and triggers); a file lacking any of
#: them is brought up to date when opened.
_TABLES = frozenset({"results", "claims", "columnar_batches", "columnar"})
_TRIGGERS = frozenset({"results_inserted", "results_updated", "results_deleted",
                       "columnar_deleted"})
#: The tables the columnar form needs (an older read-only file may lack them).
_COLUMNAR_TABLES = frozenset({"columnar_batches", "columnar"})

#: What `new_owner` makes: host, process id, and a random tag for the run.
_OWNER = re.compile(r"(?P<host>[^:]+):(?P<pid>[1-9][0-9]{0,9}):[0-9a-f]+")


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


class Stored(NamedTuple):
    """What `ResultStore.look_up` found for a key (a tuple: a look-up makes one per key).

    Attributes:
        record: The record (a `RawRecord`, or a `StoredRow` when its columnar form was
            read, when looked up with ``raw=True``); None for a not-found answer, and for
            a stale one (not read); `UNREAD` when looked up with ``records=False``.
        fetched_at: When the answer was fetched and stored (seconds since the epoch).
        fresh: Whether it may be reused: younger than its lifetime (and ``max_age``).
    """

    record: Record | RawRecord | StoredRow | Unread | None
    fetched_at: float
    fresh: bool


@dataclass(frozen=True)
class Claim:
    """What `ResultStore.claim` made of each key it was given (each key is in one field).

    Attributes:
        claimed: Keys now claimed by the owner, in the order given: send these, then
            `ResultStore.put_many` their answers or `ResultStore.release` them.
        answered: Keys with a fresh stored answer (another run answered them since they
            were looked up): key -> record, or None for not-found. Not claimed.
        busy: Keys a live run of another owner has claimed: not claimed; ask again after
            ``STORE_CLAIM_POLL`` seconds, until they are answered or claimable.
        answered_at: When each answered key's answer was fetched (seconds since the epoch).
    """

    claimed: list[str]
    answered: dict[str, Record | RawRecord | StoredRow | Unread | None]
    busy: list[str]
    answered_at: dict[str, float] = field(default_factory=dict)


def new_owner() -> str:
    """A claim owner for one run: ``host:pid:random hex``, unique across runs and hosts."""
    return f"{_host()}:{os.getpid()}:{uuid.uuid4().hex}"


class ResultStore:
    """Answers by query key, with separate lifetimes for found and not-found answers.

    Thread-safe: workers may store batches while the caller reads, and other stores
    (threads, processes) may use the same file. Every SQLite or file-system failure is
    raised as a `StoreError`.

    Args:
        path: The SQLite file (created with mode 0600, its folder with 0700).
        found_ttl: Seconds a found answer is reused.
        not_found_ttl: Seconds a not-found answer is reused.
        lock_timeout: Seconds a write waits for another connection's write lock before it
            raises `StoreError`.
        now: The wall clock (seconds since the epoch) for answer ages and claim leases.

    Raises:
        StoreError: The file cannot be created or opened (``operation="open"``).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        found_ttl: float = C.FOUND_TTL,
        not_found_ttl: float = C.NOT_FOUND_TTL,
        lock_timeout: float = C.STORE_LOCK_TIMEOUT,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path).expanduser()
        self.found_ttl = found_ttl
        self.not_found_ttl = not_found_ttl
        self.lock_timeout = lock_timeout
        self._now = now
        self._lock = threading.Lock()
        self._connection = _connect(self.path, lock_timeout)
        with self._using("open") as connection:
            #: Whether the file has the columnar tables (an older read-only one may not).
            self._columnar = _schema_names(connection)[0] >= _COLUMNAR_TABLES

    def close(self) -> None:
        """Close the database; never raises (what was committed stays committed)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._connection.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    def now(self) -> float:
        """The store's wall clock (seconds since the epoch): what answer ages count from."""
        return self._now()

    def get_many(
        self, keys: Sequence[str], *, max_age: float | None = None
    ) -> dict[str, Record | None]:
        """Fresh stored answers for ``keys``: key -> record, or None for not-found.

        Never waits for a writer (WAL readers see the last commit).

        Args:
            keys: Store keys.
            max_age: Seconds: answers fetched longer ago than this are not fresh either
                (it shortens the lifetimes, never lengthens them).

        Raises:
            StoreError: The file cannot be read (``operation="read"``).
        """
        return {key: _decoded(stored.record)
                for key, stored in self.look_up(keys, max_age=max_age).items()
                if stored.fresh}

    def look_up(
        self, keys: Sequence[str], *, max_age: float | None = None, raw: bool = False,
        codec: Codec | None = None, records: bool = True, as_of: float | None = None,
    ) -> dict[str, Stored]:
        """Every stored answer for ``keys``, fresh or not, with when it was fetched.

        ``fetched_at`` is the answer's ``stored_at``: answers are stored as soon as their
        batch is answered, and files of every earlier version have it. With ``raw``,
        records are `RawRecord` (their JSON text), decoded by whoever needs them; with
        ``raw`` and the kind's ``codec`` too, answers stored with their columnar form
        (`put_many` with the codec) are `StoredRow` rows of it instead, and the others
        `RawRecord`. With ``records=False`` no record is read: a fresh found answer's
        record is `UNREAD` (read it later with another look-up, ``as_of`` the first, so
        an answer that was fresh then still is). ``as_of``: the time (seconds since the
        epoch) freshness is judged at; the store's clock's now by default.

        Raises:
            StoreError: The file cannot be read (``operation="read"``).
        """
        with self._using("read") as connection, paused_gc():
            return self._stored(connection, keys, self._now() if as_of is None else as_of,
                                max_age, raw=raw, codec=codec, records=records)

    def put_many(
        self, account: str, kind: str, answers: Iterable[tuple[str, Record | None]],
        *, fetched_at: float | None = None, codec: Codec | None = None,
    ) -> None:
        """Store answers (record, or None for not-found) in one committed transaction.

        The same transaction drops every claim on the stored keys, whoever holds it.

        Args:
            account: The account fingerprint the answers belong to.
            kind: The kind of lookup.
            answers: (key, record or None) pairs.
            fetched_at: When they were fetched (seconds since the epoch); by default now.
            codec: The kind's `Codec`: the found records are stored in columnar form
                too (one blob for the call), which re-runs read without parsing JSON,
                and the not-found markers in the compact index. Encoding is done before
                the write lock is taken; if it fails, the found answers are stored as
                JSON only.

        Raises:
            StoreError: The answers cannot be written (``operation="write"``); none is stored.
        """
        now = self._now() if fetched_at is None else fetched_at
        answers = list(answers)
        rows = [
            (key, account, kind, item is not None,
             None if item is None else json.dumps(item, separators=(",", ":")), now)
            for key, item in answers
        ]
        if not rows:
            return
        columnar = codec is not None and self._columnar
        found = [(key, item) for key, item in answers if item is not None]
        blob = codec.encode([item for _, item in found]) if codec and columnar else None
        with self._writing() as connection:
            connection.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)", rows
            )  # its trigger drops the keys' earlier columnar rows
            connection.executemany("DELETE FROM claims WHERE key = ?", [(r[0],) for r in rows])
            if columnar:
                pointers: list[tuple[str, float, int | None, int | None]] = [
                    (key, now, None, None) for key, item in answers if item is None]
                if blob is not None and codec is not None:
                    batch = connection.execute(
                        "INSERT INTO columnar_batches (format, data) VALUES (?, ?)",
                        (codec.format, blob),
                    ).lastrowid
                    pointers += [(key, now, batch, row) for row, (key, _) in enumerate(found)]
                connection.executemany(
                    "INSERT OR REPLACE INTO columnar VALUES (?, ?, ?, ?)", pointers)

    def claim(
        self, keys: Iterable[str], *, owner: str, lease_seconds: float = C.STORE_CLAIM_LEASE,
        max_age: float | None = None, raw: bool = False, codec: Codec | None = None,
    ) -> Claim:
        """Claim the keys that no one has answered or claimed, in one transaction.

        A key is claimed for ``owner`` unless it has a fresh stored answer (`Claim.answered`)
        or a live claim of another owner (`Claim.busy`). A claim is live until its lease
        runs out, it is released, its key's answer is stored, or its owner (made by
        `new_owner`) is a process of this host that no longer runs. Claiming a key the
        owner already holds renews its lease. Expired claims are purged.

        Args:
            keys: Store keys to claim; repeats are ignored.
            owner: Who claims, from `new_owner` (one per run, shared by its threads).
            lease_seconds: How long the claims last unless answered or released first.
            max_age: Seconds: an answer fetched longer ago is not fresh (see `get_many`).
            raw: `Claim.answered` holds `RawRecord` texts rather than decoded records.
            codec: With ``raw``, the kind's `Codec`: answers stored in columnar form are
                `StoredRow` rows (see `look_up`).

        Raises:
            StoreError: The claims cannot be written (``operation="write"``); none is made.
        """
        wanted = list(dict.fromkeys(keys))
        now = self._now()
        with self._writing() as connection, paused_gc():
            connection.execute("DELETE FROM claims WHERE expires_at <= ?", (now,))
            stored = self._stored(connection, wanted, now, max_age, raw=raw, codec=codec)
            answered = {key: one.record for key, one in stored.items() if one.fresh}
            open_keys = [key for key in wanted if key not in answered]
            holders: dict[str, str] = dict(
                _select(connection, "key, owner FROM claims", open_keys)
            )
            alive: dict[str, bool] = {}  # each other owner is judged once
            for holder in set(holders.values()) - {owner}:
                alive[holder] = _owner_alive(holder)
            busy = [key for key in open_keys if alive.get(holders.get(key, owner), False)]
            taken = set(busy)
            claimed = [key for key in open_keys if key not in taken]
            connection.executemany(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?)",
                [(key, owner, now + lease_seconds) for key in claimed],
            )
        return Claim(claimed, answered, busy,
                     {key: stored[key].fetched_at for key in answered})

    def release(self, keys: Iterable[str] | None = None, *, owner: str) -> int:
        """Drop ``owner``'s claims on ``keys`` (all of its claims if None); return how many.

        Claims of other owners are left alone.

        Raises:
            StoreError: The claims cannot be written (``operation="write"``).
        """
        with self._writing() as connection:
            if keys is None:
                cursor = connection.execute("DELETE FROM claims WHERE owner = ?", (owner,))
                return int(cursor.rowcount)
            cursor = connection.executemany(
                "DELETE FROM claims WHERE key = ? AND owner = ?",
                [(key, owner) for key in dict.fromkeys(keys)],
            )
            return int(cursor.rowcount)

    def info(self) -> CacheInfo:
        """Counts and size of what is stored.

        Raises:
            StoreError: The file cannot be read (``operation="read"``).
        """
        with self._using("read") as connection:
            entries, found, oldest, newest = connection.execute(
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

    def count(self, *, older_than: float | None = None) -> int:
        """How many answers `clear` with the same ``older_than`` would remove.

        Raises:
            StoreError: The file cannot be read (``operation="read"``).
        """
        query, values = "SELECT COUNT(*) FROM results", ()  # type: tuple[str, tuple[float, ...]]
        if older_than is not None:
            query += " WHERE stored_at < ?"
            values = (self._now() - older_than,)
        with self._using("read") as connection:
            (count,) = connection.execute(query, values).fetchone()
        return int(count)

    def clear(self, *, older_than: float | None = None) -> int:
        """Delete stored answers (all, or those older than ``older_than`` seconds).

        Live claims are kept: a run using the store goes on safely.

        Raises:
            StoreError: The file cannot be written or compacted (``operation="write"``).
        """
        now = self._now()
        with self._writing() as connection:
            if older_than is None:
                if self._columnar:  # first, so the triggers find nothing left to drop
                    connection.execute("DELETE FROM columnar_batches")
                    connection.execute("DELETE FROM columnar")
                cursor = connection.execute("DELETE FROM results")
            else:  # the triggers drop the columnar form of what goes
                cursor = connection.execute(
                    "DELETE FROM results WHERE stored_at < ?", (now - older_than,)
                )
            removed = cursor.rowcount
            connection.execute("DELETE FROM claims WHERE expires_at <= ?", (now,))
        with self._using("write") as connection:
            connection.execute("VACUUM")
        return int(removed)

    # -- helpers -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _using(self, operation: Operation) -> Iterator[sqlite3.Connection]:
        """The connection, to this thread alone; failures are raised as `StoreError`."""
        with self._lock:
            try:
                yield self._connection
            except (sqlite3.Error, OSError, json.JSONDecodeError) as exc:
                raise _store_error(self.path, operation, exc, self.lock_timeout) from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed, or rolled back on any failure."""
        with self._using("write") as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                raise

    def _stored(
        self, connection: sqlite3.Connection, keys: Sequence[str], now: float,
        max_age: float | None, *, raw: bool = False, codec: Codec | None = None,
        records: bool = True,
    ) -> dict[str, Stored]:
        found_ttl, missing_ttl = self.found_ttl, self.not_found_ttl
        if max_age is not None:
            found_ttl, missing_ttl = min(found_ttl, max_age), min(missing_ttl, max_age)
        found_since, missing_since = now - found_ttl, now - missing_ttl
        answers: dict[str, Stored] = {}
        rest = keys
        if not records:
            # The compact index first: reading ``stored_at`` from ``results`` walks past
            # each answer's JSON (about 40 s for a million answers of a large file).
            if self._columnar:
                for key, stored_at, batch in _select(
                    connection, "key, stored_at, batch FROM columnar", keys
                ):
                    answers[key] = _unread(batch is not None, stored_at, found_since,
                                           missing_since)
                rest = [key for key in keys if key not in answers]
            for key, found, stored_at in _select(connection, "key, found, stored_at FROM results",
                                                 rest):
                answers[key] = _unread(bool(found), stored_at, found_since, missing_since)
            return answers
        if raw and codec is not None and self._columnar:
            answers = _columnar_rows(connection, keys, codec, found_since, missing_since)
            if answers:
                rest = [key for key in keys if key not in answers]
        for key, found, item, stored_at in _select(
            connection, "key, found, item, stored_at FROM results", rest
        ):
            if found:
                fresh = stored_at >= found_since
                record = _record(item, raw) if fresh else None
                answers[key] = Stored(record, stored_at, fresh)
            else:
                answers[key] = Stored(None, stored_at, stored_at >= missing_since)
        return answers


def _unread(found: bool, stored_at: float, found_since: float, missing_since: float) -> Stored:
    """A stored answer looked up without its record: `UNREAD` if found and fresh."""
    fresh = stored_at >= (found_since if found else missing_since)
    return Stored(UNREAD if found and fresh else None, stored_at, fresh)


def _decoded(record: Record | RawRecord | StoredRow | Unread | None) -> Record | None:
    if isinstance(record, (StoredRow, Unread)):  # pragma: no cover - get_many reads records
        raise TypeError("not a record: look it up without a codec, with records=True")
    return record.load() if isinstance(record, RawRecord) else record


def _record(item: str, raw: bool) -> Record | RawRecord:
    """A stored item: decoded, or (``raw``) kept as text once it looks whole.

    Items are ``json.dumps`` of a record, so an item that does not start with ``{`` and
    end with ``}`` is damaged: it raises here, at look-up, before anything is sent.
    """
    if not raw:
        return RawRecord(item).load()
    if not (item[:1] == "{" and item[-1:] == "}"):
        raise json.JSONDecodeError("a stored answer is not a JSON object", item[:40], 0)
    return RawRecord(item)


def _columnar_rows(
    connection: sqlite3.Connection, keys: Sequence[str], codec: Codec, found_since: float,
    missing_since: float,
) -> dict[str, Stored]:
    """The answers of ``keys`` in the compact index: `StoredRow` rows, or not-found.

    A columnar row belongs to the answer ``results`` holds, with its ``stored_at`` (the
    triggers see to it). The blobs of the fresh found ones, of ``codec``'s format, are
    read into one pool. A key whose blob is of another format, damaged or missing is
    left out (it is read from ``results``), as is a key the index does not have.
    """
    rows = list(_select(connection, "key, stored_at, batch, row FROM columnar", keys))
    wanted = sorted({row[2] for row in rows if row[2] is not None and row[1] >= found_since})
    arrays: dict[int, Any] = {}
    for batch, format_, data in _select(
        connection, "id, format, data FROM columnar_batches", wanted, column="id"
    ):
        array = codec.read(data) if format_ == codec.format else None
        if array is not None:
            arrays[batch] = array
    pool, starts = codec.pool(list(arrays.values()))
    where = {batch: (start, len(array)) for (batch, array), start
             in zip(arrays.items(), starts, strict=True)}
    answers: dict[str, Stored] = {}
    for key, stored_at, batch, row in rows:
        if batch is None:
            answers[key] = Stored(None, stored_at, stored_at >= missing_since)
        elif stored_at < found_since:
            answers[key] = Stored(None, stored_at, False)
        else:
            start, length = where.get(batch, (0, 0))
            if 0 <= row < length:
                answers[key] = Stored(StoredRow(pool, start + row), stored_at, True)
    return answers


def _select(
    connection: sqlite3.Connection, what: str, keys: Sequence[Any], *, column: str = "key"
) -> Iterator[Any]:
    """``SELECT {what} WHERE {column} IN keys``, in chunks SQLite accepts."""
    for start in range(0, len(keys), C.SQLITE_MAX_PARAMS):
        chunk = keys[start : start + C.SQLITE_MAX_PARAMS]
        marks = ",".join("?" * len(chunk))
        yield from connection.execute(
            f"SELECT {what} WHERE {column} IN ({marks})", chunk).fetchall()


@functools.cache
def _host() -> str:
    """This host in owner ids; on Linux with its pid namespace, as containers differ there."""
    name = socket.gethostname().replace(":", "-") or "localhost"
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return name
    return f"{name}/{namespace.strip('pid:[]')}"


def _owner_alive(owner: str) -> bool:
    """False only for an owner that is surely gone: a process of this host that ended."""
    match = _OWNER.fullmatch(owner)
    if match is None or match["host"] != _host() or sys.platform == "win32":
        return True  # not ours to judge (on Windows os.kill would end it): the lease decides
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def _schema_names(connection: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """The names of the file's tables and of its triggers."""
    names: dict[str, set[str]] = {"table": set(), "trigger": set()}
    for kind, name in connection.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')"
    ):
        names[kind].add(name)
    return names["table"], names["trigger"]


def _connect(path: Path, lock_timeout: float) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with the schema, waiting up to ``lock_timeout`` for locks.

    SQLite's own wait (``timeout=``) does not cover opening: switching a new file to WAL
    while another process does the same, or creates the schema, fails at once with
    "database is locked" (SQLite refuses to wait where waiting could deadlock). Runs that
    start together on one new store are the normal case, so the open itself is retried.
    """
    deadline = time.monotonic() + lock_timeout
    delay = 0.01
    while True:
        try:
            return _connect_once(path, lock_timeout)
        except _OpenLocked as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _store_error(path, "open", exc.error, lock_timeout) from None
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.25)


class _OpenLocked(Exception):
    """Opening met another connection's lock: worth another try."""

    def __init__(self, error: sqlite3.OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


def _connect_once(path: Path, lock_timeout: float) -> sqlite3.Connection:
    connection: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        connection = sqlite3.connect(
            path, timeout=lock_timeout, check_same_thread=False, isolation_level=None
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        tables, triggers = _schema_names(connection)
        if not (tables >= _TABLES and triggers >= _TRIGGERS):
            # a new file, or an older version's: add what it lacks
            try:
                connection.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    connection.execute(statement)
                connection.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "results" not in tables or "readonly" not in str(exc):
                    raise
                if connection.in_transaction:  # an older read-only store: read, never claim
                    connection.execute("ROLLBACK")
    except (OSError, sqlite3.Error) as exc:
        if connection is not None:
            connection.close()
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise _OpenLocked(exc) from None
        raise _store_error(path, "open", exc, lock_timeout) from None
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        # Private, never more writable than it was (a read-only store stays read-only);
        # a file of another user's is left as it is.
        with contextlib.suppress(OSError):
            os.chmod(companion, companion.stat().st_mode & 0o600)
    return connection


_ADVICE = {
    "locked": (
        "another connection held its write lock for more than {timeout:g} s",
        "Wait for the other run or `salesql-frames cache clear` to finish, or pass "
        "cache=<another path>",
    ),
    "full": (
        "the disk is full, or the file reached a size limit",
        "Free disk space, or pass cache=<a path on another disk>",
    ),
    "readonly": (
        "the file or its folder is not writable",
        "Check the permissions of the file, its -wal and -shm files and its folder, or "
        "pass cache=<another path>",
    ),
    "corrupt": (
        "the file is corrupt or not a result store",
        "Delete it (only its cached answers are lost: they are fetched again), or pass "
        "cache=<another path>",
    ),
    "io": (
        "a disk I/O error (the disk may be full, the file too large, or it was removed)",
        "Free disk space, or pass cache=<another path>",
    ),
    "other": ("", f"Pass cache=<another path> or set {C.CACHE_DIR_ENV}"),
}
_ERRNO_KINDS = {
    errno.ENOSPC: "full", errno.EFBIG: "full", getattr(errno, "EDQUOT", errno.ENOSPC): "full",
    errno.EACCES: "readonly", errno.EPERM: "readonly", errno.EROFS: "readonly",
}
_SQLITE_KINDS = (  # by SQLite's error name, else by words of its message
    ("locked", ("SQLITE_BUSY", "SQLITE_LOCKED"), ("locked",)),
    ("full", ("SQLITE_FULL",), ("full",)),
    ("readonly", ("SQLITE_READONLY", "SQLITE_PERM"), ("readonly",)),
    ("corrupt", ("SQLITE_CORRUPT", "SQLITE_NOTADB"), ("malformed", "not a database")),
    ("io", ("SQLITE_IOERR",), ("i/o error",)),
)


def _store_error(
    path: Path, operation: Operation, exc: BaseException, timeout: float
) -> StoreError:
    """A failure of the store at ``path`` as a `StoreError` that says what to do."""
    kind = "other"
    if isinstance(exc, OSError):
        kind = _ERRNO_KINDS.get(exc.errno or 0, "other")
    elif isinstance(exc, json.JSONDecodeError):
        kind = "corrupt"
    else:
        name = str(getattr(exc, "sqlite_errorname", "") or "")
        text = str(exc).lower()
        for candidate, names, words in _SQLITE_KINDS:
            if name.startswith(names) or (not name and any(w in text for w in words)):
                kind = candidate
                break
    reason, advice = _ADVICE[kind]
    verb = {"open": "open", "read": "read", "write": "write to"}[operation]
    because = f"{reason.format(timeout=timeout)} ({exc})" if reason else str(exc)
    message = (
        f"cannot {verb} the result store at {path}: {because}. {advice}, "
        "or cache=False to run without a store."
    )
    return StoreError(message, path=path, operation=operation)


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)


def cache_info(path: Path | str | None = None) -> CacheInfo:
    """Describe the result store (the default one unless ``path`` is given).

    Raises:
        StoreError: The store cannot be opened or read.

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

    Raises:
        StoreError: The store cannot be opened or written.

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
