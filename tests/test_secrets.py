"""The API key never leaks: a canary key through every error path the client has.

For each path the error is checked everywhere an error tracker or a log could carry it:
its traceback formatted with every frame's locals (what Sentry and ``pytest
--showlocals`` capture), ``repr``, ``str``, its pickle, the chain of ``__cause__`` and
``__context__`` (no httpx exception, which would carry the request and its headers),
the DEBUG log, and the client's ``repr`` and pickle. The canary is a module global and
is never bound to a local of a test, so a test's own frame cannot be what leaks it.
Every path runs against `Client` and `AsyncClient` (``make_client``; an async error's
traceback holds the event loop's frames too).
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import pickle
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import salesql_frames as sf
from salesql_frames import AsyncClient, Client, sandbox
from salesql_frames.sandbox import FakeClock

TOKEN = secrets.token_hex(12)
CANARY = "sk-canary-" + TOKEN
FREE = "https://linkedin.com/in/sandrocarsava"
BULK = [{"linkedin_url": FREE}]


# -- the checks ---------------------------------------------------------------------------


def chain(error: BaseException) -> list[BaseException]:
    """``error`` and everything it chains through ``__cause__`` and ``__context__``."""
    seen: list[BaseException] = []
    stack = [error]
    while stack:
        link = stack.pop()
        if any(link is known for known in seen):
            continue
        seen.append(link)
        stack += [e for e in (link.__cause__, link.__context__) if e is not None]
    return seen


def assert_no_canary(error: BaseException, caplog: pytest.LogCaptureFixture,
                     *clients: Any) -> None:
    """Nothing an error tracker, a log or a pickle would keep holds the key."""
    assert isinstance(error, sf.SalesQLError), repr(error)
    texts = [repr(error), str(error), repr(vars(error)), caplog.text]
    for link in chain(error):
        assert not type(link).__module__.startswith(("httpx", "httpcore", "h11")), repr(link)
        texts.append("".join(
            traceback.TracebackException.from_exception(link, capture_locals=True).format()
        ))
    texts += [repr(client) for client in clients]
    blobs = [pickle.dumps(error)] + [pickle.dumps(client) for client in clients]
    for text in texts:
        assert TOKEN not in text
    for blob in blobs:
        assert TOKEN.encode() not in blob
    clone = pickle.loads(blobs[0])
    assert type(clone) is type(error)
    assert str(clone) == str(error)


def caught(call: Callable[[], object]) -> BaseException:
    """The exception ``call`` raises."""
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError("nothing was raised")


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log each request at DEBUG


@pytest.fixture
def canary_sb(clock: FakeClock) -> Iterator[sandbox.Sandbox]:
    """A sandbox that accepts the canary key."""
    with sandbox.serve(seed=3, api_key=CANARY, clock=clock) as server:
        yield server


@pytest.fixture
def canary_client(canary_sb: sandbox.Sandbox, clock: FakeClock,
                  make_client: Callable[..., Any]) -> Any:
    return make_client(CANARY, base_url=canary_sb.base_url, clock=clock, max_retries=1)


# -- answers of the sandbox ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "options", "expected"),
    [
        ("http_401", {}, sf.AuthenticationError),
        ("http_422", {}, sf.InvalidRequestError),
        ("http_500", {}, sf.ServerError),
        ("http_502", {}, sf.ServerError),
        ("http_503", {"retry_after": 1}, sf.ServerError),
        ("http_504", {}, sf.ServerError),
        ("rate_limit", {"retry_after": 1}, sf.RateLimitError),
        ("daily_cap", {}, sf.QuotaExhaustedError),
        ("reset", {}, sf.APIConnectionError),
        ("lost", {}, sf.APIConnectionError),
        ("truncate", {}, sf.APIConnectionError),
        ("malformed_json", {}, sf.ResponseError),
        ("short", {}, sf.ResponseError),
    ],
)
def test_sandbox_faults_never_show_the_key(
    canary_sb: sandbox.Sandbox, canary_client: Any, caplog: pytest.LogCaptureFixture,
    fault: str, options: dict[str, object], expected: type[sf.SalesQLError],
) -> None:
    canary_sb.faults.add(fault, endpoint="persons_bulk", times=5, **options)
    error = caught(lambda: canary_client.enrich_persons_bulk(BULK))
    assert isinstance(error, expected)
    assert canary_sb.counters.faults_served[fault] >= 1
    assert canary_sb.counters.unauthorized == 0  # the canary was sent, and accepted
    assert_no_canary(error, caplog, canary_client)


def test_wrong_key_never_shows_the_key(
    sb: sandbox.Sandbox, clock: FakeClock, caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., Any],
) -> None:
    client = make_client(CANARY, base_url=sb.base_url, clock=clock)
    error = caught(lambda: client.enrich_persons_bulk(BULK))
    assert isinstance(error, sf.AuthenticationError)
    assert sb.counters.unauthorized == 1
    assert_no_canary(error, caplog, client)


def test_wrong_path_never_shows_the_key(
    canary_sb: sandbox.Sandbox, clock: FakeClock, caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., Any],
) -> None:
    client = make_client(CANARY, base_url=canary_sb.base_url.removesuffix("/v1") + "/v9",
                         clock=clock)
    error = caught(lambda: client.enrich_persons_bulk(BULK))
    assert isinstance(error, sf.NotFoundError)
    assert_no_canary(error, caplog, client)


def test_stall_never_shows_the_key(
    canary_sb: sandbox.Sandbox, caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., Any],
) -> None:
    canary_sb.faults.add("stall", endpoint="persons_bulk", seconds=5)
    client = make_client(CANARY, base_url=canary_sb.base_url, timeout=0.5, max_retries=0)
    error = caught(lambda: client.enrich_persons_bulk(BULK))
    assert isinstance(error, sf.APITimeoutError)
    assert error.sent is True
    assert_no_canary(error, caplog, client)


def test_connection_refused_never_shows_the_key(
    caplog: pytest.LogCaptureFixture, make_client: Callable[..., Any]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(CANARY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    error = caught(client.allowance)
    assert isinstance(error, sf.APIConnectionError)
    assert error.sent is False
    assert_no_canary(error, caplog, client)


def test_missing_key_never_shows_a_key(
    canary_sb: sandbox.Sandbox, caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., Any],
) -> None:
    client = make_client(base_url=canary_sb.base_url)
    error = caught(lambda: client.enrich_persons_bulk(BULK))
    assert isinstance(error, sf.MissingAPIKeyError)
    assert sum(canary_sb.counters.requests.values()) == 0
    assert_no_canary(error, caplog, client)


# -- a hostile server that echoes the key everywhere ---------------------------------------


class Echo(BaseHTTPRequestHandler):
    """Answers as ``self.server.answer`` says, with the key it received put in the body.

    (Not in a response header: httpcore's DEBUG log prints those as they are.)
    """

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization", "")
        self.server.authorizations.append(authorization)  # type: ignore[attr-defined]
        key = authorization.removeprefix("Bearer ")
        status, headers, body = self.server.answer(key)  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name == "Content-Length" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client refused the body
            self.wfile.write(body)


Answer = Callable[[str], tuple[int, list[tuple[str, str]], bytes]]


def echo_json(status: int, **extra: str) -> Answer:
    def answer(key: str) -> tuple[int, list[tuple[str, str]], bytes]:
        body = json.dumps({"detail": f"the key {key} is refused", "error": key}).encode()
        return status, [("Content-Type", "application/json"), *extra.items()], body
    return answer


def echo(status: int, body: str, *headers: tuple[str, str]) -> Answer:
    return lambda key: (status, list(headers), body.replace("KEY", key).encode())


ECHOES: dict[str, tuple[Answer, type[sf.SalesQLError]]] = {
    "403": (echo_json(403), sf.AuthenticationError),
    "422": (echo_json(422), sf.InvalidRequestError),
    "429": (echo_json(429, **{"Retry-After": "1"}), sf.RateLimitError),
    "500 text": (echo(500, "crashed handling KEY", ("Content-Type", "text/plain")),
                 sf.ServerError),
    "malformed JSON": (echo(200, '{"person": "KEY', ("Content-Type", "application/json")),
                       sf.ResponseError),
    "redirect": (echo(301, "", ("Location",
                                "https://evil.example/KEY/v1/persons/enrich/bulk?api_key=KEY")),
                 sf.APIStatusError),
    "redirect to userinfo": (echo(307, "", ("Location", "https://KEY:x@evil.example/v1")),
                             sf.APIStatusError),
    "oversized": (echo(200, "KEY", ("Content-Length", str(2 * 1024**3))), sf.ResponseError),
    "too deep to parse": (echo(200, "[" * 100_000 + '"KEY"' + "]" * 100_000), sf.ResponseError),
    "short bulk": (echo(200, '[{"error": "KEY"}, {"error": "KEY"}]'), sf.ResponseError),
    "item not an object": (echo(200, '[["KEY"]]'), sf.ResponseError),
    "deeper than the limit": (echo(200, "[" * 70 + '"KEY"' + "]" * 70), sf.ResponseError),
}


@pytest.fixture
def echo_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.authorizations = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("case", list(ECHOES))
def test_server_echoing_the_key_never_shows_it(
    echo_server: ThreadingHTTPServer, clock: FakeClock, caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., Any], case: str,
) -> None:
    answer, expected = ECHOES[case]
    echo_server.answer = answer  # type: ignore[attr-defined]
    base_url = f"http://127.0.0.1:{echo_server.server_address[1]}/v1"
    client = make_client(CANARY, base_url=base_url, clock=clock, max_retries=1)
    error = caught(lambda: client.enrich_persons_bulk(BULK))
    assert type(error) is expected, repr(error)
    assert echo_server.authorizations[0] == "Bearer " + CANARY  # type: ignore[attr-defined]
    assert_no_canary(error, caplog, client)


def test_allowance_echoing_the_key_never_shows_it(
    echo_server: ThreadingHTTPServer, caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., Any],
) -> None:
    echo_server.answer = echo(200, '["KEY"]')  # type: ignore[attr-defined]
    base_url = f"http://127.0.0.1:{echo_server.server_address[1]}/v1"
    client = make_client(CANARY, base_url=base_url)
    error = caught(client.allowance)
    assert isinstance(error, sf.ResponseError)
    assert_no_canary(error, caplog, client)


def test_trickle_never_shows_the_key(
    caplog: pytest.LogCaptureFixture, make_client: Callable[..., Any]
) -> None:
    clock = FakeClock()
    listener = socket.create_server(("127.0.0.1", 0))

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                clock.advance(1.0)
                try:
                    conn.sendall(b" ")
                except OSError:
                    return
                time.sleep(0.01)

    threading.Thread(target=trickle, daemon=True).start()
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    client = make_client(CANARY, base_url=base_url, timeout=2, clock=clock, max_retries=0)
    try:
        error = caught(lambda: client.enrich_persons_bulk(BULK))
    finally:
        listener.close()
    assert isinstance(error, sf.APITimeoutError)
    assert_no_canary(error, caplog, client)


# -- configuration refused before anything is sent ----------------------------------------


BAD_CONFIG: dict[str, Callable[[Callable[..., Any]], object]] = {
    "inner space": lambda make: make(CANARY + " x"),
    "line break": lambda make: make(CANARY + "\n" + CANARY),
    "non-ASCII": lambda make: make(CANARY + "\u00e9"),  # never a UnicodeEncodeError
    "too long": lambda make: make(CANARY * 100),
    "key as userinfo": lambda make: make(base_url=f"https://{CANARY}@api.example.com/v1"),
    "key as password": lambda make: make(base_url=f"https://u:{CANARY}@api.example.com/v1"),
    "key in query": lambda make: make(base_url=f"https://api.example.com/v1?token={CANARY}"),
    "api_key query": lambda make: make(base_url=f"https://api.example.com/v1?api_key={CANARY}"),
    "key in fragment": lambda make: make(base_url=f"https://api.example.com/v1#{CANARY}"),
    "key in path": lambda make: make(CANARY, base_url=f"https://api.example.com/{CANARY}/v1"),
    "swapped arguments": lambda make: make(CANARY, base_url=CANARY),
    "bad URL with key": lambda make: make(base_url=f"https://{CANARY}@[::1/v1"),
    "bad timeout": lambda make: make(CANARY, timeout=float("inf")),
}


@pytest.mark.parametrize("case", list(BAD_CONFIG))
@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_bad_configuration_never_shows_the_key(
    caplog: pytest.LogCaptureFixture, client_class: type[Any], case: str
) -> None:
    # The class itself, not ``make_client``: that helper's frame would hold the key.
    error = caught(lambda: BAD_CONFIG[case](client_class))
    assert isinstance(error, sf.ConfigurationError)
    assert_no_canary(error, caplog)


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_bad_key_from_the_environment_never_shows_it(
    canary_sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, client_class: type[Any],
) -> None:
    monkeypatch.setenv("SALESQL_API_KEY", CANARY + "\t" + CANARY)
    error = caught(lambda: client_class(base_url=canary_sb.base_url))
    assert isinstance(error, sf.ConfigurationError)
    assert "SALESQL_API_KEY" in str(error)
    assert sum(canary_sb.counters.requests.values()) == 0
    assert_no_canary(error, caplog)


# -- where the key may be read ------------------------------------------------------------


def test_only_the_config_module_reveals_the_key() -> None:
    package = Path(sf.__file__).parent
    callers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "reveal"
    )
    assert set(callers) == {"_client/_config.py"}, callers  # BearerAuth and the fingerprint
