"""The client against a second, minimal server written from the reference alone.

It shares no code with the sandbox and behaves like a typical web framework would where
the reference leaves room: trailing-slash redirects, ``charset`` in the content type,
FastAPI-style 422 bodies whose ``detail`` is a list, and an allowance given as a bare
number. The client must work with it unchanged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

import salesql_frames as sf
from salesql_frames import Client

KEY = "other-server-key"
KNOWN = {"https://linkedin.com/in/sandrocarsava": "Sandro Carsava",
         "https://linkedin.com/in/ada-lovelace": "Ada Lovelace"}


def person(url: str) -> dict[str, Any]:
    return {"uuid": "00000000-0000-4000-8000-000000000001", "full_name": KNOWN[url],
            "linkedin_url": url, "emails": [{"email": "a@b.io", "type": "Work",
                                             "status": "Valid"}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []  # noqa: RUF012  (one server per test module)
    bulk: list[dict[str, Any]] = []  # noqa: RUF012  every query a bulk request carried

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def route(self) -> str | None:
        parts = urlsplit(self.path)
        Handler.seen.append(f"{self.command} {parts.path}")
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            self.reply(401, {"detail": "Not authenticated", "status": 401})
            return None
        if not parts.path.endswith("/"):  # the framework's trailing-slash redirect
            query = f"?{parts.query}" if parts.query else ""
            self.send_response(307)
            self.send_header("Location", f"{parts.path}/{query}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return parts.path

    def do_GET(self) -> None:
        path = self.route()
        if path is None:
            return
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        if path == "/v1/allowance/":
            self.reply(200, 42)  # a bare number, as some third-party code expects
        elif path == "/v1/persons/enrich/":
            url = query.get("linkedin_url")
            if url is None:
                self.reply(422, {"detail": [{"loc": ["query", "linkedin_url"],
                                             "msg": "field required"}]})
            elif url in KNOWN:
                self.reply(200, {"person": person(url)})
            else:
                self.reply(404, {"error": "Person not found"})
        else:
            self.reply(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        path = self.route()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path is None:
            return
        queries = json.loads(body)
        if path == "/v1/organizations/enrich/bulk/":
            Handler.bulk += queries
            self.reply(200, [{"error": "Organization not found"} for _ in queries])
            return
        if path != "/v1/persons/enrich/bulk/":
            self.reply(404, {"detail": "Not Found"})
            return
        Handler.bulk += queries
        answers = [person(q["linkedin_url"]) if q.get("linkedin_url") in KNOWN
                   else {"error": "Person not found"} for q in queries]
        self.reply(200, answers)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_every_call_works_against_another_server(
    make_client: Callable[..., Any], base_url: str
) -> None:
    # Both clients (``make_client``): Client, and AsyncClient on an event loop.
    with make_client(KEY, base_url=base_url) as client:
        assert client.allowance().emails_and_phones == 42
        assert client.verify_key() is True
        assert client.enrich_person(linkedin_url="linkedin.com/in/nobody") is None
        answers = client.enrich_persons_bulk(
            [{"linkedin_url": "https://linkedin.com/in/ada-lovelace"},
             {"linkedin_url": "https://linkedin.com/in/nobody"}]
        )
    assert answers[0]["full_name"] == "Ada Lovelace"
    assert answers[1] == {"error": "Person not found"}
    assert "POST /v1/persons/enrich/bulk/" in Handler.seen  # the redirect kept POST + body
    assert make_client("wrong", base_url=base_url).verify_key() is False


def test_list_shaped_422_detail_is_reported(
    make_client: Callable[..., Any], base_url: str
) -> None:
    with make_client(KEY, base_url=base_url) as client:
        with pytest.raises(sf.InvalidRequestError, match="field required") as info:
            client._request("GET", "/persons/enrich", params={"full_name": "x"})
    assert info.value.status == 422
    assert info.value.detail == "field required"


def test_the_accessor_works_against_another_server(base_url: str) -> None:
    leads = pd.DataFrame({"LinkedIn": ["https://www.linkedin.com/in/Ada-Lovelace/",
                                       "linkedin.com/in/nobody", None]})
    with Client(KEY, base_url=base_url) as client:
        out = leads.salesql.enrich_persons(client=client, cache=False, progress=False)
    assert list(out["salesql_status"]) == ["found", "not_found", "invalid_input"]
    assert out["salesql_work_email"].iloc[0] == "a@b.io"


def test_the_queries_another_server_receives_are_the_right_ones(base_url: str) -> None:
    """What goes over the wire, as a server that shares no code with the sandbox saw it."""
    accounts = pd.DataFrame({"Website": [
        "https://www.linkedin.com/company/acme/", "https://www.linkedin.com/company/initech",
        "careers.globex.com", "\u200fhttps://www.globex.com/about\u200e", "blog.umbrella.co.uk",
        "a.github.io", "b.github.io", "jane@gmail.com", "https://www.linkedin.com/in/ada",
    ]})
    people = pd.DataFrame({"Profile": ["https://www.linkedin.com/company/acme",
                                       "https://www.linkedin.com/in/ada-lovelace\u200e"]})
    Handler.bulk.clear()
    with Client(KEY, base_url=base_url) as client:
        out = accounts.salesql.enrich_organizations(client=client, cache=False, progress=False)
        people.salesql.enrich_persons(linkedin_url="Profile", client=client, cache=False,
                                      progress=False)
    assert sorted(map(str, Handler.bulk)) == sorted(map(str, [
        {"linkedin_url": "https://linkedin.com/company/acme"},
        {"linkedin_url": "https://linkedin.com/company/initech"},
        {"organization_domain": "globex.com"},
        {"organization_domain": "umbrella.co.uk"},
        {"organization_domain": "a.github.io"},
        {"organization_domain": "b.github.io"},
        {"linkedin_url": "https://linkedin.com/in/ada-lovelace"},
    ]))
    assert list(out["salesql_status"])[-2:] == ["invalid_input", "invalid_input"]


class Elsewhere(BaseHTTPRequestHandler):
    """Another origin a hostile or misconfigured server redirects to; it counts visitors."""

    protocol_version = "HTTP/1.1"
    seen: list[str] = []  # noqa: RUF012  (one server per test)

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        Elsewhere.seen.append(f"{self.command} {self.path} {self.headers.get('Authorization')}")
        data = json.dumps([person("https://linkedin.com/in/ada-lovelace")]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_redirect_to_another_host_is_refused_and_nothing_is_accepted() -> None:
    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{elsewhere.server_address[1]}/v1/persons/enrich/bulk/"

    class Moved(Handler):
        def do_POST(self) -> None:  # the framework's slash redirect, then a move away
            if urlsplit(self.path).path.endswith("/"):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                Handler.seen.append(f"POST {self.path}")
                self.send_response(307)
                self.send_header("Location", f"{target}?sig=secret-signature")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                super().do_POST()

    moved = ThreadingHTTPServer(("127.0.0.1", 0), Moved)
    threading.Thread(target=moved.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{moved.server_address[1]}/v1"
    leads = pd.DataFrame({"LinkedIn": ["https://linkedin.com/in/ada-lovelace"]})
    try:
        with Client(KEY, base_url=base_url, max_retries=2) as client:
            with pytest.raises(sf.APIStatusError) as info:
                client.enrich_persons_bulk([{"linkedin_url": "linkedin.com/in/ada-lovelace"}])
            with pytest.raises(sf.APIStatusError, match="set base_url"):  # nothing answered:
                leads.salesql.enrich_persons(client=client, cache=False, progress=False)
    finally:
        for server in (elsewhere, moved):
            server.shutdown()
            server.server_close()
    assert info.value.status == 307
    assert f"-> {target}: set base_url to {target.removesuffix('/persons/enrich/bulk/')}" in (
        str(info.value))  # where it pointed, without the query, and what to set
    assert "secret-signature" not in str(info.value)
    assert Elsewhere.seen == []  # nothing went to the other host, the key least of all
