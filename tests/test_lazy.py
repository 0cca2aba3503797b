"""polars LazyFrames: ``lf.salesql.enrich_persons(...)`` is the eager result, lazily.

The distinct mapped values are collected, planned and sent once; the rows are joined
back lazily. Compared frame-equal (dtypes, status and error columns, row order) with
the eager polars path on the same data, with what the sandbox counted.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import polars.testing
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import salesql_frames
import salesql_frames._lazy
from salesql_frames import Client, InvalidArgumentError, ResultStore, sandbox
from salesql_frames import _constants as C
from salesql_frames._lazy import collect_streaming
from tests.conftest import press_ctrl_c_once_stalled


def _people(urls: list[str], rows: int, seed: int = 1) -> dict[str, list[Any]]:
    rng = random.Random(seed)
    spellings = [lambda u: u, lambda u: u.upper() + "/", lambda u: " " + u.replace(
        "https://", "www.")]
    column: list[str | None] = []
    for _ in range(rows):
        pick = rng.random()
        if pick < 0.05:
            column.append(None)
        elif pick < 0.08:
            column.append("twitter.com/someone")
        else:
            column.append(rng.choice(spellings)(rng.choice(urls)))
    return {
        "Person Linkedin Url": column,
        "Note": [f"row {i}" for i in range(rows)],
        "Score": list(range(rows)),
    }



def assert_same_results(left: pl.DataFrame, right: pl.DataFrame) -> None:
    """Equal frames from two runs: the fetch times differ, so only which are set is compared."""
    fetched = "salesql_fetched_at"
    polars.testing.assert_frame_equal(left.drop(fetched), right.drop(fetched))
    assert left[fetched].is_null().to_list() == right[fetched].is_null().to_list()
    assert left.columns == right.columns

def test_lazy_wide_equals_eager(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    urls = person_urls(40, found=True) + person_urls(10, found=False, start=1000)
    data = _people(urls, 600)
    eager = pl.DataFrame(data).salesql.enrich_persons(client=client, cache=False,
                                                      progress=False)
    sent = sb.counters.searches
    lazy = pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=False,
                                                     progress=False)

    assert isinstance(lazy, pl.LazyFrame)
    assert sb.counters.searches - sent == sent == 50  # the unique people, once per run
    assert_same_results(lazy.collect(), eager)
    statuses = set(eager["salesql_status"].to_list())
    assert statuses == {"found", "not_found", "invalid_input"}
    # what polars pushes into the source (a slice, a filter, a projection) is honoured
    assert_same_results(lazy.head(7).collect(), eager.head(7))
    where = pl.col("Score") % 7 == 3
    assert_same_results(lazy.filter(where).collect(), eager.filter(where))
    picked = ["salesql_full_name", "Note"]
    polars.testing.assert_frame_equal(lazy.select(picked).collect(), eager.select(picked))


def test_lazy_sinks_and_is_served_from_the_store(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]], tmp_path: Path
) -> None:
    data = _people(person_urls(30), 300, seed=2)
    store = ResultStore(tmp_path / "store.sqlite")
    lf = pl.LazyFrame(data)
    first = lf.salesql.enrich_persons(client=client, cache=store, progress=False).collect()
    sent = sb.counters.searches
    path = tmp_path / "out.parquet"
    lf.salesql.enrich_persons(client=client, cache=store, progress=False).sink_parquet(path)
    assert sb.counters.searches == sent == 30  # the re-run cost nothing
    polars.testing.assert_frame_equal(pl.read_parquet(path), first)
    # a re-run over an enriched frame replaces the result columns
    again = pl.LazyFrame(first).salesql.enrich_persons(client=client, cache=store,
                                                       progress=False)
    polars.testing.assert_frame_equal(again.collect(), first)
    store.close()


def test_lazy_names_flags_only_missing_and_organizations(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    data = {
        "First": ["Ada", "ada ", None, "Grace", "Ada"],
        "Last": ["Lovelace", "LOVELACE", "X", "Hopper", "Lovelace"],
        "Domain": ["acme.io", "https://www.acme.io", "acme.io", None, "acme.io"],
        "Email": [None, None, "a@b.io", None, "x@acme.io"],
    }
    options: dict[str, Any] = dict(first_name="First", last_name="Last",
                                   organization_domain="Domain", only_missing="Email",
                                   match_if_direct_email=True, client=client, cache=False,
                                   progress=False)
    eager = pl.DataFrame(data).salesql.enrich_persons(**options)
    lazy = pl.LazyFrame(data).salesql.enrich_persons(**options).collect()
    assert_same_results(lazy, eager)
    assert lazy["salesql_status"][4] == "skipped"

    firms = {"Website": ["https://www.firm-1.io/", "firm-1.io", None, "firm-2.io"] * 5}
    eager_orgs = pl.DataFrame(firms).salesql.enrich_organizations(client=client, cache=False,
                                                                  progress=False)
    lazy_orgs = salesql_frames.enrich_organizations(pl.LazyFrame(firms), client=client,
                                                    cache=False, progress=False)
    assert_same_results(lazy_orgs.collect(), eager_orgs)


def test_lazy_plan_and_estimate_count_distinct_values(
    person_urls: Callable[..., list[str]],
) -> None:
    data = _people(person_urls(20), 400, seed=3)
    lf = pl.LazyFrame(data)
    eager = pl.DataFrame(data).salesql.plan_persons()
    plan = lf.salesql.plan_persons()
    assert plan.unique_queries == eager.unique_queries == 20
    assert plan.keys == eager.keys
    assert plan.rows == pl.DataFrame(data)["Person Linkedin Url"].n_unique()
    estimate = lf.salesql.estimate_persons(cache=False)
    assert estimate.unique_queries == 20
    assert lf.salesql.estimate_organizations(cache=False, linkedin_url="Note").unique_queries == 0
    assert lf.salesql.plan_organizations(organization_name="Note").unique_queries == 400


def test_lazy_long_output_is_a_clear_error(sb: sandbox.Sandbox, client: Client) -> None:
    lf = pl.LazyFrame({"LinkedIn": ["linkedin.com/in/ada"]})
    with pytest.raises(InvalidArgumentError, match=r'how="long" is not supported on a polars'):
        lf.salesql.enrich_persons(how="long", explode="emails", client=client, cache=False)
    assert sb.counters.searches == 0


def test_collect_streaming_falls_back() -> None:
    calls: list[dict[str, Any]] = []

    class Old:
        """A LazyFrame of polars < 1.23: ``streaming=True``, no streaming engine."""

        def collect(self, *, streaming: bool = False, engine: str = "cpu") -> str:
            calls.append({"streaming": streaming, "engine": engine})
            if engine not in ("cpu", "gpu"):
                raise ValueError(f"unknown engine {engine!r}")
            return "collected"

    assert collect_streaming(Old()) == "collected"
    assert calls == [{"streaming": False, "engine": "streaming"},
                     {"streaming": True, "engine": "cpu"}]
    lf = pl.LazyFrame({"a": [1, 1, 2]}).unique(maintain_order=True)
    polars.testing.assert_frame_equal(collect_streaming(lf), pl.DataFrame({"a": [1, 2]}))


@pytest.mark.parametrize("rows_from", ["python source", "map_batches"])
def test_lazy_reads_the_store_in_chunks_and_streams_batches(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_from: str,
) -> None:
    """Chunks of 7 queries (dictionaries unified across them), batches of rows.

    Rows come from a Python source polars pulls from, or (polars without one) through
    ``map_batches``.
    """
    if rows_from == "map_batches":
        monkeypatch.setattr(salesql_frames._lazy, "_python_source", lambda: None)
    elif salesql_frames._lazy._python_source() is None or not hasattr(pl.LazyFrame,
                                                                      "collect_batches"):
        pytest.skip(f"polars {pl.__version__} has no Python sources (map_batches is used)")
    else:
        monkeypatch.setattr(C, "LAZY_BATCH_ROWS", 4_000)
    data = _people(person_urls(40, found=True) + person_urls(5, found=False, start=900),
                   30_000, seed=4)
    csv = tmp_path / "leads.csv"
    pl.DataFrame(data).write_csv(csv)
    store = ResultStore(tmp_path / "store.sqlite")
    eager = pl.read_csv(csv).salesql.enrich_persons(client=client, cache=store,
                                                    progress=False)
    sent = sb.counters.searches
    monkeypatch.setattr(C, "LAZY_CHUNK_QUERIES", 7)
    reads: list[int] = []
    real_read = salesql_frames._lazy.read_unread

    def counted(*args: Any) -> None:
        reads.append(args[-1] - args[-2])
        real_read(*args)

    monkeypatch.setattr(salesql_frames._lazy, "read_unread", counted)
    batches: list[int] = []
    real_attach = salesql_frames._lazy._Results.attach

    def attach(self: Any, batch: pl.DataFrame) -> pl.DataFrame:
        batches.append(batch.height)
        return real_attach(self, batch)

    monkeypatch.setattr(salesql_frames._lazy._Results, "attach", attach)
    out = tmp_path / "out.parquet"
    pl.scan_csv(csv).salesql.enrich_persons(client=client, cache=store,
                                            progress=False).sink_parquet(out)
    store.close()
    assert sb.counters.searches == sent == 45  # the re-run was answered by the store
    assert reads == [7] * 6 + [3]  # 45 queries, 7 at a time
    assert sum(batches) == 30_000
    if rows_from == "python source":
        assert len(batches) >= 8  # the rows came in batches
        assert max(batches) <= 4_000
    assert_same_results(pl.read_parquet(out), eager)


def test_lazy_top_up_keeps_earlier_results_as_the_eager_path_does(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
) -> None:
    first = pl.DataFrame(_people(person_urls(20), 200, seed=5)).salesql.enrich_persons(
        client=client, cache=False, progress=False)
    sent = sb.counters.searches
    options: dict[str, Any] = dict(client=client, cache=False, progress=False, max_credits=0)
    with pytest.warns(salesql_frames.RunStoppedWarning):
        eager = first.salesql.enrich_persons(**options)
    with pytest.warns(salesql_frames.RunStoppedWarning):
        lazy = first.lazy().salesql.enrich_persons(**options).collect()
    assert sb.counters.searches == sent  # max_credits=0: nothing sent
    assert_same_results(lazy, eager)
    assert lazy["salesql_email_1"].to_list() == first["salesql_email_1"].to_list()
    assert lazy.columns == first.columns  # result columns where they were


def test_lazy_empty_source_and_rows_added_to_it_later(
    sb: sandbox.Sandbox, client: Client, tmp_path: Path,
) -> None:
    csv = tmp_path / "leads.csv"
    pl.DataFrame({"Person Linkedin Url": []}, schema={"Person Linkedin Url": pl.String}
                 ).write_csv(csv)
    lf = pl.scan_csv(csv).salesql.enrich_persons(client=client, cache=False, progress=False)
    assert lf.collect().height == 0
    assert "salesql_status" in lf.collect_schema().names()
    pl.DataFrame({"Person Linkedin Url": ["linkedin.com/in/someone"]}).write_csv(csv)
    out = lf.collect()
    assert out["salesql_status"].to_list() == ["error"]
    assert sb.counters.searches == 0


def test_lazy_rows_the_plan_never_saw_are_errors_not_guesses(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    tmp_path: Path,
) -> None:
    urls = person_urls(3, found=True)
    csv = tmp_path / "leads.csv"
    pl.DataFrame({"Person Linkedin Url": urls}).write_csv(csv)
    lf = pl.scan_csv(csv).salesql.enrich_persons(client=client, cache=False, progress=False)
    changed = [*urls[:2], person_urls(1, found=True, start=500)[0], urls[2]]
    pl.DataFrame({"Person Linkedin Url": changed}).write_csv(csv)  # before the second scan
    out = lf.collect()
    assert sb.counters.searches == 3
    assert out["salesql_status"].to_list() == ["found", "found", "error", "found"]
    assert "were not among those planned" in out["salesql_error"][2]
    assert out["salesql_full_name"][2] is None
    assert out["salesql_full_name"][3] is not None


def _stored_people(client: Client, urls: list[str], path: Path,
                   **store: Any) -> dict[str, list[str]]:
    """A frame's data whose people are all in the store at ``path`` (an eager run)."""
    data = {"Person Linkedin Url": urls}
    with ResultStore(path, **store) as kept:
        pl.DataFrame(data).salesql.enrich_persons(client=client, cache=kept, progress=False)
    return data


def test_lazy_stored_answer_gone_before_it_is_read_is_an_error(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process clears the store between the look-up and the chunked read."""
    path = tmp_path / "store.sqlite"
    data = _stored_people(client, person_urls(10, found=True), path)
    real_read = salesql_frames._lazy.read_unread

    def cleared_first(*args: Any) -> None:
        with ResultStore(path) as other:  # a second connection, as another process has
            assert other.clear() == 10
        real_read(*args)

    monkeypatch.setattr(salesql_frames._lazy, "read_unread", cleared_first)
    out = pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=path,
                                                    progress=False).collect()
    assert sb.counters.searches == 10  # nothing was sent again behind the user's back
    assert out["salesql_status"].to_list() == ["error"] * 10
    assert out["salesql_error"][0].startswith("its stored answer was gone when it was read")


@pytest.mark.parametrize(("press", "kept"), [("raised", 4), ("signal", 8)])
def test_lazy_ctrl_c_while_reading_keeps_what_was_read(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, press: str, kept: int,
) -> None:
    """Ctrl-C while the second chunk of 4 is read. A real SIGINT (main thread, Python's
    handler) is held until the chunk is done; a KeyboardInterrupt where it lands (an
    application's own handler) loses that chunk's reading. Later chunks are skipped."""
    path = tmp_path / "store.sqlite"
    data = _stored_people(client, person_urls(10, found=True), path)
    monkeypatch.setattr(C, "LAZY_CHUNK_QUERIES", 4)
    real_read = salesql_frames._lazy.read_unread
    calls: list[int] = []

    def ctrl_c_on_second(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 2 and press == "signal":
            os.kill(os.getpid(), signal.SIGINT)  # lands in the middle of the chunk
        real_read(*args)
        if len(calls) == 2 and press == "raised":  # read, not yet flattened
            raise KeyboardInterrupt

    monkeypatch.setattr(salesql_frames._lazy, "read_unread", ctrl_c_on_second)
    with pytest.raises(salesql_frames.RunInterrupted) as caught:
        pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=path, progress=False)
    assert len(calls) == 2  # no read after Ctrl-C
    partial = caught.value.partial.collect()
    assert partial["salesql_status"].to_list() == ["found"] * kept + ["skipped"] * (10 - kept)
    assert "kept in the result store" in partial["salesql_error"][9]
    assert partial["salesql_full_name"][:kept].null_count() == 0
    assert sb.counters.searches == 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_lazy_real_ctrl_c_after_the_last_chunk_loses_nothing(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """cache=False: the answers are nowhere else, so a Ctrl-C while they are joined
    must not drop them (they were paid for)."""
    real_joined = salesql_frames._lazy._joined_parts

    def pressed_while_joining(parts: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)
        return real_joined(parts)

    monkeypatch.setattr(salesql_frames._lazy, "_joined_parts", pressed_while_joining)
    data = {"Person Linkedin Url": person_urls(10, found=True)}
    with pytest.raises(salesql_frames.RunInterrupted) as caught:
        pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=False, progress=False)
    assert sb.counters.searches == 10
    partial = caught.value.partial.collect()
    assert partial["salesql_status"].to_list() == ["found"] * 10
    assert partial["salesql_full_name"].null_count() == 0


def test_lazy_ctrl_c_while_sending_still_gives_the_stored_answers(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite"
    stored = _stored_people(client, person_urls(10, found=True), path)
    data = {"Person Linkedin Url": stored["Person Linkedin Url"]
            + person_urls(3, found=True, start=700)}
    sb.faults.add("stall", endpoint="persons_bulk", seconds=6.0)
    press_ctrl_c_once_stalled(sb)
    with pytest.raises(salesql_frames.RunInterrupted) as caught:
        pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=path, progress=False)
    statuses = caught.value.partial.collect()["salesql_status"].to_list()
    assert statuses == ["found"] * 10 + ["skipped"] * 3  # as the eager path gives them


def test_lazy_one_damaged_stored_answer_is_one_error(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite"
    data = _stored_people(client, person_urls(10, found=True), path)
    with sqlite3.connect(path) as raw:  # the JSON of one answer damaged, no columnar copy
        raw.execute("DELETE FROM columnar")
        key = raw.execute("SELECT key FROM results ORDER BY key LIMIT 1").fetchone()[0]
        raw.execute("UPDATE results SET item = '{broken' WHERE key = ?", (key,))
    raw.close()
    with pytest.raises(salesql_frames.StoreError):  # eager: before anything is sent
        pl.DataFrame(data).salesql.enrich_persons(client=client, cache=path, progress=False)
    out = pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=path,
                                                    progress=False).collect()
    assert sb.counters.searches == 10  # nothing sent again
    assert sorted(out["salesql_status"].to_list()) == ["error"] + ["found"] * 9
    assert out.filter(pl.col("salesql_status") == "error")["salesql_error"][0].startswith(
        "its stored answer could not be read")


def test_lazy_answer_fresh_at_the_look_up_is_read_however_long_sending_took(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_000_000.0]
    path = tmp_path / "store.sqlite"
    data = _stored_people(client, person_urls(10, found=True), path, found_ttl=100.0,
                          now=lambda: now[0])
    real_read = salesql_frames._lazy.read_unread

    def an_hour_later(*args: Any) -> None:
        now[0] += 3600.0  # the sending took an hour: every answer is stale by now
        real_read(*args)

    monkeypatch.setattr(salesql_frames._lazy, "read_unread", an_hour_later)
    now[0] += 95.0  # fresh at the look-up, with 5 s left
    with ResultStore(path, found_ttl=100.0, now=lambda: now[0]) as store:
        out = pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=store,
                                                        progress=False).collect()
    assert out["salesql_status"].to_list() == ["found"] * 10
    assert sb.counters.searches == 10


def test_lazy_top_up_over_a_column_of_ones_own_raises_before_sending(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
) -> None:
    data = {"Person Linkedin Url": person_urls(3), "salesql_fetched_at": ["not a time"] * 3}
    with pytest.raises(InvalidArgumentError, match="salesql_fetched_at"):
        pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=False, progress=False)
    assert sb.counters.searches == 0


def test_lazy_combinations_whose_hashes_collide_get_another_seed(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under seed 0 every combination hashes alike (forced): rows must still get their own."""
    real_hashes = salesql_frames._lazy._hashes
    seeds: list[int] = []

    def colliding(frame: Any, keys: list[str], seed: int) -> Any:
        seeds.append(seed)
        hashes = real_hashes(frame, keys, seed)
        return hashes * 0 if seed == 0 else hashes

    monkeypatch.setattr(salesql_frames._lazy, "_hashes", colliding)
    data = _people(person_urls(12, found=True), 80, seed=6)
    lazy = pl.LazyFrame(data).salesql.enrich_persons(client=client, cache=False,
                                                     progress=False).collect()
    eager = pl.DataFrame(data).salesql.enrich_persons(client=client, cache=False,
                                                      progress=False)
    assert seeds[:2] == [0, 1]  # seed 0 refused for the combinations, seed 1 taken
    assert set(seeds[2:]) == {1}  # and every batch of rows hashed with it
    assert_same_results(lazy, eager)


@pytest.mark.parametrize(("values", "narrow"), [
    ([0, 127, -128, None], pa.int8()),
    ([0, 128], pa.int16()),
    ([-129, 32_767], pa.int16()),
    ([32_768, 1], pa.int32()),
    ([2**31, 0], pa.int64()),  # beyond int32: kept
    ([None, None], pa.int64()),  # no values: kept
])
def test_compact_answer_integers_come_back_unchanged(values: list[int | None],
                                                     narrow: pa.DataType) -> None:
    array = pa.array(values, pa.int64())
    compact = salesql_frames._lazy._narrow(array)
    assert compact.type == narrow
    assert compact.cast(pa.int64()).equals(array)


@pytest.mark.parametrize(("distinct", "index"), [(2, pa.int8()), (127, pa.int8()),
                                                 (128, pa.int16()), (40_000, pa.int32())])
def test_compact_answer_dictionaries_come_back_unchanged(distinct: int,
                                                         index: pa.DataType) -> None:
    text = pa.array([f"v{i % distinct}" for i in range(max(distinct, 300))] + [None])
    compact = salesql_frames._lazy._narrow(pc.dictionary_encode(text))
    assert compact.type.index_type == index
    assert compact.cast(pa.string()).equals(text)
    picked = pa.array([3, None, 0, len(text) - 1])  # as rows take them, nulls and all
    assert compact.take(picked).cast(pa.string()).equals(text.take(picked))


@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Paris"])
def test_compact_answer_dates_come_back_unchanged(tz: str | None) -> None:
    day = 86_400_000
    dates = pa.array([0, -3 * day, 19_000 * day, None], pa.timestamp("ms", tz=tz))
    compact = salesql_frames._lazy._narrow(dates)
    assert compact.type == pa.date32()  # whole days: 4 bytes each
    assert compact.cast(dates.type).equals(dates)
    instants = pa.array([0, day + 1, None], pa.timestamp("ms", tz=tz))
    assert salesql_frames._lazy._narrow(instants).equals(instants)  # not whole days: kept
