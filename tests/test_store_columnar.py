"""The result store's columnar form: what a re-run reads instead of the JSON.

- round trip: answers stored with the kind's codec come back as `StoredRow` rows, and
  every output (wide with any widths, long for each list, organizations) flattens from
  them exactly as from the records themselves and from their JSON texts; so do chunks
  that mix rows, texts, dicts and Nones;
- compatibility: a store written before the columnar form (with or without claims) is
  brought up to date on open, still reads, from its JSON, and gives the same frame; a
  read-only one reads without being changed;
- the JSON stays the source of truth: a ``results`` row written, changed or deleted
  behind the columnar form's back (as an older version does) drops its columnar row, a
  blob that is damaged or of another format is ignored, and `clear` leaves nothing;
- lifetimes (found, not-found, ``max_age``) hold as for the JSON.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from salesql_frames import sandbox
from salesql_frames._decode import decode, project
from salesql_frames._flatten import explode_persons, organization_columns, person_columns
from salesql_frames._kinds import ORGANIZATION, PERSON
from salesql_frames._models import RawRecord, StoredRow
from salesql_frames._schema import Widths, person_record_type
from salesql_frames._store import ResultStore, new_owner
from tests.conftest import EARLIER_RESULTS_TABLE

ROOT = Path(__file__).resolve().parents[1]
KEYS = [f"acct|person|li=https://linkedin.com/in/col-{i}" for i in range(400)]


def person_records(n: int, shape: str = "documented") -> list[Any]:
    """Found records with the surprises the decode step handles: none, error, odd types."""
    records: list[Any] = list(sandbox.synthetic_person_records(n, seed=7, shape=shape))  # type: ignore[arg-type]
    records[3] = None  # not found
    records[5] = {"error": "Person not found", "uuid": "x"}  # found by classify, null row
    odd = copy.deepcopy(records[11])
    odd["organization"] = {**(odd.get("organization") or {}), "founded_year": "1999"}
    records[11] = odd  # takes the tolerant path in its batch
    return records


def stored(path: Path, records: list[Any], *, codec: bool = True, batch: int = 100,
           spec: Any = PERSON) -> None:
    """Store ``records`` under KEYS in batches, as a run does (with the kind's codec)."""
    with ResultStore(path) as store:
        for start in range(0, len(records), batch):
            answers = [(KEYS[i], records[i]) for i in range(start, min(start + batch,
                                                                         len(records)))]
            store.put_many("acct", spec.name, answers,
                           codec=spec.codec if codec else None)


def items(path: Path, n: int, spec: Any = PERSON, **kwargs: Any) -> list[Any]:
    with ResultStore(path) as store:
        found = store.look_up(KEYS[:n], raw=True, codec=spec.codec, **kwargs)
    return [found[key].record if key in found else None for key in KEYS[:n]]


def texts(records: list[Any]) -> list[RawRecord | None]:
    return [None if r is None else RawRecord(json.dumps(r, separators=(",", ":")))
            for r in records]


FLATTENS = {
    "wide": lambda items: person_columns(items),
    "wide-4": lambda items: person_columns(items, widths=Widths(emails=4, phones=4, work=4)),
    "wide-none": lambda items: person_columns(items, widths=Widths(emails=0, phones=0, work=0)),
    "long-emails": lambda items: explode_persons(items, explode="emails")[1],
    "long-phones": lambda items: explode_persons(items, explode="phones")[1],
    "long-work": lambda items: explode_persons(items, explode="work_experience")[1],
}


@pytest.mark.parametrize("shape", ["documented", "lean"])
def test_stored_rows_flatten_exactly_as_records_and_texts(tmp_path: Path, shape: str) -> None:
    records = person_records(250, shape)
    stored(tmp_path / "r.db", records)
    rows = items(tmp_path / "r.db", 250)
    assert all(type(row) is StoredRow for i, row in enumerate(rows) if records[i] is not None)
    assert rows[3] is None
    for name, flatten in FLATTENS.items():
        expected = flatten(records)
        assert flatten(rows).equals(expected), name
        assert flatten(texts(records)).equals(expected), name
    parents, _ = explode_persons(rows, explode="emails")
    assert parents.equals(explode_persons(records, explode="emails")[0])


def test_organizations_round_trip(tmp_path: Path) -> None:
    records: list[Any] = list(sandbox.synthetic_organization_records(120, seed=3))
    records[7] = None
    stored(tmp_path / "r.db", records, spec=ORGANIZATION)
    rows = items(tmp_path / "r.db", 120, ORGANIZATION)
    assert sum(type(row) is StoredRow for row in rows) == 119
    assert organization_columns(rows).equals(organization_columns(records))


def test_a_chunk_may_mix_rows_texts_dicts_and_nones(tmp_path: Path) -> None:
    records = person_records(300)
    stored(tmp_path / "a.db", records[:150])
    with ResultStore(tmp_path / "b.db") as other:  # a second pool, from another look-up
        other.put_many("acct", "person", [(KEYS[i], records[i]) for i in range(150, 200)],
                       codec=PERSON.codec)
        second = other.look_up(KEYS[150:200], raw=True, codec=PERSON.codec)
    first = items(tmp_path / "a.db", 150)
    mixed: list[Any] = [*first, *[second[k].record if k in second else None
                                  for k in KEYS[150:200]],
                        *texts(records[200:250]), *records[250:]]
    order = list(range(300))
    order = order[::3] + order[1::3] + order[2::3]  # interleave the kinds of item
    shuffled = [mixed[i] for i in order]
    for name, flatten in FLATTENS.items():
        assert flatten(shuffled).equals(flatten([records[i] for i in order])), name


def test_projection_reads_a_narrower_record_type() -> None:
    records = [r for r in person_records(60) if r is not None]
    full = pa.concat_arrays(list(decode(records, PERSON.codec.record_type, "person")))
    narrow = person_record_type(phones=False, work=False)
    expected = pa.concat_arrays(list(decode(records, narrow, "person")))
    for piece in (slice(0, None), slice(7, 40)):
        sliced = full[piece]
        got = project(sliced, narrow)
        assert got.type == narrow
        assert got.to_pylist() == expected[piece].to_pylist()
    with pytest.raises(TypeError):
        project(full, pa.struct([("no_such_field", pa.string())]))


# -- compatibility ------------------------------------------------------------------------


def earlier_store(path: Path, records: list[Any], *, claims: bool = True) -> None:
    """A store as the versions before the columnar form wrote it."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(EARLIER_RESULTS_TABLE)
        if claims:
            db.executescript(
                """
                CREATE TABLE claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL,
                    expires_at REAL NOT NULL) WITHOUT ROWID;
                CREATE INDEX claims_owner ON claims (owner);
                CREATE INDEX claims_expires_at ON claims (expires_at);
                """
            )
        db.executemany(
            "INSERT INTO results VALUES (?, 'acct', 'person', ?, ?, ?)",
            [(KEYS[i], r is not None, None if r is None else json.dumps(r), time.time())
             for i, r in enumerate(records)],
        )
    db.close()


@pytest.mark.parametrize("claims", [True, False])
def test_an_earlier_store_is_brought_up_to_date_and_reads_its_json(
    tmp_path: Path, claims: bool
) -> None:
    path = tmp_path / "r.db"
    records = person_records(200)
    earlier_store(path, records, claims=claims)
    rows = items(path, 200)
    assert all(type(row) is RawRecord for i, row in enumerate(rows) if records[i] is not None)
    for name, flatten in FLATTENS.items():
        assert flatten(rows).equals(flatten(records)), name
    with sqlite3.connect(path) as db:
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        assert {"columnar", "columnar_batches", "results_inserted", "columnar_deleted"} <= names
        assert db.execute("SELECT COUNT(*) FROM columnar").fetchone() == (0,)
    db.close()
    # New answers get the columnar form; the old ones stay JSON; both read together.
    with ResultStore(path) as store:
        store.put_many("acct", "person", [(KEYS[i], records[i]) for i in range(100, 150)],
                       codec=PERSON.codec)
    rows = items(path, 200)
    kinds = {type(row).__name__ for row in rows[100:150] if row is not None}
    assert kinds == {"StoredRow"}
    assert type(rows[0]) is RawRecord
    for name, flatten in FLATTENS.items():
        assert flatten(rows).equals(flatten(records)), name


_READ_ONLY_CHILD = """
import ctypes, json, os, sys
from salesql_frames._flatten import person_columns
from salesql_frames._kinds import PERSON
from salesql_frames._store import ResultStore

if os.geteuid() == 0:  # root ignores file modes: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    libc = ctypes.CDLL(None, use_errno=True)
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]
    header, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        print(json.dumps({"skip": "capget failed"})); sys.exit(0)
    data[0].effective &= ~0b110
    data[0].permitted &= ~0b110
    if libc.capset(ctypes.byref(header), data) != 0:
        print(json.dumps({"skip": "capset failed"})); sys.exit(0)
try:
    open(sys.argv[1], "r+b").close()
    print(json.dumps({"skip": "the file is still writable"})); sys.exit(0)
except PermissionError:
    pass
keys = json.loads(sys.argv[2])
with ResultStore(sys.argv[1]) as store:
    found = store.look_up(keys, raw=True, codec=PERSON.codec)
rows = [found[key].record if key in found else None for key in keys]
table = person_columns(rows)
print(json.dumps({"kinds": sorted({type(row).__name__ for row in rows}),
                  "names": table.column("salesql_full_name").to_pylist()}))
"""


def test_a_read_only_earlier_store_reads_without_the_columnar_tables(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    records = person_records(50)
    earlier_store(path, records)
    path.chmod(0o400)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _READ_ONLY_CHILD, str(path), json.dumps(KEYS[:50])],
            capture_output=True, text=True, timeout=120, check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(ROOT), os.environ.get("PYTHONPATH", "")])},
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if "skip" in result:
            pytest.skip(result["skip"])
        assert result["kinds"] == ["NoneType", "RawRecord"]
        expected = person_columns(records).column("salesql_full_name").to_pylist()
        assert result["names"] == expected
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT name FROM sqlite_master WHERE name = 'columnar'"
                              ).fetchall() == []
        db.close()
    finally:
        path.chmod(0o600)


def test_a_re_run_gives_the_same_frame_from_either_form(tmp_path: Path) -> None:
    frame = pd.DataFrame({"linkedin_url": [
        f"https://linkedin.com/in/col-run-{i % 45}" + ("/" if i % 2 else "") for i in range(90)
    ] + [None, "not a url"]})
    columnar, json_only = tmp_path / "c.db", tmp_path / "j.db"
    with sandbox.serve(seed=4) as sb, sb.client() as client:
        cold = frame.salesql.enrich_persons(client=client, cache=columnar, progress=False)
        with sqlite3.connect(columnar) as db:
            assert db.execute("SELECT COUNT(*) FROM columnar_batches").fetchone()[0] >= 1
            found = db.execute("SELECT COUNT(*) FROM results WHERE found").fetchone()[0]
            assert db.execute("SELECT COUNT(*) FROM columnar WHERE batch IS NOT NULL"
                              ).fetchone()[0] == found
        db.close()
        json_only.write_bytes(columnar.read_bytes())
        with sqlite3.connect(json_only) as db:
            db.execute("DELETE FROM columnar")
        db.close()
        sent = sb.counters.searches
        for path in (columnar, json_only):
            for how in ({}, {"how": "long", "explode": "phones"}):
                warm = frame.salesql.enrich_persons(client=client, cache=path, progress=False,
                                                    **how)
                again = (cold if not how else
                         frame.salesql.enrich_persons(client=client, cache=columnar,
                                                      progress=False, **how))
                pd.testing.assert_frame_equal(
                    warm.drop(columns="salesql_fetched_at"),
                    again.drop(columns="salesql_fetched_at"))
        assert sb.counters.searches == sent  # nothing sent again


# -- the JSON is the source of truth --------------------------------------------------------


def test_writes_behind_its_back_drop_the_columnar_row(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    records = person_records(100)
    stored(path, records)
    changed = {**records[0], "full_name": "Changed Behind"}
    with sqlite3.connect(path) as db:  # what an older version writes
        db.execute("INSERT OR REPLACE INTO results VALUES (?, 'acct', 'person', 1, ?, ?)",
                   (KEYS[0], json.dumps(changed), time.time()))
        db.execute("UPDATE results SET item = ? WHERE key = ?",
                   (json.dumps({**records[1], "full_name": "Updated"}), KEYS[1]))
        db.execute("DELETE FROM results WHERE key = ?", (KEYS[2],))
    db.close()
    rows = items(path, 100)
    assert type(rows[0]) is RawRecord
    assert type(rows[1]) is RawRecord
    assert rows[2] is None
    assert type(rows[4]) is StoredRow
    names = person_columns(rows).column("salesql_full_name").to_pylist()
    assert names[:3] == ["Changed Behind", "Updated", None]
    assert names[4:] == person_columns(records[4:]).column("salesql_full_name").to_pylist()


def test_a_blob_no_row_points_into_is_dropped_and_clear_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    records = person_records(200)
    stored(path, records)
    with ResultStore(path) as store:  # answered again: the first batch's blob is unused
        store.put_many("acct", "person", [(KEYS[i], records[i]) for i in range(100)],
                       codec=PERSON.codec)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM columnar_batches").fetchone() == (2,)
        db.execute("DELETE FROM results WHERE key IN (?, ?)", (KEYS[150], KEYS[151]))
        assert db.execute("SELECT COUNT(*) FROM columnar_batches").fetchone() == (2,)
    db.close()
    with ResultStore(path) as store:
        store.clear(older_than=-10)  # everything is "older" than 10 s in the future
    with sqlite3.connect(path) as db:
        for table in ("results", "columnar", "columnar_batches"):
            assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table
    db.close()
    stored(path, records)
    with ResultStore(path) as store:
        assert store.clear() == 200
    with sqlite3.connect(path) as db:
        for table in ("results", "columnar", "columnar_batches"):
            assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table
    db.close()


@pytest.mark.parametrize("damage", ["format", "truncated", "garbage"])
def test_an_unreadable_blob_falls_back_to_the_json(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "r.db"
    records = person_records(200)
    stored(path, records)
    with sqlite3.connect(path) as db:
        first = db.execute("SELECT MIN(id) FROM columnar_batches").fetchone()[0]
        if damage == "format":
            db.execute("UPDATE columnar_batches SET format = 'arrow-ipc-batch/1:other' "
                       "WHERE id = ?", (first,))
        elif damage == "truncated":
            db.execute("UPDATE columnar_batches SET data = substr(data, 1, length(data) / 2) "
                       "WHERE id = ?", (first,))
        else:
            (data,) = db.execute("SELECT data FROM columnar_batches WHERE id = ?",
                                 (first,)).fetchone()
            flipped = bytearray(data)
            for i in range(len(flipped) // 3, len(flipped), 97):
                flipped[i] ^= 0x5A
            db.execute("UPDATE columnar_batches SET data = ? WHERE id = ?",
                       (bytes(flipped), first))
    db.close()
    rows = items(path, 200)
    assert {type(row) for row in rows[:100] if row is not None} == {RawRecord}
    assert all(type(row) is StoredRow for row in rows[100:])
    for name, flatten in FLATTENS.items():
        assert flatten(rows).equals(flatten(records)), name


def test_lifetimes_hold_for_the_columnar_form(tmp_path: Path) -> None:
    now = [1_000_000.0]
    path = tmp_path / "r.db"
    with ResultStore(path, found_ttl=100, not_found_ttl=10, now=lambda: now[0]) as store:
        store.put_many("acct", "person", [(KEYS[0], person_records(20)[0]), (KEYS[1], None)],
                       codec=PERSON.codec)
        def fresh(**kwargs: Any) -> dict[str, bool]:
            got = store.look_up(KEYS[:2], raw=True, codec=PERSON.codec, **kwargs)
            return {key: one.fresh for key, one in got.items()}

        assert fresh() == {KEYS[0]: True, KEYS[1]: True}
        assert type(store.look_up(KEYS[:1], raw=True, codec=PERSON.codec)[KEYS[0]].record
                    ) is StoredRow
        now[0] += 50
        assert fresh() == {KEYS[0]: True, KEYS[1]: False}
        assert fresh(max_age=20) == {KEYS[0]: False, KEYS[1]: False}
        stale = store.look_up(KEYS[:1], raw=True, codec=PERSON.codec, max_age=20)[KEYS[0]]
        assert (stale.record, stale.fetched_at) == (None, 1_000_000.0)
        now[0] += 100
        assert fresh() == {KEYS[0]: False, KEYS[1]: False}
        claim = store.claim(KEYS[:2], owner=new_owner(), raw=True, codec=PERSON.codec)
        assert claim.claimed == KEYS[:2]



def test_an_index_row_past_its_blob_is_read_from_the_json(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    records = person_records(250)
    stored(path, records)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE columnar SET row = 999 WHERE key = ?", (KEYS[7],))
        db.execute("UPDATE columnar SET row = -1 WHERE key = ?", (KEYS[8],))
    db.close()
    rows = items(path, 250)
    assert [i for i, row in enumerate(rows) if type(row) is RawRecord] == [7, 8]
    assert rows[3] is None  # not found
    assert sum(type(row) is StoredRow for row in rows) == 250 - 2 - 1
    for name, flatten in FLATTENS.items():
        assert flatten(rows).equals(flatten(records)), name
