"""Server-side identity of a query: what the sandbox keys its data and counters on.

The identity must not depend on URL cosmetics or on letter case, so a client that
sends the same person twice in two spellings is seen (and charged) twice for the
same person. Identity strings:

* ``li:<slug>`` a LinkedIn profile URL (lowercased, percent-decoded slug after ``/in/``);
* ``sn:<ID>`` a Sales Navigator URL (``/sales/lead/<ID>,...`` or ``/sales/people/<ID>,...``);
* ``name:<full name>|<organization>`` a name query (casefolded, whitespace collapsed, NFC;
  the organization is its domain when given, else its name);
* ``org-li:<slug>``, ``org-domain:<domain>``, ``org-name:<name>`` organizations;
* ``url:<text>`` / ``org-url:<text>`` a URL the sandbox cannot read: never found.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from .._kinds import ORGANIZATION, PERSON
from .._params import complete_group, missing_reason

__all__ = [
    "IncompleteQuery",
    "display_name",
    "full_name_of",
    "normalize_domain",
    "normalize_text",
    "organization_identity",
    "person_identity",
    "person_url_identity",
]

_PROFILE_SECTIONS = ("in",)
_SALES_NAVIGATOR_SECTIONS = ("lead", "people")
_COMPANY_SECTIONS = ("company", "school", "showcase")


class IncompleteQuery(ValueError):
    """A query has no complete parameter group; the message says what is missing."""


def normalize_text(text: str) -> str:
    """Casefold, NFC-normalize and collapse the whitespace of ``text``."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(folded.split())


def normalize_domain(text: str) -> str:
    """Reduce a website or domain to its bare lowercase host (no scheme, ``www.``, path)."""
    value = text.strip().casefold()
    if "://" in value:
        value = value.split("://", 1)[1]
    for separator in "/?#":
        value = value.split(separator, 1)[0]
    value = value.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    if value.startswith("www."):
        value = value[4:]
    return value


def display_name(text: str) -> str:
    """Collapse whitespace; title-case a name written all in one case ("ada lovelace")."""
    collapsed = " ".join(unicodedata.normalize("NFC", text).split())
    if collapsed in (collapsed.lower(), collapsed.upper()):
        return collapsed.title()
    return collapsed


def full_name_of(query: Mapping[str, object], group: tuple[str, ...]) -> str:
    """Return the full name a name query asks for, as given (first + " " + last if split)."""
    if "full_name" in group:
        return str(query["full_name"])
    return f"{query['first_name']} {query['last_name']}"


def _linkedin_path(url: str) -> list[str] | None:
    """Split a LinkedIn URL into its decoded path segments; None if it is not LinkedIn."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").casefold().rstrip(".")
    if host != "linkedin.com" and not host.endswith(".linkedin.com"):
        return None
    return [unquote(segment) for segment in parts.path.split("/") if segment]


def person_url_identity(url: str) -> str:
    """Return the identity of a person's LinkedIn or Sales Navigator URL.

    Examples:
        >>> person_url_identity("HTTPS://uk.LinkedIn.com/in/Jos%C3%A9-Ruiz/details/experience/?x=1")
        'li:josé-ruiz'
        >>> person_url_identity("linkedin.com/sales/lead/ACwAAB12Xy,NAME_SEARCH,abc")
        'sn:ACwAAB12Xy'
    """
    segments = _linkedin_path(url)
    if segments and len(segments) >= 2:
        if segments[0].casefold() in _PROFILE_SECTIONS:
            slug = unicodedata.normalize("NFC", segments[1].strip()).lower()
            if slug:
                return f"li:{slug}"
        if (
            len(segments) >= 3
            and segments[0].casefold() == "sales"
            and segments[1].casefold() in _SALES_NAVIGATOR_SECTIONS
        ):
            lead = segments[2].split(",", 1)[0].strip()
            if lead:
                return f"sn:{lead}"
    return f"url:{url.strip()}"


def _organization_url_identity(url: str) -> str:
    segments = _linkedin_path(url)
    if segments and len(segments) >= 2 and segments[0].casefold() in _COMPANY_SECTIONS:
        slug = unicodedata.normalize("NFC", segments[1].strip()).lower()
        if slug:
            return f"org-li:{slug}"
    return f"org-url:{url.strip()}"


def person_identity(query: Mapping[str, object]) -> str:
    """Return the server-side identity of a person query.

    Raises:
        IncompleteQuery: The query has no complete parameter group.
    """
    group = complete_group(query, PERSON)
    if group is None:
        raise IncompleteQuery(missing_reason(query, PERSON))
    if group == ("linkedin_url",):
        return person_url_identity(str(query["linkedin_url"]))
    full = normalize_text(full_name_of(query, group))
    if "organization_domain" in group:
        organization = normalize_domain(str(query["organization_domain"]))
    else:
        organization = normalize_text(str(query["organization_name"]))
    return f"name:{full}|{organization}"


def organization_identity(query: Mapping[str, object]) -> str:
    """Return the server-side identity of an organization query.

    Raises:
        IncompleteQuery: The query has no complete parameter group.
    """
    group = complete_group(query, ORGANIZATION)
    if group is None:
        raise IncompleteQuery(missing_reason(query, ORGANIZATION))
    (name,) = group
    value = str(query[name])
    if name == "linkedin_url":
        return _organization_url_identity(value)
    if name == "organization_domain":
        return f"org-domain:{normalize_domain(value)}"
    return f"org-name:{normalize_text(value)}"
