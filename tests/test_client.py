"""The API client against the sandbox, over real loopback sockets."""

from __future__ import annotations

import logging
import pickle
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

import salesql_frames as sf
from salesql_frames import Client, sandbox
from salesql_frames.sandbox import FakeClock

if TYPE_CHECKING:
    from conftest import MakeClient

FREE = "https://linkedin.com/in/sandrocarsava"
CANARY = "sk-canary-7f3a9c1e5b2d4086"


@pytest.fixture
def client(any_client: Any) -> Any:
    """Every test of this module runs against `Client` and `AsyncClient` (``make_client``)."""
    return any_client


def total_requests(sb: sandbox.Sandbox) -> int:
    return sum(sb.counters.requests.values())


# -- configuration ------------------------------------------------------------------------


def test_missing_key_fails_before_any_request(
    make_client: Callable[..., Any], sb: sandbox.Sandbox,
) -> None:
    client = make_client(base_url=sb.base_url)
    with pytest.raises(sf.MissingAPIKeyError) as info:
        client.enrich_person(linkedin_url=FREE)
    assert isinstance(info.value, sf.AuthenticationError)
    message = str(info.value)
    assert "SALESQL_API_KEY" in message
    assert "sandbox" in message
    assert total_requests(sb) == 0
    assert not client.has_api_key


def test_key_and_base_url_from_environment(
    make_client: Callable[..., Any],
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESQL_API_KEY", sb.api_key)
    monkeypatch.setenv("SALESQL_BASE_URL", sb.base_url + "/")
    with make_client() as client:
        assert client.base_url == sb.base_url
        assert client.enrich_person(linkedin_url=FREE) is not None
    assert sb.counters.requests["person"] == 1


def test_default_base_url_and_timeouts_are_bounded(make_client: Callable[..., Any]) -> None:
    client = make_client("k")
    assert client.base_url == "https://api-public.salesql.com/v1"
    assert client.timeout.connect == 5.0
    assert client.timeout.read == 60.0
    assert None not in (client.timeout.write, client.timeout.pool)
    custom = make_client("k", timeout=2)
    assert (custom.timeout.connect, custom.timeout.read) == (2, 2)


@pytest.mark.parametrize(
    "base_url",
    ["ftp://example.com", "not a url", "https://x.io/v1?api_key=abc", "https://x.io/v1#frag"],
)
def test_bad_base_url_is_a_clear_error(make_client: Callable[..., Any], base_url: str) -> None:
    with pytest.raises(sf.ConfigurationError, match="base_url"):
        make_client("k", base_url=base_url)


# -- endpoints ---------------------------------------------------------------------------


def test_enrich_person_by_linkedin_url(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    (url,) = person_urls(1, found=True)
    person = client.enrich_person(linkedin_url=url)
    assert person == sb.lookup_person({"linkedin_url": url})
    assert person is not None
    assert person["linkedin_url"] == url
    assert sb.counters.requests["person"] == 1


def test_enrich_person_by_name_and_domain(sb: sandbox.Sandbox, client: Client) -> None:
    query = {"full_name": "Grace Hopper", "organization_domain": "navy.mil"}
    person = client.enrich_person(**query)
    assert person == sb.lookup_person(query)


def test_enrich_person_not_found_is_none(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    (url,) = person_urls(1, found=False)
    assert client.enrich_person(linkedin_url=url) is None
    assert sb.counters.requests["person"] == 1
    assert sb.counters.credits_charged == 0


def test_enrich_organization_found_and_not_found(sb: sandbox.Sandbox, client: Client) -> None:
    seen = {"found": 0, "missing": 0}
    for i in range(40):
        query = {"organization_domain": f"company-{i}.com"}
        expected = sb.lookup_organization(query)
        got = client.enrich_organization(**query)
        assert got == expected
        seen["found" if got else "missing"] += 1
    assert seen["found"], seen
    assert seen["missing"], seen
    assert sb.counters.requests["organization"] == 40


def test_allowance_reports_credits_spent(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    before = client.allowance()
    assert before.emails_and_phones is not None
    urls = person_urls(30, found=True)
    results = client.enrich_persons_bulk([{"linkedin_url": u} for u in urls])
    billable = sum(1 for r in results if r.get("emails") or r.get("phones"))
    after = client.allowance()
    assert before.emails_and_phones - after.emails_and_phones == billable
    assert sb.counters.credits_charged == billable
    assert after.reset_date is None or after.reset_date.tzinfo is not None


def test_verify_key_uses_the_free_profile(
    make_client: Callable[..., Any], sb: sandbox.Sandbox, client: Client,
) -> None:
    assert client.verify_key() is True
    assert make_client("wrong-key", base_url=sb.base_url).verify_key() is False
    assert sb.counters.credits_charged == 0
    assert set(sb.counters.queries) == {next(iter(sb.counters.queries))}  # one identity
    assert sb.counters.requests["person"] == 2


def test_wrong_key_is_authentication_error_without_retry(
    make_client: Callable[..., Any], sb: sandbox.Sandbox,
) -> None:
    with make_client("wrong-key", base_url=sb.base_url, max_retries=3) as client:
        with pytest.raises(sf.AuthenticationError) as info:
            client.enrich_persons_bulk([{"linkedin_url": FREE}])
    assert info.value.status == 401
    assert info.value.path == "/persons/enrich/bulk"
    assert info.value.detail
    assert sb.counters.requests["persons_bulk"] == 1


# -- bulk --------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "requests"), [(0, 0), (1, 1), (100, 1), (101, 2), (250, 3)])
def test_bulk_chunks_and_aligns(
    sb: sandbox.Sandbox,
    client: Client,
    person_urls: Callable[..., list[str]],
    n: int,
    requests: int,
) -> None:
    urls = person_urls(n)
    results = client.enrich_persons_bulk([{"linkedin_url": u} for u in urls])
    assert len(results) == n
    assert sb.counters.requests["persons_bulk"] == requests
    assert sb.counters.searches == n
    for url, item in zip(urls, results, strict=True):
        expected = sb.lookup_person({"linkedin_url": url})
        assert item == (expected if expected is not None else {"error": "Person not found"})


def test_bulk_batch_size_is_respected(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    client.enrich_persons_bulk([{"linkedin_url": u} for u in person_urls(25)], batch_size=10)
    assert sb.counters.requests["persons_bulk"] == 3
    with pytest.raises(sf.InvalidArgumentError, match="batch_size"):
        client.enrich_persons_bulk([{"linkedin_url": FREE}], batch_size=101)


def test_organizations_bulk(sb: sandbox.Sandbox, client: Client) -> None:
    queries = [{"organization_domain": f"firm-{i}.io"} for i in range(120)]
    queries.append({"organization_name": "Clarosys"})
    results = client.enrich_organizations_bulk(queries)
    assert sb.counters.requests["organizations_bulk"] == 2
    for query, item in zip(queries, results, strict=True):
        expected = sb.lookup_organization(query)
        assert item == (expected if expected is not None else {"error": "Organization not found"})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "empty query"),
        ({"first_name": "Ada"}, "incomplete person query"),
        ({"first_name": "Ada", "last_name": "Lovelace"}, "organization_domain"),
        ({"full_name": "   ", "organization_domain": "x.io"}, "incomplete"),
        ({"linkedin": "https://linkedin.com/in/ada"}, "unknown person parameter"),
        ({"linkedin_url": 12}, "must be a string"),
        ({"linkedin_url": "https://linkedin.com/in/" + "a" * 3000}, "limit is 2,048"),
        ({"linkedin_url": FREE, "match_if_direct_email": "yes"}, "True or False"),
        ("https://linkedin.com/in/ada", "expected a mapping"),
    ],
)
def test_invalid_queries_send_nothing(
    sb: sandbox.Sandbox, client: Client, query: object, message: str
) -> None:
    queries = [{"linkedin_url": FREE}, query]
    with pytest.raises(sf.InvalidQueryError, match=message) as info:
        client.enrich_persons_bulk(queries)  # type: ignore[list-item]
    assert info.value.index == 1
    assert isinstance(info.value, ValueError)
    assert total_requests(sb) == 0


def test_invalid_single_queries_send_nothing(sb: sandbox.Sandbox, client: Client) -> None:
    with pytest.raises(sf.InvalidQueryError, match="organization queries need"):
        client.enrich_organization()
    with pytest.raises(sf.InvalidQueryError, match="unknown organization parameter"):
        client.enrich_organization(full_name="Ada")
    assert total_requests(sb) == 0


def test_flags_travel_with_each_query(sb: sandbox.Sandbox, client: Client) -> None:
    queries = [
        {"full_name": f"Person {i}", "organization_domain": "acme.io",
         "match_if_direct_email": True}
        for i in range(30)
    ]
    results = client.enrich_persons_bulk(queries)
    found = [r for r in results if "error" not in r]
    for query, item in zip(queries, results, strict=True):
        assert item == (sb.lookup_person(query) or {"error": "Person not found"})
    assert all(any(e["type"] == "Direct" for e in r["emails"]) for r in found)


# -- malformed answers -------------------------------------------------------------------


def test_bulk_answer_one_short_is_rejected_whole(
    sb: sandbox.Sandbox, client: Client, person_urls: Callable[..., list[str]]
) -> None:
    sb.faults.add("short", endpoint="persons_bulk")
    with pytest.raises(sf.ResponseError, match="none of them were used"):
        client.enrich_persons_bulk([{"linkedin_url": u} for u in person_urls(10)])
    assert sb.counters.faults_served["short"] == 1
    assert sb.counters.requests["persons_bulk"] == 1  # not retried


def test_malformed_json_is_a_response_error(sb: sandbox.Sandbox, client: Client) -> None:
    sb.faults.add("malformed_json", endpoint="person")
    with pytest.raises(sf.ResponseError, match="not valid JSON"):
        client.enrich_person(linkedin_url=FREE)
    assert sb.counters.requests["person"] == 1


def test_server_422_is_invalid_request_without_retry(sb: sandbox.Sandbox, client: Client) -> None:
    sb.faults.add("http_422", endpoint="persons_bulk")
    with pytest.raises(sf.InvalidRequestError) as info:
        client.enrich_persons_bulk([{"linkedin_url": FREE}])
    assert info.value.status == 422
    assert sb.counters.requests["persons_bulk"] == 1


def test_wrong_base_url_path_says_so(make_client: Callable[..., Any], sb: sandbox.Sandbox) -> None:
    with make_client(sb.api_key, base_url=sb.base_url.removesuffix("/v1") + "/v9") as client:
        with pytest.raises(sf.NotFoundError, match="base URL"):
            client.enrich_persons_bulk([{"linkedin_url": FREE}])


# -- transport failures and retries ------------------------------------------------------


def test_server_error_once_then_success(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock
) -> None:
    sb.faults.add("http_500", endpoint="persons_bulk")
    results = client.enrich_persons_bulk([{"linkedin_url": FREE}])
    assert results[0]["full_name"] == "Sandro Carsava"
    assert sb.counters.requests["persons_bulk"] == 2
    assert sb.counters.faults_served["http_500"] == 1
    assert len(clock.sleeps) == 1
    assert 0.375 <= clock.sleeps[0] <= 0.5  # the first backoff: 0.5 s less up to 25 % jitter


@pytest.mark.parametrize("retry_after", [1, 7])
def test_rate_limit_obeys_retry_after(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, retry_after: int
) -> None:
    sb.faults.add("rate_limit", endpoint="person", retry_after=retry_after)
    assert client.enrich_person(linkedin_url=FREE) is not None
    assert clock.sleeps == [float(retry_after)]  # as told, on the client's clock
    assert sb.counters.rate_limited == 1
    assert sb.counters.requests["person"] == 2


def test_daily_cap_is_not_retried(sb: sandbox.Sandbox, client: Client, clock: FakeClock) -> None:
    sb.faults.add("daily_cap", endpoint="persons_bulk")
    with pytest.raises(sf.QuotaExhaustedError) as info:
        client.enrich_persons_bulk([{"linkedin_url": FREE}])
    assert info.value.resets_at is not None
    assert "daily" in str(info.value).lower()
    assert sb.counters.requests["persons_bulk"] == 1
    assert clock.sleeps == []


def test_connection_refused_is_a_connection_error(make_client: Callable[..., Any]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with make_client("k", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0) as client:
        with pytest.raises(sf.APIConnectionError) as info:
            client.allowance()
    assert info.value.sent is False


def test_stalled_response_times_out(make_client: Callable[..., Any], sb: sandbox.Sandbox) -> None:
    sb.faults.add("stall", endpoint="person", seconds=30)
    started = time.monotonic()  # a real read timeout: real time
    with make_client(sb.api_key, base_url=sb.base_url, timeout=0.5, max_retries=0) as client:
        with pytest.raises(sf.APITimeoutError):
            client.enrich_person(linkedin_url=FREE)
    assert time.monotonic() - started < 10  # cut off by the 0.5 s timeout, not the 30 s stall
    assert sb.counters.faults_served["stall"] == 1


def test_lost_bulk_response_is_retried_at_most_once(
    sb: sandbox.Sandbox, client: Client, clock: FakeClock, person_urls: Callable[..., list[str]]
) -> None:
    urls = person_urls(5)
    sb.faults.add("lost", endpoint="persons_bulk")
    results = client.enrich_persons_bulk([{"linkedin_url": u} for u in urls])
    assert len(results) == 5
    assert sb.counters.requests["persons_bulk"] == 2
    assert len(clock.sleeps) == 1

    sb.reset_counters()
    sb.faults.add("lost", endpoint="persons_bulk", times=3)
    with pytest.raises(sf.APIConnectionError) as info:
        client.enrich_persons_bulk([{"linkedin_url": u} for u in urls])
    assert info.value.sent is True
    assert sb.counters.requests["persons_bulk"] == 2  # the original and one retry
    assert len(clock.sleeps) == 2  # one wait per retry, over both calls


# -- the key never leaks -----------------------------------------------------------------


def test_key_canary(
    make_client: Callable[..., Any], sb: sandbox.Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(CANARY, base_url=sb.base_url, max_retries=1)
    errors: list[BaseException] = []
    for call in (
        lambda: client.enrich_person(linkedin_url=FREE),
        lambda: client.enrich_persons_bulk([{"linkedin_url": FREE}]),
        client.allowance,
    ):
        with pytest.raises(sf.AuthenticationError) as info:
            call()
        errors.append(info.value)
    sb.faults.add("http_500", endpoint="*", times=10)
    with pytest.raises(sf.SalesQLError) as info:
        make_client(CANARY, base_url=sb.base_url, max_retries=1).allowance()
    errors.append(info.value)

    haystacks = [repr(client), str(client.__dict__), caplog.text]
    haystacks += [str(e) + repr(e) + repr(e.__dict__) for e in errors]
    for text in haystacks:
        assert CANARY not in text
    assert CANARY.encode() not in pickle.dumps(client)
    for error in errors:
        blob = pickle.dumps(error)
        assert CANARY.encode() not in blob
        clone = pickle.loads(blob)
        assert type(clone) is type(error)
        assert str(clone) == str(error)
    assert "***" in repr(client._api_key)
    with pytest.raises(TypeError):
        pickle.dumps(client._api_key)
    assert sb.counters.unauthorized >= 3


def test_unpickled_client_reads_key_from_environment(
    make_client: MakeClient, sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(sb.api_key, base_url=sb.base_url)
    blob = pickle.dumps(client)
    assert sb.api_key.encode() not in blob
    monkeypatch.setenv("SALESQL_API_KEY", sb.api_key)
    clone = make_client.adopt(pickle.loads(blob))
    assert repr(clone) == repr(client)
    assert clone.enrich_person(linkedin_url=FREE) is not None


def test_server_echoing_the_key_is_scrubbed(make_client: Callable[..., Any]) -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        return httpx.Response(401, json={"detail": f"invalid key {token}", "status": 401})

    client = make_client(CANARY, base_url="https://api.test/v1",
                         transport=httpx.MockTransport(handler))
    with pytest.raises(sf.AuthenticationError) as info:
        client.allowance()
    assert CANARY not in str(info.value)
    assert info.value.detail == "invalid key ***"


# -- money safety: bad configuration sends nothing ---------------------------------------


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("sk-live one", "whitespace at character 8 of 11"),
        ("sk-live\none", "whitespace"),
        ("sk-live\u00a0one", "whitespace"),  # a non-breaking space, pasted from a web page
        ("\u201csk-live-one\u201d", "not printable ASCII at character 1"),  # curly quotes
        ("sk-live-\u00e9", "not printable ASCII"),  # would be a UnicodeEncodeError in httpx
        ("sk-\x7f", "not printable ASCII"),
        ("k" * 1025, "1025 characters long"),
    ],
)
def test_malformed_key_is_refused_when_the_client_is_made(
    make_client: Callable[..., Any],
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch, key: str, problem: str
) -> None:
    with pytest.raises(sf.ConfigurationError, match=problem) as info:
        make_client(key, base_url=sb.base_url)
    assert "the api_key= argument" in str(info.value)
    assert key.strip() not in str(info.value)
    monkeypatch.setenv("SALESQL_API_KEY", key)
    with pytest.raises(sf.ConfigurationError, match="SALESQL_API_KEY") as info:
        make_client(base_url=sb.base_url)
    assert not isinstance(info.value, (UnicodeError, sf.APIStatusError))
    assert total_requests(sb) == 0
    assert sb.counters.unauthorized == 0


def test_key_outer_whitespace_is_stripped_and_a_non_str_key_refused(
    make_client: Callable[..., Any], sb: sandbox.Sandbox,
) -> None:
    with make_client(f"  {sb.api_key}\n", base_url=sb.base_url) as client:
        assert client.enrich_person(linkedin_url=FREE) is not None
    assert make_client("k" * 1024).has_api_key
    with pytest.raises(sf.InvalidArgumentTypeError, match="api_key must be a str, got bytes"):
        make_client(b"sk-bytes-key", base_url=sb.base_url)  # type: ignore[arg-type]
    assert sb.counters.requests["person"] == 1


@pytest.mark.parametrize(
    ("base_url", "shown", "hidden"),
    [
        ("https://sk-secret@api.example.com/v1", "https://***@api.example.com/v1", "sk-secret"),
        ("https://user:pw-secret@api.example.com/v1", "***@api.example.com", "pw-secret"),
        ("https://api.example.com/v1?token=tk-secret", "https://api.example.com/v1?***",
         "tk-secret"),
        ("https://api.example.com/v1#fr-secret", "https://api.example.com/v1#***", "fr-secret"),
        ("https://api.example.com/v1?api_key=ak-secret", "must not carry an api_key",
         "ak-secret"),
        ("https://api.example.com/ v1", "whitespace", "\n"),
        ("https://[::1/v1", "http(s) URL", "\n"),
        ("https://api.example.com:99999/v1", "http(s) URL", "\n"),
    ],
)
def test_bad_base_url_is_refused_redacted(
    make_client: Callable[..., Any], base_url: str, shown: str, hidden: str,
) -> None:
    with pytest.raises(sf.ConfigurationError, match="base_url") as info:
        make_client("k", base_url=base_url)
    assert shown in str(info.value)
    assert hidden not in str(info.value)


def test_base_url_holding_the_key_is_refused(
    make_client: Callable[..., Any], sb: sandbox.Sandbox,
) -> None:
    with pytest.raises(sf.ConfigurationError, match="must not contain the API key") as info:
        make_client(sb.api_key, base_url=f"{sb.base_url}/{sb.api_key}")
    assert sb.api_key not in str(info.value)
    with pytest.raises(sf.ConfigurationError) as info:
        make_client(sb.api_key, base_url=sb.api_key)  # the arguments swapped
    assert sb.api_key not in str(info.value)
    assert total_requests(sb) == 0


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), 0, -1, "30", True, (1.0,)])
def test_unusable_timeouts_are_refused(make_client: Callable[..., Any], timeout: object) -> None:
    with pytest.raises(sf.ConfigurationError, match="timeouts must be positive"):
        make_client("k", timeout=timeout)  # type: ignore[arg-type]


# -- money safety: a hostile server cannot hold, flood or redirect a request --------------


class RawServer:
    """A TCP server on 127.0.0.1 that answers each request with ``respond(server, conn)``.

    One connection at a time. ``requests`` holds each request's head; ``sent`` counts
    the bytes ``respond`` reported sending; ``done`` is set when a response ends (the
    client closed, or ``respond`` returned).
    """

    def __init__(self, respond: Callable[[RawServer, socket.socket], None]) -> None:
        import threading

        self.respond = respond
        self.requests: list[str] = []
        self.sent = 0
        self.done = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data and (piece := conn.recv(65536)):
                    data += piece
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length and (piece := conn.recv(65536)):
                    body += piece
                self.requests.append(head.decode("latin-1"))
                try:
                    self.respond(self, conn)
                except OSError:
                    pass  # the client hung up
                finally:
                    self.done.set()

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def close(self) -> None:
        self._sock.close()


def head(status: str, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def raw_server():  # type: ignore[no-untyped-def]  (yields the `RawServer` maker)
    servers: list[RawServer] = []

    def start(respond: Callable[[RawServer, socket.socket], None]) -> RawServer:
        servers.append(RawServer(respond))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


NOT_FOUND_ITEM = b'[{"error": "Person not found"}]'


def test_trickling_answer_is_cut_at_the_total_deadline(
    make_client: Callable[..., Any],
    raw_server: Callable[..., RawServer], clock: FakeClock
) -> None:
    body = b" " * 200 + NOT_FOUND_ITEM  # valid JSON once complete: leading spaces are allowed

    def trickle(server: RawServer, conn: socket.socket) -> None:
        server.send(conn, head("200 OK", "Content-Type: application/json",
                               f"Content-Length: {len(body)}"))
        for byte in body:
            clock.advance(1.0)  # a byte a second, on the client's clock
            server.send(conn, bytes([byte]))
            time.sleep(0.01)

    server = raw_server(trickle)
    started = clock.monotonic()
    with make_client("k", base_url=server.base_url, timeout=2, clock=clock,
                     max_retries=0) as client:
        with pytest.raises(sf.APITimeoutError, match="within 5 s") as info:
            client.enrich_persons_bulk([{"linkedin_url": FREE}])
    assert info.value.sent is True
    assert sf._client._retry.outcome_unknown(info.value)
    assert server.done.wait(10)
    assert server.sent < len(body) // 2  # it hung up, instead of reading all 231 bytes
    assert 5 <= clock.monotonic() - started < 100  # connect 2 + read 2 + margin 1 = 5 s
    assert clock.sleeps == []


def test_trickling_answer_ends_in_real_time(
    make_client: Callable[..., Any], raw_server: Callable[..., RawServer],
) -> None:
    def trickle(server: RawServer, conn: socket.socket) -> None:
        server.send(conn, head("200 OK", "Content-Type: application/json", "Content-Length: 60"))
        for _ in range(60):
            server.send(conn, b" ")
            time.sleep(1.0)  # each read is within the 2 s read timeout

    server = raw_server(trickle)
    started = time.monotonic()
    with make_client("k", base_url=server.base_url, timeout=2, max_retries=0) as client:
        with pytest.raises(sf.APITimeoutError):
            client.allowance()
    elapsed = time.monotonic() - started
    assert 3 < elapsed < 10  # the 5 s deadline, not the 60 s of the trickle
    assert server.sent < 100


def test_huge_content_length_is_refused_unread(
    make_client: Callable[..., Any], raw_server: Callable[..., RawServer],
) -> None:
    def flood(server: RawServer, conn: socket.socket) -> None:
        server.send(conn, head("200 OK", "Content-Type: application/json",
                               f"Content-Length: {2 * 1024**3}"))
        chunk = b" " * 65536
        while server.sent < 64 * 1024**2:
            server.send(conn, chunk)

    server = raw_server(flood)
    with make_client("k", base_url=server.base_url, max_retries=2) as client:
        with pytest.raises(sf.ResponseError, match="2147483648 bytes") as info:
            client.enrich_persons_bulk([{"linkedin_url": FREE}])
    assert "33554432-byte limit" in str(info.value)
    assert sf._client._retry.outcome_unknown(info.value)
    assert server.done.wait(10)
    assert server.sent < 16 * 1024**2  # socket buffers at most: the body was never read
    assert len(server.requests) == 1  # not retried: it may have been charged


def test_oversized_body_without_length_is_cut_at_the_cap(
    make_client: Callable[..., Any],
    raw_server: Callable[..., RawServer],
) -> None:
    def flood(server: RawServer, conn: socket.socket) -> None:
        server.send(conn, head("200 OK", "Content-Type: application/json"))  # until close
        server.send(conn, b"[")
        chunk = b" " * 1024**2
        while server.sent < 64 * 1024**2:
            server.send(conn, chunk)
        server.send(conn, b"]")

    server = raw_server(flood)
    with make_client("k", base_url=server.base_url) as client:
        with pytest.raises(sf.ResponseError, match="33554432-byte limit"):
            client.allowance()
    assert server.done.wait(10)
    assert server.sent < 64 * 1024**2  # the client hung up before the end
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"error": "Person not found", "x": ' + b"[" * 70 + b"]" * 70 + b"}]",
         "nested deeper than 64 levels"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply to parse"),  # RecursionError
    ],
    ids=["deeper than the limit", "deeper than json can parse"],
)
def test_deeply_nested_body_is_a_response_error(
    make_client: Callable[..., Any],
    raw_server: Callable[..., RawServer], body: bytes, message: str
) -> None:
    def deep(server: RawServer, conn: socket.socket) -> None:
        server.send(conn, head("200 OK", "Content-Type: application/json",
                               f"Content-Length: {len(body)}") + body)

    server = raw_server(deep)
    with make_client("k", base_url=server.base_url) as client:
        with pytest.raises(sf.ResponseError, match=message) as info:
            client.enrich_persons_bulk([{"linkedin_url": FREE}])
    assert info.value.__context__ is None
    assert info.value.__cause__ is None
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "location", "suggested"),
    [
        ("301 Moved Permanently",
         "https://api.example.com/v1/persons/enrich/bulk?api_key=sk-leak#frag",
         "set base_url to https://api.example.com/v1"),
        ("308 Permanent Redirect", "/v2/persons/enrich/bulk?sig=sk-leak",  # same host
         "set base_url to http://127.0.0.1:{port}/v2"),
        ("307 Temporary Redirect", "https://sso.example.com/login?next=sk-leak",
         "not an API endpoint; check base_url (now http://127.0.0.1:{port}/v1)"),
        ("302 Found", "https://user:sk-leak@api.example.com/v1/persons/enrich/bulk",
         "set base_url to https://api.example.com/v1"),
    ],
    ids=["other host", "same host, other path", "login page", "userinfo"],
)
def test_redirect_is_an_error_naming_the_base_url(
    make_client: Callable[..., Any],
    raw_server: Callable[..., RawServer], clock: FakeClock, status: str, location: str,
    suggested: str,
) -> None:
    def redirect(server: RawServer, conn: socket.socket) -> None:
        server.send(conn, head(status, f"Location: {location}", "Content-Length: 0"))

    server = raw_server(redirect)
    with make_client("k", base_url=server.base_url, clock=clock, max_retries=3) as client:
        with pytest.raises(sf.APIStatusError) as info:
            client.enrich_persons_bulk([{"linkedin_url": FREE}])
    message = str(info.value)
    assert info.value.status == int(status.split()[0])
    assert suggested.format(port=server.port) in message
    assert "sk-leak" not in message
    assert "?" not in message
    assert info.value.detail is None
    assert len(server.requests) == 1  # neither followed nor retried
    assert clock.sleeps == []
    assert not sf._client._retry.outcome_unknown(info.value)


def test_an_interrupted_request_stays_counted_as_possibly_charged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Ctrl-C while the request is out: the server may do the work, so its searches stay
    # counted (a narrow unit test: the interrupt comes from the transport).
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    caplog.set_level(logging.INFO, logger="salesql_frames")
    client = Client("k", base_url="https://api.test/v1", daily_limit=3,
                    transport=httpx.MockTransport(handler))
    with pytest.raises(KeyboardInterrupt):
        client.enrich_persons_bulk([{"linkedin_url": FREE}, {"linkedin_url": FREE + "-2"}])
    assert "POST /persons/enrich/bulk interrupted mid-request" in caplog.text
    with pytest.raises(sf.QuotaExhaustedError, match="2 of 3 searches sent today"):
        client.enrich_persons_bulk([{"linkedin_url": FREE}, {"linkedin_url": FREE + "-2"}])


def test_a_batch_of_unknown_outcome_is_not_resent_for_a_budget(
    make_client: Callable[..., Any], sb: sandbox.Sandbox, clock: FakeClock,
) -> None:
    # send_batch / asend_batch with resend_unknown=False: what _send uses, keeping a budget.
    from salesql_frames._client import asend_batch, send_batch
    from salesql_frames._kinds import PERSON

    client = make_client(sb.api_key, base_url=sb.base_url, clock=clock)
    (batch,) = client._bulk_batches(PERSON, [{"linkedin_url": FREE}], 100)
    if isinstance(client, Client):
        def send() -> object:
            return send_batch(client, PERSON, batch, resend_unknown=False)
    else:
        def send() -> object:
            return client.call(asend_batch, PERSON, batch, resend_unknown=False)
    sb.faults.add("lost", endpoint="persons_bulk")
    with pytest.raises(sf.APIConnectionError) as info:
        send()
    assert info.value.sent is True
    assert sb.counters.requests["persons_bulk"] == 1  # charged, maybe: not sent again
    assert clock.sleeps == []
