"""Which input column feeds which API parameter: explicit names, or detected headers."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from ._constants import ORGANIZATION_GROUPS, PERSON_GROUPS
from ._exceptions import SalesQLError
from ._params import Kind, requirement

__all__ = ["MappingError", "detect_columns", "resolve_mapping"]

# Normalized spreadsheet headers (lowercase, letters and digits only) per parameter,
# most specific first: when two columns match one parameter, the earlier synonym wins.
_PERSON_HEADERS: dict[str, tuple[str, ...]] = {
    "linkedin_url": (
        "linkedinurl", "personlinkedinurl", "linkedinprofileurl", "linkedinprofile",
        "linkedinprofilelink", "linkedinlink", "profileurl", "profilelink", "linkedin",
        "salesnavigatorurl", "salesnavurl", "liurl", "contactlinkedinurl", "leadlinkedinurl",
    ),
    "first_name": ("firstname", "first", "givenname", "forename", "fname", "contactfirstname"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname", "contactlastname"),
    "full_name": (
        "fullname", "name", "contactname", "personname", "leadname", "contact", "person",
        "prospectname",
    ),
    "organization_name": (
        "organizationname", "companyname", "company", "organization", "organisation",
        "organisationname", "accountname", "account", "employer", "currentcompany",
        "businessname", "orgname",
    ),
    "organization_domain": (
        "organizationdomain", "companydomain", "domain", "website", "companywebsite",
        "websiteurl", "companyurl", "organizationwebsite", "web", "homepage", "url",
    ),
}
_ORGANIZATION_HEADERS: dict[str, tuple[str, ...]] = {
    "linkedin_url": (
        "linkedinurl", "companylinkedinurl", "organizationlinkedinurl", "linkedin",
        "companylinkedin", "linkedincompanyurl", "linkedinpage",
    ),
    "organization_name": (
        "organizationname", "companyname", "company", "organization", "organisation",
        "organisationname", "accountname", "account", "name", "businessname",
    ),
    "organization_domain": (
        "organizationdomain", "companydomain", "domain", "website", "companywebsite",
        "websiteurl", "companyurl", "web", "homepage", "url",
    ),
}
HEADERS: dict[Kind, dict[str, tuple[str, ...]]] = {
    "person": _PERSON_HEADERS,
    "organization": _ORGANIZATION_HEADERS,
}
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


class MappingError(SalesQLError, ValueError):
    """The frame's columns cannot be mapped to API parameters as asked."""


def normalize_header(header: object) -> str:
    """Fold a header for matching: lowercase, letters and digits only.

    Examples:
        >>> normalize_header("Person Linkedin Url")
        'personlinkedinurl'
        >>> normalize_header("first_name")
        'firstname'
    """
    return _NOT_ALNUM.sub("", str(header).lower())


def detect_columns(columns: Sequence[str], kind: Kind) -> dict[str, str]:
    """Guess the parameter -> column mapping from spreadsheet-style headers.

    Examples:
        >>> detect_columns(["Person Linkedin Url", "Company"], "person")
        {'linkedin_url': 'Person Linkedin Url', 'organization_name': 'Company'}
    """
    by_header: dict[str, str] = {}
    for column in columns:
        by_header.setdefault(normalize_header(column), column)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for param, synonyms in HEADERS[kind].items():
        for synonym in synonyms:
            match = by_header.get(synonym)
            if match is not None and match not in taken:
                mapping[param] = match
                taken.add(match)
                break
    return mapping


def resolve_mapping(
    columns: Sequence[str], kind: Kind, explicit: Mapping[str, str | None]
) -> dict[str, str]:
    """Return the parameter -> column mapping to use.

    Explicit column names are used exactly as given (and only them); with none given,
    columns are detected from their headers.

    Raises:
        MappingError: A named column does not exist, or no parameter group can be
            formed from the columns.
    """
    chosen = {param: column for param, column in explicit.items() if column is not None}
    present = set(columns)
    for param, column in chosen.items():
        if column not in present:
            close = difflib.get_close_matches(str(column), [str(c) for c in columns], n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise MappingError(
                f"{param}={column!r}: no such column.{hint} Columns: {_listing(columns)}"
            )
    mapping = chosen or detect_columns(columns, kind)
    if not _can_form_group(mapping, kind):
        how = _HOW_TO_MAP[kind]
        found = ", ".join(f"{p}={c!r}" for p, c in mapping.items()) or "nothing"
        raise MappingError(
            f"Cannot build {kind} queries: they need {requirement(kind)}. "
            f"Mapped: {found}. Columns: {_listing(columns)}. Name the columns, e.g. {how}"
        )
    return mapping


_HOW_TO_MAP: dict[Kind, str] = {
    "person": (
        "df.salesql.enrich_persons(linkedin_url='Profile') or "
        "df.salesql.enrich_persons(full_name='Name', organization_domain='Website')"
    ),
    "organization": "df.salesql.enrich_organizations(organization_domain='Website')",
}


def _can_form_group(mapping: Mapping[str, str], kind: Kind) -> bool:
    groups = PERSON_GROUPS if kind == "person" else ORGANIZATION_GROUPS
    return any(all(name in mapping for name in group) for group in groups)


def _listing(columns: Sequence[str]) -> str:
    shown = [repr(str(c)) for c in columns[:30]]
    more = f" (+{len(columns) - 30} more)" if len(columns) > 30 else ""
    return (", ".join(shown) or "none") + more
