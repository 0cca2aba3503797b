"""The HTTP/1.1 transport: routing, body reading, fault injection and raw responses."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from .._constants import PATH_ALLOWANCE
from .._kinds import ORGANIZATION, PERSON
from ._engine import Reply, error_reply, json_reply
from ._faults import Fault, take_fault
from ._limits import DAILY_LIMIT_DETAIL, RATE_LIMIT_DETAIL, seconds_until_utc_midnight
from ._runtime import Runtime

__all__ = ["API_PREFIX", "SandboxHTTPServer"]

logger = logging.getLogger("salesql_frames.sandbox")

API_PREFIX: Final = "/v1"
#: Largest request body read; a bulk of 100 queries is far smaller.
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
_ROUTES: Final[dict[str, dict[str, str]]] = {
    API_PREFIX + PATH_ALLOWANCE: {"GET": "allowance"},
    API_PREFIX + PERSON.single_path: {"GET": "person"},
    API_PREFIX + PERSON.bulk_path: {"POST": "persons_bulk"},
    API_PREFIX + ORGANIZATION.single_path: {"GET": "organization"},
    API_PREFIX + ORGANIZATION.bulk_path: {"POST": "organizations_bulk"},
}
_BAD_GATEWAY_HTML: Final = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
_LINGER_RESET: Final = struct.pack("ii", 1, 0)


class _Abort(Exception):
    """The connection was aborted on purpose; answer nothing more."""


class _BadBody(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Handler(BaseHTTPRequestHandler):
    """One connection; keep-alive, so possibly many requests."""

    protocol_version = "HTTP/1.1"
    server_version = "salesql-sandbox"
    sys_version = ""
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        """Serve a GET."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Serve a POST."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """Refuse a PUT."""
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        """Refuse a PATCH."""
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        """Refuse a DELETE."""
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Log to the package logger at debug level instead of stderr."""
        logger.debug("%s " + format, self.address_string(), *args)

    # -- request flow -------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        try:
            body = self._read_body()
        except _BadBody as error:
            self.close_connection = True
            self._send(error_reply(error.status, error.detail))
            return
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        methods = _ROUTES.get(path)
        if methods is None:
            self._send(error_reply(404, "Not Found"))
            return
        endpoint = methods.get(method)
        if endpoint is None:
            allowed = ", ".join(methods)
            self._send(error_reply(405, "Method Not Allowed", [("Allow", allowed)]))
            return
        runtime = self.server.runtime
        runtime.counters.enter(endpoint)
        try:
            self._serve(runtime, endpoint, parts.query, body)
        except _Abort:
            self.close_connection = True
        finally:
            runtime.counters.leave()

    def _serve(self, runtime: Runtime, endpoint: str, query_string: str, body: bytes) -> None:
        if runtime.pause(runtime.latency()):
            self._abort()
        multi = parse_qs(query_string, keep_blank_values=True)
        refusal = runtime.engine.authenticate(self.headers.get("Authorization"), list(multi))
        if refusal is not None:
            self._send(refusal)
            return
        fault = take_fault(runtime.faults, endpoint)
        if fault is not None:
            runtime.counters.fault(fault.name)
            early = self._fault_before_work(runtime, fault)
            if early is not None:
                self._send(early)
                return
        params = {name: values[0] for name, values in multi.items()}
        reply = runtime.engine.handle(endpoint, params, body)
        if fault is not None:
            reply = self._fault_after_work(fault, reply)
        self._send(reply)

    def _fault_before_work(self, runtime: Runtime, fault: Fault) -> Reply | None:
        """Answer a fault that replaces the work; None lets the work go on."""
        name = fault.name
        if name == "reset":
            self._abort()
        if name == "stall":
            if runtime.pause(fault.options["seconds"]):
                self._abort()
            return None
        if name == "http_502":
            return Reply(502, _BAD_GATEWAY_HTML, "text/html; charset=utf-8")
        if name in ("rate_limit", "daily_cap"):
            daily = name == "daily_cap"
            runtime.counters.limited(daily=daily)
            retry_after: object = (seconds_until_utc_midnight() if daily
                                   else fault.options["retry_after"])
            headers = [] if retry_after is None else [("Retry-After", str(retry_after))]
            return error_reply(429, DAILY_LIMIT_DETAIL if daily else RATE_LIMIT_DETAIL, headers)
        if name == "http_503":
            retry_after = fault.options["retry_after"]
            headers = [] if retry_after is None else [("Retry-After", str(retry_after))]
            return error_reply(503, "Service Unavailable", headers)
        simple = {
            "http_500": (500, "Internal Server Error"),
            "http_504": (504, "Gateway Timeout"),
            "http_401": (401, "Invalid API key"),
            "http_422": (422, "Missing parameters"),
        }
        if name in simple:
            return error_reply(*simple[name])
        return None

    def _fault_after_work(self, fault: Fault, reply: Reply) -> Reply:
        """Mangle (or lose) the answer of work already done and charged."""
        if fault.name == "lost":
            self._abort()
        if fault.name == "truncate":
            self.close_connection = True
            self._send(Reply(200, reply.body, reply.content_type, reply.headers),
                       limit=len(reply.body) // 2)
            raise _Abort
        if fault.name == "malformed_json":
            return Reply(200, reply.body[: max(1, len(reply.body) // 2)] + b"\x00<!--", headers=())
        if fault.name == "short" and isinstance(reply.payload, list):
            return json_reply(reply.status, reply.payload[:-1], reply.headers)
        return reply

    # -- wire ---------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise _BadBody(400, f"Invalid Content-Length {length!r}") from None
        if size < 0:
            raise _BadBody(400, f"Invalid Content-Length {length!r}")
        if size > MAX_BODY_BYTES:
            raise _BadBody(413, f"Request body too large; the limit is {MAX_BODY_BYTES} bytes")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadBody(400, "Invalid chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadBody(413, f"Request body too large; the limit is {MAX_BODY_BYTES} bytes")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, reply: Reply, *, limit: int | None = None) -> None:
        """Write the whole answer in one send (status line, headers, body)."""
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = ""
        lines = [
            f"HTTP/1.1 {reply.status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
        ]
        lines.extend(f"{name}: {value}" for name, value in reply.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + (reply.body if limit is None else reply.body[:limit]))

    def _abort(self) -> None:
        """Reset the connection (RST, via SO_LINGER 0) and stop serving it."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self.rfile.close()
        self.connection.close()
        raise _Abort


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server answering from ``runtime``; tracks connections to stop at once."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], runtime: Runtime) -> None:
        self.runtime = runtime
        self._tracking_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._connection_threads: set[threading.Thread] = set()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a tracked daemon thread."""
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address),
            name=f"salesql-sandbox-{self.server_address[1]}-connection", daemon=True,
        )
        with self._tracking_lock:
            self._connections.add(request)
            self._connection_threads.add(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._tracking_lock:
                self._connections.discard(request)
                self._connection_threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about connections the client or the sandbox cut."""
        error = sys.exc_info()[1]
        if isinstance(error, (OSError, ValueError, _Abort)) or self.runtime.stopping:
            logger.debug("connection from %s ended: %r", client_address, error)
            return
        super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        """Shut every open connection down and wait up to ``timeout`` for its thread."""
        with self._tracking_lock:
            connections = list(self._connections)
            threads = list(self._connection_threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
