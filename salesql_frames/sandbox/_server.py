"""The sandbox's lifecycle: `Sandbox`, the `serve` context manager and `run`."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from ._counters import Counters
from ._data import SHAPES, DataSource, Record, Shape
from ._engine import Engine
from ._faults import FaultPlan
from ._http import API_PREFIX, SandboxHTTPServer
from ._limits import Limiter, RateWindow
from ._runtime import Latency, Runtime, check_latency

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["Sandbox", "run", "serve"]

#: How often the accept loop checks for shutdown (seconds).
_POLL_INTERVAL = 0.05
#: How long `Sandbox.stop` waits for connection threads to end (seconds).
_STOP_TIMEOUT = 0.5


class Sandbox:
    """A local HTTP/1.1 server that behaves like the SalesQL API, with synthetic data.

    Use it as a context manager, or call `start` and `stop`.

    Args:
        port: TCP port; 0 picks a free one.
        host: Interface to bind.
        api_key: The only key accepted (``Authorization: Bearer <key>``).
        seed: Seeds every synthetic record.
        shape: ``"documented"`` (the reference's records) or ``"lean"`` (what real bulk
            answers looked like).
        rate_limit: None, or ``(searches, seconds)``: a window where a bulk of n queries
            counts n searches and ``/allowance`` counts none.
        rate_window: How ``rate_limit`` is counted: ``"sliding"`` (any ``seconds``; a 429's
            ``Retry-After`` says when enough of the oldest searches leave) or ``"fixed"``
            (windows from multiples of ``seconds`` on the clock, counted from zero at each
            boundary; ``Retry-After`` is the time to the next boundary).
        daily_limit: None, or executed searches allowed per UTC day.
        credits: Initial ``emails_and_phones`` credits.
        latency: Seconds slept per request, or a ``(min, max)`` range drawn per request.
        not_found_rate: Share of identities not found.
        organization_credit: Credits charged per organization found.
        clock: Times the rate-limit window; a `FakeClock` lets tests advance it by hand.

    Examples:
        >>> with Sandbox(seed=1) as sb, sb.client() as client:
        ...     client.allowance().emails_and_phones
        10000
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        api_key: str = "sandbox-key",
        seed: int = 0,
        shape: Shape = "documented",
        rate_limit: tuple[int, float] | None = None,
        rate_window: RateWindow = "sliding",
        daily_limit: int | None = None,
        credits: int = 10_000,
        latency: Latency = 0.0,
        not_found_rate: float = 0.15,
        organization_credit: int = 0,
        clock: Clock | None = None,
    ) -> None:
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
        if not api_key or any(char.isspace() for char in api_key):
            raise ValueError("api_key must be a non-empty string without whitespace")
        self.host = host
        self.api_key = api_key
        self.seed = seed
        self.shape: Shape = shape
        self._not_found_rate = not_found_rate
        self.counters = Counters()
        self.faults = FaultPlan()
        self._requested_port = port
        latency_range = check_latency(latency)
        clock = SYSTEM_CLOCK if clock is None else clock
        engine = Engine(
            api_key=api_key,
            data=DataSource(seed=seed, shape=shape, not_found_rate=not_found_rate),
            counters=self.counters,
            limiter=Limiter(rate_limit, daily_limit, clock=clock.monotonic, window=rate_window),
            credits=credits,
            organization_credit=organization_credit,
        )
        self._runtime = Runtime(engine=engine, faults=self.faults, latency=latency_range,
                                seed=seed)
        self._clients: list[Client] = []
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and start serving in a background thread; returns self.

        Raises:
            RuntimeError: The sandbox was stopped already (it cannot restart).
            OSError: The port cannot be bound.
        """
        with self._state_lock:
            if self._runtime.stopping:
                raise RuntimeError("a stopped Sandbox cannot be started again")
            if self._server is not None:
                return self
            server = SandboxHTTPServer((self.host, self._requested_port), self._runtime)
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"salesql-sandbox-{server.server_address[1]}", daemon=True,
            )
            self._server, self._thread = server, thread
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and stalled requests; idempotent, under 1 s."""
        with self._state_lock:
            already = self._runtime.stopping
            self._runtime.stop()
            server, thread = self._server, self._thread
        while self._clients:
            self._clients.pop().close()  # clients from `client()` do not outlive the sandbox
        if already or server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections(_STOP_TIMEOUT)
        thread.join(_STOP_TIMEOUT)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "not started"
        return f"Sandbox({where}, seed={self.seed}, shape={self.shape!r})"

    # -- what tests use -----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port.

        Raises:
            RuntimeError: The sandbox has not been started.
        """
        if self._server is None:
            raise RuntimeError("the Sandbox is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:53211/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{API_PREFIX}"

    @property
    def identity(self) -> str:
        """What this sandbox answers, stably across runs: its data options, not its port.

        Clients from `client` file result-store answers under this identity and the key
        instead of the base URL, so a sandbox started again (on a new port) with the same
        options reuses the answers stored before, as a fixed server would. Different
        seeds, shapes, not-found rates or keys never share answers, and no real server
        has this identity (it is not a URL).

        Examples:
            >>> Sandbox(seed=3).identity
            'sandbox:seed=3,shape=documented,not_found_rate=0.15'
        """
        return (f"sandbox:seed={self.seed},shape={self.shape},"
                f"not_found_rate={self._not_found_rate!r}")

    @property
    def credits_remaining(self) -> int:
        """Credits left, as ``/allowance`` reports them."""
        return self._runtime.engine.credits_remaining

    def client(self, **options: Any) -> Client:
        """A `salesql_frames.Client` for this sandbox, its key and base URL filled in.

        The sandbox closes the clients it handed out when it stops. Its ``account`` (what
        the result store files answers under) comes from `identity` and the key, not from
        the port.

        Args:
            **options: Further `Client` options (``rate_limit``, ``max_retries``, ...).

        Examples:
            >>> with serve() as sb, sb.client() as client:
            ...     client.verify_key()
            True
        """
        from .._client import Client

        client = Client(self.api_key, base_url=self.base_url, **options)
        client._server_identity = self.identity
        self._clients.append(client)
        return client

    def reset_counters(self) -> None:
        """Zero `counters` (credits, rate-limit windows and faults are left as they are)."""
        self.counters.reset()

    def lookup_person(self, query: Mapping[str, object]) -> Record | None:
        """Return the record the server would return for a person query (no count, no charge).

        Flags (``match_if_direct_email`` / ``match_if_direct_phone``) are honoured.

        Raises:
            ValueError: The query has no complete parameter group, or a flag is invalid.
        """
        return self._runtime.engine.lookup_person(query)

    def lookup_organization(self, query: Mapping[str, object]) -> Record | None:
        """Return the record the server would return for an organization query.

        Raises:
            ValueError: The query has no complete parameter group.
        """
        return self._runtime.engine.lookup_organization(query)


@contextlib.contextmanager
def serve(
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    api_key: str = "sandbox-key",
    seed: int = 0,
    shape: Shape = "documented",
    rate_limit: tuple[int, float] | None = None,
    rate_window: RateWindow = "sliding",
    daily_limit: int | None = None,
    credits: int = 10_000,
    latency: Latency = 0.0,
    not_found_rate: float = 0.15,
    organization_credit: int = 0,
    clock: Clock | None = None,
) -> Iterator[Sandbox]:
    """Run a `Sandbox` for the duration of a ``with`` block (see `Sandbox` for the options)."""
    with Sandbox(
        port=port, host=host, api_key=api_key, seed=seed, shape=shape, rate_limit=rate_limit,
        rate_window=rate_window, daily_limit=daily_limit, credits=credits, latency=latency,
        not_found_rate=not_found_rate, organization_credit=organization_credit, clock=clock,
    ) as sandbox:
        yield sandbox


def run(port: int = 8765, host: str = "127.0.0.1", **options: Any) -> None:
    """Serve in the foreground, printing the base URL and key, until Ctrl-C.

    Args:
        port: TCP port.
        host: Interface to bind.
        **options: Any other `Sandbox` option.
    """
    sandbox = Sandbox(port=port, host=host, **options)
    sandbox.start()
    print(f"SalesQL sandbox serving at {sandbox.base_url}", flush=True)
    print(f"API key: {sandbox.api_key}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
