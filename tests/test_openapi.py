"""The sandbox's OpenAPI document: valid, faithful to the reference, and obeyed by the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from reference_examples import (
    ALLOWANCE_EXAMPLE,
    BULK_ORGANIZATION_EXAMPLE,
    BULK_PERSON_EXAMPLE,
    ORGANIZATION_EXAMPLE,
    PERSON_EXAMPLE,
    REFERENCE_PERSON,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_PATH = Path(__file__).resolve().parents[1] / "salesql_frames" / "sandbox" / "openapi.json"
DOC_URI = "urn:salesql:openapi"
DOC: dict[str, Any] = json.loads(DOC_PATH.read_text(encoding="utf-8"))
REGISTRY: Registry = Registry().with_resource(
    DOC_URI, Resource.from_contents(DOC, default_specification=DRAFT202012)
)
JSON = "application/json"


#: A found record in the leaner shape real bulk answers come in (see salesql-facts.md).
LEAN_PERSON = {
    "uuid": "0b6f2c1e-3d4a-4f5b-8c9d-0e1f2a3b4c5d",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "full_name": "Ada Lovelace",
    "linkedin_url": "https://linkedin.com/in/ada-lovelace",
    "emails": [
        {"email": "ada@analytical.example", "type": "Work", "status": "Unverifiable"},
        {"email": "ada@example.org", "type": "Direct", "status": "Valid"},
    ],
    "phones": [
        {"phone": "+44 20 7946 0018", "type": "Work", "country_code": "GB", "is_valid": True},
        {"phone": "+44 20 7946 0019", "type": "Personal", "is_valid": True},
    ],
    "organization_name": "Analytical Engines Ltd",
}

# --------------------------------------------------------------------------------------
# Helpers: schemas are always taken from the document and resolved against all of it.
# --------------------------------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _validator(*tokens: str) -> Draft202012Validator:
    """Validator for the schema at the JSON pointer made of ``tokens`` inside the document."""
    node: Any = DOC
    for token in tokens:
        node = node[token]  # fail with KeyError if the document lacks it
    pointer = "/".join(_escape(token) for token in tokens)
    return Draft202012Validator(
        {"$ref": f"{DOC_URI}#/{pointer}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def component(name: str) -> Draft202012Validator:
    return _validator("components", "schemas", name)


def response_schema(path: str, method: str, status: int) -> Draft202012Validator:
    responses = DOC["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    return _validator("paths", path, method, "responses", str(status), "content", JSON, "schema")


def request_schema(path: str) -> Draft202012Validator:
    return _validator("paths", path, "post", "requestBody", "content", JSON, "schema")


def assert_valid(validator: Draft202012Validator, instance: object) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


# --------------------------------------------------------------------------------------
# The document itself
# --------------------------------------------------------------------------------------

OPERATIONS = {
    ("/allowance", "get"): {"200", "401", "422", "429"},
    ("/persons/enrich", "get"): {"200", "400", "401", "404", "422", "429"},
    ("/organizations/enrich", "get"): {"200", "400", "401", "404", "422", "429"},
    ("/persons/enrich/bulk", "post"): {"200", "401", "422", "429"},
    ("/organizations/enrich/bulk", "post"): {"200", "401", "422", "429"},
}


def test_document_is_valid_openapi_3_1() -> None:
    validate_openapi(DOC)
    assert DOC["openapi"] == "3.1.0"
    assert DOC["servers"] == [{"url": "https://api-public.salesql.com/v1"}]
    scheme = DOC["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert DOC["security"] == [{"bearerAuth": []}]
    assert "v2.31.0" in DOC["info"]["description"]


def test_every_schema_in_the_document_is_a_valid_2020_12_schema() -> None:
    for schema in DOC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_operations_and_documented_statuses() -> None:
    documented = {
        (path, method): set(op["responses"])
        for path, item in DOC["paths"].items()
        for method, op in item.items()
    }
    assert documented == OPERATIONS
    for (path, method), statuses in OPERATIONS.items():
        for status in statuses:
            content = DOC["paths"][path][method]["responses"][status]["content"]
            assert set(content) == {JSON}


def test_person_get_query_parameters() -> None:
    params = {p["name"]: p for p in DOC["paths"]["/persons/enrich"]["get"]["parameters"]}
    assert set(params) == {
        "linkedin_url",
        "first_name",
        "last_name",
        "full_name",
        "organization_name",
        "organization_domain",
        "match_if_direct_email",
        "match_if_direct_phone",
    }
    assert all(p["in"] == "query" for p in params.values())
    assert params["match_if_direct_email"]["schema"]["type"] == "boolean"
    assert params["match_if_direct_phone"]["schema"]["type"] == "boolean"
    org_params = DOC["paths"]["/organizations/enrich"]["get"]["parameters"]
    assert {p["name"] for p in org_params} == {
        "linkedin_url",
        "organization_name",
        "organization_domain",
    }


def test_no_closed_response_objects() -> None:
    def walk(node: object) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for node in walk(DOC["components"]["schemas"]):
        assert node.get("additionalProperties", True) is not False
        assert node.get("unevaluatedProperties", True) is not False


# --------------------------------------------------------------------------------------
# The reference's examples validate
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "example"),
    [
        ("/allowance", "get", ALLOWANCE_EXAMPLE),
        ("/organizations/enrich", "get", ORGANIZATION_EXAMPLE),
        ("/persons/enrich", "get", PERSON_EXAMPLE),
        ("/persons/enrich/bulk", "post", BULK_PERSON_EXAMPLE),
        ("/organizations/enrich/bulk", "post", BULK_ORGANIZATION_EXAMPLE),
    ],
)
def test_reference_examples_validate(path: str, method: str, example: object) -> None:
    assert_valid(response_schema(path, method, 200), example)
    # The document carries the same example.
    assert DOC["paths"][path][method]["responses"]["200"]["content"][JSON]["example"] == example


def test_reference_components_validate() -> None:
    assert_valid(component("Allowance"), ALLOWANCE_EXAMPLE)
    assert_valid(component("Person"), REFERENCE_PERSON)
    assert_valid(component("Organization"), ORGANIZATION_EXAMPLE["organization"])
    assert_valid(component("BulkPersonItem"), {"error": "Person not found"})
    assert_valid(component("BulkOrganizationItem"), {"error": "Organization not found"})
    assert_valid(component("NotFound"), {"error": "Person not found"})
    assert_valid(component("ErrorDetail"), {"detail": "Rate limit exceeded", "status": 429})
    for item in REFERENCE_PERSON["work_experience"]:
        assert_valid(component("WorkExperience"), item)
    for email in REFERENCE_PERSON["emails"]:
        assert_valid(component("Email"), email)
    for phone in REFERENCE_PERSON["phones"]:
        assert_valid(component("Phone"), phone)


def test_request_examples_validate() -> None:
    persons = request_schema("/persons/enrich/bulk")
    orgs = request_schema("/organizations/enrich/bulk")
    assert_valid(persons, [{"linkedin_url": "https://linkedin.com/in/sandrocarsava"}])
    assert_valid(orgs, [{"linkedin_url": "https://linkedin.com/company/salesql"}])
    assert_valid(persons, [{"full_name": "Ada Lovelace", "organization_domain": "x.io"}] * 100)
    assert not persons.is_valid([])
    assert not persons.is_valid([{"linkedin_url": "https://linkedin.com/in/a"}] * 101)
    assert not persons.is_valid([{"first_name": "Ada"}])
    assert not orgs.is_valid([{}])
    assert not orgs.is_valid([])


# --------------------------------------------------------------------------------------
# The lean shape validates; broken records do not
# --------------------------------------------------------------------------------------


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


def test_lean_record_validates_as_bulk_person_item() -> None:
    item = component("BulkPersonItem")
    assert_valid(item, LEAN_PERSON)
    assert_valid(item, {**LEAN_PERSON, "organization_name": None})
    assert_valid(item, _without(LEAN_PERSON, "first_name"))
    assert_valid(item, _without(LEAN_PERSON, "linkedin_url"))
    assert_valid(item, {**LEAN_PERSON, "emails": [], "phones": []})
    assert_valid(item, {**LEAN_PERSON, "some_future_field": {"x": 1}})
    assert_valid(
        response_schema("/persons/enrich/bulk", "post", 200),
        [LEAN_PERSON, {"error": "Person not found"}],
    )


@pytest.mark.parametrize("key", ["uuid", "full_name"])
def test_record_missing_a_required_key_is_rejected(key: str) -> None:
    assert not component("BulkPersonItem").is_valid(_without(LEAN_PERSON, key))
    assert not response_schema("/persons/enrich/bulk", "post", 200).is_valid(
        [_without(LEAN_PERSON, key)]
    )


def test_wrong_types_are_rejected() -> None:
    person = component("Person")
    assert not person.is_valid({**LEAN_PERSON, "uuid": "not-a-uuid"})
    assert not person.is_valid({**LEAN_PERSON, "emails": "ada@example.org"})
    assert not person.is_valid({**LEAN_PERSON, "organization_name": 3})
    assert not person.is_valid({**REFERENCE_PERSON, "timestamp_work_experience_start": "2001"})
    assert not component("Organization").is_valid(
        {"uuid": ORGANIZATION_EXAMPLE["organization"]["uuid"]}
    )
    assert not component("Allowance").is_valid({"credits": {"emails_and_phones": 1}})
    assert not component("ErrorDetail").is_valid({"detail": "Unauthorized"})
    assert not component("NotFound").is_valid({})
    # A found item that also says "error" is ambiguous: neither one nor the other.
    assert not component("BulkPersonItem").is_valid({**LEAN_PERSON, "error": "Person not found"})
    assert_valid(component("Allowance"), {"credits": {"emails_and_phones": 0}, "reset_date": None})
    assert_valid(component("Location"), {"city": None, "country": "Germany", "geo": [1, 2]})


# --------------------------------------------------------------------------------------
# The sandbox answers as the document says
# --------------------------------------------------------------------------------------


def test_sandbox_points_at_this_document() -> None:
    from salesql_frames import sandbox

    assert Path(sandbox.OPENAPI_PATH).resolve() == DOC_PATH


class Checker:
    """Send a request to the sandbox and validate the answer against the document."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.seen: dict[tuple[str, str], set[int]] = {}

    def __call__(
        self,
        method: str,
        path: str,
        *,
        expect: set[int] | int | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        response = self.client.request(method.upper(), path, **kwargs)
        status = response.status_code
        if expect is not None:
            wanted = {expect} if isinstance(expect, int) else expect
            assert status in wanted, f"{method} {path}: {status} {response.text[:300]}"
        body = response.json()
        assert_valid(response_schema(path, method, status), body)
        if status >= 400 and status != 404:
            assert body["status"] == status
        self.seen.setdefault((path, method), set()).add(status)
        return response


@pytest.fixture(scope="module", params=["documented", "lean"])
def sandbox_client(request: pytest.FixtureRequest) -> Iterator[tuple[Checker, Any]]:
    from salesql_frames import sandbox

    with (
        sandbox.serve(seed=0, shape=request.param) as sb,
        httpx.Client(
            base_url=sb.base_url,
            headers={"Authorization": f"Bearer {sb.api_key}", "Accept": JSON},
            timeout=10.0,
        ) as client,
    ):
        yield Checker(client), sb


def test_sandbox_answers_match_the_document(sandbox_client: tuple[Checker, Any]) -> None:
    check, sb = sandbox_client

    check("get", "/allowance", expect=200)

    urls = [f"https://linkedin.com/in/person-{i}" for i in range(100)]
    bulk = check(
        "post", "/persons/enrich/bulk", json=[{"linkedin_url": u} for u in urls], expect=200
    )
    items = bulk.json()
    assert len(items) == 100
    found = [item for item in items if "error" not in item]
    assert found, "the sandbox found nobody among 100 LinkedIn URLs"

    # Single lookups by LinkedIn URL and by name + organization.
    for i in range(5):
        check("get", "/persons/enrich", params={"linkedin_url": urls[i]}, expect={200, 404})
    check(
        "get",
        "/persons/enrich",
        params={"linkedin_url": urls[0], "match_if_direct_email": "true"},
        expect={200, 404},
    )
    check(
        "get",
        "/persons/enrich",
        params={"linkedin_url": urls[1], "match_if_direct_phone": "false"},
        expect={200, 404},
    )
    for person in found[:3]:
        org = person.get("organization") or {}
        domain = org.get("website_domain") or "example.com"
        name = org.get("name") or person.get("organization_name") or "Example Inc"
        check(
            "get",
            "/persons/enrich",
            params={"full_name": person["full_name"], "organization_domain": domain},
            expect={200, 404},
        )
        if person.get("first_name") and person.get("last_name"):
            check(
                "get",
                "/persons/enrich",
                params={
                    "first_name": person["first_name"],
                    "last_name": person["last_name"],
                    "organization_name": name,
                },
                expect={200, 404},
            )
    check(
        "get", "/persons/enrich", params={"linkedin_url": "https://linkedin.com/in/sandrocarsava"}
    )
    check(
        "post",
        "/persons/enrich/bulk",
        json=[
            {"full_name": "Ada Lovelace", "organization_domain": "analytical.example"},
            {"first_name": "Ada", "last_name": "Lovelace", "organization_name": "Analytical"},
            {"linkedin_url": urls[7]},
        ],
        expect=200,
    )

    # Organizations: by domain, name and LinkedIn URL, single and bulk.
    org_queries = [
        {"organization_domain": "salesql.com"},
        {"organization_name": "SalesQL"},
        {"linkedin_url": "https://linkedin.com/company/salesql"},
        *({"organization_domain": f"company-{i}.com"} for i in range(20)),
        *({"organization_name": f"Company {i}"} for i in range(10)),
    ]
    for query in org_queries[:6]:
        check("get", "/organizations/enrich", params=query, expect={200, 404})
    orgs = check("post", "/organizations/enrich/bulk", json=org_queries, expect=200)
    assert len(orgs.json()) == len(org_queries)

    # Not found: single lookups of what the bulk answers did not find.
    missed = [urls[i] for i, item in enumerate(items) if "error" in item]
    assert missed, "the sandbox found everybody among 100 LinkedIn URLs"
    for url in missed[:3]:
        assert check("get", "/persons/enrich", params={"linkedin_url": url}, expect=404).json() == {
            "error": "Person not found"
        }
    org_missed = [q for q, item in zip(org_queries, orgs.json(), strict=True) if "error" in item]
    assert org_missed, "the sandbox found every organization"
    assert check("get", "/organizations/enrich", params=org_missed[0], expect=404).json() == {
        "error": "Organization not found"
    }

    # Unauthorized, on every operation; and without any Authorization header.
    wrong = {"Authorization": "Bearer wrong-key"}
    bare = httpx.get(f"{sb.base_url}/allowance", timeout=10.0)
    assert bare.status_code == 401
    assert_valid(response_schema("/allowance", "get", 401), bare.json())
    check("get", "/allowance", headers=wrong, expect=401)
    check("get", "/persons/enrich", params={"linkedin_url": urls[0]}, headers=wrong, expect=401)
    check(
        "get",
        "/organizations/enrich",
        params={"organization_domain": "salesql.com"},
        headers=wrong,
        expect=401,
    )
    check(
        "post", "/persons/enrich/bulk", json=[{"linkedin_url": urls[0]}], headers=wrong, expect=401
    )
    check(
        "post",
        "/organizations/enrich/bulk",
        json=[{"organization_domain": "salesql.com"}],
        headers=wrong,
        expect=401,
    )

    # Incomplete queries.
    check("get", "/persons/enrich", params={"first_name": "Ada"}, expect=422)
    check("get", "/organizations/enrich", params={}, expect=422)
    check("post", "/persons/enrich/bulk", json=[{"first_name": "Ada"}], expect=422)
    check("post", "/organizations/enrich/bulk", json=[{}], expect=422)

    assert check.seen[("/persons/enrich", "get")] >= {200, 401, 404, 422}
    assert check.seen[("/organizations/enrich", "get")] >= {200, 401, 404, 422}
    assert sb.base_url.endswith("/v1")


@pytest.mark.parametrize("path", ["/persons/enrich/bulk", "/organizations/enrich/bulk"])
@pytest.mark.parametrize("size", [0, 101])
def test_sandbox_rejects_a_bulk_of_bad_size_with_a_documented_status(
    sandbox_client: tuple[Checker, Any], path: str, size: int
) -> None:
    """The reference documents 200, 401, 422 and 429 for the bulk operations: no 400."""
    check, _ = sandbox_client
    query = (
        {"linkedin_url": "https://linkedin.com/in/person-1"}
        if path.startswith("/persons")
        else {"organization_domain": "salesql.com"}
    )
    check("post", path, json=[query] * size, expect=422)
