"""The maintained host lists: free-mail providers and profile platforms.

Both live as text files in ``salesql_frames/data`` (one registrable domain per line),
read once on first use. The inputs never send a domain from either list as an
organization's domain; the output flags addresses at a free-mail provider.

Examples:
    >>> is_free_mail("gmail.com"), is_free_mail("acme.io")
    (True, False)
    >>> is_profile_platform("linkedin.com")
    True
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

__all__ = ["free_mail_domains", "is_free_mail", "is_profile_platform", "profile_platforms"]


def _read(name: str) -> frozenset[str]:
    text = files("salesql_frames.data").joinpath(name).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip().casefold() for line in text.splitlines())
    return frozenset(line for line in lines if line)


@cache
def free_mail_domains() -> frozenset[str]:
    """Registrable domains of free-mail and consumer mailbox providers."""
    return _read("free_mail_domains.txt")


@cache
def profile_platforms() -> frozenset[str]:
    """Registrable domains of profile, social and directory platforms."""
    return _read("profile_platforms.txt")


def is_free_mail(domain: str) -> bool:
    """Whether a registrable domain (lowercase) is a free-mail provider's."""
    return domain in free_mail_domains()


def is_profile_platform(domain: str) -> bool:
    """Whether a registrable domain (lowercase) is a profile platform's."""
    return domain in profile_platforms()
