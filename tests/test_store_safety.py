"""The result store under stress: claims across threads and processes, and failing files.

At the store's API (the run loop's own tests are in ``test_store.py``):

- claims: threads (sharing one store, or each with its own) and processes claiming
  overlapping keys on one file never both get a key; a dead process's claims are void
  at once; a live owner's claim holds until its lease runs out (on an injected clock);
  answers and releases end claims;
- failures: a full disk, a corrupt page, a write lock held by another connection and a
  read-only file are each a `StoreError` with the operation that failed, never a raw
  ``sqlite3`` or ``OSError``;
- compatibility: a file written before claims existed keeps its answers.

Children are real processes (``sys.executable -c``) that report as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import salesql_frames as sf
from salesql_frames import _constants as C
from salesql_frames._store import ResultStore, new_owner
from tests.conftest import EARLIER_RESULTS_TABLE

ROOT = Path(__file__).resolve().parents[1]
KEYS = [f"acct|person|li=https://linkedin.com/in/safe-{i}" for i in range(600)]


def child(code: str, *args: str) -> subprocess.Popen[str]:
    """Start ``python -c code args`` with the package importable; stdout is a pipe."""
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )


def report(code: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    """Run a child to its end; its last stdout line, as JSON."""
    process = child(code, *args)
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, out
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(result["skip"])
    return result


class Clock:
    """A wall clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


# -- claims across threads and processes ----------------------------------------------------

#: One enrichment loop, run by the test's threads and by its child processes: claim a
#: batch, "send" it, store its answers; keys another run holds are asked for again later.
_ENRICH = """
import random, time
from salesql_frames._store import new_owner

def enrich(store, keys, seed, batch=25):
    owner = new_owner()
    todo = list(keys)
    random.Random(seed).shuffle(todo)
    claimed, seen = [], {"answered": 0, "busy": 0}
    while todo:
        ask, todo = todo[:batch], todo[batch:]
        claim = store.claim(ask, owner=owner)
        seen["answered"] += len(claim.answered)
        seen["busy"] += len(claim.busy)
        claimed += claim.claimed
        time.sleep(0.002)  # the request
        store.put_many("acct", "person", [(k, {"uuid": k, "by": owner}) for k in claim.claimed])
        todo += claim.busy
        if claim.busy and len(todo) == len(claim.busy):
            time.sleep(0.005)
    return owner, claimed, seen
"""

_ENRICHING_CHILD = _ENRICH + """
import json, os, sys, threading
from pathlib import Path
from salesql_frames._store import ResultStore

path, seed, folder = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
keys = json.loads(sys.stdin.readline())
shared = ResultStore(path)
stores = [shared, shared, ResultStore(path)]  # two threads share a store, one has its own
results = [None] * len(stores)

def run(i):
    results[i] = enrich(stores[i], keys, seed * 10 + i)

threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
(folder / f"ready-{seed}").touch()
while not (folder / "go").exists():
    time.sleep(0.001)
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(results))
"""


def enrich_in_threads(stores: list[ResultStore], seed: int) -> list[Any]:
    """Run `_ENRICH` in one thread per store; its results, by thread."""
    namespace: dict[str, Any] = {}
    exec(_ENRICH, namespace)
    results: list[Any] = [None] * len(stores)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = namespace["enrich"](stores[i], KEYS, seed + i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_processes_and_threads_on_one_store_never_claim_a_key_twice(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    ResultStore(path).close()
    children = [child(_ENRICHING_CHILD, str(path), str(seed), str(tmp_path)) for seed in (1, 2)]
    for process in children:
        assert process.stdin is not None
        process.stdin.write(json.dumps(KEYS) + "\n")
        process.stdin.flush()
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{s}").exists() for s in (1, 2)):
        assert time.monotonic() < deadline, "the children never got ready"
        time.sleep(0.01)
    shared = ResultStore(path)
    stores = [shared, shared, ResultStore(path)]
    (tmp_path / "go").touch()
    results = enrich_in_threads(stores, seed=100)
    for process in children:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        results += json.loads(out)

    claims = Counter(key for _, claimed, _ in results for key in claimed)
    assert len(results) == 9
    assert len({owner for owner, _, _ in results}) == 9
    assert set(claims) == set(KEYS)  # every key was sent...
    assert max(claims.values()) == 1  # ...by one run only
    assert sum(seen["answered"] + seen["busy"] for _, _, seen in results) > 0  # they overlapped
    answers = shared.get_many(KEYS)
    claimer = {key: owner for owner, claimed, _ in results for key in claimed}
    assert {key: item["by"] for key, item in answers.items() if item} == claimer
    with sqlite3.connect(path) as db:  # every claim ended with its answer
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone() == (0,)
    db.close()
    for store in stores:
        store.close()


def test_threads_that_never_answer_still_get_disjoint_claims(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    shared = ResultStore(path)
    stores = [shared] * 4 + [ResultStore(path) for _ in range(4)]
    claimed: list[list[str]] = [[] for _ in stores]
    start = threading.Barrier(len(stores))

    def grab(i: int) -> None:
        owner, keys = new_owner(), KEYS[:]
        random.Random(i).shuffle(keys)
        start.wait()
        for at in range(0, len(keys), 30):
            claimed[i] += stores[i].claim(keys[at : at + 30], owner=owner).claimed
            time.sleep(0.001)  # let the others in

    threads = [threading.Thread(target=grab, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [key for keys in claimed for key in keys]
    assert sorted(everything) == sorted(KEYS)  # each key once, none lost
    assert sum(bool(keys) for keys in claimed) > 1
    for store in {id(s): s for s in stores}.values():
        store.close()


_CLAIMING_CHILD = """
import json, os, sys
from salesql_frames._store import ResultStore, new_owner

store, owner = ResultStore(sys.argv[1]), new_owner()
claim = store.claim(json.loads(sys.argv[2]), owner=owner)  # the default, long lease
print(json.dumps({"owner": owner, "pid": os.getpid(), "claimed": claim.claimed}), flush=True)
if sys.stdin.readline().strip() == "exit":
    os._exit(0)  # no release, no close: as a crash would
"""


@pytest.mark.parametrize("death", ["exit", "kill"])
def test_a_dead_process_claims_are_void_at_once(tmp_path: Path, death: str) -> None:
    path = tmp_path / "r.db"
    keys = KEYS[:50]
    store = ResultStore(path)
    process = child(_CLAIMING_CHILD, str(path), json.dumps(keys))
    assert process.stdout is not None
    assert process.stdin is not None
    line = json.loads(process.stdout.readline())
    assert line["claimed"] == keys
    assert line["owner"].split(":")[1] == str(line["pid"])
    mine = new_owner()
    while_alive = store.claim([*keys, "other"], owner=mine)
    assert while_alive.busy == keys  # the child lives: its claims hold
    assert while_alive.claimed == ["other"]
    if death == "exit":
        process.stdin.write("exit\n")
        process.stdin.flush()
    else:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdin.close()
    process.stdout.close()
    after = store.claim(keys, owner=mine)
    assert after.claimed == keys  # at once, not after the 15-minute lease
    assert after.busy == []
    store.close()


def test_a_live_claim_holds_until_its_lease_runs_out(tmp_path: Path) -> None:
    clock = Clock()
    store = ResultStore(tmp_path / "r.db", now=clock)
    first, second = new_owner(), new_owner()  # both this process: alive
    assert store.claim(["a", "b"], owner=first, lease_seconds=60).claimed == ["a", "b"]
    assert store.claim(["a", "b", "c"], owner=second, lease_seconds=60).claimed == ["c"]
    clock.now += 30
    assert store.claim(["b"], owner=first, lease_seconds=60).claimed == ["b"]  # renewed
    clock.now += 29.9
    assert store.claim(["a", "b"], owner=second).busy == ["a", "b"]
    clock.now += 0.2  # a's lease ran out; b's runs 30 s more
    claim = store.claim(["a", "b"], owner=second)
    assert (claim.claimed, claim.busy) == (["a"], ["b"])
    assert store.claim(["a"], owner=first).busy == ["a"]  # now second's
    clock.now += 30
    assert store.claim(["b"], owner=second).claimed == ["b"]
    store.close()


def test_claims_of_another_host_or_unknown_owners_wait_for_the_lease(tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead_pid = int(ended.stdout)  # a process that ran and was reaped
    clock = Clock()
    store = ResultStore(tmp_path / "r.db", now=clock)
    host = new_owner().split(":")[0]
    owners = {
        "here": f"{host}:{dead_pid}:ab12",  # this host, process gone: void
        "there": f"elsewhere:{dead_pid}:ab12",  # another host: cannot be checked
        "opaque": "some-run",  # not made by new_owner
    }
    for name, owner in owners.items():
        assert store.claim([name], owner=owner, lease_seconds=60).claimed == [name]
    mine = new_owner()
    claim = store.claim(list(owners), owner=mine)
    assert (claim.claimed, claim.busy) == (["here"], ["there", "opaque"])
    clock.now += 61
    assert store.claim(list(owners), owner=mine).claimed == ["here", "there", "opaque"]
    store.close()


def test_answers_and_releases_end_claims(tmp_path: Path) -> None:
    clock = Clock()
    store = ResultStore(tmp_path / "r.db", found_ttl=3600, not_found_ttl=60, now=clock)
    run, other = new_owner(), new_owner()
    assert store.claim(["a", "b", "c", "d", "a"], owner=run).claimed == ["a", "b", "c", "d"]
    store.put_many("acct", "person", [("a", {"uuid": "1"}), ("b", None)])
    claim = store.claim(["a", "b", "c", "d"], owner=other)
    assert claim.answered == {"a": {"uuid": "1"}, "b": None}  # read in the same transaction
    assert (claim.claimed, claim.busy) == ([], ["c", "d"])
    assert store.release(["c", "d"], owner=other) == 0  # not other's to release
    assert store.release(["c"], owner=run) == 1
    assert store.claim(["c", "d"], owner=other).claimed == ["c"]
    assert store.release(owner=run) == 1  # all of run's: d
    assert store.claim(["d"], owner=other).claimed == ["d"]
    clock.now += 61  # b's not-found answer is stale: b may be sent again
    assert store.claim(["a", "b"], owner=run).claimed == ["b"]
    store.close()


def test_new_owner_is_host_pid_and_a_random_tag() -> None:
    owners = {new_owner() for _ in range(100)}
    assert len(owners) == 100
    host, pid, tag = next(iter(owners)).split(":")
    assert host
    assert pid == str(os.getpid())
    assert int(tag, 16) >= 0


# -- failures are StoreErrors -------------------------------------------------------------


def test_a_full_disk_is_a_write_error(tmp_path: Path) -> None:
    code = """
    import json, os, resource, signal, sys
    from salesql_frames import StoreError
    from salesql_frames._store import ResultStore, new_owner

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
    path = sys.argv[1]
    store = ResultStore(path)
    store.put_many("acct", "person", [("kept", {"uuid": "0"})])
    largest = max(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    resource.setrlimit(resource.RLIMIT_FSIZE, (largest + 8192, resource.RLIM_INFINITY))
    big = [(f"k{i}", {"uuid": str(i), "bio": "x" * 4000}) for i in range(200)]
    failures = []
    for attempt in (lambda: store.put_many("acct", "person", big),
                    lambda: store.claim([f"c{i}-{'x' * 200}" for i in range(2000)],
                                        owner=new_owner())):
        try:
            attempt()
            failures.append(None)
        except StoreError as exc:
            failures.append({"operation": exc.operation, "path": str(exc.path),
                             "message": str(exc)})
        except BaseException as exc:
            failures.append({"raw": repr(exc)})
    print(json.dumps({"failures": failures, "kept": store.get_many(["kept", "k1"])}))
    """
    path = tmp_path / "r.db"
    result = report(code, str(path))
    for failure in result["failures"]:
        assert failure is not None, "the write past the size limit succeeded"
        assert "raw" not in failure, failure
        assert failure["operation"] == "write"
        assert failure["path"] == str(path)
        assert str(path) in failure["message"]
        assert "Free disk space" in failure["message"]
        assert "cache=False" in failure["message"]
    assert result["kept"] == {"kept": {"uuid": "0"}}  # what was stored before is intact


def fill(path: Path, n: int = 400) -> None:
    with ResultStore(path) as store:
        store.put_many("acct", "person", [(k, {"uuid": k, "bio": "y" * 300}) for k in KEYS[:n]])
    assert not Path(f"{path}-wal").exists()  # checkpointed into the file on close


def test_a_corrupt_page_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    fill(path)
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.seek(size // 2 // 4096 * 4096)
        file.write(random.Random(3).randbytes(4 * 4096))
    with pytest.raises(sf.StoreError) as caught:
        with ResultStore(path) as store:
            store.get_many(KEYS[:400])
    assert caught.value.operation in {"open", "read"}
    assert caught.value.path == path
    message = str(caught.value)
    assert "corrupt" in message
    assert "Delete it" in message
    assert "cache=False" in message
    assert not isinstance(caught.value.__cause__, sqlite3.Error)


def test_a_file_that_is_not_a_store_is_an_open_error(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    path.write_bytes(random.Random(4).randbytes(64 * 1024))
    with pytest.raises(sf.StoreError, match="corrupt") as caught:
        ResultStore(path)
    assert caught.value.operation == "open"
    assert isinstance(caught.value, sf.ConfigurationError)


def test_a_held_write_lock_is_waited_for_then_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    fill(path, 10)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        store = ResultStore(path, lock_timeout=0.5)  # opening needs no write lock
        assert len(store.get_many(KEYS[:10])) == 10  # nor does reading (WAL)
        for write in (
            lambda: store.put_many("acct", "person", [("new", None)]),
            lambda: store.claim(["new"], owner=new_owner()),
            lambda: store.release(owner="anyone"),
        ):
            started = time.monotonic()
            with pytest.raises(sf.StoreError, match="write lock") as caught:
                write()
            waited = time.monotonic() - started
            assert 0.25 <= waited < 0.5 + 5
            assert caught.value.operation == "write"
            assert "cache=False" in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
    store.put_many("acct", "person", [("new", None)])  # the lock is gone: writes work again
    assert store.get_many(["new"]) == {"new": None}

    holder.execute("BEGIN IMMEDIATE")  # held briefly: waited for, no error
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    patient = ResultStore(path, lock_timeout=10)
    patient.put_many("acct", "person", [("later", None)])
    assert patient.get_many(["later"]) == {"later": None}
    for connection in (store, patient, holder):
        connection.close()


def test_opening_a_new_store_waits_for_another_run_creating_it(tmp_path: Path) -> None:
    """Two runs starting together on one new store: the second waits, it does not fail.

    The holder is a run half-way through opening a new file (rollback journal, a write
    in progress): SQLite answers the switch to WAL with an immediate "database is
    locked", which its own timeout does not cover.
    """
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other (a)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO other VALUES (1)")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    with ResultStore(path, lock_timeout=10) as store:
        store.put_many("acct", "person", [("k", None)])
        assert store.get_many(["k"]) == {"k": None}

    holder.close()

    blocker = sqlite3.connect(tmp_path / "held.db", isolation_level=None)
    blocker.execute("CREATE TABLE other (a)")
    blocker.execute("BEGIN IMMEDIATE")  # never let go: the open gives up after the timeout
    blocker.execute("INSERT INTO other VALUES (1)")
    try:
        started = time.monotonic()
        with pytest.raises(sf.StoreError, match="write lock") as caught:
            ResultStore(tmp_path / "held.db", lock_timeout=0.3)
        assert 0.25 <= time.monotonic() - started < 5
        assert caught.value.operation == "open"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_the_lock_timeout_is_a_few_seconds(tmp_path: Path) -> None:
    assert 1 <= C.STORE_LOCK_TIMEOUT <= 10
    with ResultStore(tmp_path / "r.db") as store:
        assert store.lock_timeout == C.STORE_LOCK_TIMEOUT


_READ_ONLY_CHILD = """
import ctypes, json, os, sys
from salesql_frames import StoreError
from salesql_frames._store import ResultStore, new_owner

def drop_file_override():
    # root ignores file modes: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
    libc = ctypes.CDLL(None, use_errno=True)
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
    header, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    data[0].effective &= ~0b110
    data[0].permitted &= ~0b110
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")

path = sys.argv[1]
if os.geteuid() == 0:
    try:
        drop_file_override()
        open(path, "r+b").close()
    except PermissionError:
        pass  # as wanted: the file is read-only to this process now
    except Exception as exc:
        print(json.dumps({"skip": f"cannot make a file read-only for root: {exc!r}"}))
        sys.exit(0)
    else:
        print(json.dumps({"skip": "cannot make a file read-only for root"}))
        sys.exit(0)
store = ResultStore(path)
result = {"read": store.get_many(["acct|person|li=https://linkedin.com/in/safe-0"])}
for name, write in (("put", lambda: store.put_many("acct", "person", [("new", None)])),
                    ("claim", lambda: store.claim(["new"], owner=new_owner()))):
    try:
        write()
        result[name] = None
    except StoreError as exc:
        result[name] = {"operation": exc.operation, "message": str(exc)}
    except BaseException as exc:
        result[name] = {"raw": repr(exc)}
print(json.dumps(result))
"""


def legacy_store(path: Path, keys: list[str]) -> None:
    """A store as the first versions wrote it: ``results`` only, no ``claims``."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(EARLIER_RESULTS_TABLE)
        db.executemany("INSERT INTO results VALUES (?, 'acct', 'person', 1, ?, ?)",
                       [(key, json.dumps({"uuid": "7"}), time.time()) for key in keys])
    db.close()


@pytest.mark.parametrize("schema", ["current", "legacy"])
def test_a_read_only_file_is_a_write_error_on_put(tmp_path: Path, schema: str) -> None:
    path = tmp_path / "r.db"
    if schema == "current":
        fill(path, 1)
    else:
        legacy_store(path, KEYS[:1])
    path.chmod(0o400)
    result = report(_READ_ONLY_CHILD, str(path))
    assert len(result["read"]) == 1  # answers are still served
    for name in ("put", "claim"):
        failure = result[name]
        assert failure is not None, f"{name} wrote to a read-only file"
        assert "raw" not in failure, failure
        assert failure["operation"] == "write"
        assert "cache=False" in failure["message"]
        if name == "put" or schema == "current":  # a legacy file has no claims table
            assert "not writable" in failure["message"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o400  # opening did not make it writable


def test_an_unusable_path_is_an_open_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(sf.StoreError, match="cache=False") as caught:
        ResultStore(blocker / "sub" / "r.db")
    assert caught.value.operation == "open"
    assert caught.value.path == blocker / "sub" / "r.db"


def test_store_error_pickles_with_its_attributes(tmp_path: Path) -> None:
    error = sf.StoreError("cannot write", path=tmp_path / "r.db", operation="write")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is sf.StoreError
    assert (str(again), again.path, again.operation) == ("cannot write", tmp_path / "r.db",
                                                         "write")


# -- compatibility ------------------------------------------------------------------------


def test_a_store_from_before_claims_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    legacy_store(path, ["old"])
    with ResultStore(path) as store:
        assert store.get_many(["old"]) == {"old": {"uuid": "7"}}
        claim = store.claim(["old", "new"], owner=new_owner())
        assert (claim.answered, claim.claimed) == ({"old": {"uuid": "7"}}, ["new"])
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(results)")]
        assert columns == ["key", "account", "kind", "found", "item", "stored_at"]
        assert db.execute("SELECT key FROM claims").fetchall() == [("new",)]
    db.close()
    with ResultStore(path) as store:  # a second open changes nothing
        assert store.info().entries == 1


def test_a_run_keeps_stored_answers_as_text_until_it_flattens_them(tmp_path: Path) -> None:
    """``look_up(raw=True)`` (what a run uses) gives the texts; ``get_many`` decodes."""
    from salesql_frames._models import RawRecord

    path = tmp_path / "r.db"
    fill(path, 3)
    with ResultStore(path) as store:
        raw = store.look_up(KEYS[:3], raw=True)
        assert all(isinstance(one.record, RawRecord) for one in raw.values())
        assert [raw[k].record.load() for k in KEYS[:3]] == [  # type: ignore[union-attr]
            {"uuid": k, "bio": "y" * 300} for k in KEYS[:3]]
        assert store.get_many(KEYS[:3]) == {k: {"uuid": k, "bio": "y" * 300} for k in KEYS[:3]}


def test_a_damaged_stored_answer_stops_a_re_run_before_anything_is_sent(tmp_path: Path) -> None:
    import pandas as pd

    from salesql_frames import sandbox

    path = tmp_path / "r.db"
    with sandbox.serve(seed=2) as sb, sb.client() as client:
        frame = pd.DataFrame({"linkedin_url": [f"https://linkedin.com/in/dmg-{i}"
                                               for i in range(30)]})
        first = frame.salesql.enrich_persons(client=client, cache=path, progress=False)
        found = int((first["salesql_status"] == "found").sum())
        assert found  # some answers are stored as records
        with sqlite3.connect(path) as connection:  # cut one stored record short
            connection.execute(
                "UPDATE results SET item = substr(item, 1, 50) WHERE key = "
                "(SELECT min(key) FROM results WHERE found)")
        before = sb.counters.searches
        with pytest.raises(sf.StoreError, match="read") as caught:
            frame.salesql.enrich_persons(client=client, cache=path, progress=False)
        assert caught.value.operation == "read"
        assert sb.counters.searches == before  # nothing was sent

        # Damaged inside, still whole-looking ("{...}"): no silent empty row, a warning.
        with sqlite3.connect(path) as connection:
            connection.execute(
                "UPDATE results SET item = substr(item, 1, length(item) / 2) || '}' "
                "WHERE key = (SELECT min(key) FROM results WHERE found)")
        with pytest.warns(sf.StoreWarning, match="1 stored answer could not be read") as seen:
            again = frame.salesql.enrich_persons(client=client, cache=path, progress=False)
        assert seen[0].filename == __file__  # it points at the user's call
        assert sb.counters.searches == before  # still nothing sent
        assert int(again["salesql_full_name"].notna().sum()) == found - 1
