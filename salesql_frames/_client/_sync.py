"""The synchronous client: the endpoints, and the request loop that does the I/O.

Every request goes through `Client._request`: pace, send, account the outcome, and
retry or raise, with every decision taken by `BaseClient` and `_retry`. Only this
module and `_base` know httpx's sync API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import httpx

from .. import _constants as C
from .._exceptions import AuthenticationError, SalesQLError
from .._kinds import ORGANIZATION, PERSON, KindSpec
from .._models import Allowance, Query, Record
from ._base import Attempts, BaseClient
from ._errors import read_json, undecodable_error

__all__ = ["Client", "require_key", "send_batch"]


class Client(BaseClient):
    """A client for the SalesQL public API.

    Args:
        api_key: The API key. Defaults to the ``SALESQL_API_KEY`` environment variable.
            A missing key is reported when the first request is about to be sent; a
            malformed one (whitespace inside, not printable ASCII, over 1024 characters)
            raises `ConfigurationError` here, naming where it came from, never the key.
        base_url: The API root. Defaults to ``SALESQL_BASE_URL``, else the public API.
            One with a user name, password, query, fragment or the key in it is refused.
            Redirects are not followed (but for a trailing slash added on the same
            server): a 3xx is an `APIStatusError` naming the base URL to set.
        timeout: Seconds to wait for a response (read/write); connecting waits at most
            5 s. A ``(connect, read)`` pair sets both. Never unbounded: each attempt
            also ends after connect + read timeout + 1 s in all, however slowly the
            server sends, and a body over 32 MiB is refused unread (`ResponseError`).
        max_retries: How often a failed request is retried: connection errors, timeouts,
            408, 429 (waiting as ``Retry-After`` says, up to 120 s; longer means the
            daily cap, which is not retried), 500, 502, 503 and 504. 400, 401, 403, 404
            and 422 are never retried.
        rate_limit: The plan's searches per minute, or a ``(searches, seconds)``
            window. Requests are paced to it, so no 429 is provoked. None (the
            default) learns the limit from 429s and ``Retry-After``.
        daily_limit: Searches this client may send per UTC day; past it, requests
            fail with `QuotaExhaustedError` before anything is sent.
        transport: An ``httpx`` transport, for tests.
        clock: What pacing and retries measure and wait with (tests pass a
            `salesql_frames.sandbox.FakeClock`); the real clock by default.

    Examples:
        >>> from salesql_frames import Client, sandbox
        >>> with sandbox.serve() as sb, Client(sb.api_key, base_url=sb.base_url) as client:
        ...     person = client.enrich_person(linkedin_url="https://linkedin.com/in/sandrocarsava")
        >>> person["full_name"]
        'Sandro Carsava'
    """

    _http: httpx.Client

    def _open(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(transport=transport, **self._http_options())

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- endpoints -------------------------------------------------------------------

    def allowance(self) -> Allowance:
        """Return the credits left on the account (``GET /allowance``; costs nothing).

        Examples:
            >>> from salesql_frames import sandbox
            >>> with sandbox.serve(credits=500) as sb, sb.client() as client:
            ...     client.allowance().emails_and_phones
            500
        """
        return self._allowance_answer(self._request("GET", C.PATH_ALLOWANCE))

    def verify_key(self) -> bool:
        """Check the key with the reference's free test profile (never costs a credit).

        Returns:
            True if the server accepted the key, False if it refused it (401/403).

        Examples:
            >>> from salesql_frames import Client, sandbox
            >>> with sandbox.serve() as sb:
            ...     Client(sb.api_key, base_url=sb.base_url).verify_key()
            ...     Client("wrong", base_url=sb.base_url).verify_key()
            True
            False
        """
        try:
            self.enrich_person(linkedin_url=C.FREE_PROFILE_URL)
        except AuthenticationError as exc:
            return self._verified(exc)
        return True

    def enrich_person(self, **params: str | bool | None) -> Record | None:
        """Enrich one person (``GET /persons/enrich``).

        Args:
            **params: A complete parameter group (``linkedin_url``; or ``full_name`` /
                ``first_name`` + ``last_name`` with ``organization_domain`` or
                ``organization_name``), plus optional ``match_if_direct_email`` /
                ``match_if_direct_phone`` flags.

        Returns:
            The person record, or None if the person was not found.

        Examples:
            >>> from salesql_frames import sandbox
            >>> with sandbox.serve() as sb, sb.client() as client:
            ...     person = client.enrich_person(full_name="Ada Lovelace",
            ...                                   organization_domain="acme.io")
            >>> person is None or person["full_name"] == "Ada Lovelace"
            True
        """
        return self._enrich_one(PERSON, params)

    def enrich_organization(self, **params: str | None) -> Record | None:
        """Enrich one organization (``GET /organizations/enrich``).

        Args:
            **params: ``linkedin_url``, ``organization_domain`` or ``organization_name``.

        Returns:
            The organization record, or None if it was not found.

        Examples:
            >>> from salesql_frames import sandbox
            >>> with sandbox.serve() as sb, sb.client() as client:
            ...     found = client.enrich_organization(organization_domain="salesql.com")
            >>> found is None or found["website_domain"] == "salesql.com"
            True
        """
        return self._enrich_one(ORGANIZATION, params)

    def enrich_persons_bulk(
        self, queries: Iterable[Mapping[str, object]], *, batch_size: int = C.MAX_BULK_QUERIES
    ) -> list[Record]:
        """Enrich any number of persons through ``POST /persons/enrich/bulk``.

        All queries are validated before anything is sent; they go out in batches of at
        most ``batch_size`` (<= 100), and the answers come back in query order.

        Args:
            queries: Mappings of parameter name to value, each with a complete group.
            batch_size: Queries per request, 1..100.

        Returns:
            One item per query: the person record, or ``{"error": "Person not found"}``
            (or another item-level error) exactly as the API answered.

        Raises:
            InvalidQueryError: A query is incomplete or malformed (nothing is sent).

        Examples:
            >>> from salesql_frames import sandbox
            >>> queries = [{"linkedin_url": "linkedin.com/in/sandrocarsava"},
            ...            {"full_name": "Ada Lovelace", "organization_name": "Acme"}]
            >>> with sandbox.serve() as sb, sb.client() as client:
            ...     answers = client.enrich_persons_bulk(queries)
            >>> answers[0]["full_name"], len(answers)
            ('Sandro Carsava', 2)
        """
        return self._bulk(PERSON, queries, batch_size)

    def enrich_organizations_bulk(
        self, queries: Iterable[Mapping[str, object]], *, batch_size: int = C.MAX_BULK_QUERIES
    ) -> list[Record]:
        """Enrich any number of organizations through ``POST /organizations/enrich/bulk``.

        Works like `enrich_persons_bulk`; not-found items are
        ``{"error": "Organization not found"}``.

        Examples:
            >>> from salesql_frames import sandbox
            >>> with sandbox.serve() as sb, sb.client() as client:
            ...     answers = client.enrich_organizations_bulk([{"organization_name": "Acme"}])
            >>> len(answers)
            1
        """
        return self._bulk(ORGANIZATION, queries, batch_size)

    # -- plumbing --------------------------------------------------------------------

    def _bulk(
        self, spec: KindSpec, queries: Iterable[Mapping[str, object]], batch_size: int
    ) -> list[Record]:
        results: list[Record] = []
        for batch in self._bulk_batches(spec, queries, batch_size):
            results.extend(send_batch(self, spec, batch))
        return results

    def _enrich_one(self, spec: KindSpec, params: Mapping[str, object]) -> Record | None:
        path = spec.single_path
        response = self._request("GET", path, params=self._single_params(spec, params),
                                 not_found_ok=True, weight=1)
        return self._single_answer(spec, response, read_json(response, path))

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        not_found_ok: bool = False,
        weight: int = 0,
        resend_unknown: bool = True,
    ) -> httpx.Response:
        """Send one API request with pacing and retries.

        Args:
            method: HTTP method.
            path: Endpoint path below the base URL.
            params: Query parameters.
            json_body: JSON request body.
            not_found_ok: Return a reference-style 404 (``{"error": ...}``) as is.
            weight: Searches the request counts toward the rate limit.
            resend_unknown: Send again after an attempt whose outcome is unknown (at
                most once); False raises its error instead, for a caller keeping a budget.

        Returns:
            A 2xx response (or an accepted 404), its body read.

        Errors are raised outside every ``except`` block, so none chains an httpx
        exception (which would carry the request and its headers).
        """
        auth = self._auth(path)
        attempts = Attempts(resend_unknown=resend_unknown)
        while True:
            self.pacer.acquire(weight, path)
            started = self._clock.monotonic()
            with self._abandonable(method, path, weight):
                outcome = self._exchange(method, path, params, json_body, auth, started)
            answer = self._on_attempt(outcome, method, path, weight,
                                      not_found_ok=not_found_ok, started=started)
            del outcome  # a transport failure's traceback holds the request
            if isinstance(answer, httpx.Response):
                return answer
            self._clock.sleep(self._retry_after(answer, attempts, method, path))

    def _exchange(
        self, method: str, path: str, params: Mapping[str, str] | None, json_body: object,
        auth: httpx.Auth, started: float,
    ) -> httpx.Response | SalesQLError | httpx.TransportError:
        """One attempt: send, then read the body within the deadline and the size cap.

        A trailing-slash redirect on the same server is followed once
        (`BaseClient._slash_redirect`); other redirects come back as they are.

        Returns:
            The response with its body read, the error that stopped the read, or the
            transport failure (before or during the body) for `BaseClient._on_attempt`.
        """
        try:
            request = self._http.build_request(method, path, params=params, json=json_body)
            response = self._http.send(request, auth=auth, stream=True)
            target = self._slash_redirect(response)
            if target is not None:
                response.close()
                request = self._http.build_request(method, target, json=json_body)
                response = self._http.send(request, auth=auth, stream=True)
            reader = self._body_reader(response, method, path, started)
            try:
                problem = reader.start()
                chunks = response.iter_bytes() if problem is None else iter(())
                try:
                    for chunk in chunks:
                        if (problem := reader.feed(chunk)) is not None:
                            break
                except httpx.DecodingError:
                    problem = undecodable_error(method, path, response.status_code)
            finally:
                response.close()  # an unread rest closes the connection instead of reusing it
        except httpx.TransportError as exc:
            return exc
        return reader.response() if problem is None else problem


def send_batch(
    client: Client, spec: KindSpec, batch: Sequence[Query], *, resend_unknown: bool = True
) -> list[Record]:
    """Send one already-validated batch of 1..100 queries to ``spec``'s bulk endpoint.

    The answer is checked to hold one object per query; otherwise a `ResponseError` is
    raised and nothing from the answer is used. With ``resend_unknown=False`` an attempt
    whose outcome is unknown (it may have been charged) is not sent again: its error is
    raised, for the caller's budget to decide.
    """
    client._check_batch(batch)
    response = client._request("POST", spec.bulk_path, json_body=list(batch),
                               weight=len(batch), resend_unknown=resend_unknown)
    return client._bulk_answer(spec, batch, read_json(response, spec.bulk_path))


def require_key(client: Client, spec: KindSpec) -> None:
    """Raise `MissingAPIKeyError` now, before a long run, if ``client`` has no key."""
    client._secret(spec.bulk_path)
