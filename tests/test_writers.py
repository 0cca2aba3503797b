"""Result frames go straight into every usual writer (issue 12, finding 1).

The datetime columns are naive UTC by default, which pandas' ``to_excel`` (zoned values
raise "Excel does not support datetimes with timezones"), ``to_csv`` and polars'
``write_excel`` take as they are; ``tz=`` gives zoned columns for those who want them.
Each file is read back and its datetimes compared with the frame's.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from salesql_frames import Client, InvalidArgumentError, sandbox

AT = "salesql_fetched_at"
START = "salesql_timestamp_work_experience_start"


@pytest.fixture
def no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a fresh install: openpyxl comes only with the test extra."""
    monkeypatch.setitem(sys.modules, "openpyxl", None)


def _enriched(kind: str, client: Client, urls: list[str], **kwargs: object) -> object:
    data = {"LinkedIn": urls}
    frame = pd.DataFrame(data) if kind == "pandas" else pl.DataFrame(data)
    return frame.salesql.enrich_persons(client=client, cache=False, progress=False, **kwargs)


def test_pandas_writers_take_the_result_as_it_is(
    tmp_path: Path, client: Client, sb: sandbox.Sandbox,
    person_urls: Callable[..., list[str]], no_openpyxl: None,
) -> None:
    out = _enriched("pandas", client, person_urls(3, found=True))
    assert sb.counters.searches == 3
    assert str(out[AT].dtype) == "datetime64[ms]"
    out.to_excel(tmp_path / "out.xlsx", index=False)
    out.to_csv(tmp_path / "out.csv", index=False)
    out.to_parquet(tmp_path / "out.parquet")
    back = pd.read_excel(tmp_path / "out.xlsx", engine="calamine")
    assert list(back[AT]) == list(out[AT])
    assert list(back[START]) == list(out[START])
    text = pd.read_csv(tmp_path / "out.csv", dtype=str)[AT]
    assert not text.str.contains(r"\+00:00").any()
    assert list(pd.to_datetime(text)) == list(out[AT])
    assert pd.read_parquet(tmp_path / "out.parquet")[AT].equals(out[AT])


def test_polars_writers_take_the_result_as_it_is(
    tmp_path: Path, client: Client, person_urls: Callable[..., list[str]],
    no_openpyxl: None,
) -> None:
    out = _enriched("polars", client, person_urls(3, found=True))
    assert out.schema[AT] == pl.Datetime("ms")
    out.write_excel(tmp_path / "out.xlsx")
    out.write_csv(tmp_path / "out.csv")
    out.write_parquet(tmp_path / "out.parquet")
    back = pd.read_excel(tmp_path / "out.xlsx", engine="calamine")
    assert [value.to_pydatetime() for value in back[AT]] == out[AT].to_list()
    assert pl.read_parquet(tmp_path / "out.parquet")[AT].equals(out[AT])
    text = pl.read_csv(tmp_path / "out.csv", infer_schema_length=0)[AT].to_list()
    assert all("+" not in value for value in text)


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_tz_gives_the_same_instants_zoned(
    kind: str, client: Client, person_urls: Callable[..., list[str]],
) -> None:
    urls = person_urls(2, found=True)
    naive = _enriched(kind, client, urls)
    paris = _enriched(kind, client, urls, tz="Europe/Paris")
    starts = list(naive[START])  # type: ignore[index]
    zoned = list(paris[START])  # type: ignore[index]
    assert all(value.tzinfo is not None for value in zoned)
    assert [value.astimezone(dt.timezone.utc).replace(tzinfo=None) for value in zoned] == [
        pd.Timestamp(value).to_pydatetime() for value in starts]


def test_a_misspelled_time_zone_raises_before_anything_is_sent(
    client: Client, sb: sandbox.Sandbox, person_urls: Callable[..., list[str]],
) -> None:
    with pytest.raises(InvalidArgumentError, match=r"tz must be None .* got 'Europe/Pariss'"):
        _enriched("pandas", client, person_urls(1), tz="Europe/Pariss")
    assert sb.counters.searches == 0


def test_a_zoned_top_up_keeps_naive_earlier_values_and_the_other_way_round(
    client: Client, sb: sandbox.Sandbox, person_urls: Callable[..., list[str]],
) -> None:
    first = _enriched("pandas", client, person_urls(2, found=True))
    assert isinstance(first, pd.DataFrame)
    topped = first.salesql.enrich_persons(client=client, cache=False, progress=False,
                                          only_missing="salesql_work_email", tz="UTC")
    assert sb.counters.searches == 2  # nothing re-sent
    assert list(topped[AT].dt.tz_localize(None)) == list(first[AT])
    back = topped.salesql.enrich_persons(client=client, cache=False, progress=False,
                                         only_missing="salesql_work_email")
    assert list(back[AT]) == list(first[AT])
