"""The asynchronous client: `Client`'s endpoints over ``httpx.AsyncClient``.

Every decision (what to send, how an attempt is accounted, whether and when to retry,
how an answer is read) is `BaseClient`'s, as for `Client`; this module only awaits the
I/O: sending, reading the body, and sleeping on the clock (`Clock.asleep`). Tasks that
share one client share its pacer through an `asyncio.Lock` around `Pacer.reserve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

import httpx

from .. import _constants as C
from .._exceptions import AuthenticationError, SalesQLError
from .._kinds import ORGANIZATION, PERSON, KindSpec
from .._models import Allowance, Query, Record
from ._base import Attempts, BaseClient
from ._errors import read_json, undecodable_error

__all__ = ["AsyncClient", "asend_batch"]


class AsyncClient(BaseClient):
    """An asyncio client for the SalesQL public API: `Client`, awaited.

    Takes the same arguments as `Client` (``transport`` is an
    ``httpx.AsyncBaseTransport``) and has the same endpoints, pacing, retries, daily
    cap, key safety and errors; each endpoint is a coroutine. Many tasks may share one
    client: its pacer admits them in turn, so together they keep to the rate limit.

    Examples:
        >>> import asyncio
        >>> from salesql_frames import AsyncClient, sandbox
        >>> async def main(sb):
        ...     async with AsyncClient(sb.api_key, base_url=sb.base_url) as client:
        ...         person = await client.enrich_person(
        ...             linkedin_url="https://linkedin.com/in/sandrocarsava")
        ...     return person["full_name"]
        >>> with sandbox.serve() as sb:
        ...     asyncio.run(main(sb))
        'Sandro Carsava'
    """

    _http: httpx.AsyncClient

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        self._pace_lock = asyncio.Lock()  # tasks sharing the client queue on it
        return httpx.AsyncClient(transport=transport, **self._http_options())

    # -- lifecycle -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- endpoints -------------------------------------------------------------------

    async def allowance(self) -> Allowance:
        """Return the credits left on the account (see `Client.allowance`)."""
        return self._allowance_answer(await self._request("GET", C.PATH_ALLOWANCE))

    async def verify_key(self) -> bool:
        """Check the key with the free test profile (see `Client.verify_key`)."""
        try:
            await self.enrich_person(linkedin_url=C.FREE_PROFILE_URL)
        except AuthenticationError as exc:
            return self._verified(exc)
        return True

    async def enrich_person(self, **params: str | bool | None) -> Record | None:
        """Enrich one person (see `Client.enrich_person`)."""
        return await self._enrich_one(PERSON, params)

    async def enrich_organization(self, **params: str | None) -> Record | None:
        """Enrich one organization (see `Client.enrich_organization`)."""
        return await self._enrich_one(ORGANIZATION, params)

    async def enrich_persons_bulk(
        self, queries: Iterable[Mapping[str, object]], *, batch_size: int = C.MAX_BULK_QUERIES
    ) -> list[Record]:
        """Enrich any number of persons in bulk (see `Client.enrich_persons_bulk`)."""
        return await self._bulk(PERSON, queries, batch_size)

    async def enrich_organizations_bulk(
        self, queries: Iterable[Mapping[str, object]], *, batch_size: int = C.MAX_BULK_QUERIES
    ) -> list[Record]:
        """Enrich any number of organizations in bulk (see `Client.enrich_organizations_bulk`)."""
        return await self._bulk(ORGANIZATION, queries, batch_size)

    # -- plumbing --------------------------------------------------------------------

    async def _bulk(
        self, spec: KindSpec, queries: Iterable[Mapping[str, object]], batch_size: int
    ) -> list[Record]:
        results: list[Record] = []
        for batch in self._bulk_batches(spec, queries, batch_size):
            results.extend(await asend_batch(self, spec, batch))
        return results

    async def _enrich_one(self, spec: KindSpec, params: Mapping[str, object]) -> Record | None:
        path = spec.single_path
        response = await self._request("GET", path, params=self._single_params(spec, params),
                                       not_found_ok=True, weight=1)
        return self._single_answer(spec, response, read_json(response, path))

    async def _pace(self, weight: int, path: str) -> None:
        """Wait until the pacer admits ``weight`` searches; tasks queue on one lock.

        A request that searches nothing (``allowance``) never waits behind them.
        """
        if weight <= 0:
            return
        async with self._pace_lock:
            while (delay := self.pacer.reserve(weight, path)) > 0:
                await self._clock.asleep(self.pacer.slice(delay))

    async def _request(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None,
        json_body: object = None, not_found_ok: bool = False, weight: int = 0,
        resend_unknown: bool = True,
    ) -> httpx.Response:
        """Send one API request with pacing and retries (see `Client._request`)."""
        auth = self._auth(path)
        attempts = Attempts(resend_unknown=resend_unknown)
        while True:
            await self._pace(weight, path)
            started = self._clock.monotonic()
            with self._abandonable(method, path, weight):
                outcome = await self._exchange(method, path, params, json_body, auth, started)
            answer = self._on_attempt(outcome, method, path, weight,
                                      not_found_ok=not_found_ok, started=started)
            del outcome  # a transport failure's traceback holds the request
            if isinstance(answer, httpx.Response):
                return answer
            await self._clock.asleep(self._retry_after(answer, attempts, method, path))

    async def _exchange(
        self, method: str, path: str, params: Mapping[str, str] | None, json_body: object,
        auth: httpx.Auth, started: float,
    ) -> httpx.Response | SalesQLError | httpx.TransportError:
        """One attempt: send, then read the body (see `Client._exchange`)."""
        try:
            request = self._http.build_request(method, path, params=params, json=json_body)
            response = await self._http.send(request, auth=auth, stream=True)
            target = self._slash_redirect(response)
            if target is not None:
                await response.aclose()
                request = self._http.build_request(method, target, json=json_body)
                response = await self._http.send(request, auth=auth, stream=True)
            reader = self._body_reader(response, method, path, started)
            problem = reader.start()
            try:
                if problem is None:
                    async for chunk in response.aiter_bytes():
                        if (problem := reader.feed(chunk)) is not None:
                            break
            except httpx.DecodingError:
                problem = undecodable_error(method, path, response.status_code)
            finally:
                await response.aclose()  # an unread rest closes the connection
        except httpx.TransportError as exc:
            return exc
        return reader.response() if problem is None else problem


async def asend_batch(
    client: AsyncClient, spec: KindSpec, batch: Sequence[Query], *, resend_unknown: bool = True
) -> list[Record]:
    """Send one already-validated batch to ``spec``'s bulk endpoint (see `send_batch`)."""
    client._check_batch(batch)
    response = await client._request("POST", spec.bulk_path, json_body=list(batch),
                                     weight=len(batch), resend_unknown=resend_unknown)
    return client._bulk_answer(spec, batch, read_json(response, spec.bulk_path))
