from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from salesql_frames import Client, sandbox


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """Tests never read a developer's real key, base URL or cache."""
    monkeypatch.delenv("SALESQL_API_KEY", raising=False)
    monkeypatch.delenv("SALESQL_BASE_URL", raising=False)
    monkeypatch.setenv("SALESQL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def sb() -> Iterator[sandbox.Sandbox]:
    with sandbox.serve(seed=7) as server:
        yield server


@pytest.fixture
def client(sb: sandbox.Sandbox) -> Iterator[Client]:
    with Client(sb.api_key, base_url=sb.base_url) as api:
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
