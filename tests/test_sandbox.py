"""Tests of the local sandbox server itself, over real loopback sockets with httpx."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from salesql_frames import sandbox
from salesql_frames._constants import FREE_PROFILE_URL, MAX_BULK_QUERIES

DOCUMENTED_PERSON_KEYS = {
    "uuid", "first_name", "last_name", "full_name", "linkedin_url", "title", "headline",
    "emails", "phones", "organization", "work_experience", "image",
    "timestamp_work_experience_start", "industry", "location",
}
ORGANIZATION_KEYS = {
    "uuid", "name", "website", "website_domain", "linkedin_url", "logo", "founded_year",
    "number_of_employees", "type", "industry", "location",
}
LEAN_KEYS = {
    "uuid", "first_name", "last_name", "full_name", "linkedin_url", "emails", "phones",
    "organization_name",
}


@pytest.fixture
def sb() -> Iterator[sandbox.Sandbox]:
    with sandbox.serve(seed=3) as server:
        yield server


def client(server: sandbox.Sandbox, **kwargs: Any) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=5.0, **kwargs)


def profile(slug: str) -> str:
    return f"https://linkedin.com/in/{slug}"


def find_slug(server: sandbox.Sandbox, predicate: Callable[[dict[str, Any] | None], bool],
              prefix: str = "probe") -> str:
    """Return a profile slug whose ground-truth record satisfies ``predicate``."""
    for index in range(5000):
        slug = f"{prefix}-{index}"
        if predicate(server.lookup_person({"linkedin_url": profile(slug)})):
            return slug
    raise AssertionError("no slug found")


def has_contact(record: dict[str, Any] | None) -> bool:
    return record is not None and bool(record["emails"] or record["phones"])


# -- auth and routing ----------------------------------------------------------------------


def test_auth_missing_wrong_and_query_string_key(sb: sandbox.Sandbox) -> None:
    params = {"linkedin_url": FREE_PROFILE_URL}
    with httpx.Client(base_url=sb.base_url) as raw:
        missing = raw.get("/persons/enrich", params=params)
        wrong = raw.get("/persons/enrich", params=params,
                        headers={"Authorization": "Bearer not-the-key"})
        not_bearer = raw.get("/allowance", headers={"Authorization": sb.api_key})
        in_query = raw.get("/persons/enrich", params={**params, "api_key": sb.api_key},
                           headers={"Authorization": f"Bearer {sb.api_key}"})
    for response in (missing, wrong, not_bearer, in_query):
        assert response.status_code == 401
        body = response.json()
        assert set(body) == {"detail", "status"}
        assert body["status"] == 401
        assert isinstance(body["detail"], str)
        assert body["detail"]
    assert "Authorization header" in in_query.json()["detail"]
    assert sb.counters.unauthorized == 4
    assert sb.counters.requests == Counter({"person": 3, "allowance": 1})
    assert sb.counters.searches == 0
    assert not sb.counters.queries


def test_unknown_path_wrong_method_and_trailing_slash(sb: sandbox.Sandbox) -> None:
    with client(sb) as api:
        unknown = api.get("/persons/search")
        wrong_method = api.get("/persons/enrich/bulk")
        slash = api.get("/allowance/")
        person_slash = api.get("/persons/enrich/", params={"linkedin_url": FREE_PROFILE_URL})
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not Found", "status": 404}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status"] == 405
    assert slash.status_code == 200
    assert person_slash.status_code == 200
    assert person_slash.json()["person"]["full_name"] == "Sandro Carsava"


def test_keep_alive_serves_several_requests_on_one_connection(sb: sandbox.Sandbox) -> None:
    request = (f"GET /v1/allowance HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {sb.api_key}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as conn:
        reader = conn.makefile("rb")
        for _ in range(3):
            conn.sendall(request)
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            body = reader.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200")
            assert "close" not in headers.get("connection", "")
            assert json.loads(body)["credits"]["emails_and_phones"] == 10_000
        reader.close()
    assert sb.counters.requests["allowance"] == 3


# -- shapes --------------------------------------------------------------------------------


def test_allowance_shape(sb: sandbox.Sandbox) -> None:
    with client(sb) as api:
        body = api.get("/allowance").json()
    assert body["credits"] == {"emails_and_phones": 10_000, "verifications": 50}
    reset = datetime.fromisoformat(body["reset_date"].replace("Z", "+00:00"))
    assert body["reset_date"].endswith("Z")
    assert reset > datetime.now(timezone.utc)
    assert reset.day == 1


def test_person_documented_shape(sb: sandbox.Sandbox) -> None:
    slug = find_slug(sb, lambda r: has_contact(r) and bool(r and r["work_experience"]))
    with client(sb) as api:
        response = api.get("/persons/enrich", params={"linkedin_url": profile(slug)})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    person = response.json()["person"]
    assert set(person) == DOCUMENTED_PERSON_KEYS
    assert person == sb.lookup_person({"linkedin_url": profile(slug)})
    assert uuid.UUID(person["uuid"]).version == 4
    assert person["linkedin_url"] == profile(slug)
    assert person["full_name"] == f"{person['first_name']} {person['last_name']}"
    assert set(person["organization"]) == ORGANIZATION_KEYS
    assert set(person["location"]) == {"city", "state", "country", "country_code"}
    for email in person["emails"]:
        assert set(email) == {"email", "type", "status"}
        assert email["type"] in {"Work", "Direct"}
        assert "@" in email["email"]
    for phone in person["phones"]:
        assert set(phone) == {"phone", "type", "country_code", "is_valid"}
        assert phone["type"] in {"Work", "Personal", "Mobile"}
        assert isinstance(phone["is_valid"], bool)
    experience = person["work_experience"]
    assert 1 <= len(experience) <= 4
    for entry in experience:
        assert {"title", "timestamp_start", "is_current", "organization"} <= set(entry)
        assert isinstance(entry["timestamp_start"], int)
        assert "name" in entry["organization"]
    assert person["timestamp_work_experience_start"] <= min(
        entry["timestamp_start"] for entry in experience)


def test_free_profile_is_the_reference_record_for_any_spelling(sb: sandbox.Sandbox) -> None:
    spellings = [FREE_PROFILE_URL, "http://www.linkedin.com/in/SandroCarsava/",
                 "linkedin.com/in/sandrocarsava?trk=x#top"]
    with client(sb) as api:
        people = [api.get("/persons/enrich", params={"linkedin_url": url}).json()["person"]
                  for url in spellings]
    assert all(person == people[0] for person in people)
    assert people[0]["uuid"] == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert people[0]["work_experience"][1]["organization"] == {"name": "NOXBE Ventures"}
    assert sb.counters.queries == Counter({"li:sandrocarsava": 3})


def test_person_found_by_name_has_that_name_and_organization(sb: sandbox.Sandbox) -> None:
    candidates = [("https://www.Acme.io/x", "acme.io"), ("acme-two.io", "acme-two.io"),
                  ("acme-three.io", "acme-three.io")]
    given, domain = next(
        (given, domain) for given, domain in candidates
        if sb.lookup_person({"full_name": "zoë  núñez", "organization_domain": given})
    )
    query = {"first_name": "zoë", "last_name": "núñez", "organization_domain": given}
    record = sb.lookup_person(query)
    assert record is not None
    with client(sb) as api:
        person = api.get("/persons/enrich", params=query).json()["person"]
    assert person == record
    assert (person["first_name"], person["last_name"]) == ("Zoë", "Núñez")
    assert person["full_name"] == "Zoë Núñez"
    assert person["organization"]["website_domain"] == domain
    assert sb.counters.queries == Counter({f"name:zoë núñez|{domain}": 1})


def test_separate_first_and_last_names_are_kept_apart(sb: sandbox.Sandbox) -> None:
    query = next(
        q for q in ({"first_name": "mary ann", "last_name": "VAN DER BERG",
                     "organization_name": f"blue harbor {i}"} for i in range(100))
        if sb.lookup_person(q) is not None
    )
    with client(sb) as api:
        person = api.get("/persons/enrich", params=query).json()["person"]
    assert (person["first_name"], person["last_name"]) == ("Mary Ann", "Van Der Berg")
    assert person["organization"]["name"] == query["organization_name"].title()
    assert sb.counters.queries == Counter(
        {f"name:mary ann van der berg|{query['organization_name']}": 1})


def test_not_found_bodies(sb: sandbox.Sandbox) -> None:
    slug = find_slug(sb, lambda r: r is None)
    with client(sb) as api:
        person = api.get("/persons/enrich", params={"linkedin_url": profile(slug)})
        for index in range(500):
            query = {"organization_domain": f"missing-{index}.com"}
            if sb.lookup_organization(query) is None:
                break
        organization = api.get("/organizations/enrich", params=query)
        unreadable = api.get("/persons/enrich", params={"linkedin_url": "https://example.com/x"})
    assert person.status_code == 404
    assert person.json() == {"error": "Person not found"}
    assert organization.status_code == 404
    assert organization.json() == {"error": "Organization not found"}
    assert unreadable.json() == {"error": "Person not found"}
    assert sb.counters.searches == 3
    assert sb.counters.credits_charged == 0


def test_organization_single_and_bulk_shapes(sb: sandbox.Sandbox) -> None:
    queries = [{"linkedin_url": f"https://www.linkedin.com/company/org-{index}/about/"}
               for index in range(20)]
    with client(sb) as api:
        bulk = api.post("/organizations/enrich/bulk", json=queries)
        single = api.get("/organizations/enrich", params=queries[0])
    items = bulk.json()
    assert len(items) == 20
    for query, item in zip(queries, items, strict=True):
        truth = sb.lookup_organization(query)
        assert item == (truth if truth is not None else {"error": "Organization not found"})
    found = [item for item in items if "uuid" in item]
    assert found
    assert all(set(item) == ORGANIZATION_KEYS for item in found)
    assert all(isinstance(item["founded_year"], int) for item in found)
    if "uuid" in items[0]:
        assert single.json() == {"organization": items[0]}
        assert items[0]["linkedin_url"] == "https://linkedin.com/company/org-0"
    assert sb.counters.credits_charged == 0  # organization_credit defaults to 0


def test_422_names_what_is_missing(sb: sandbox.Sandbox) -> None:
    with client(sb) as api:
        person = api.get("/persons/enrich", params={"first_name": "Ada", "unknown": "x"})
        organization = api.get("/organizations/enrich", params={"organization_name": "  "})
        bad_flag = api.get("/persons/enrich", params={"linkedin_url": profile("a"),
                                                       "match_if_direct_email": "maybe"})
    assert person.status_code == 422
    assert person.json()["status"] == 422
    assert "has first_name" in person.json()["detail"]
    assert "linkedin_url" in person.json()["detail"]
    assert organization.status_code == 422
    assert bad_flag.status_code == 422
    assert "match_if_direct_email" in bad_flag.json()["detail"]
    assert sb.counters.searches == 0


def test_direct_flags_require_direct_contacts(sb: sandbox.Sandbox) -> None:
    no_direct_email = find_slug(sb, lambda r: has_contact(r) and r is not None and not any(
        e["type"] == "Direct" for e in r["emails"]))
    direct_phone = find_slug(sb, lambda r: r is not None and any(
        p["type"] != "Work" for p in r["phones"]))
    with client(sb) as api:
        plain = api.get("/persons/enrich", params={"linkedin_url": profile(no_direct_email)})
        flagged = [api.get("/persons/enrich", params={"linkedin_url": profile(no_direct_email),
                                                      "match_if_direct_email": value})
                   for value in ("true", "1", "True")]
        off = api.get("/persons/enrich", params={"linkedin_url": profile(no_direct_email),
                                                 "match_if_direct_email": "0"})
        phone = api.get("/persons/enrich", params={"linkedin_url": profile(direct_phone),
                                                   "match_if_direct_phone": "true"})
        bulk = api.post("/persons/enrich/bulk", json=[
            {"linkedin_url": profile(no_direct_email), "match_if_direct_email": True},
            {"linkedin_url": profile(no_direct_email)},
        ]).json()
    assert plain.status_code == 200
    assert [response.status_code for response in flagged] == [404, 404, 404]
    assert off.status_code == 200
    assert phone.status_code == 200
    assert bulk[0] == {"error": "Person not found"}
    assert bulk[1] == plain.json()["person"]


# -- bulk ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ([], 422, "empty"),
        ([{"linkedin_url": profile(f"p{i}")} for i in range(MAX_BULK_QUERIES + 1)], 422, "100"),
        ({"linkedin_url": profile("p")}, 422, "array"),
        ([{"linkedin_url": profile("p")}, "p"], 422, "query 1"),
        ([{"linkedin_url": profile("p")}, {"first_name": "x"}, {}], 422, "query 1"),
    ],
)
def test_bulk_refusals_execute_nothing(sb: sandbox.Sandbox, body: Any, status: int,
                                       words: str) -> None:
    with client(sb) as api:
        response = api.post("/persons/enrich/bulk", json=body)
    assert response.status_code == status
    assert response.json()["status"] == status
    assert words in response.json()["detail"]
    assert sb.counters.searches == 0
    assert sb.counters.requests["persons_bulk"] == 1


def test_bulk_invalid_json_is_422(sb: sandbox.Sandbox) -> None:
    with client(sb) as api:
        response = api.post("/organizations/enrich/bulk", content=b"[{",
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


@pytest.mark.parametrize("size", [1, MAX_BULK_QUERIES])
def test_bulk_answers_align_with_queries(sb: sandbox.Sandbox, size: int) -> None:
    queries: list[dict[str, Any]] = [{"linkedin_url": profile(f"bulk-{i}")} for i in range(size)]
    if size > 1:
        queries[1] = {"full_name": "Ana Silva", "organization_name": "Blue Harbor"}
    with client(sb) as api:
        answer = api.post("/persons/enrich/bulk", json=queries).json()
    assert len(answer) == size
    for query, item in zip(queries, answer, strict=True):
        truth = sb.lookup_person(query)
        assert item == (truth if truth is not None else {"error": "Person not found"})
    if size > 1:
        found = sum("uuid" in item for item in answer)
        assert 60 <= found <= 98  # not_found_rate 0.15
        assert sb.counters.searches == size
    assert sb.counters.requests["persons_bulk"] == 1


# -- identity and determinism --------------------------------------------------------------


def test_identity_ignores_url_cosmetics(sb: sandbox.Sandbox) -> None:
    slug = find_slug(sb, lambda r: r is not None, prefix="jos%C3%A9-ruiz")
    decoded = slug.replace("jos%C3%A9", "josé")
    variants = [
        profile(slug), f"http://www.linkedin.com/in/{slug}/",
        f"https://uk.linkedin.com/in/{slug.upper().replace('%C3%A9', '%c3%a9')}?trk=abc#x",
        f"linkedin.com/in/{decoded}/details/experience/", f"HTTPS://LinkedIn.com/in/{decoded}",
    ]
    sales_navigator = [
        "https://www.linkedin.com/sales/lead/ACwAAB12XyZ,NAME_SEARCH,abc",
        "linkedin.com/sales/people/ACwAAB12XyZ,NAME_SEARCH,zz?x=1",
    ]
    with client(sb) as api:
        answers = api.post("/persons/enrich/bulk",
                           json=[{"linkedin_url": url} for url in variants]).json()
        navigator = api.post("/persons/enrich/bulk",
                             json=[{"linkedin_url": url} for url in sales_navigator]).json()
    assert all(answer == answers[0] for answer in answers)
    assert navigator[0] == navigator[1]
    assert sb.counters.queries == Counter({f"li:{decoded}": 5, "sn:ACwAAB12XyZ": 2})


def test_name_identity_ignores_case_spacing_and_domain_cosmetics(sb: sandbox.Sandbox) -> None:
    queries = [
        {"full_name": "Ada  Lovelace", "organization_domain": "https://www.example.org/about"},
        {"first_name": "ADA", "last_name": "lovelace", "organization_domain": "EXAMPLE.org"},
        {"full_name": " ada lovelace ", "organization_domain": "www.example.org"},
    ]
    with client(sb) as api:
        api.post("/persons/enrich/bulk", json=queries)
    assert sb.counters.queries == Counter({"name:ada lovelace|example.org": 3})


def test_same_seed_same_records_other_seed_differs() -> None:
    queries = [{"linkedin_url": profile(f"det-{i}")} for i in range(30)]
    answers = []
    for seed in (11, 11, 12):
        with sandbox.serve(seed=seed) as server, client(server) as api:
            answers.append(api.post("/persons/enrich/bulk", json=queries).json())
    assert answers[0] == answers[1]
    assert answers[0] != answers[2]
    uuids = [item["uuid"] for item in answers[0] if "uuid" in item]
    assert len(set(uuids)) == len(uuids)


def test_synthetic_records_match_the_server_and_are_fast() -> None:
    started = time.perf_counter()
    records = sandbox.synthetic_person_records(10_000, seed=5)
    elapsed = time.perf_counter() - started
    assert len(records) == 10_000
    assert elapsed < 10.0  # about 0.3 s; generous for slow CI, still catches a blow-up
    assert sandbox.synthetic_person_records(50, seed=5) == records[:50]
    assert sandbox.synthetic_person_records(50, seed=6) != records[:50]
    assert all(set(record) == DOCUMENTED_PERSON_KEYS for record in records[:200])
    no_contact = sum(not record["emails"] and not record["phones"] for record in records)
    assert 700 <= no_contact <= 1400  # about 10 %
    names = {record["full_name"] for record in records}
    assert len(names) > 300
    assert any(not name.isascii() for name in names)
    organizations = sandbox.synthetic_organization_records(200, seed=5)
    assert all(set(record) == ORGANIZATION_KEYS for record in organizations)
    with sandbox.serve(seed=5, not_found_rate=0.0) as server:
        url = profile("synthetic-7")
        assert server.lookup_person({"linkedin_url": url}) == records[7]


def test_lean_shape() -> None:
    with sandbox.serve(seed=2, shape="lean", not_found_rate=0.0) as server, client(server) as api:
        answer = api.post("/persons/enrich/bulk", json=[
            {"linkedin_url": profile("lean-a")},
            {"linkedin_url": "https://www.linkedin.com/sales/lead/ACwAAAbc,NAME_SEARCH,x"},
            {"linkedin_url": FREE_PROFILE_URL},
        ]).json()
    assert set(answer[0]) <= LEAN_KEYS
    assert {"uuid", "full_name", "last_name", "emails", "phones", "organization_name"} <= set(
        answer[0])
    assert answer[0]["linkedin_url"] == profile("lean-a")
    assert "linkedin_url" not in answer[1]
    assert answer[2]["organization_name"] == "LinkedIn"
    assert set(answer[2]) == LEAN_KEYS


def test_lean_distributions_follow_the_facts() -> None:
    records = sandbox.synthetic_person_records(6000, seed=9, shape="lean")
    n = len(records)
    emails = Counter(min(len(record["emails"]), 4) for record in records)
    assert abs(emails[0] / n - 0.25) < 0.03
    assert abs(emails[1] / n - 0.32) < 0.03
    assert abs(emails[4] / n - 0.18) < 0.03
    assert max(len(record["emails"]) for record in records) <= 19
    phones = Counter(min(len(record["phones"]), 2) for record in records)
    assert abs(phones[0] / n - 0.49) < 0.03
    assert abs(phones[2] / n - 0.05) < 0.02
    all_emails = [email for record in records for email in record["emails"]]
    assert abs(sum(e["type"] == "Direct" for e in all_emails) / len(all_emails) - 0.14) < 0.02
    assert abs(sum(e["status"] == "Valid" for e in all_emails) / len(all_emails) - 0.37) < 0.02
    all_phones = [phone for record in records for phone in record["phones"]]
    assert abs(sum(p["type"] == "Work" for p in all_phones) / len(all_phones) - 0.82) < 0.03
    assert 0.03 < sum("country_code" not in p for p in all_phones) / len(all_phones) < 0.09
    assert 0.04 < sum(r["organization_name"] is None for r in records) / n < 0.08
    assert 0 < sum("first_name" not in r for r in records) < n * 0.03
    assert all(set(record) <= LEAN_KEYS for record in records)


# -- credits -------------------------------------------------------------------------------


def remaining(api: httpx.Client) -> int:
    value = api.get("/allowance").json()["credits"]["emails_and_phones"]
    assert isinstance(value, int)
    return value


def test_credit_accounting(sb: sandbox.Sandbox) -> None:
    billable = find_slug(sb, has_contact)
    silent = find_slug(sb, lambda r: r is not None and not r["emails"] and not r["phones"])
    missing = find_slug(sb, lambda r: r is None)
    with client(sb) as api:
        start = remaining(api)
        api.get("/persons/enrich", params={"linkedin_url": FREE_PROFILE_URL})
        assert remaining(api) == start
        api.get("/persons/enrich", params={"linkedin_url": profile(silent)})
        api.get("/persons/enrich", params={"linkedin_url": profile(missing)})
        assert remaining(api) == start
        api.get("/persons/enrich", params={"linkedin_url": profile(billable)})
        assert remaining(api) == start - 1
        api.post("/persons/enrich/bulk", json=[
            {"linkedin_url": profile(billable)}, {"linkedin_url": profile(billable)},
            {"linkedin_url": FREE_PROFILE_URL}, {"linkedin_url": profile(silent)},
        ])
        assert remaining(api) == start - 3  # the same person twice is charged twice
    assert sb.counters.credits_charged == 3
    assert sb.counters.requests["allowance"] == 5


def test_credits_never_go_below_zero() -> None:
    with sandbox.serve(seed=3, credits=1, not_found_rate=0.0) as server, client(server) as api:
        slug = find_slug(server, has_contact)
        api.post("/persons/enrich/bulk", json=[{"linkedin_url": profile(slug)}] * 3)
        assert remaining(api) == 0
        assert server.counters.credits_charged == 1
        assert server.credits_remaining == 0


def test_organization_credit_is_charged_per_found_organization() -> None:
    with sandbox.serve(seed=3, organization_credit=2) as server, client(server) as api:
        queries = [{"organization_domain": f"org{i}.com"} for i in range(10)]
        found = sum(server.lookup_organization(query) is not None for query in queries)
        api.post("/organizations/enrich/bulk", json=queries)
        assert remaining(api) == 10_000 - 2 * found
        assert server.counters.credits_charged == 2 * found


# -- rate limits ---------------------------------------------------------------------------


def test_sliding_window_rate_limit() -> None:
    clock = sandbox.FakeClock()
    with (
        sandbox.serve(seed=3, rate_limit=(3, 1.0), clock=clock) as server,
        client(server) as api,
    ):
        urls = [{"linkedin_url": profile(f"rl-{i}")} for i in range(2)]
        assert api.post("/persons/enrich/bulk", json=urls).status_code == 200
        assert api.get("/persons/enrich", params=urls[0]).status_code != 429
        limited = api.get("/persons/enrich", params=urls[1])
        too_big = api.post("/persons/enrich/bulk", json=urls * 2)
        allowance = api.get("/allowance")
        assert server.counters.searches == 3
        assert limited.status_code == 429
        assert limited.json() == {"detail": "Rate limit exceeded", "status": 429}
        assert limited.headers["Retry-After"] == "1"
        assert too_big.status_code == 429
        assert too_big.headers["Retry-After"] == "1"
        assert allowance.status_code == 200
        assert server.counters.rate_limited == 2
        clock.advance(0.5)  # half the window: still full
        assert api.get("/persons/enrich", params=urls[1]).status_code == 429
        assert server.counters.rate_limited == 3
        clock.advance(0.5)  # exactly one window later the first searches have left it
        retried = api.get("/persons/enrich", params=urls[1])
        assert retried.status_code != 429
        assert server.counters.searches == 4
        assert clock.sleeps == []  # the sandbox never sleeps on the clock


def test_retry_after_reflects_when_capacity_frees() -> None:
    clock = sandbox.FakeClock()
    with (
        sandbox.serve(seed=3, rate_limit=(2, 3.0), clock=clock) as server,
        client(server) as api,
    ):
        api.get("/persons/enrich", params={"linkedin_url": profile("w-0")})
        clock.advance(1.0)
        api.get("/persons/enrich", params={"linkedin_url": profile("w-1")})
        one = api.get("/persons/enrich", params={"linkedin_url": profile("w-2")})
        two = api.post("/persons/enrich/bulk", json=[{"linkedin_url": profile("w-3")}] * 2)
        big = api.post("/persons/enrich/bulk", json=[{"linkedin_url": profile("w-3")}] * 3)
        assert server.counters.searches == 2
        clock.advance(2.0)  # what the first Retry-After said: w-0 leaves the window
        again = api.get("/persons/enrich", params={"linkedin_url": profile("w-2")})
    assert one.headers["Retry-After"] == "2"  # the first search leaves the window first
    assert two.headers["Retry-After"] == "3"  # both must leave
    assert big.headers["Retry-After"] == "3"  # larger than the window: its length
    assert again.status_code != 429
    assert server.counters.searches == 3
    assert server.counters.rate_limited == 3


def test_latency_and_stalls_are_real_waits_whatever_the_clock() -> None:
    clock = sandbox.FakeClock(start=50.0)
    with sandbox.serve(seed=3, latency=0.2, clock=clock) as server, client(server) as api:
        server.faults.add("stall", seconds=0.3)
        started = time.perf_counter()
        assert api.get("/allowance").status_code == 200
        assert time.perf_counter() - started >= 0.2 + 0.3
    assert clock.sleeps == []
    assert clock.monotonic() == 50.0  # nothing moved it
    assert server.counters.faults_served["stall"] == 1


def test_daily_cap() -> None:
    with sandbox.serve(seed=3, daily_limit=3) as server, client(server) as api:
        assert api.post("/persons/enrich/bulk",
                        json=[{"linkedin_url": profile("d-0")}] * 2).status_code == 200
        over = api.post("/persons/enrich/bulk", json=[{"linkedin_url": profile("d-1")}] * 2)
        assert api.get("/persons/enrich",
                       params={"linkedin_url": profile("d-2")}).status_code != 429
        capped = api.get("/persons/enrich", params={"linkedin_url": profile("d-3")})
        assert api.get("/allowance").status_code == 200
    now = datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    for response in (over, capped):
        assert response.status_code == 429
        assert response.json() == {"detail": "Daily rate limit exceeded", "status": 429}
        assert abs(int(response.headers["Retry-After"]) - (midnight - now).total_seconds()) < 5
    assert server.counters.daily_capped == 2
    assert server.counters.rate_limited == 2
    assert server.counters.searches == 3


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "options", "status", "check"),
    [
        ("http_500", {}, 500, lambda r: r.json()["status"] == 500),
        ("http_502", {}, 502, lambda r: r.headers["content-type"].startswith("text/html")
         and r.text.lstrip().startswith("<html")),
        ("http_503", {"retry_after": 7}, 503, lambda r: r.headers["Retry-After"] == "7"),
        ("http_503", {}, 503, lambda r: "Retry-After" not in r.headers),
        ("http_504", {}, 504, lambda r: r.json()["status"] == 504),
        ("http_401", {}, 401, lambda r: r.json()["status"] == 401),
        ("http_422", {}, 422, lambda r: r.json()["status"] == 422),
        ("rate_limit", {}, 429, lambda r: r.headers["Retry-After"] == "1"),
        ("rate_limit", {"retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 429,
         lambda r: r.headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"),
        ("rate_limit", {"retry_after": "soon-ish"}, 429,
         lambda r: r.headers["Retry-After"] == "soon-ish"),
        ("rate_limit", {"retry_after": None}, 429, lambda r: "Retry-After" not in r.headers),
        ("daily_cap", {}, 429, lambda r: r.json()["detail"] == "Daily rate limit exceeded"
         and int(r.headers["Retry-After"]) > 0),
    ],
)
def test_status_faults_replace_the_work(sb: sandbox.Sandbox, fault: str, options: dict[str, Any],
                                        status: int, check: Callable[[httpx.Response], bool]
                                        ) -> None:
    sb.faults.add(fault, endpoint="person", **options)
    with client(sb) as api:
        response = api.get("/persons/enrich", params={"linkedin_url": FREE_PROFILE_URL})
        after = api.get("/persons/enrich", params={"linkedin_url": FREE_PROFILE_URL})
    assert response.status_code == status
    assert check(response)
    assert after.status_code == 200
    assert sb.counters.faults_served == Counter({fault: 1})
    assert sb.counters.searches == 1  # only the second request ran
    assert sb.counters.rate_limited == (1 if status == 429 else 0)


def test_reset_aborts_before_any_work(sb: sandbox.Sandbox) -> None:
    sb.faults.add("reset")
    with client(sb) as api:
        with pytest.raises(httpx.ReadError):
            api.post("/persons/enrich/bulk", json=[{"linkedin_url": FREE_PROFILE_URL}])
        assert api.get("/allowance").status_code == 200  # a new connection works
    assert sb.counters.searches == 0
    assert sb.counters.faults_served["reset"] == 1


def test_lost_does_and_charges_the_work(sb: sandbox.Sandbox) -> None:
    slug = find_slug(sb, has_contact)
    sb.faults.add("lost", endpoint="persons_bulk")
    with client(sb) as api:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            api.post("/persons/enrich/bulk", json=[{"linkedin_url": profile(slug)}])
        assert remaining(api) == 9_999
    assert sb.counters.searches == 1
    assert sb.counters.credits_charged == 1


def test_truncate_sends_half_the_body(sb: sandbox.Sandbox) -> None:
    sb.faults.add("truncate")
    with client(sb) as api, pytest.raises(httpx.RemoteProtocolError):
        api.post("/persons/enrich/bulk", json=[{"linkedin_url": FREE_PROFILE_URL}])
    assert sb.counters.searches == 1
    assert sb.counters.faults_served["truncate"] == 1


def test_malformed_json(sb: sandbox.Sandbox) -> None:
    sb.faults.add("malformed_json", endpoint="allowance")
    with client(sb) as api:
        response = api.get("/allowance")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_short_drops_the_last_item_of_a_bulk(sb: sandbox.Sandbox) -> None:
    with pytest.raises(ValueError, match="bulk"):
        sb.faults.add("short", endpoint="person")
    sb.faults.add("short")  # "*" matches only bulk endpoints for this fault
    queries = [{"linkedin_url": FREE_PROFILE_URL}] * 3
    with client(sb) as api:
        single = api.get("/persons/enrich", params=queries[0])
        short = api.post("/persons/enrich/bulk", json=queries).json()
        full = api.post("/persons/enrich/bulk", json=queries).json()
    assert single.status_code == 200
    assert len(short) == 2
    assert len(full) == 3
    assert sb.counters.searches == 7


def test_stall_waits_then_answers(sb: sandbox.Sandbox) -> None:
    sb.faults.add("stall", seconds=0.3)
    sb.faults.add("stall", seconds=5)
    with client(sb) as api:
        started = time.perf_counter()
        response = api.get("/allowance")
        assert time.perf_counter() - started >= 0.3
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            api.get("/allowance", timeout=0.2)


def test_faults_are_fifo_per_endpoint_after_auth_before_rate_limit() -> None:
    with sandbox.serve(seed=3, rate_limit=(1, 60.0)) as server, client(server) as api:
        server.faults.add("http_500", endpoint="persons_bulk")
        server.faults.add("http_503", times=2)
        with httpx.Client(base_url=server.base_url) as anonymous:
            assert anonymous.get("/allowance").status_code == 401  # consumes no fault
        assert server.faults.pending() == [("http_500", "persons_bulk", 1), ("http_503", "*", 2)]
        assert api.get("/allowance").status_code == 503
        assert api.post("/persons/enrich/bulk",
                        json=[{"linkedin_url": profile("f")}]).status_code == 500
        assert api.get("/allowance").status_code == 503
        assert api.get("/persons/enrich", params={"linkedin_url": profile("f")}).status_code \
            != 429
        server.faults.add("http_504", endpoint="person")
        # The window is full, yet the scripted fault is answered first.
        assert api.get("/persons/enrich",
                       params={"linkedin_url": profile("g")}).status_code == 504
        assert api.get("/persons/enrich",
                       params={"linkedin_url": profile("g")}).status_code == 429
        assert server.faults.pending() == []
        assert server.counters.faults_served == Counter(
            {"http_503": 2, "http_500": 1, "http_504": 1})


def test_fault_rates_are_seeded_and_clearable() -> None:
    runs = []
    for _ in range(2):
        with sandbox.serve(seed=3) as server, client(server) as api:
            server.faults.set_rates({"http_500": 0.3, "http_502": 0.2}, seed=4)
            runs.append([api.get("/allowance").status_code for _ in range(60)])
            server.faults.clear()
            assert all(api.get("/allowance").status_code == 200 for _ in range(5))
    assert runs[0] == runs[1]
    statuses = Counter(runs[0])
    assert 8 <= statuses[500] <= 30
    assert 3 <= statuses[502] <= 22
    assert statuses[200] >= 15
    with pytest.raises(ValueError, match="sum"):
        sandbox.FaultPlan().set_rates({"http_500": 0.7, "reset": 0.6})
    with pytest.raises(ValueError, match="unknown fault"):
        sandbox.FaultPlan().add("explode")


# -- concurrency, latency and shutdown -----------------------------------------------------


def test_max_concurrent_and_latency() -> None:
    with sandbox.serve(seed=3, latency=(0.6, 0.65)) as server:
        def fetch(index: int) -> tuple[int, float]:
            with client(server) as api:
                started = time.perf_counter()
                status = api.get("/persons/enrich",
                                 params={"linkedin_url": profile(f"c-{index}")}).status_code
                return status, time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(10) as pool:
            results = list(pool.map(fetch, range(10)))
        elapsed = time.perf_counter() - started
    assert all(status in (200, 404) for status, _ in results)
    assert all(took >= 0.6 for _, took in results)  # each waited its latency, for real
    assert elapsed < 5.0  # in parallel: one after another would take at least 6 s
    assert server.counters.max_concurrent >= 4
    assert server.counters.in_flight == 0
    assert server.counters.requests["person"] == 10


def test_shutdown_is_fast_with_a_stalled_request_and_idle_connections() -> None:
    server = sandbox.Sandbox(seed=3)
    server.start()
    port = server.port
    assert any(t.name == f"salesql-sandbox-{port}" for t in threading.enumerate())
    errors: list[BaseException] = []

    def stalled() -> None:
        try:
            with client(server) as api:
                api.get("/allowance", timeout=10)
        except httpx.HTTPError as error:
            errors.append(error)

    idle = client(server)
    assert idle.get("/allowance").status_code == 200  # keeps a keep-alive connection open
    server.faults.add("stall", seconds=30)
    thread = threading.Thread(target=stalled)
    thread.start()
    deadline = time.monotonic() + 5
    while server.counters.faults_served["stall"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.counters.faults_served["stall"] == 1
    started = time.perf_counter()
    server.stop()
    server.stop()  # harmless
    assert time.perf_counter() - started < 5.0  # documented under 1 s; generous for slow CI
    thread.join(5)
    assert not thread.is_alive()
    assert len(errors) == 1
    with pytest.raises(httpx.TransportError):
        idle.get("/allowance")
    idle.close()
    with pytest.raises(RuntimeError):
        server.start()
    alive = [t for t in threading.enumerate() if t.name.startswith(f"salesql-sandbox-{port}")]
    assert alive == []


def test_lookup_does_not_count_or_charge(sb: sandbox.Sandbox) -> None:
    slug = find_slug(sb, has_contact)
    assert sb.lookup_person({"linkedin_url": profile(slug)}) is not None
    with pytest.raises(ValueError, match="Missing parameters"):
        sb.lookup_person({"first_name": "Ada"})
    assert sb.counters.snapshot()["searches"] == 0
    assert sb.credits_remaining == 10_000
    sb.counters.searches = 5
    sb.reset_counters()
    assert sb.counters.snapshot() == {
        "requests": {}, "queries": {}, "searches": 0, "credits_charged": 0, "rate_limited": 0,
        "daily_capped": 0, "unauthorized": 0, "max_concurrent": 0, "in_flight": 0,
        "faults_served": {},
    }
