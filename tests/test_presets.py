"""Export presets: a CRM's import headers, the user's columns kept, one row per lead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames._io import read_table
from salesql_frames._kinds import ORGANIZATION, PERSON
from salesql_frames._presets import PRESETS

P = "salesql_"

#: The headers the docs (docs/src/output.md) promise, written out here on purpose: a
#: change to the tables must change the docs and this list together.
HUBSPOT_CONTACT_HEADERS = [
    "First Name", "Last Name", "Email", "Phone Number", "Job Title", "Company Name",
    "Website URL", "City", "State/Region", "Country/Region", "Industry",
]
SALESFORCE_ACCOUNT_HEADERS = [
    "Account Name", "Website", "Industry", "Employees", "Billing City",
    "Billing State/Province", "Billing Country",
]


def test_the_tables_are_the_documented_ones() -> None:
    assert [header for header, _ in PRESETS["hubspot"][PERSON]] == HUBSPOT_CONTACT_HEADERS
    assert [h for h, _ in PRESETS["salesforce"][ORGANIZATION]] == SALESFORCE_ACCOUNT_HEADERS
    docs = (Path(__file__).parents[1] / "docs/src/output.md").read_text("utf-8")
    for preset, kinds in PRESETS.items():
        for columns in kinds.values():
            for header, sources in columns:
                row = f"| `{header}` | " + ", ".join(f"`{P}{s}`" for s in sources) + " |"
                assert row in docs, (preset, row)


@pytest.mark.parametrize("backend", ["pandas", "polars"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_hubspot_file_has_the_headers_and_one_row_per_lead(
    sb: sandbox.Sandbox, client: Client, person_urls: Any, tmp_path: Path, backend: str,
    suffix: str,
) -> None:
    urls = person_urls(12)
    data = {"linkedin_url": urls, "Owner": [f"rep{i % 3}" for i in range(12)],
            "Email": [f"old{i}@crm.example" for i in range(12)]}
    leads: Any = pl.DataFrame(data) if backend == "polars" else pd.DataFrame(data)
    enriched = leads.salesql.enrich_persons(client=client, cache=False, progress=False)
    path = sf.write_spreadsheet(enriched, tmp_path / f"hubspot{suffix}", preset="hubspot")
    back = read_table(path).frame
    assert list(back.columns) == ["linkedin_url", "Owner", "Email (input)",
                                  *HUBSPOT_CONTACT_HEADERS, P + "status"]
    assert len(back) == 12
    wide = enriched if backend == "pandas" else enriched.to_pandas()
    assert back["Owner"].tolist() == data["Owner"]
    assert back["Email (input)"].tolist() == data["Email"]  # the user's own, renamed
    expected_email = wide[P + "best_email"].astype(object).where(
        wide[P + "best_email"].notna(), None).tolist()
    assert [None if pd.isna(v) else v for v in back["Email"]] == expected_email
    phone = wide[P + "phone_e164"].fillna(wide[P + "phone"])
    assert [None if pd.isna(v) else str(v) for v in back["Phone Number"]] == [
        None if pd.isna(v) else v for v in phone]
    assert any(not pd.isna(v) for v in back["Phone Number"])  # the sandbox gave phones
    assert back[P + "status"].tolist() == wide[P + "status"].tolist()


def test_an_organization_frame_gets_the_accounts_table(
    sb: sandbox.Sandbox, client: Client, tmp_path: Path,
) -> None:
    accounts = pd.DataFrame({"Website": ["acme.com", "initech.com"]})
    enriched = accounts.salesql.enrich_organizations(client=client, cache=False, progress=False)
    path = sf.write_spreadsheet(enriched, tmp_path / "accounts.csv", preset="salesforce")
    back = read_table(path).frame
    assert list(back.columns) == ["Website (input)", *SALESFORCE_ACCOUNT_HEADERS, P + "status"]
    assert back["Website (input)"].tolist() == ["acme.com", "initech.com"]
    assert back["Account Name"].tolist() == enriched[P + "organization_name"].tolist()


def test_result_text_stays_defused_under_its_crm_name(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Note": ["=1+1"], P + "status": ["found"],
                          P + "first_name": ["Ada"], P + "title": ["=HYPERLINK(\"x\")"]})
    path = sf.write_spreadsheet(frame, tmp_path / "x.csv", preset="hubspot")
    text = path.read_text("utf-8")
    assert "'=HYPERLINK" in text  # a result column, renamed "Job Title": still defused
    assert text.splitlines()[1].startswith("=1+1,")  # the user's own column: as it is


def test_generic_is_the_frame_as_it_is(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": ["x"], P + "status": ["found"], P + "title": ["CTO"]})
    plain = sf.write_spreadsheet(frame, tmp_path / "plain.csv")
    generic = sf.write_spreadsheet(frame, tmp_path / "generic.csv", preset="generic")
    assert plain.read_bytes() == generic.read_bytes()


@pytest.mark.parametrize(
    ("frame", "preset", "message"),
    [
        (pd.DataFrame({P + "first_name": ["Ada"]}), "pipedrive", "choose one of generic"),
        (pd.DataFrame({"Name": ["Ada"]}), "hubspot", "no result columns"),
        (pd.DataFrame({P + "row": [0], P + "first_name": ["Ada"]}), "hubspot", "long output"),
    ],
)
def test_a_preset_that_does_not_fit_raises_and_writes_nothing(
    tmp_path: Path, frame: pd.DataFrame, preset: str, message: str,
) -> None:
    with pytest.raises(sf.InvalidArgumentError, match=message):
        sf.write_spreadsheet(frame, tmp_path / "x.csv", preset=preset)
    assert not list(tmp_path.iterdir())


def test_the_cli_writes_a_hubspot_csv_with_the_documented_headers(tmp_path: Path) -> None:
    """``salesql-frames enrich-persons ... --preset hubspot`` against a real sandbox."""
    from tests.test_cli import cli, sandbox_env

    rows = 9
    leads = pd.DataFrame({"Person Linkedin Url": [f"https://linkedin.com/in/cli-preset-{i % 7}"
                                                  for i in range(rows)],
                          "Lead Owner": [f"rep{i}" for i in range(rows)]})
    leads.to_csv(tmp_path / "leads.csv", index=False)
    with sandbox.serve() as sb:
        done = cli("enrich-persons", "leads.csv", "-o", "hubspot.csv", "--preset", "hubspot",
                   "--quiet", cwd=tmp_path, env=sandbox_env(tmp_path, sb))
        assert done.returncode == 0, done.stderr
        assert sb.counters.searches == 7  # the duplicates went once
    back = pd.read_csv(tmp_path / "hubspot.csv", dtype=str, keep_default_na=False)
    assert list(back.columns) == ["Person Linkedin Url", "Lead Owner", *HUBSPOT_CONTACT_HEADERS,
                                  P + "status"]
    assert len(back) == rows
    assert back["Lead Owner"].tolist() == leads["Lead Owner"].tolist()
    assert set(back[P + "status"]) <= {"found", "not_found"}
    assert (back.loc[back[P + "status"] == "found", "First Name"] != "").all()


def test_the_cli_refuses_a_preset_with_long_output_before_sending(tmp_path: Path) -> None:
    from tests.test_cli import cli, sandbox_env

    pd.DataFrame({"Person Linkedin Url": ["https://linkedin.com/in/x"]}).to_csv(
        tmp_path / "leads.csv", index=False)
    with sandbox.serve() as sb:
        done = cli("enrich-persons", "leads.csv", "--preset", "salesforce", "--explode",
                   "phones", cwd=tmp_path, env=sandbox_env(tmp_path, sb))
        assert sb.counters.searches == 0
    assert done.returncode == 2
    assert "--preset salesforce writes one row per input row" in done.stderr


def test_a_renamed_input_column_never_overwrites_another(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Email": ["mine@x.io"], "Email (input)": ["keep-me"],
                          P + "status": ["found"], P + "first_name": ["Ada"],
                          P + "best_email": ["ada@acme.io"]})
    back = read_table(sf.write_spreadsheet(frame, tmp_path / "x.csv", preset="hubspot")).frame
    assert back["Email (input)"].tolist() == ["keep-me"]
    assert back["Email (input 2)"].tolist() == ["mine@x.io"]
    assert back["Email"].tolist() == ["ada@acme.io"]
