"""The right query for every row, judged by what the sandbox counted (issue: canonicalization v2).

Each test sends messy CRM cells through the real accessors to a loopback sandbox and
asserts on ``sb.counters.queries`` (the server's identity of every query it answered):
distinct companies are never merged, one company is one query, no query carries a
free-mail or profile-platform domain, invisible characters change nothing, and LinkedIn
URLs of the wrong kind send nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames._hostlists import free_mail_domains, profile_platforms
from tests.conftest import Column, MakeFrame

P = "salesql_"


def sent(sb: sandbox.Sandbox, before: dict[str, int] | None = None) -> Counter[str]:
    """The queries the sandbox answered (since ``before``), by server-side identity."""
    return Counter(sb.counters.queries) - Counter(before or {})


def persons(frame: Any, client: Client, **kwargs: Any) -> Any:
    return frame.salesql.enrich_persons(client=client, cache=False, progress=False, **kwargs)


def organizations(frame: Any, client: Client, **kwargs: Any) -> Any:
    return frame.salesql.enrich_organizations(client=client, cache=False, progress=False,
                                              **kwargs)


def domains_in(identities: Counter[str]) -> set[str]:
    """The domains the server was asked about, in organization or person queries."""
    out = set()
    for identity in identities:
        if identity.startswith("org-domain:"):
            out.add(identity.removeprefix("org-domain:"))
        elif identity.startswith("name:") and "." in identity.rpartition("|")[2]:
            out.add(identity.rpartition("|")[2])
    return out


# ------------------------------------------------------------------- domains


def test_linkedin_company_pages_in_a_website_column_are_never_merged(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
) -> None:
    pages = ["https://www.linkedin.com/company/acme/", "linkedin.com/company/initech/about",
             "https://uk.linkedin.com/company/globex", "https://www.linkedin.com/school/mit/"]
    frame = make_frame({"Company URL": pages})
    plan = frame.salesql.plan_organizations()
    assert plan.mapping == {"organization_domain": "Company URL"}
    assert any("4 LinkedIn pages in 'Company URL' sent as linkedin_url" in r
               for r in plan.remarks)
    out = organizations(frame, client)
    assert sent(sb) == Counter(
        {"org-li:acme": 1, "org-li:initech": 1, "org-li:globex": 1, "org-li:mit": 1})
    assert set(column(out, P + "status")) == {"found"}


def test_one_company_is_one_query_whatever_the_subdomain_and_private_suffixes_stay_apart(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
) -> None:
    cells = ["careers.acme.com", "acme.com", "https://www.acme.com/about",
             "blog.acme.co.uk", "acme.co.uk", "a.github.io", "b.github.io", "jobs@ACME.com"]
    out = organizations(make_frame({"Website": cells}), client)
    assert sent(sb) == Counter({"org-domain:acme.com": 1, "org-domain:acme.co.uk": 1,
                                "org-domain:a.github.io": 1, "org-domain:b.github.io": 1})
    assert column(out, P + "status")[0] == column(out, P + "status")[2]


def test_a_person_never_goes_out_with_a_free_mail_or_platform_domain(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
) -> None:
    frame = make_frame({
        "Name": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra",
                 "Barbara Liskov"],
        "Company": ["Analytical", "Bletchley", None, "Eindhoven", "MIT"],
        "Email": ["ada@gmail.com", "https://www.linkedin.com/company/bletchley",
                  "grace@yahoo.co.uk", "edsger@tue.nl", "barbara@mit.edu; b@gmail.com"],
    })
    out = persons(frame, client, full_name="Name", organization_name="Company",
                  organization_domain="Email")
    queries = sent(sb)
    assert queries == Counter({"name:ada lovelace|analytical": 1,  # fell back to the name
                               "name:alan turing|bletchley": 1,
                               "name:edsger dijkstra|tue.nl": 1,
                               "name:barbara liskov|mit.edu": 1})
    assert not domains_in(queries) & (free_mail_domains() | profile_platforms())
    status, error = column(out, P + "status"), column(out, P + "error")
    assert status[2] == "invalid_input"  # no company to fall back to: nothing sent
    assert "Email 'grace@yahoo.co.uk' is at yahoo.co.uk, a free-mail provider" in error[2]


def test_a_platform_s_own_bare_domain_or_address_is_never_sent_either(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
) -> None:
    """``linkedin.com`` or ``jane@github.com`` cannot tell the platform's staff from a
    person who put the platform there: nothing goes out with it, persons fall back."""
    bare = ["linkedin.com", "https://www.github.com/", "jane@linkedin.com", "x.com"]
    out = organizations(make_frame({"Website": bare}), client)
    assert sent(sb) == Counter()
    assert column(out, P + "status") == ["invalid_input"] * 4
    assert "'jane@linkedin.com' is at linkedin.com, a profile platform" in column(
        out, P + "error")[2]
    before = dict(sb.counters.queries)
    frame = make_frame({"Name": ["Ada Lovelace", "Alan Turing"],
                        "Company": ["LinkedIn", None],
                        "Email": ["ada@linkedin.com", "alan@github.com"]})
    out = persons(frame, client, full_name="Name", organization_name="Company",
                  organization_domain="Email")
    assert sent(sb, before) == Counter({"name:ada lovelace|linkedin": 1})
    assert column(out, P + "status")[1] == "invalid_input"
    with sf.host_lists(profile_platforms=sf.profile_platforms() - {"linkedin.com"}):
        organizations(make_frame({"Website": ["linkedin.com"]}), client)
    assert sent(sb, before)["org-domain:linkedin.com"] == 1


def test_a_cell_with_several_addresses_uses_the_first_corporate_one(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame,
) -> None:
    frame = make_frame({"Full Name": ["Jane Roe", "John Poe", "Jim Moe"],
                        "Email": ["jane@gmail.com; jane.roe@acme.io", "john@acme.io, john@beta.io",
                                  "jim@gamma.io jim@hotmail.com"]})
    plan = frame.salesql.plan_persons(full_name="Full Name", organization_domain="Email")
    assert "3 'Email' cells hold several values: the first usable one is sent" in plan.remarks
    assert "note: 3 'Email' cells hold several values" in repr(plan)
    persons(frame, client, full_name="Full Name", organization_domain="Email")
    assert sent(sb) == Counter({"name:jane roe|acme.io": 1, "name:john poe|acme.io": 1,
                                "name:jim moe|gamma.io": 1})


def test_the_host_lists_can_be_replaced_for_a_block(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame,
) -> None:
    frame = make_frame({"Website": ["https://github.com/about", "mailbox.co"]})
    with sf.host_lists(free_mail=sf.free_mail_domains() | {"mailbox.co"},
                       profile_platforms=sf.profile_platforms() - {"github.com"}):
        organizations(frame, client)
    assert sent(sb) == Counter({"org-domain:github.com": 1})
    before = dict(sb.counters.queries)
    organizations(frame, client)  # outside the block: the shipped lists again
    assert sent(sb, before) == Counter({"org-domain:mailbox.co": 1})
    with pytest.raises(sf.InvalidArgumentError, match="collection of domains"):
        with sf.host_lists(free_mail="mailbox.co"):
            pass


# ------------------------------------------------------------------- text hygiene

MARKS = ["\u200e", "\u200f", "\u200b", "\ufeff", "\u2066", "\u202c", "\u00ad", "\u2060"]


@pytest.mark.parametrize("mark", MARKS)
def test_invisible_marks_anywhere_change_no_query(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column, mark: str,
) -> None:
    url, name, site = "https://www.linkedin.com/in/adv-rtl-person", "Ada Lovelace", "acme.io"
    marked_urls = [mark + url, url + mark, url[:30] + mark + url[30:]]
    marked_names = [name + mark, mark + name, "Ada" + mark + " Lovelace"]
    marked_sites = [mark + site, site + mark, "ac" + mark + "me.io"]
    frame = make_frame({"linkedin_url": [url, *marked_urls, None, None, None, None],
                        "full_name": [None] * 4 + [name, *marked_names],
                        "organization_domain": [None] * 4 + [site, *marked_sites]})
    out = persons(frame, client)
    assert sent(sb) == Counter({"li:adv-rtl-person": 1, "name:ada lovelace|acme.io": 1})
    assert P + "error" not in column(out, P + "status")
    assert "invalid_input" not in column(out, P + "status")


# ------------------------------------------------------------------- LinkedIn kinds


def test_linkedin_urls_of_the_wrong_kind_send_nothing(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
) -> None:
    people = make_frame({"linkedin_url": ["https://www.linkedin.com/company/acme",
                                          "https://www.linkedin.com/school/mit/",
                                          "https://www.linkedin.com/in/ada-person"],
                         "full_name": [None, "Grace Hopper", None],
                         "organization_name": [None, "Navy", None]})
    out = persons(people, client)
    assert sent(sb) == Counter({"li:ada-person": 1, "name:grace hopper|navy": 1})
    status, error = column(out, P + "status"), column(out, P + "error")
    assert status[0] == "invalid_input"
    assert ("linkedin_url 'https://www.linkedin.com/company/acme' is a LinkedIn company page, "
            "not a person's profile") in error[0]
    assert status[1] in ("found", "not_found")  # the school page is not sent; the name is

    before = dict(sb.counters.queries)
    accounts = make_frame({"linkedin_url": ["https://www.linkedin.com/in/ada-person",
                                            "https://www.linkedin.com/company/acme/"]})
    out = organizations(accounts, client)
    assert sent(sb, before) == Counter({"org-li:acme": 1})
    assert "is a LinkedIn person's profile, not an organization's page" in (
        column(out, P + "error")[0])


# ------------------------------------------------------------------- Arrow string types


def _string_types() -> list[pa.DataType]:
    types = [pa.string(), pa.large_string(), pa.dictionary(pa.int32(), pa.string())]
    if hasattr(pa, "string_view"):  # pyarrow >= 16
        types.append(pa.string_view())
    return types


@pytest.mark.parametrize("arrow_type", _string_types(), ids=str)
@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
def test_every_arrow_string_type_on_every_backend(
    sb: sandbox.Sandbox, client: Client, arrow_type: pa.DataType, kind: str,
) -> None:
    values = ["https://linkedin.com/in/view-a", None, "linkedin.com/in/VIEW-A/", "x"]
    array = pa.array(values, pa.string())
    array = array.dictionary_encode().cast(arrow_type) if pa.types.is_dictionary(arrow_type) \
        else array.cast(arrow_type)
    table = pa.table({"linkedin_url": array})
    frame: Any = {"pandas": lambda: table.to_pandas(types_mapper=pd.ArrowDtype),
                  "polars": lambda: pl.from_arrow(table), "arrow": lambda: table}[kind]()
    out = sf.enrich_persons(frame, client=client, cache=False, progress=False)
    assert sent(sb) == Counter({"li:view-a": 1})
    status = out[P + "status"]
    statuses = status.to_pylist() if isinstance(status, pa.ChunkedArray) else list(status)
    assert statuses == ["found", "invalid_input", "found", "invalid_input"]


def test_customers_of_a_hosting_platform_are_never_merged_into_it(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
) -> None:
    """acme.zendesk.com and beta.zendesk.com are two customers, neither of them Zendesk."""
    cells = ["acme.zendesk.com", "https://beta.zendesk.com/hc/en-us", "www.acme.zendesk.com",
             "zendesk.com", "acme.substack.com", "https://github.com#/acme", "acme.local",
             "\uff41\uff43\uff4d\uff45.com", "javascript://acme.com"]
    out = organizations(make_frame({"Website": cells}), client)
    assert sent(sb) == Counter({"org-domain:acme.zendesk.com": 1,
                                "org-domain:beta.zendesk.com": 1,
                                "org-domain:zendesk.com": 1, "org-domain:acme.com": 1})
    assert column(out, P + "status")[4:7] == ["invalid_input"] * 3


def test_a_linkedin_page_from_another_column_is_checked_like_its_own(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame, column: Column,
) -> None:
    too_long = "https://www.linkedin.com/company/" + "x" * 3000
    out = organizations(make_frame({"Website": [too_long, "linkedin.com/company/ok"]}), client)
    assert sent(sb) == Counter({"org-li:ok": 1})
    assert column(out, P + "status")[0] == "invalid_input"
    assert "characters" in column(out, P + "error")[0]


def test_a_dotless_i_profile_is_one_query_with_its_encoded_spelling(
    sb: sandbox.Sandbox, client: Client, make_frame: MakeFrame,
) -> None:
    frame = make_frame({"linkedin_url": ["linkedin.com/in/\u0131van-k",
                                         "https://www.linkedin.com/in/%C4%B1van-k/"]})
    assert frame.salesql.plan_persons().unique_queries == 1
    assert frame.salesql.plan_persons().queries == [
        {"linkedin_url": "https://linkedin.com/in/%C4%B1van-k"}]
