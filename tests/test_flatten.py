"""Tests for the flatten step: decoding (`_decode`) and columnar shaping (`_flatten`)."""

from __future__ import annotations

import copy
import datetime as dt
import random
import types
from typing import Any

import pyarrow as pa
import pytest
from reference_examples import REFERENCE_ORGANIZATION, REFERENCE_PERSON

from salesql_frames import _constants, _decode, _flatten
from salesql_frames._flatten import (
    Widths,
    explode_persons,
    long_person_schema,
    organization_columns,
    organization_schema,
    person_columns,
    person_schema,
)
from salesql_frames._schema import (
    DEFAULT_WIDTHS,
    EXPLODE_TARGETS,
    ORGANIZATION_ENVELOPE,
    ORGANIZATION_RECORD_TYPE,
    PERSON_ENVELOPE,
    ExplodeTarget,
)

P = "salesql_"
UTC = dt.timezone.utc

NOT_FOUND = {"error": "Person not found"}

def ms(year: int, month: int = 1, day: int = 1) -> int:
    return int(dt.datetime(year, month, day, tzinfo=UTC).timestamp() * 1000)


def lean_person(n_emails: int = 19) -> dict[str, Any]:
    """A record in the shape real bulk answers had: flat organization_name, few keys."""
    return {
        "uuid": "lean-1",
        "last_name": "Doe",  # first_name absent, as in one real record
        "full_name": "Jane Doe",
        "linkedin_url": "https://linkedin.com/in/jane-doe",
        "emails": [
            {
                "email": f"jane{i}@acme.com",
                "type": "Work" if i % 3 else "Direct",
                "status": "Unverifiable" if i < 5 else "Valid",
            }
            for i in range(n_emails)
        ],
        "phones": [{"phone": "+44 20 7946 0000", "type": "Work", "is_valid": False}],
        "organization_name": "Acme",
    }


def synthetic_persons(n: int, *, seed: int = 0, shape: str = "documented") -> list[dict[str, Any]]:
    """A small deterministic generator of clean person records (both shapes)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        if rng.random() < 0.1:
            out.append(copy.deepcopy(NOT_FOUND))
            continue
        emails = [
            {
                "email": f"p{i}.{k}@{rng.choice(['acme.com', 'gmail.com'])}",
                "type": rng.choice(["Work", "Direct", "work"]),
                "status": rng.choice(["Valid", "Unverifiable", "Invalid"]),
            }
            for k in range(rng.choice([0, 0, 1, 2, 3, 4, 7]))
        ]
        phones: list[dict[str, Any]] = []
        for _ in range(rng.choice([0, 1, 1, 2, 5])):
            phone: dict[str, Any] = {"phone": f"+1 555 {rng.randrange(10**7):07d}", "type": "Work"}
            if rng.random() < 0.9:
                phone["country_code"] = "US"
            phone["is_valid"] = rng.random() < 0.8
            phones.append(phone)
        record: dict[str, Any] = {
            "uuid": f"u{i}",
            "first_name": f"F{i}",
            "last_name": f"L{i}",
            "full_name": f"F{i} L{i}",
            "linkedin_url": f"https://linkedin.com/in/p{i}",
            "emails": emails,
            "phones": phones,
        }
        if shape == "lean":
            record["organization_name"] = None if rng.random() < 0.1 else f"Org {i % 7}"
        else:
            organization = {
                "uuid": f"o{i % 7}",
                "name": f"Org {i % 7}",
                "website": f"https://org{i % 7}.com",
                "website_domain": f"org{i % 7}.com",
                "linkedin_url": f"https://linkedin.com/company/org{i % 7}",
                "logo": None,
                "founded_year": 1990 + i % 30,
                "number_of_employees": "11 - 50",
                "type": "privately-held",
                "industry": "Software",
                "location": {"city": "Lima", "country": "Peru", "country_code": "PE"},
            }
            work = []
            for k in range(rng.choice([0, 1, 2, 4])):
                entry: dict[str, Any] = {
                    "title": f"T{k}",
                    "timestamp_start": ms(2010 + k),
                    "is_current": k == 0,
                    "organization": organization if k == 0 else {"name": f"Prev {k}"},
                }
                if k:
                    entry["timestamp_end"] = ms(2011 + k)
                work.append(entry)
            record.update(
                title="Engineer",
                headline="Engineer at Org",
                image=None,
                industry="Software",
                location={"city": "Lima", "state": "Lima", "country": "Peru", "country_code": "PE"},
                organization=organization,
                work_experience=work,
                timestamp_work_experience_start=ms(2009) if work else None,
            )
        out.append(record)
    return out


def row(table: pa.Table, i: int = 0) -> dict[str, Any]:
    return {name: table.column(name)[i].as_py() for name in table.column_names}


# The public functions with every chunk decoded on the tolerant path, shaped by the
# same builders: comparing them with the public functions compares the two paths.


def tolerant_person_columns(
    items: list[Any], *, widths: Widths = DEFAULT_WIDTHS, prefix: str = P
) -> pa.Table:
    record_type = _flatten._wide_record_type(widths)
    chunks = _decode.decode(items, record_type, PERSON_ENVELOPE, tolerant=True)
    return _flatten._person_table(chunks, widths, prefix)


def tolerant_explode_persons(
    items: list[Any], *, explode: ExplodeTarget, prefix: str = P
) -> tuple[pa.Array, pa.Table]:
    record_type = _flatten._long_record_type(explode)
    chunks = _decode.decode(items, record_type, PERSON_ENVELOPE, tolerant=True)
    return _flatten._long_person_table(chunks, explode, prefix)


def tolerant_organization_columns(items: list[Any], *, prefix: str = P) -> pa.Table:
    chunks = _decode.decode(items, ORGANIZATION_RECORD_TYPE, ORGANIZATION_ENVELOPE, tolerant=True)
    return _flatten._organization_table(chunks, prefix)


# ---------------------------------------------------------------------------
# schemas
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "items",
    [
        [],
        [None, None],
        [NOT_FOUND, {"error": "Something else"}],
        [REFERENCE_PERSON, None, NOT_FOUND, lean_person()],
        [{}],
        ["not a record", 42],
    ],
    ids=["empty", "all-none", "errors", "found", "empty-dict", "junk"],
)
def test_person_schema_is_stable(items: list[Any]) -> None:
    table = person_columns(items)
    assert table.schema == person_schema()
    assert table.num_rows == len(items)
    for explode in ("emails", "phones", "work_experience"):
        parents, long = explode_persons(items, explode=explode)
        assert long.schema == long_person_schema(explode)
        assert parents.type == pa.int64()
        assert len(parents) == long.num_rows
    organizations = organization_columns(items)
    assert organizations.schema == organization_schema()
    assert organizations.num_rows == len(items)


def test_person_column_order() -> None:
    names = person_schema(Widths(emails=1, phones=1, work=1)).names
    assert names[:4] == [P + "uuid", P + "full_name", P + "first_name", P + "last_name"]
    scalars_end = names.index(P + "work_experience_count")
    assert names[scalars_end + 1 :] == [
        P + "email_1", P + "email_1_type", P + "email_1_status",
        P + "email_1_is_free", P + "email_1_is_role",
        P + "phone_1", P + "phone_1_type", P + "phone_1_country_code", P + "phone_1_is_valid",
        P + "phone_1_e164", P + "phone_1_line_type",
        P + "work_1_title", P + "work_1_organization_name", P + "work_1_organization_domain",
        P + "work_1_start", P + "work_1_end", P + "work_1_is_current",
    ]  # fmt: skip
    assert names[scalars_end - 8 : scalars_end + 1] == [
        P + "work_email", P + "direct_email", P + "phone",
        P + "phone_e164", P + "phone_line_type", P + "best_email",
        P + "email_count", P + "phone_count", P + "work_experience_count",
    ]  # fmt: skip
    assert len(names) == len(set(names))


def test_schema_types() -> None:
    schema = person_schema()
    ts = pa.timestamp("ms", tz="UTC")
    assert schema.field(P + "timestamp_work_experience_start").type == ts
    assert schema.field(P + "work_2_start").type == ts
    assert schema.field(P + "work_3_end").type == ts
    assert schema.field(P + "organization_founded_year").type == pa.int64()
    assert schema.field(P + "email_count").type == pa.int64()
    assert schema.field(P + "phone_1_is_valid").type == pa.bool_()
    assert schema.field(P + "work_1_is_current").type == pa.bool_()
    assert schema.field(P + "organization_number_of_employees").type == pa.string()
    assert organization_schema().field(P + "organization_founded_year").type == pa.int64()


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------


def test_reference_person_lands_in_the_right_columns() -> None:
    table = person_columns([REFERENCE_PERSON, NOT_FOUND])
    got = row(table)
    expected = {
        "uuid": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "full_name": "Sandro Carsava",
        "first_name": "Sandro",
        "last_name": "Carsava",
        "title": "Head, Sales Solutions Latin America",
        "headline": "Head, Sales Solutions Latin America at LinkedIn",
        "linkedin_url": "https://linkedin.com/in/sandrocarsava",
        "image": "https://cdn.example.com/person/sample-profile.png",
        "industry": None,
        "location": None,
        "location_city": None,
        "timestamp_work_experience_start": dt.datetime(2001, 1, 1, tzinfo=UTC),
        "organization_uuid": "9473d991-87ad-43f6-91ee-a42bb54898f4",
        "organization_name": "LinkedIn",
        "organization_domain": "linkedin.com",
        "organization_website": "https://careers.linkedin.com",
        "organization_linkedin_url": "https://linkedin.com/company/linkedin",
        "organization_logo": "https://cdn.example.com/company/linkedin.png",
        "organization_industry": None,
        "organization_number_of_employees": "10001+",
        "organization_founded_year": 2003,
        "organization_type": "public",
        "work_email": "first.last@company.com",
        "direct_email": "first.last@gmail.com",
        "phone": "+1 555-123-4567",
        "email_count": 2,
        "phone_count": 2,
        "work_experience_count": 2,
        "email_1": "first.last@gmail.com",
        "email_1_type": "Direct",
        "email_1_status": "Valid",
        "email_2": "first.last@company.com",
        "email_2_type": "Work",
        "email_3": None,
        "phone_1": "+1 555-123-4567",
        "phone_1_type": "Personal",
        "phone_1_country_code": "US",
        "phone_1_is_valid": True,
        "phone_2": "+1 555-987-6543",
        "phone_3_is_valid": None,
        "work_1_title": "Head, Sales Solutions Latin America",
        "work_1_organization_name": "LinkedIn",
        "work_1_organization_domain": "linkedin.com",
        "work_1_start": dt.datetime(2020, 1, 1, tzinfo=UTC),
        "work_1_end": None,
        "work_1_is_current": True,
        "work_2_title": "Managing Partner",
        "work_2_organization_name": "NOXBE Ventures",
        "work_2_organization_domain": None,
        "work_2_start": dt.datetime(2017, 1, 1, tzinfo=UTC),
        "work_3_title": None,
    }
    assert {k: got[P + k] for k in expected} == expected
    assert all(value is None for value in row(table, 1).values())


def test_lean_record() -> None:
    table = person_columns([lean_person(19)])
    got = row(table)
    assert got[P + "organization_name"] == "Acme"
    assert got[P + "organization_uuid"] is None
    assert got[P + "first_name"] is None
    assert got[P + "title"] is None
    assert got[P + "email_count"] == 19
    assert got[P + "phone_count"] == 1
    assert got[P + "work_experience_count"] == 0
    assert [got[f"{P}email_{i}"] for i in (1, 2, 3)] == [
        "jane0@acme.com",
        "jane1@acme.com",
        "jane2@acme.com",
    ]
    assert P + "email_4" not in table.column_names
    assert got[P + "phone_1_country_code"] is None
    assert got[P + "phone_1_is_valid"] is False
    assert got[P + "work_1_title"] is None
    # Work and Valid first: jane5 (i=5: Work, Valid); Direct and Valid: jane6.
    assert got[P + "work_email"] == "jane5@acme.com"
    assert got[P + "direct_email"] == "jane6@acme.com"
    # no valid phone: the first phone
    assert got[P + "phone"] == "+44 20 7946 0000"


def test_organization_object_name_wins_over_flat_name() -> None:
    both = dict(REFERENCE_PERSON, organization_name="Flat Name")
    flat_only = {"uuid": "x", "organization_name": "Flat Name"}
    no_name = {"uuid": "y", "organization": {"uuid": "o"}, "organization_name": "Flat Name"}
    table = person_columns([both, flat_only, no_name])
    assert table.column(P + "organization_name").to_pylist() == [
        "LinkedIn",
        "Flat Name",
        "Flat Name",
    ]


@pytest.mark.parametrize(
    ("emails", "work", "direct"),
    [
        (
            [
                {"email": "w1", "type": "Work", "status": "Unverifiable"},
                {"email": "w2", "type": "WORK", "status": "valid"},
                {"email": "d1", "type": "direct", "status": "Invalid"},
            ],
            "w2",
            "d1",
        ),
        ([{"email": "w1", "type": "work", "status": "Unverifiable"}], "w1", None),
        ([{"email": "d1", "type": " Direct ", "status": "VALID"}], None, "d1"),
        (
            [
                {"type": "Work", "status": "Valid"},  # no address: never picked
                {"email": "w2", "type": "Work", "status": "Unverifiable"},
            ],
            "w2",
            None,
        ),
        ([{"email": "x", "type": "Other", "status": "Valid"}], None, None),
        ([], None, None),
    ],
)
def test_email_best_picks(
    emails: list[dict[str, Any]], work: str | None, direct: str | None
) -> None:
    got = row(person_columns([{"uuid": "u", "emails": emails}]))
    assert (got[P + "work_email"], got[P + "direct_email"]) == (work, direct)


@pytest.mark.parametrize(
    ("phones", "best"),
    [
        ([{"phone": "a", "is_valid": False}, {"phone": "b", "is_valid": True}], "b"),
        ([{"phone": "a", "is_valid": False}, {"phone": "b"}], "a"),
        ([{"is_valid": True}, {"phone": "b", "is_valid": False}], "b"),
        ([], None),
    ],
)
def test_phone_best_pick(phones: list[dict[str, Any]], best: str | None) -> None:
    assert row(person_columns([{"uuid": "u", "phones": phones}]))[P + "phone"] == best


def test_best_picks_per_row_with_many_rows() -> None:
    items = [
        {"uuid": "a", "emails": [{"email": "a1", "type": "Work", "status": "Valid"}]},
        None,
        {"uuid": "b", "emails": [{"email": "b1", "type": "Direct", "status": "Valid"}]},
        {"uuid": "c", "emails": [
            {"email": "c1", "type": "Work", "status": "Invalid"},
            {"email": "c2", "type": "Work", "status": "Valid"},
        ]},
    ]  # fmt: skip
    table = person_columns(items)
    assert table.column(P + "work_email").to_pylist() == ["a1", None, None, "c2"]
    assert table.column(P + "direct_email").to_pylist() == [None, None, "b1", None]


def test_counts_null_for_null_rows_zero_for_found() -> None:
    table = person_columns([{"uuid": "u"}, None, NOT_FOUND, {"uuid": "v", "emails": None}])
    for name in ("email_count", "phone_count", "work_experience_count"):
        assert table.column(P + name).to_pylist() == [0, None, None, 0]


def test_location_object_and_string() -> None:
    items: list[dict[str, Any]] = [
        {"location": {"city": "Lima", "state": "Lima", "country": "Peru", "country_code": "PE"}},
        {"location": {"city": "Paris", "country": "France"}},
        {"location": {"city": "", "state": None, "country": "Chile"}},
        {"location": "Greater Boston Area"},
        {"location": {}},
        {"location": None},
    ]
    table = person_columns(items)
    assert table.column(P + "location").to_pylist() == [
        "Lima, Lima, Peru",
        "Paris, France",
        "Chile",
        "Greater Boston Area",
        None,
        None,
    ]
    assert table.column(P + "location_city").to_pylist() == ["Lima", "Paris", "", None, None, None]
    assert table.column(P + "location_country_code").to_pylist()[0] == "PE"


def test_timestamps_are_utc_aware() -> None:
    table = person_columns([REFERENCE_PERSON])
    for name in (P + "timestamp_work_experience_start", P + "work_1_start", P + "work_2_end"):
        assert table.schema.field(name).type == pa.timestamp("ms", tz="UTC")
    value = table.column(P + "work_1_start")[0].as_py()
    assert value.tzinfo is not None
    assert value.utcoffset() == dt.timedelta(0)
    assert value == dt.datetime(2020, 1, 1, tzinfo=UTC)
    end = {"uuid": "u", "work_experience": [{"title": "x", "timestamp_end": 1483228800000}]}
    assert row(person_columns([end]))[P + "work_1_end"] == dt.datetime(2017, 1, 1, tzinfo=UTC)


def test_unknown_keys_are_ignored() -> None:
    record = copy.deepcopy(REFERENCE_PERSON)
    record["brand_new_field"] = {"nested": [1, 2, {"x": None}]}
    record["emails"][0]["confidence"] = 0.9
    record["organization"]["revenue"] = [1, "2"]
    record["work_experience"][0]["organization"]["whatever"] = object()
    assert person_columns([record]).equals(person_columns([REFERENCE_PERSON]))


def test_wrong_types_are_coerced() -> None:
    record = {
        "uuid": 12345,
        "full_name": True,
        "first_name": 1.5,
        "title": ["a list"],
        "timestamp_work_experience_start": "978307200000",
        "organization": {
            "name": 7,
            "founded_year": "2003",
            "number_of_employees": 50,
            "type": None,
        },
        "emails": [
            {"email": "a@b.com", "type": "Work", "status": "Valid"},
            "not-a-dict",
            None,
            42,
            {"email": 99, "type": "Direct"},
        ],
        "phones": [{"phone": 5551234, "is_valid": "true"}, {"phone": "x", "is_valid": "False"}],
        "work_experience": [
            {"title": "A", "timestamp_start": "2020-01-01T00:00:00Z", "is_current": "yes"},
            {"title": "B", "timestamp_start": 1483228800000.0, "is_current": 0},
            {"title": "C", "timestamp_start": "garbage", "is_current": "maybe"},
        ],
        "location": 17,
    }
    got = row(person_columns([record]))
    assert got[P + "uuid"] == "12345"
    assert got[P + "full_name"] == "true"
    assert got[P + "first_name"] == "1.5"
    assert got[P + "title"] is None
    assert got[P + "timestamp_work_experience_start"] == dt.datetime(2001, 1, 1, tzinfo=UTC)
    assert got[P + "organization_name"] == "7"
    assert got[P + "organization_founded_year"] == 2003
    assert got[P + "organization_number_of_employees"] == "50"
    assert got[P + "email_count"] == 2  # non-dict entries skipped
    assert (got[P + "email_1"], got[P + "email_2"], got[P + "email_2_type"]) == (
        "a@b.com",
        "99",
        "Direct",
    )
    assert got[P + "direct_email"] == "99"
    assert (got[P + "phone_1"], got[P + "phone_1_is_valid"]) == ("5551234", True)
    assert got[P + "phone_2_is_valid"] is False
    assert got[P + "phone"] == "5551234"
    assert got[P + "work_1_start"] == dt.datetime(2020, 1, 1, tzinfo=UTC)
    assert got[P + "work_1_is_current"] is True
    assert got[P + "work_2_start"] == dt.datetime(2017, 1, 1, tzinfo=UTC)
    assert got[P + "work_2_is_current"] is False
    assert got[P + "work_3_start"] is None
    assert got[P + "work_3_is_current"] is None
    assert got[P + "location"] is None


@pytest.mark.parametrize(
    "record",
    [
        {"uuid": "u", "emails": "a@b.com"},
        {"uuid": "u", "emails": {"email": "a@b.com"}},
        {"uuid": "u", "emails": 3},
        {"uuid": "u", "phones": [[1, 2]], "work_experience": "CEO"},
        {"uuid": "u", "organization": "Acme", "location": ["Lima"]},
        {"uuid": "u", "organization": {"founded_year": True}},
        {"uuid": "u", "organization": {"founded_year": float("nan")}},
        {"uuid": "u", "organization": {"founded_year": 2**80}},
        {"uuid": "u", "organization": {"founded_year": "about 2000"}},
        {"uuid": "u", "timestamp_work_experience_start": float("inf")},
        {"uuid": "u", "timestamp_work_experience_start": {"ms": 1}},
        {"uuid": "u", "full_name": float("nan"), "image": b"\xff"},
        {"uuid": "u", "full_name": "lone \ud800 surrogate"},
    ],
)
def test_malformed_values_never_crash(record: dict[str, Any]) -> None:
    table = person_columns([record, REFERENCE_PERSON])
    assert table.schema == person_schema()
    assert table.column(P + "uuid").to_pylist() == ["u", REFERENCE_PERSON["uuid"]]
    # the clean neighbour is unharmed
    assert row(table, 1) == row(person_columns([REFERENCE_PERSON]))
    assert row(table)[P + "email_count"] >= 0
    for explode in ("emails", "phones", "work_experience"):
        explode_persons([record], explode=explode)


def test_non_list_emails_treated_as_empty() -> None:
    got = row(person_columns([{"uuid": "u", "emails": "a@b.com"}]))
    assert got[P + "email_count"] == 0
    assert got[P + "email_1"] is None
    assert got[P + "work_email"] is None


def test_float_years_truncate_like_pyarrow() -> None:
    # The fast path (pyarrow) truncates floats for int64; the tolerant path does too.
    clean = {"uuid": "u", "organization": {"founded_year": 2003.0}}
    dirty = {"uuid": 7, "organization": {"founded_year": 2003.9}}
    table = person_columns([clean, dirty])
    assert table.column(P + "organization_founded_year").to_pylist() == [2003, 2003]


def test_null_list_entries_are_skipped_on_both_paths() -> None:
    record = {"uuid": "u", "emails": [None, {"email": "a"}, None, {"email": "b"}]}
    for flatten in (person_columns, tolerant_person_columns):
        got = row(flatten([record, record]))
        assert got[P + "email_count"] == 2
        assert (got[P + "email_1"], got[P + "email_2"]) == ("a", "b")


def test_mappings_and_envelopes() -> None:
    proxy = types.MappingProxyType(dict(REFERENCE_PERSON))
    wrapped = {"person": REFERENCE_PERSON}
    table = person_columns([proxy, wrapped, {"person": NOT_FOUND}])
    assert table.column(P + "uuid").to_pylist() == [REFERENCE_PERSON["uuid"]] * 2 + [None]
    organizations = organization_columns([{"organization": REFERENCE_ORGANIZATION}])
    assert organizations.column(P + "organization_name").to_pylist() == ["SalesQL"]


@pytest.mark.parametrize(
    ("wide", "long"),
    [(person_columns, explode_persons), (tolerant_person_columns, tolerant_explode_persons)],
    ids=["fast", "tolerant"],
)
def test_error_items(wide: Any, long: Any) -> None:
    items: list[Any] = [
        {"uuid": "err", "full_name": "Has Data", "error": "Person not found"},
        {"error": {"code": 404}},
        {"uuid": "ok", "error": None},  # an error of None is no error
        {"error": ""},
        REFERENCE_PERSON,
    ]
    table = wide(items)
    assert table.column(P + "uuid").to_pylist() == [
        None,
        None,
        "ok",
        None,
        REFERENCE_PERSON["uuid"],
    ]
    assert table.column(P + "email_count").to_pylist() == [None, None, 0, None, 2]
    assert table.column(P + "full_name").to_pylist()[0] is None
    parents, exploded = long(items, explode="emails")
    assert parents.to_pylist() == [0, 1, 2, 3, 4, 4]
    assert exploded.column(P + "uuid").to_pylist()[:3] == [None, None, "ok"]


def test_envelopes_among_plain_records() -> None:
    items: list[Any] = [
        lean_person(),
        {"person": REFERENCE_PERSON},
        {"person": NOT_FOUND},
        NOT_FOUND,
        {"person": "not a record", "uuid": "keeps-its-own"},
    ]
    table = person_columns(items)
    assert table.column(P + "uuid").to_pylist() == [
        "lean-1",
        REFERENCE_PERSON["uuid"],
        None,
        None,
        "keeps-its-own",
    ]
    assert table.equals(tolerant_person_columns(items))


def test_items_that_are_not_records_give_null_rows() -> None:
    junk: list[Any] = [None, "x", 3, [REFERENCE_PERSON], NOT_FOUND]
    table = person_columns(junk)
    assert table.column(P + "uuid").null_count == 5
    assert table.column(P + "email_count").null_count == 5


# ---------------------------------------------------------------------------
# widths and prefix
# ---------------------------------------------------------------------------


def test_widths_configurable() -> None:
    table = person_columns([lean_person(19)], widths=Widths(emails=5, phones=0, work=1))
    assert table.schema == person_schema(Widths(emails=5, phones=0, work=1))
    assert table.column(P + "email_5").to_pylist() == ["jane4@acme.com"]
    assert P + "email_6" not in table.column_names
    assert not any(name.startswith(P + "phone_1") for name in table.column_names)
    assert P + "work_1_title" in table.column_names
    assert P + "work_2_title" not in table.column_names
    # best picks and counts do not depend on widths
    assert row(table)[P + "phone"] == "+44 20 7946 0000"
    assert row(table)[P + "phone_count"] == 1


def test_widths_zero() -> None:
    widths = Widths(emails=0, phones=0, work=0)
    table = person_columns([REFERENCE_PERSON, None], widths=widths)
    assert table.schema == person_schema(widths)
    assert table.column_names[-1] == P + "work_experience_count"
    assert row(table)[P + "work_experience_count"] == 2
    assert row(table)[P + "phone"] == "+1 555-123-4567"
    default = person_columns([REFERENCE_PERSON, None])
    for name in table.column_names:
        assert table.column(name).equals(default.column(name)), name


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_widths_validated(bad: Any) -> None:
    with pytest.raises(ValueError, match="Widths"):
        Widths(emails=bad)


def test_prefix_configurable() -> None:
    table = person_columns([REFERENCE_PERSON], prefix="sq_")
    assert table.schema == person_schema(prefix="sq_")
    assert all(name.startswith("sq_") for name in table.column_names)
    assert table.column("sq_uuid").to_pylist() == [REFERENCE_PERSON["uuid"]]
    empty = person_columns([], prefix="")
    assert empty.column_names[0] == "uuid"
    _, long = explode_persons([REFERENCE_PERSON], explode="phones", prefix="x.")
    assert long.schema == long_person_schema("phones", "x.")
    assert "x.phone_is_valid" in long.column_names
    assert organization_columns([], prefix="o_").column_names[0] == "o_organization_uuid"


# ---------------------------------------------------------------------------
# explode
# ---------------------------------------------------------------------------


def test_explode_emails_semantics() -> None:
    items = [
        REFERENCE_PERSON,  # 2 emails
        None,  # once
        {"uuid": "empty", "emails": []},  # once
        NOT_FOUND,  # once
        {"uuid": "three", "emails": [{"email": f"e{i}"} for i in range(3)]},
        {"uuid": "missing"},  # once
    ]
    parents, table = explode_persons(items, explode="emails")
    assert parents.to_pylist() == [0, 0, 1, 2, 3, 4, 4, 4, 5]
    assert table.schema == long_person_schema("emails")
    assert table.column(P + "email").to_pylist() == [
        "first.last@gmail.com",
        "first.last@company.com",
        None,
        None,
        None,
        "e0",
        "e1",
        "e2",
        None,
    ]
    assert table.column(P + "email_type").to_pylist()[:2] == ["Direct", "Work"]
    assert table.column(P + "uuid").to_pylist() == [
        REFERENCE_PERSON["uuid"], REFERENCE_PERSON["uuid"], None, "empty", None,
        "three", "three", "three", "missing",
    ]  # fmt: skip
    # counts and best picks repeat on every row of an item
    assert table.column(P + "email_count").to_pylist() == [2, 2, None, 0, None, 3, 3, 3, 0]
    assert table.column(P + "work_email").to_pylist()[:2] == ["first.last@company.com"] * 2


def test_explode_column_sets() -> None:
    scalars = [name for name in person_schema(Widths(0, 0, 0)).names]
    emails = long_person_schema("emails").names
    assert emails == [
        *scalars, P + "email", P + "email_type", P + "email_status",
        P + "email_is_free", P + "email_is_role",
    ]  # fmt: skip
    phones = long_person_schema("phones").names
    assert phones.count(P + "phone") == 1
    assert phones[-6:] == [
        P + "phone",
        P + "phone_type",
        P + "phone_country_code",
        P + "phone_is_valid",
        P + "phone_e164",
        P + "phone_line_type",
    ]
    exploded = {P + "phone", P + "phone_e164", P + "phone_line_type"}
    assert phones[:-6] == [name for name in scalars if name not in exploded]
    work = long_person_schema("work_experience").names
    assert work[-6:] == [
        P + "work_title", P + "work_organization_name", P + "work_organization_domain",
        P + "work_start", P + "work_end", P + "work_is_current",
    ]  # fmt: skip
    assert long_person_schema("work_experience").field(P + "work_start").type == pa.timestamp(
        "ms", tz="UTC"
    )
    with pytest.raises(ValueError, match="explode"):
        long_person_schema("titles")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="explode"):
        explode_persons([REFERENCE_PERSON], explode="title")  # type: ignore[arg-type]


def test_explode_phones_replaces_best_pick_column() -> None:
    parents, table = explode_persons([REFERENCE_PERSON, lean_person()], explode="phones")
    assert parents.to_pylist() == [0, 0, 1]
    assert table.column(P + "phone").to_pylist() == [
        "+1 555-123-4567",
        "+1 555-987-6543",
        "+44 20 7946 0000",
    ]
    assert table.column(P + "phone_is_valid").to_pylist() == [True, True, False]
    assert table.column(P + "phone_country_code").to_pylist() == ["US", "US", None]


def test_explode_work_experience() -> None:
    parents, table = explode_persons([REFERENCE_PERSON, lean_person()], explode="work_experience")
    assert parents.to_pylist() == [0, 0, 1]
    assert table.column(P + "work_organization_name").to_pylist() == [
        "LinkedIn",
        "NOXBE Ventures",
        None,
    ]
    assert table.column(P + "work_start").to_pylist()[1] == dt.datetime(2017, 1, 1, tzinfo=UTC)
    assert table.column(P + "organization_name").to_pylist() == ["LinkedIn", "LinkedIn", "Acme"]


def test_explode_empty_input() -> None:
    parents, table = explode_persons([], explode="emails")
    assert len(parents) == 0
    assert parents.type == pa.int64()
    assert table.schema == long_person_schema("emails")


def test_explode_rows_match_wide_rows() -> None:
    items = synthetic_persons(200, seed=3)
    wide = person_columns(items, widths=Widths(0, 0, 0))
    parents, long = explode_persons(items, explode="emails")
    assert long.select(wide.column_names).equals(wide.take(parents))


# ---------------------------------------------------------------------------
# organizations
# ---------------------------------------------------------------------------


def test_organization_columns() -> None:
    record = dict(
        REFERENCE_ORGANIZATION,
        industry="Software",
        location={
            "city": "New York",
            "state": "NY",
            "country": "United States",
            "country_code": "US",
        },
        logo=None,
    )
    table = organization_columns([record, {"error": "Organization not found"}, None])
    got = row(table)
    assert got == {
        P + "organization_uuid": "f705200f-fe17-4960-a0a9-3aea10228448",
        P + "organization_name": "SalesQL",
        P + "organization_domain": "salesql.com",
        P + "organization_website": "https://www.salesql.com",
        P + "organization_linkedin_url": "https://linkedin.com/company/salesql",
        P + "organization_logo": None,
        P + "organization_industry": "Software",
        P + "organization_location_city": "New York",
        P + "organization_location_state": "NY",
        P + "organization_location_country": "United States",
        P + "organization_location_country_code": "US",
        P + "organization_location": "New York, NY, United States",
        P + "organization_number_of_employees": "1 - 10",
        P + "organization_founded_year": 2018,
        P + "organization_type": "self-owned",
    }
    assert all(value is None for value in row(table, 1).values())
    assert all(value is None for value in row(table, 2).values())
    dirty = organization_columns([{"name": 3, "founded_year": "1999", "location": "Lima"}])
    assert row(dirty)[P + "organization_founded_year"] == 1999
    assert row(dirty)[P + "organization_location"] == "Lima"


# ---------------------------------------------------------------------------
# fast path == tolerant path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["documented", "lean"])
def test_fast_and_tolerant_paths_agree_on_clean_data(shape: str) -> None:
    odd = {"uuid": "odd", "emails": [{}, {"unknown": 1}], "location": {}, "organization": {}}
    items: list[Any] = [
        REFERENCE_PERSON,
        lean_person(),
        None,
        odd,
        {"uuid": "err", "error": "Person not found"},
        {"uuid": "no-error", "error": None},
        *synthetic_persons(300, shape=shape),
    ]
    widths = Widths(emails=4, phones=2, work=3)
    fast = person_columns(items, widths=widths)
    tolerant = tolerant_person_columns(items, widths=widths)
    assert fast.equals(tolerant)
    for explode in EXPLODE_TARGETS:
        fast_parents, fast_long = explode_persons(items, explode=explode)
        slow_parents, slow_long = tolerant_explode_persons(items, explode=explode)
        assert fast_parents.equals(slow_parents)
        assert fast_long.equals(slow_long)
    organizations = [REFERENCE_ORGANIZATION, None, *[r.get("organization") for r in items if r]]
    assert organization_columns(organizations).equals(tolerant_organization_columns(organizations))


def test_sparse_chunks_keep_late_keys() -> None:
    # The first items lack most fields (lean), so the chunk's record type is narrowed
    # to the keys its items have: a later full record must keep every value.
    for tail in ([None, REFERENCE_PERSON], [REFERENCE_PERSON]):
        items: list[Any] = [lean_person(2) for _ in range(100)] + tail
        table = person_columns(items)
        assert row(table, len(items) - 1) == row(person_columns([REFERENCE_PERSON]))
        assert table.equals(tolerant_person_columns(items))
    only_lean = person_columns([lean_person(2) for _ in range(100)])
    assert only_lean.schema == person_schema()
    assert only_lean.column(P + "organization_uuid").null_count == 100
    assert only_lean.column(P + "organization_name").to_pylist() == ["Acme"] * 100
    errors: list[Any] = [lean_person(1) for _ in range(80)] + [NOT_FOUND, {"person": lean_person()}]
    wrapped = person_columns(errors)
    assert wrapped.column(P + "uuid").to_pylist()[-3:] == ["lean-1", None, "lean-1"]


def test_fast_path_is_used_on_clean_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("tolerant path used on clean data")

    monkeypatch.setattr(_decode, "_sanitizer", fail)
    person_columns([REFERENCE_PERSON, lean_person(), None, NOT_FOUND, *synthetic_persons(50)])


def test_tolerant_decode_skips_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fast path used on the tolerant path")

    monkeypatch.setattr(_decode, "_fast", fail)
    table = tolerant_person_columns([REFERENCE_PERSON, lean_person(), None, NOT_FOUND])
    assert table.column(P + "uuid").to_pylist() == [REFERENCE_PERSON["uuid"], "lean-1", None, None]


def test_one_bad_chunk_falls_back_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_constants, "CHUNK_ROWS", 16)
    sanitized: list[Any] = []
    real = _decode._sanitizer

    def spy(record_type: pa.StructType) -> Any:
        sanitized.append(record_type)
        return real(record_type)

    monkeypatch.setattr(_decode, "_sanitizer", spy)
    items: list[Any] = synthetic_persons(100, seed=5, shape="lean")
    chunks = _decode.decode(items, _flatten._wide_record_type(Widths()), PERSON_ENVELOPE)
    assert [len(chunk) for chunk in chunks] == [16] * 6 + [4]
    dirty = copy.deepcopy(items)
    dirty[40] = dict(dirty[40] or {}, uuid=40, organization={"founded_year": "1999"})
    expected = person_columns(items)
    assert sanitized == []
    got = person_columns(dirty)
    assert len(sanitized) == 1  # only the chunk holding row 40
    assert got.schema == expected.schema
    assert got.num_rows == 100
    assert row(got, 40)[P + "uuid"] == "40"
    assert row(got, 40)[P + "organization_founded_year"] == 1999
    assert got.slice(0, 32).equals(expected.slice(0, 32))
    assert got.slice(48).equals(expected.slice(48))
    assert got.slice(32, 8).equals(expected.slice(32, 8))
    assert got.slice(41, 7).equals(expected.slice(41, 7))
    parents, long = explode_persons(dirty, explode="emails")
    assert long.num_rows == len(parents)
    assert parents.to_pylist() == sorted(parents.to_pylist())


@pytest.mark.parametrize("shape", ["documented", "lean"])
def test_stored_texts_flatten_exactly_as_decoded_records(shape: str) -> None:
    """Answers kept as JSON text (a re-run) give the very tables decoded dicts give.

    The texts go through ``pyarrow.json`` when a chunk is all texts, and through the
    dict paths when a chunk holds a surprise: both are checked, as are nulls, error
    items and a wrongly typed value.
    """
    import json

    from salesql_frames import sandbox
    from salesql_frames._models import RawRecord

    records: list[Any] = list(sandbox.synthetic_person_records(300, seed=5, shape=shape))
    records[3] = None
    records[7] = {"error": "Person not found"}
    odd = copy.deepcopy(records[11])
    odd["organization"] = {**(odd.get("organization") or {}), "founded_year": "1999"}
    def text(record: Any) -> RawRecord | None:
        return None if record is None else RawRecord(json.dumps(record, separators=(",", ":")))

    texts = [text(r) for r in records]
    for chunk in (records[:200], [*records[:200], odd]):  # the second takes the dict path
        raw = [text(r) for r in chunk]
        for flatten in (
            lambda items: person_columns(items, widths=Widths(emails=4, phones=4, work=4)),
            lambda items: explode_persons(items, explode="emails")[1],
            lambda items: explode_persons(items, explode="work_experience")[1],
        ):
            assert flatten(raw).equals(flatten(chunk))
    # the JSON path was taken for the all-text chunk, and refused the odd one
    assert _decode._from_json(texts[:200], _flatten._wide_record_type(Widths()), "person")
    bad = [text(odd)]
    assert _decode._from_json(bad, _flatten._wide_record_type(Widths()), "person") == []


def test_a_large_take_on_threads_gives_what_one_thread_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Result columns are taken on several threads past a size; the cells are the same."""
    import threading

    import numpy as np

    from salesql_frames import _assemble

    rng = np.random.default_rng(0)
    table = pa.table({
        "text": pa.array([f"v{i}" if i % 7 else None for i in range(500)]),
        "number": pa.array(range(500), pa.int64()),
        "when": pa.array(range(500), pa.timestamp("ms", tz="UTC")),
    })
    indices = pa.array(rng.integers(0, 500, 3000), mask=rng.random(3000) < 0.2)
    threads: set[str] = set()
    original = _assemble.one_array

    def seen(column: Any) -> Any:
        threads.add(threading.current_thread().name)
        return original(column)

    monkeypatch.setattr(_assemble, "one_array", seen)
    monkeypatch.setattr(pa, "cpu_count", lambda: 2)
    monkeypatch.setattr(_constants, "THREADED_TAKE_CELLS", 10**9)
    serial = _assemble.take_columns(table, indices)
    assert threads == {threading.current_thread().name}
    monkeypatch.setattr(_constants, "THREADED_TAKE_CELLS", 1)
    threaded = _assemble.take_columns(table, indices)
    assert any(name.startswith("salesql-take") for name in threads)
    assert [column.type for column in threaded] == table.schema.types
    assert [column.to_pylist() for column in threaded] == [
        column.to_pylist() for column in serial]
    assert threaded[0].to_pylist() == taken_by_hand(table.column("text"), indices)


def taken_by_hand(column: pa.ChunkedArray, indices: pa.Array) -> list[Any]:
    values = column.to_pylist()
    return [None if at is None else values[at] for at in indices.to_pylist()]
