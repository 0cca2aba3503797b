"""One spec per kind of lookup: everything that differs between persons and organizations.

Every other module takes a `KindSpec` and reads what it needs from it; none compares a
kind's name. Adding a kind means writing one spec here, its output schema and flatten
function, and the sandbox's answers for it (see the architecture page of the docs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa

from ._arrow import join_text
from ._canonical import (
    ORGANIZATION_PAGES,
    PERSON_PAGES,
    canonical_domain,
    canonical_name,
    canonical_organization_name,
    domain_problem,
    linkedin_problem,
    linkedin_url_of,
)
from ._canonical_series import map_unique
from ._columnar import Codec
from ._flatten import explode_persons, organization_columns, person_columns
from ._models import Item, Query, Record
from ._schema import (
    EXPLODE_TARGETS,
    ORGANIZATION_ENVELOPE,
    ORGANIZATION_RECORD_TYPE,
    PERSON_ENVELOPE,
    PERSON_RECORD_TYPE,
    ExplodeTarget,
    Widths,
)

__all__ = ["KINDS", "ORGANIZATION", "PERSON", "KindSpec", "dedupe_key", "flags_key"]

#: Wide flatten: answer items -> one output row per item.
#: The last argument is the default phone region (`salesql_frames._phones`), or None.
WideFlatten = Callable[[Sequence[Item | None], Widths, str, "str | None"], pa.Table]
#: Long flatten: answer items -> (parent item per row, one output row per list element).
LongFlatten = Callable[
    [Sequence[Item | None], ExplodeTarget, str, "str | None"], "tuple[pa.Array, pa.Table]"
]
#: Dedupe identities: one group's canonical values, per parameter -> one key per query.
Identities = Callable[[Mapping[str, pa.Array]], pa.Array]


@dataclass(frozen=True, eq=False)
class KindSpec:
    """What the library knows about one kind of lookup (persons, organizations).

    Attributes:
        name: Singular name, as in messages and store keys (``"person"``).
        plural: Plural, as in method names and labels (``"persons"``).
        single_path: The single-lookup endpoint, relative to the base URL.
        bulk_path: The bulk endpoint.
        envelope: Key of the record in a single-lookup answer (``{"person": {...}}``).
        params: Query parameters, as the reference names them.
        flags: Boolean query options (sent only when true).
        groups: Complete parameter groups, in the reference's recommended order; a
            query is sent with the first group it completes.
        requirement: What a query needs, in words, for error messages.
        mapping_example: How to name columns, for error messages.
        headers: Per parameter, the normalized spreadsheet headers that map to it,
            most specific first.
        canonical: Per parameter, its canonicalizer (also the dedupe form); None for a
            cell that makes no trustworthy query (a LinkedIn URL of another kind's page,
            a free-mail domain, ...).
        unusable: Per parameter, why a cell does not canonicalize (cell -> reason).
        linkedin_anywhere: A LinkedIn URL of this kind's pages in any mapped column is
            used as ``linkedin_url`` (a company page in a "Website" column).
        several: Parameters whose cells may hold several values (the first usable one
            is sent; the plan counts such cells).
        identities: The dedupe keys, without kind and flags, of one group's
            canonical queries: per parameter of the group, its values (one per
            query, none null) -> one key per query.
        billable: Whether a found record may have cost a credit.
        wide: Flattens answers into the wide output table.
        codec: The columnar form of its stored answers (the full record type the
            flatten functions read), which re-runs read without parsing JSON.
        explode: The record lists long output can explode (empty: wide only).
        long: Flattens answers into long output, when ``explode`` is not empty.
        description: What one enriched row gets, for help texts.
        flag_help: Per flag, what it does, for help texts.
        header_examples: Headers that are detected, as a spreadsheet spells them.
        cli_examples: Arguments of ``salesql-frames enrich-<plural>`` worth showing.
    """

    name: str
    plural: str
    single_path: str
    bulk_path: str
    envelope: str
    params: tuple[str, ...]
    flags: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    requirement: str
    mapping_example: str
    headers: Mapping[str, tuple[str, ...]] = field(repr=False)
    canonical: Mapping[str, Callable[[str], str | None]] = field(repr=False)
    unusable: Mapping[str, Callable[[str], str]] = field(repr=False)
    identities: Identities = field(repr=False)
    billable: Callable[[Record], bool] = field(repr=False)
    wide: WideFlatten = field(repr=False)
    codec: Codec = field(repr=False)
    explode: tuple[ExplodeTarget, ...] = ()
    long: LongFlatten | None = field(default=None, repr=False)
    description: str = ""
    flag_help: Mapping[str, str] = field(default_factory=dict, repr=False)
    header_examples: str = ""
    cli_examples: tuple[str, ...] = ()
    linkedin_anywhere: bool = False
    several: tuple[str, ...] = ("organization_domain",)


def _casefolded(values: pa.Array) -> pa.Array:
    return map_unique(values, str.casefold)


def _organization_identities(values: Mapping[str, pa.Array]) -> pa.Array:
    """Domain if given, else the casefolded name: one key per organization."""
    if "organization_domain" in values:
        return join_text("domain=", values["organization_domain"])
    return join_text("org=", _casefolded(values["organization_name"]))


def _person_identities(values: Mapping[str, pa.Array]) -> pa.Array:
    """LinkedIn URL if given, else casefolded name (first + last == full) + organization."""
    if "linkedin_url" in values:
        return join_text("li=", values["linkedin_url"])
    name = values.get("full_name")
    if name is None:
        name = join_text(values["first_name"], " ", values["last_name"])
    return join_text("name=", _casefolded(name), "|", _organization_identities(values))


def _linkedin_or(identities: Identities) -> Identities:
    def keys(values: Mapping[str, pa.Array]) -> pa.Array:
        if "linkedin_url" in values:
            return join_text("li=", values["linkedin_url"])
        return identities(values)

    return keys


def _person_billable(record: Record) -> bool:
    """The reference's rule: a person with at least one email or phone costs a credit."""
    return bool(record.get("emails") or record.get("phones"))


def _organization_billable(record: Record) -> bool:
    """Every found organization is counted.

    The reference is ambiguous ("each successful enrichment consumes 1 credit", yet the
    bulk changelog says only results with emails), so budgets err on the safe side.
    """
    return True


def _person_wide(
    items: Sequence[Item | None], widths: Widths, prefix: str, region: str | None = None
) -> pa.Table:
    return person_columns(items, widths=widths, prefix=prefix, default_region=region)


def _organization_wide(
    items: Sequence[Item | None], widths: Widths, prefix: str, region: str | None = None
) -> pa.Table:
    return organization_columns(items, prefix=prefix)


def _person_long(
    items: Sequence[Item | None], explode: ExplodeTarget, prefix: str, region: str | None = None
) -> tuple[pa.Array, pa.Table]:
    return explode_persons(items, explode=explode, prefix=prefix, default_region=region)


_DOMAIN_HEADERS: Final = (
    "organizationdomain", "companydomain", "domain", "website", "companywebsite",
    "websiteurl", "companyurl",
)
_ORGANIZATION_NAME_HEADERS: Final = (
    "organizationname", "companyname", "company", "organization", "organisation",
    "organisationname", "accountname",
)
_PERSON_URL: Final = linkedin_url_of(PERSON_PAGES)
_ORGANIZATION_URL: Final = linkedin_url_of(ORGANIZATION_PAGES)

PERSON: Final = KindSpec(
    name="person",
    plural="persons",
    single_path="/persons/enrich",
    bulk_path="/persons/enrich/bulk",
    envelope=PERSON_ENVELOPE,
    params=(
        "linkedin_url", "first_name", "last_name", "full_name", "organization_name",
        "organization_domain",
    ),
    flags=("match_if_direct_email", "match_if_direct_phone"),
    groups=(
        ("linkedin_url",),
        ("full_name", "organization_domain"),
        ("first_name", "last_name", "organization_domain"),
        ("full_name", "organization_name"),
        ("first_name", "last_name", "organization_name"),
    ),
    requirement=(
        "linkedin_url, or full_name (or first_name + last_name) together with "
        "organization_domain or organization_name"
    ),
    mapping_example=(
        "df.salesql.enrich_persons(linkedin_url='Profile') or "
        "df.salesql.enrich_persons(full_name='Name', organization_domain='Website')"
    ),
    headers={
        "linkedin_url": (
            "linkedinurl", "personlinkedinurl", "linkedinprofileurl", "linkedinprofile",
            "linkedinprofilelink", "linkedinlink", "profileurl", "profilelink", "linkedin",
            "salesnavigatorurl", "salesnavurl", "liurl", "contactlinkedinurl",
            "leadlinkedinurl",
        ),
        "first_name": ("firstname", "first", "givenname", "forename", "fname",
                       "contactfirstname"),
        "last_name": ("lastname", "last", "surname", "familyname", "lname", "contactlastname"),
        "full_name": (
            "fullname", "name", "contactname", "personname", "leadname", "contact", "person",
            "prospectname",
        ),
        "organization_name": (
            *_ORGANIZATION_NAME_HEADERS, "account", "employer", "currentcompany",
            "businessname", "orgname",
        ),
        "organization_domain": (
            *_DOMAIN_HEADERS, "organizationwebsite", "web", "homepage", "url",
        ),
    },
    canonical={
        "linkedin_url": _PERSON_URL,
        "first_name": canonical_name,
        "last_name": canonical_name,
        "full_name": canonical_name,
        "organization_name": canonical_organization_name,
        "organization_domain": canonical_domain,
    },
    unusable={
        "linkedin_url": linkedin_problem("a person's profile (linkedin.com/in/...)"),
        "organization_domain": domain_problem,
    },
    identities=_person_identities,
    billable=_person_billable,
    wide=_person_wide,
    codec=Codec(PERSON_RECORD_TYPE, PERSON_ENVELOPE),
    explode=EXPLODE_TARGETS,
    long=_person_long,
    description="person (emails, phones, work history)",
    flag_help={
        "match_if_direct_email": "only match people with a direct (non-work) email",
        "match_if_direct_phone": "only match people with a direct phone",
    },
    header_examples='"Person Linkedin Url", "First Name", "Last Name", "Full Name",\n'
    '"Company", "Website" (see --map)',
    cli_examples=(
        "leads.xlsx -o enriched.xlsx --dry-run",
        "leads.xlsx -o enriched.xlsx --max-credits 500",
        'crm.csv -o enriched.csv --map "Profile=linkedin_url" --only-missing Email',
        "leads.xlsx -o phones.xlsx --explode phones",
        "leads.xlsx -o try.xlsx --sandbox",
    ),
)

ORGANIZATION: Final = KindSpec(
    name="organization",
    plural="organizations",
    single_path="/organizations/enrich",
    bulk_path="/organizations/enrich/bulk",
    envelope=ORGANIZATION_ENVELOPE,
    params=("linkedin_url", "organization_name", "organization_domain"),
    flags=(),
    groups=(("linkedin_url",), ("organization_domain",), ("organization_name",)),
    requirement="linkedin_url, organization_domain or organization_name",
    mapping_example="df.salesql.enrich_organizations(organization_domain='Website')",
    headers={
        "linkedin_url": (
            "linkedinurl", "companylinkedinurl", "organizationlinkedinurl", "linkedin",
            "companylinkedin", "linkedincompanyurl", "linkedinpage",
        ),
        "organization_name": (
            *_ORGANIZATION_NAME_HEADERS, "account", "name", "businessname",
        ),
        "organization_domain": (*_DOMAIN_HEADERS, "web", "homepage", "url"),
    },
    canonical={
        "linkedin_url": _ORGANIZATION_URL,
        "organization_name": canonical_organization_name,
        "organization_domain": canonical_domain,
    },
    unusable={
        "linkedin_url": linkedin_problem(
            "an organization's page (linkedin.com/company/..., /school/, /showcase/)"),
        "organization_domain": domain_problem,
    },
    identities=_linkedin_or(_organization_identities),
    billable=_organization_billable,
    wide=_organization_wide,
    codec=Codec(ORGANIZATION_RECORD_TYPE, ORGANIZATION_ENVELOPE),
    description="organization",
    header_examples='"Company", "Website", "Domain", "Company Linkedin Url"\n(see --map)',
    cli_examples=(
        "accounts.xlsx -o enriched.xlsx --dry-run",
        'accounts.csv -o enriched.parquet --map "Site=organization_domain"',
        "accounts.xlsx -o enriched.xlsx --only-missing Industry",
        "accounts.xlsx -o try.xlsx --sandbox",
    ),
    linkedin_anywhere=True,
)

#: Every kind, by name.
KINDS: Final[Mapping[str, KindSpec]] = {spec.name: spec for spec in (PERSON, ORGANIZATION)}


def dedupe_key(spec: KindSpec, query: Query) -> str:
    """One key per real-world identity: kind, identity, and the flags that are set.

    Examples:
        >>> dedupe_key(PERSON, {"first_name": "Ada", "last_name": "Lovelace",
        ...                     "organization_name": "ACME"})
        'person|name=ada lovelace|org=acme'
        >>> dedupe_key(ORGANIZATION, {"organization_domain": "acme.io"})
        'organization|domain=acme.io'
    """
    values = {name: pa.array([str(value)], pa.string()) for name, value in query.items()
              if name in spec.params}
    return f"{spec.name}|{spec.identities(values)[0].as_py()}{flags_key(spec, query)}"


def flags_key(spec: KindSpec, query: Query) -> str:
    """The end of a dedupe key: ``|flag`` for each of the kind's flags set in ``query``.

    Examples:
        >>> flags_key(PERSON, {"linkedin_url": "x", "match_if_direct_email": True})
        '|match_if_direct_email'
    """
    return "".join(f"|{flag}" for flag in spec.flags if query.get(flag))

