"""Shared fixtures: a sandbox and a client on one fake clock, and frames of every backend.

Frames: a test that takes ``make_frame`` runs once per backend in `BACKENDS` (pandas with
NumPy-backed strings, pandas with Arrow strings, polars), and reads results back with
``column`` (plain Python values, missing as None, whatever the backend) and compares
two results with ``assert_same_frame``.

Time: ``sb`` and ``client`` share the ``clock`` fixture, a `FakeClock`, so retries and
pacing never sleep for real and a test asserts the exact waits (``clock.sleeps``).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import polars as pl
import polars.testing
import pyarrow as pa
import pytest

from salesql_frames import AsyncClient, Client, sandbox
from salesql_frames.sandbox import FakeClock

#: Every kind of frame the accessors accept.
BACKENDS = ("pandas", "pandas[pyarrow]", "polars")

#: ``make_frame(data, index=None) -> frame``: columns of plain values, as the backend's frame.
MakeFrame = Callable[..., Any]
#: ``column(frame, name) -> list``: a column of any frame as plain values, missing as None.
Column = Callable[[Any, str], list[Any]]
#: ``assert_same_frame(left, right)``: equal frames of one backend (dtypes included).
AssertSameFrame = Callable[[Any, Any], None]


#: The ``results`` table as store files of earlier versions have it (no claims, no
#: columnar form): the compatibility tests build such files by hand.
EARLIER_RESULTS_TABLE = """
CREATE TABLE results (key TEXT PRIMARY KEY, account TEXT NOT NULL,
    kind TEXT NOT NULL, found INTEGER NOT NULL, item TEXT,
    stored_at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX results_stored_at ON results (stored_at);
"""

def press_ctrl_c_once_stalled(sb: sandbox.Sandbox, *, within: float = 20.0) -> None:
    """In a thread: send this process a real SIGINT once ``sb`` has served a ``stall``."""

    def press() -> None:
        deadline = time.monotonic() + within
        while sb.counters.faults_served["stall"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press, daemon=True).start()


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """Tests never read a developer's real key, base URL or cache."""
    monkeypatch.delenv("SALESQL_API_KEY", raising=False)
    monkeypatch.delenv("SALESQL_BASE_URL", raising=False)
    monkeypatch.setenv("SALESQL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


# -- time --------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    """The clock ``sb`` and ``client`` share: it moves only when something sleeps on it."""
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> Iterator[sandbox.Sandbox]:
    with sandbox.serve(seed=7, clock=clock) as server:
        yield server


@pytest.fixture
def client(sb: sandbox.Sandbox, clock: FakeClock) -> Iterator[Client]:
    with Client(sb.api_key, base_url=sb.base_url, clock=clock) as api:
        yield api


@pytest.fixture
def person_urls(sb: sandbox.Sandbox) -> Callable[..., list[str]]:
    """Make n distinct person URLs; with ``found=``, only ones the sandbox does (not) know."""

    def make(n: int, *, found: bool | None = None, start: int = 0) -> list[str]:
        urls: list[str] = []
        i = start
        while len(urls) < n:
            url = f"https://linkedin.com/in/lead-{i}"
            i += 1
            if found is None or (sb.lookup_person({"linkedin_url": url}) is not None) == found:
                urls.append(url)
        return urls

    return make


# -- frames ------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn."""
    return str(request.param)


@pytest.fixture
def make_frame(backend: str) -> MakeFrame:
    """Build a frame of ``backend`` from ``{column: values}``.

    ``index`` labels the rows of a pandas frame; polars frames have no index, so it is
    ignored there. With ``pandas[pyarrow]`` every text column is ``ArrowDtype(string)``.
    """

    def build(data: Mapping[str, Sequence[Any]], index: Sequence[Any] | None = None) -> Any:
        columns = {name: list(values) for name, values in data.items()}
        if backend == "polars":
            return pl.DataFrame(columns, strict=True)
        frame = pd.DataFrame(columns, index=None if index is None else pd.Index(index))
        if backend == "pandas[pyarrow]":
            text = pd.ArrowDtype(pa.string())
            frame = frame.astype({name: text for name in frame.columns
                                  if frame[name].dtype == object
                                  or pd.api.types.is_string_dtype(frame[name])})
        return frame

    return build


def read_column(frame: Any, name: str) -> list[Any]:
    """A column of a pandas or polars frame as plain values, missing (None/NaN/NA) as None."""
    if isinstance(frame, pl.DataFrame):
        return frame[name].to_list()
    return [None if value is None or value is pd.NA
            or (isinstance(value, float) and math.isnan(value)) else value
            for value in frame[name].tolist()]


@pytest.fixture
def column() -> Column:
    """`read_column`: a column of any frame as plain values, missing as None."""
    return read_column


def same_frame(left: Any, right: Any) -> None:
    """Assert two frames of the same backend are equal, dtypes included."""
    assert type(left) is type(right)
    if isinstance(left, pl.DataFrame):
        polars.testing.assert_frame_equal(left, right)
    else:
        pd.testing.assert_frame_equal(left, right)


@pytest.fixture
def assert_same_frame() -> AssertSameFrame:
    """`same_frame`: assert two frames of one backend are equal."""
    return same_frame


# -- sync and async clients ----------------------------------------------------------------


class SyncView:
    """An `AsyncClient` seen through `Client`'s API: each coroutine runs on one event loop.

    So one test body exercises both clients (the ``make_client`` fixture's params).
    """

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if not inspect.iscoroutinefunction(value):
            return value

        def run(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(value(*args, **kwargs))

        return run

    def __repr__(self) -> str:
        return repr(self._client)

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``function(client, *args, **kwargs)``, a coroutine function, on the loop."""
        return self._loop.run_until_complete(function(self._client, *args, **kwargs))

    def __reduce_ex__(self, protocol: Any) -> Any:  # a view pickles as the client it shows
        return pickle.loads, (pickle.dumps(self._client, protocol),)

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._client.aclose())
            self._loop.close()

    def __enter__(self) -> SyncView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MakeClient:
    """Makes the clients of one test: `Client`, or `AsyncClient` in a `SyncView`."""

    def __init__(self, kind: str) -> None:
        self.client_class: type[Client | AsyncClient] = Client if kind == "sync" else AsyncClient
        self.made: list[Any] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``make_client(api_key, **options)``: a client of this test's kind."""
        return self.adopt(self.client_class(*args, **kwargs))

    def adopt(self, client: Client | AsyncClient) -> Any:
        """``client`` as the tests use it (in a `SyncView` if async), closed at teardown."""
        api = SyncView(client) if isinstance(client, AsyncClient) else client
        self.made.append(api)
        return api


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Iterator[MakeClient]:
    """``make_client(api_key, **options)``: a `Client`, or an `AsyncClient` in a `SyncView`."""
    maker = MakeClient(request.param)
    yield maker
    for api in maker.made:
        api.close()


@pytest.fixture
def any_client(make_client: Callable[..., Any], sb: sandbox.Sandbox, clock: FakeClock) -> Any:
    """The ``client`` of tests that run against both clients (sync and async)."""
    return make_client(sb.api_key, base_url=sb.base_url, clock=clock)
