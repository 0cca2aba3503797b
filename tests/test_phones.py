"""E.164 phones and line types: against `phonenumbers` itself, over the sandbox."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pyarrow as pa
import pytest

from salesql_frames import sandbox
from salesql_frames._client import Client
from salesql_frames._flatten import explode_persons, person_columns
from salesql_frames._phones import check_region, phone_details

P = "salesql_"
N = 60


def expected(number: str | None, country: str | None, region: str | None = None) -> Any:
    """E.164 and line type of one phone, straight from phonenumbers, or (None, None)."""
    if number is None:
        return None, None
    known = country is not None and country.strip().upper() in phonenumbers.SUPPORTED_REGIONS
    try:
        parsed = phonenumbers.parse(number, country.strip().upper() if known else region)
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_possible_number(parsed):
        return None, None
    kind = phonenumbers.number_type(parsed)
    line = None if kind == phonenumbers.PhoneNumberType.UNKNOWN else (
        phonenumbers.PhoneNumberType.to_string(kind).lower()
    )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), line


def test_trunk_prefix_national_numbers_and_junk() -> None:
    numbers = ["+49 (0)30 123456", "+91 40901 35002", "+39 02 6536 5503", "030 123456",
               "07911 123456", "junk", "12", "", None, "+1 415-555-0100 ext. 12"]
    regions = [None, "IN", None, None, "gb", None, None, None, None, "US"]
    e164, kinds = phone_details(pa.array(numbers, pa.string()), pa.array(regions, pa.string()))
    assert e164.to_pylist() == [
        "+4930123456", "+914090135002", "+390265365503", None, "+447911123456",
        None, None, None, None, "+14155550100",
    ]
    assert kinds.to_pylist()[:5] == ["fixed_line", None, "fixed_line", None, "mobile"]
    for i, (number, region) in enumerate(zip(numbers, regions, strict=True)):
        assert (e164[i].as_py(), kinds[i].as_py()) == expected(number, region)
    # a national number parses only with a region: default_region=, never a guess
    e164, _ = phone_details(pa.array(["030 123456"]), pa.array([None], pa.string()), "DE")
    assert e164.to_pylist() == ["+4930123456"]


def test_unknown_country_code_falls_back_to_default_region() -> None:
    e164, _ = phone_details(pa.array(["030 123456", "030 123456"]),
                            pa.array(["XX", "DE"]), "FR")
    assert e164.to_pylist() == [expected("030 123456", None, "FR")[0], "+4930123456"]


def test_default_region_is_checked_before_anything_is_sent(sb: sandbox.Sandbox,
                                                           client: Client) -> None:
    import pandas as pd

    assert check_region(" gb ") == "GB"
    with pytest.raises(ValueError, match="default_region"):
        check_region("Germany")
    with pytest.raises(TypeError, match="default_region"):
        check_region(49)
    frame = pd.DataFrame({"linkedin_url": ["https://linkedin.com/in/lead-1"]})
    with pytest.raises(ValueError, match="default_region='ZZ'"):
        frame.salesql.enrich_persons(client=client, default_region="ZZ", progress=False,
                                     cache=False)
    assert sb.counters.requests.get("persons_bulk", 0) == 0
    with pytest.raises(ValueError, match="default_region"):
        person_columns([], default_region="nowhere")


def test_each_distinct_pair_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from salesql_frames import _phones

    calls: list[tuple[str, str | None]] = []
    original = _phones._parse
    monkeypatch.setattr(_phones, "_parse", lambda n, r: calls.append((n, r)) or original(n, r))
    numbers = pa.array(["+44 20 7946 0000"] * 500 + ["030 123456"] * 500)
    regions = pa.array(["GB"] * 500 + [None] * 250 + ["DE"] * 250)
    e164, _ = phone_details(numbers, regions)
    assert sorted(calls, key=str) == sorted(
        [("+44 20 7946 0000", "GB"), ("030 123456", None), ("030 123456", "DE")], key=str
    )
    assert e164.to_pylist() == ["+442079460000"] * 500 + [None] * 250 + ["+4930123456"] * 250


@pytest.mark.parametrize("shape", ["documented", "lean"])
def test_sandbox_phones_wide_and_long_match_phonenumbers(
    shape: str, make_frame: Any, column: Any, clock: sandbox.FakeClock
) -> None:
    urls = [f"https://linkedin.com/in/lead-{i}" for i in range(N)]
    with sandbox.serve(seed=11, shape=shape, clock=clock) as sb, sb.client() as client:
        records = [sb.lookup_person({"linkedin_url": url}) for url in urls]
        wide = make_frame({"linkedin_url": urls}).salesql.enrich_persons(
            client=client, max_phones=6, progress=False, cache=False
        )
        long = make_frame({"linkedin_url": urls}).salesql.enrich_persons(
            client=client, how="long", explode="phones", progress=False, cache=False
        )
    checked = 0
    long_rows = column(long, P + "row")
    long_phone, long_e164 = column(long, P + "phone"), column(long, P + "phone_e164")
    long_type = column(long, P + "phone_line_type")
    for row, record in enumerate(records):
        phones = (record or {}).get("phones") or []
        assert len(phones) <= 6
        mine = [k for k, r in enumerate(long_rows) if r == row]
        for i in range(1, 7):
            got = [column(wide, f"{P}phone_{i}{s}")[row] for s in ("", "_e164", "_line_type")]
            if i > len(phones):
                assert got == [None, None, None]
                continue
            phone = phones[i - 1]
            want = expected(phone["phone"], phone.get("country_code"))
            assert got == [phone["phone"], *want]  # the phone itself is unchanged
            k = mine[i - 1]
            assert [long_phone[k], long_e164[k], long_type[k]] == [phone["phone"], *want]
            checked += 1
        if phones:
            best = next((p for p in phones if p.get("is_valid") is True), phones[0])
            assert column(wide, P + "phone")[row] == best["phone"]
            assert column(wide, P + "phone_e164")[row] == expected(
                best["phone"], best.get("country_code"))[0]
    assert checked > 20
    parsed = [e for e in long_e164 if e is not None]
    assert parsed
    assert all(e.startswith("+") and e[1:].isdigit() for e in parsed)


def test_flatten_paths_agree_with_default_region() -> None:
    record = {"uuid": "u", "phones": [
        {"phone": "030 123456", "is_valid": True},
        {"phone": "+33 1 23 45 67 89", "country_code": "FR", "is_valid": False},
    ]}
    wide = person_columns([record, None], default_region="DE")
    assert wide[P + "phone_1_e164"].to_pylist() == ["+4930123456", None]
    assert wide[P + "phone_2_e164"].to_pylist() == ["+33123456789", None]
    assert wide[P + "phone_e164"].to_pylist() == ["+4930123456", None]
    assert wide[P + "phone_line_type"].to_pylist() == ["fixed_line", None]
    parents, long = explode_persons([record, None], explode="phones", default_region="DE")
    assert parents.to_pylist() == [0, 0, 1]
    assert long[P + "phone_e164"].to_pylist() == ["+4930123456", "+33123456789", None]
    assert person_columns([record])[P + "phone_1_e164"].to_pylist() == [None]
