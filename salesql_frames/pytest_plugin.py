"""pytest plugin: the local SalesQL sandbox as fixtures, for the tests of your own code.

Installed with the package and registered through the ``pytest11`` entry point, so a
project that depends on ``salesql-frames`` gets these fixtures with no code of its own:

- ``salesql_sandbox``: a running `salesql_frames.sandbox.Sandbox` (``base_url``,
  ``api_key``, ``counters``, ``faults``, ``lookup_person`` ...), fresh for each test.
- ``salesql_client``: a `salesql_frames.Client` bound to it.
- ``salesql_clock``: the `FakeClock` both share, so retries and pacing never sleep.
- ``salesql_env``: ``SALESQL_API_KEY`` / ``SALESQL_BASE_URL`` point at the sandbox and
  ``SALESQL_CACHE_DIR`` at a temporary folder, for code that builds its own client.

Options: ``--salesql-seed`` / ``--salesql-shape`` on the command line, ``salesql_seed`` /
``salesql_shape`` in the ini file, and per test ``@pytest.mark.salesql_sandbox(**options)``
with any `salesql_frames.sandbox.serve` option (it wins over both). Disable the plugin
with ``-p no:salesql_frames``.

Loading the plugin imports nothing but pytest (and the package itself); the sandbox and
the HTTP client are imported when a test first asks for a fixture.

Examples:
    A test in your own project, with no fixture code::

        def test_enrich(salesql_sandbox, salesql_client):
            frame = pd.DataFrame({"LinkedIn": ["linkedin.com/in/ada"]})
            frame.salesql.enrich_persons(client=salesql_client, progress=False, cache=False)
            assert salesql_sandbox.counters.searches == 1
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import _constants as C
from ._clock import FakeClock

if TYPE_CHECKING:
    from ._client import Client
    from .sandbox import Sandbox

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "salesql_client",
    "salesql_clock",
    "salesql_env",
    "salesql_sandbox",
]

#: The marker that passes `salesql_frames.sandbox.serve` options to one test's sandbox.
MARKER = "salesql_sandbox"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--salesql-seed`` / ``--salesql-shape`` and their ini keys."""
    group = parser.getgroup("salesql", "salesql_frames sandbox fixtures")
    group.addoption("--salesql-seed", type=int, default=None, metavar="N",
                    help="seed of the salesql_sandbox fixture's synthetic data (default: "
                         "the salesql_seed ini value, else 0)")
    group.addoption("--salesql-shape", default=None, metavar="SHAPE",
                    help="answer shape of the salesql_sandbox fixture: documented or lean "
                         "(default: the salesql_shape ini value, else documented)")
    parser.addini("salesql_seed", "seed of the salesql_sandbox fixture", default="0")
    parser.addini("salesql_shape", "answer shape of the salesql_sandbox fixture",
                  default="documented")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and check the options before any test runs."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): salesql_frames.sandbox.serve options (seed, shape, "
        "rate_limit, daily_limit, credits, ...) for this test's salesql_sandbox",
    )
    shape = _shape(config)
    if shape != "documented":  # only a non-default shape needs the sandbox's list
        from .sandbox._data import SHAPES

        if shape not in SHAPES:
            raise pytest.UsageError(
                f"--salesql-shape / salesql_shape must be one of {SHAPES}, got {shape!r}")
    _seed(config)


def _seed(config: pytest.Config) -> int:
    option = config.getoption("salesql_seed")
    if option is not None:
        return int(option)
    raw = str(config.getini("salesql_seed")).strip()
    try:
        return int(raw)
    except ValueError:
        raise pytest.UsageError(f"salesql_seed must be an integer, got {raw!r}") from None


def _shape(config: pytest.Config) -> str:
    option = config.getoption("salesql_shape")
    return str(option if option is not None else config.getini("salesql_shape")).strip()


@pytest.fixture
def salesql_clock() -> FakeClock:
    """The `FakeClock` shared by ``salesql_sandbox`` and ``salesql_client``.

    Retries and pacing sleep on it (it moves forward at once and records each wait in
    ``sleeps``); ``advance()`` it to move the sandbox's rate-limit window.
    """
    return FakeClock()


@pytest.fixture
def salesql_sandbox(request: pytest.FixtureRequest, salesql_clock: FakeClock) -> Iterator[Sandbox]:
    """A running local SalesQL API for this test, stopped afterwards.

    Seed and shape come from ``--salesql-seed`` / ``--salesql-shape`` (or the ini keys);
    ``@pytest.mark.salesql_sandbox(**options)`` passes any `salesql_frames.sandbox.serve`
    option and wins over both. The sandbox times its rate limit on ``salesql_clock``.
    """
    from .sandbox import serve

    options: dict[str, Any] = {
        "seed": _seed(request.config),
        "shape": _shape(request.config),
        "clock": salesql_clock,
    }
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # closest wins
        if marker.args:
            raise pytest.UsageError(
                f"@pytest.mark.{MARKER} takes keyword options only, got {marker.args!r}")
        options.update(marker.kwargs)
    with serve(**options) as sandbox:
        yield sandbox


@pytest.fixture
def salesql_client(salesql_sandbox: Sandbox, salesql_clock: FakeClock) -> Iterator[Client]:
    """A `salesql_frames.Client` for ``salesql_sandbox``: its key, base URL and clock."""
    from ._client import Client

    with Client(salesql_sandbox.api_key, base_url=salesql_sandbox.base_url,
                clock=salesql_clock) as client:
        yield client


@pytest.fixture
def salesql_env(salesql_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
                tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """Point the environment at ``salesql_sandbox`` for code that makes its own client.

    Sets ``SALESQL_API_KEY`` and ``SALESQL_BASE_URL`` to the sandbox's and
    ``SALESQL_CACHE_DIR`` to a fresh temporary folder, restored after the test; yields
    the sandbox.
    """
    cache: Path = tmp_path_factory.mktemp("salesql-cache")
    monkeypatch.setenv(C.API_KEY_ENV, salesql_sandbox.api_key)
    monkeypatch.setenv(C.BASE_URL_ENV, salesql_sandbox.base_url)
    monkeypatch.setenv(C.CACHE_DIR_ENV, str(cache))
    return salesql_sandbox
