"""The client against a second, minimal server written from the reference alone.

It shares no code with the sandbox and behaves like a typical web framework would where
the reference leaves room: trailing-slash redirects, ``charset`` in the content type,
FastAPI-style 422 bodies whose ``detail`` is a list, and an allowance given as a bare
number. The client must work with it unchanged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
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
        if path != "/v1/persons/enrich/bulk/":
            self.reply(404, {"detail": "Not Found"})
            return
        queries = json.loads(body)
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


def test_every_call_works_against_another_server(base_url: str) -> None:
    with Client(KEY, base_url=base_url) as client:
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
    assert Client("wrong", base_url=base_url).verify_key() is False


def test_list_shaped_422_detail_is_reported(base_url: str) -> None:
    with Client(KEY, base_url=base_url) as client:
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
