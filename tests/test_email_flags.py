"""Free-mail and role-account flags, and the best email picks built on them."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from salesql_frames._emails import email_flags, is_free_address, is_role_address
from salesql_frames._flatten import explode_persons, person_columns
from salesql_frames._hostlists import free_mail_domains

P = "salesql_"

#: address -> (is_free, is_role)
TABLE = {
    "jane@gmail.com": (True, False),
    "Jane@GMAIL.COM": (True, False),
    "jane@Mail.Yahoo.co.uk": (True, False),     # a subdomain of a listed domain
    "jane@yahoo.co.uk.": (True, False),         # trailing dot of a FQDN
    "jane@outlook.com": (True, False),
    "jane@proton.me": (True, False),
    "jane@acme.co.uk": (False, False),          # a public suffix is not a provider
    "jane@gmail.com.acme.io": (False, False),   # a listed name inside another domain
    "jane@notgmail.com": (False, False),
    "info@acme.com": (False, True),
    "INFO@acme.com": (False, True),
    "info@gmail.com": (True, True),
    "sales+eu@acme.com": (False, True),         # +tag dropped
    "no-reply@acme.com": (False, True),
    "noreply@acme.com": (False, True),
    "do_not_reply@acme.com": (False, True),
    "sales.team@acme.com": (False, True),       # every part a role
    "hr-support@acme.com": (False, True),
    "customer_service@acme.com": (False, True),
    "jane.sales@acme.com": (False, False),      # a person in sales
    "salesforce@acme.com": (False, False),      # not a role word
    "hello.jane@acme.com": (False, False),
    "jane+info@acme.com": (False, False),       # the tag is not the local part
    "not an address": (False, False),
    "@acme.com": (False, False),
    "": (False, False),
}


@pytest.mark.parametrize(("address", "flags"), TABLE.items())
def test_flag_table(address: str, flags: tuple[bool, bool]) -> None:
    assert (is_free_address(address), is_role_address(address)) == flags


def test_every_listed_domain_and_its_subdomains_are_free() -> None:
    for domain in free_mail_domains():
        assert is_free_address(f"a@{domain}")
        assert is_free_address(f"a@mx.{domain.upper()}")


def test_vectorized_flags_match_and_keep_nulls() -> None:
    addresses = [*TABLE, None] * 3
    free, role = email_flags(pa.array(addresses, pa.string()))
    want = [TABLE[a] if a is not None else (None, None) for a in addresses]
    assert list(zip(free.to_pylist(), role.to_pylist(), strict=True)) == want
    empty_free, _ = email_flags(pa.array([None, None], pa.string()))
    assert empty_free.to_pylist() == [None, None]


def _person(emails: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {"uuid": "u", "emails": [{"email": e, "type": t, "status": s} for e, t, s in emails]}


@pytest.mark.parametrize(
    ("emails", "best", "work"),
    [
        # a Valid non-role Work address wins over the role one before it
        ([("info@acme.com", "Work", "Valid"), ("jane@acme.com", "Work", "Valid")],
         "jane@acme.com", "info@acme.com"),
        # Valid beats Unverifiable, whatever the type
        ([("jane@acme.com", "Work", "Unverifiable"), ("jane@gmail.com", "Direct", "Valid")],
         "jane@gmail.com", "jane@acme.com"),
        # no Valid one: the first non-role Work, then any non-role
        ([("jane@gmail.com", "Direct", "Unverifiable"), ("jd@acme.com", "work", "Unverifiable")],
         "jd@acme.com", "jd@acme.com"),
        ([("sales@acme.com", "Work", "Valid"), ("jane@gmail.com", "Direct", "Unverifiable")],
         "jane@gmail.com", "sales@acme.com"),
        # only role accounts: the first
        ([("sales@acme.com", "Work", "Unverifiable"), ("info@acme.com", "Work", "Valid")],
         "sales@acme.com", "info@acme.com"),
        ([], None, None),
    ],
)
def test_best_email_rule(emails: list[tuple[str, str, str]], best: str | None,
                         work: str | None) -> None:
    table = person_columns([_person(emails), None])
    assert table[P + "best_email"].to_pylist() == [best, None]
    assert table[P + "work_email"].to_pylist() == [work, None]  # the old rule, unchanged


def test_wide_and_long_flags_agree() -> None:
    addresses = list(TABLE)
    items = [_person([(a, "Work", "Valid") for a in addresses[i : i + 4]]) for i in range(0, 24, 4)]
    wide = person_columns(items, widths=_widths(4))
    parents, long = explode_persons(items, explode="emails")
    for k, parent in enumerate(parents.to_pylist()):
        i = parents.to_pylist()[: k + 1].count(parent)
        for flag in ("_is_free", "_is_role"):
            in_wide = wide[f"{P}email_{i}{flag}"][parent].as_py()
            assert long[P + "email" + flag][k].as_py() == in_wide
        assert (long[P + "email_is_free"][k].as_py(), long[P + "email_is_role"][k].as_py()) == (
            TABLE[long[P + "email"][k].as_py()]
        )


def _widths(emails: int) -> Any:
    from salesql_frames._schema import Widths

    return Widths(emails=emails)


def test_sandbox_flags_on_every_backend(sb: Any, client: Any, make_frame: Any,
                                        column: Any) -> None:
    urls = [f"https://linkedin.com/in/lead-{i}" for i in range(40)]
    wide = make_frame({"linkedin_url": urls}).salesql.enrich_persons(
        client=client, max_emails=5, progress=False, cache=False)
    long = make_frame({"linkedin_url": urls}).salesql.enrich_persons(
        client=client, how="long", explode="emails", progress=False, cache=False)
    seen = 0
    for i in range(1, 6):
        for address, free, role in zip(
            column(wide, f"{P}email_{i}"), column(wide, f"{P}email_{i}_is_free"),
            column(wide, f"{P}email_{i}_is_role"), strict=True,
        ):
            want = (None, None) if address is None else TABLE.get(
                address, (is_free_address(address), is_role_address(address)))
            assert (free, role) == want
            seen += address is not None
    long_emails = [a for a in column(long, P + "email") if a is not None]
    assert len(long_emails) == seen > 20
    assert any(column(long, P + "email_is_free"))
    assert not all(
        v for v in column(long, P + "email_is_free") if v is not None)
    assert sb.counters.requests["persons_bulk"] == 2
