"""The maintained host lists: free-mail providers and profile platforms.

Both live as text files in ``salesql_frames/data`` (one registrable domain per line),
read once on first use. The inputs never send a free-mail domain as an organization's
domain, nor a profile platform's for a page on it; the output flags addresses at a
free-mail provider. `host_lists` replaces either list within a block.

Examples:
    >>> is_free_mail("gmail.com"), is_free_mail("acme.io")
    (True, False)
    >>> is_profile_platform("linkedin.com")
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.resources import files

from ._exceptions import InvalidArgumentError

__all__ = [
    "free_mail_domains", "host_lists", "is_free_mail", "is_hosting_platform",
    "is_profile_platform", "profile_platforms",
]

#: The lists `host_lists` put in place for this thread or task: (free mail, platforms).
_CURRENT: ContextVar[tuple[frozenset[str] | None, frozenset[str] | None]] = ContextVar(
    "salesql_frames_host_lists", default=(None, None)
)


def _read(name: str) -> frozenset[str]:
    text = files("salesql_frames.data").joinpath(name).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip().casefold() for line in text.splitlines())
    return frozenset(line for line in lines if line)


@cache
def _shipped(name: str) -> frozenset[str]:
    return _read(name)


def free_mail_domains() -> frozenset[str]:
    """Registrable domains of free-mail and consumer mailbox providers (the list in use).

    Examples:
        >>> "gmail.com" in free_mail_domains()
        True
    """
    current = _CURRENT.get()[0]
    return _shipped("free_mail_domains.txt") if current is None else current


def profile_platforms() -> frozenset[str]:
    """Registrable domains of profile, social and directory platforms (the list in use).

    Examples:
        >>> "crunchbase.com" in profile_platforms()
        True
    """
    current = _CURRENT.get()[1]
    return _shipped("profile_platforms.txt") if current is None else current


@contextmanager
def host_lists(
    *, free_mail: Iterable[str] | None = None, profile_platforms: Iterable[str] | None = None
) -> Iterator[None]:
    """Use other free-mail or profile-platform lists within a ``with`` block.

    The lists are registrable domains. What is not given stays as shipped. The change
    holds for the current thread or asyncio task only.

    Args:
        free_mail: Domains never sent as an organization's domain.
        profile_platforms: Domains never sent as an organization's, bare or with a page.

    Examples:
        >>> import salesql_frames as sf
        >>> with sf.host_lists(free_mail=sf.free_mail_domains() | {"mailbox.co"}):
        ...     sf.canonical_domain("jane@mailbox.co") is None
        True
        >>> with sf.host_lists(profile_platforms=sf.profile_platforms() - {"github.com"}):
        ...     sf.canonical_domain("https://github.com/about")
        'github.com'
    """
    current = _CURRENT.get()
    token = _CURRENT.set((
        current[0] if free_mail is None else _clean(free_mail),
        current[1] if profile_platforms is None else _clean(profile_platforms),
    ))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _clean(domains: Iterable[str]) -> frozenset[str]:
    if isinstance(domains, str):
        raise InvalidArgumentError(
            f"host_lists() takes a collection of domains, got the string {domains!r}: "
            "pass a set, e.g. {'mailbox.co'}"
        )
    return frozenset(domain.strip().casefold() for domain in domains)


def is_free_mail(domain: str) -> bool:
    """Whether a registrable domain (lowercase) is a free-mail provider's."""
    return domain in free_mail_domains()


@cache
def _hosting_platforms() -> frozenset[str]:
    return _read("hosting_platforms.txt")


def is_hosting_platform(domain: str) -> bool:
    """Whether a registrable domain is a multi-tenant host (a subdomain per customer).

    Examples:
        >>> is_hosting_platform("zendesk.com"), is_hosting_platform("acme.io")
        (True, False)
    """
    return domain in _hosting_platforms()


def is_profile_platform(domain: str) -> bool:
    """Whether a registrable domain (lowercase) is a profile platform's."""
    return domain in profile_platforms()
