"""``salesql-frames enrich-persons BIG.csv -o out.parquet --stream``: the LazyFrame path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from salesql_frames import sandbox
from tests.test_cli import cli, sandbox_env

ROWS = 3_000
UNIQUE = 400


def leads(path: Path) -> pd.DataFrame:
    frame = pd.DataFrame({
        "Person Linkedin Url": [f"https://www.linkedin.com/in/stream-{i % UNIQUE}/"
                                if i % 97 else None for i in range(ROWS)],
        "Account ID": [f"{i:08d}" for i in range(ROWS)],  # leading zeros stay text
        "Note": [f"=cmd {i}" if i == 5 else f"row {i}" for i in range(ROWS)],
    })
    frame.to_csv(path, index=False)
    return frame


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_streaming_writes_every_row_in_order_and_sends_each_person_once(
    tmp_path: Path, suffix: str,
) -> None:
    frame = leads(tmp_path / "leads.csv")
    with sandbox.serve(seed=8) as sb:
        env = sandbox_env(tmp_path, sb)
        streamed = cli("enrich-persons", "leads.csv", "-o", f"out{suffix}", "--stream",
                       "--quiet", "--no-cache", cwd=tmp_path, env=env)
        assert streamed.returncode == 0, streamed.stderr
        assert sb.counters.searches == UNIQUE  # the sandbox ran each person once
        # the plan and summary count distinct values (the URLs and one blank), and say so
        assert f"Plan(persons): {UNIQUE + 1} rows -> {UNIQUE} unique queries" in streamed.stdout
        assert f"the {UNIQUE + 1} distinct values of the mapped columns" in streamed.stdout
        eager = cli("enrich-persons", "leads.csv", "-o", "eager.parquet", "--quiet",
                    "--no-cache", cwd=tmp_path, env=env)
        assert eager.returncode == 0, eager.stderr
    out = (pl.read_parquet(tmp_path / f"out{suffix}") if suffix == ".parquet" else
           pl.read_csv(tmp_path / f"out{suffix}", infer_schema_length=0))
    reference = pl.read_parquet(tmp_path / "eager.parquet")
    assert out.height == ROWS
    assert out["Account ID"].to_list() == frame["Account ID"].tolist()  # order, zeros kept
    assert out.columns == reference.columns
    for name in ("salesql_status", "salesql_full_name", "salesql_work_email"):
        assert out[name].cast(pl.String).to_list() == reference[name].cast(pl.String).to_list()
    if suffix == ".csv":  # the user's column as it is; result columns would be defused
        assert out["Note"][5] == "=cmd 5"


def test_streaming_refuses_what_it_cannot_stream_before_sending(tmp_path: Path) -> None:
    leads(tmp_path / "leads.csv")
    with sandbox.serve() as sb:
        env = sandbox_env(tmp_path, sb)
        for extra, message in ((["-o", "out.xlsx"], "--stream writes CSV or Parquet"),
                               (["-o", "out.csv", "--explode", "phones"], "--how long"),
                               (["-o", "out.csv", "--preset", "hubspot"], "--preset")):
            done = cli("enrich-persons", "leads.csv", "--stream", *extra, cwd=tmp_path, env=env)
            assert done.returncode == 2, (extra, done.stderr)
            assert message in done.stderr
        assert sb.counters.searches == 0
