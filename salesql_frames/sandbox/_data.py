"""Deterministic synthetic people and organizations.

Every record is a pure function of ``(seed, identity)``: the identity is hashed with
BLAKE2b (never Python's salted ``hash()``) and the digest seeds a private
``random.Random``. So two sandboxes with the same seed agree on every record, and
the sandbox can tell a test the ground truth without serving a request.

Two person shapes exist: ``"documented"`` follows the reference's example record
(plus ``industry`` and ``location``); ``"lean"`` follows what real bulk answers looked
like (see ``salesql-facts.md``): only ``uuid``, ``first_name``, ``last_name``,
``full_name``, ``linkedin_url``, ``emails``, ``phones`` and a flat ``organization_name``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
import unicodedata
from bisect import bisect
from collections.abc import Mapping, Sequence
from itertools import accumulate
from random import Random
from typing import Any, Final, Literal
from urllib.parse import quote

from .._constants import FREE_PROFILE_URL
from .._gc import paused_gc
from .._kinds import PERSON
from .._params import complete_group
from ._identity import (
    display_name,
    full_name_of,
    normalize_domain,
    person_url_identity,
)
from ._pools import (
    COMPANIES,
    EMPLOYEE_RANGES,
    EMPLOYEE_WEIGHTS,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    LOCATIONS,
    ORGANIZATION_TYPE_WEIGHTS,
    ORGANIZATION_TYPES,
    PERSONAL_EMAIL_DOMAINS,
    PHONE_PATTERNS,
    TITLES,
)

__all__ = [
    "FREE_PROFILE_IDENTITY",
    "DataSource",
    "Record",
    "Shape",
    "synthetic_organization_records",
    "synthetic_person_records",
]

Shape = Literal["documented", "lean"]
Record = dict[str, Any]

SHAPES: Final = ("documented", "lean")
FREE_PROFILE_IDENTITY: Final = person_url_identity(FREE_PROFILE_URL)

#: "Now" for synthetic work histories: fixed, so records never drift with the clock.
_NOW_MS: Final = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_DAY_MS: Final = 86_400_000
_MONTH_MS: Final = 30 * _DAY_MS

#: Documented shape: share of found people with neither an email nor a phone.
_NO_CONTACT_RATE: Final = 0.10
#: Lean shape: share of records without ``first_name`` / with a null ``organization_name``.
_LEAN_NO_FIRST_NAME_RATE: Final = 0.01
_LEAN_NO_ORGANIZATION_RATE: Final = 0.06
_LEAN_NO_COUNTRY_CODE_RATE: Final = 0.06

# The reference's example record, returned for the free profile.
_FREE_ORGANIZATION: Final[Record] = {
    "uuid": "9473d991-87ad-43f6-91ee-a42bb54898f4",
    "name": "LinkedIn",
    "website": "https://careers.linkedin.com",
    "website_domain": "linkedin.com",
    "linkedin_url": "https://linkedin.com/company/linkedin",
    "logo": "https://cdn.example.com/company/linkedin.png",
    "founded_year": 2003,
    "number_of_employees": "10001+",
    "type": "public",
}
_FREE_PROFILE: Final[Record] = {
    "uuid": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "first_name": "Sandro",
    "last_name": "Carsava",
    "full_name": "Sandro Carsava",
    "linkedin_url": FREE_PROFILE_URL,
    "title": "Head, Sales Solutions Latin America",
    "headline": "Head, Sales Solutions Latin America at LinkedIn",
    "emails": [
        {"email": "first.last@gmail.com", "type": "Direct", "status": "Valid"},
        {"email": "first.last@company.com", "type": "Work", "status": "Valid"},
    ],
    "phones": [
        {"phone": "+1 555-123-4567", "type": "Personal", "country_code": "US", "is_valid": True},
        {"phone": "+1 555-987-6543", "type": "Work", "country_code": "US", "is_valid": True},
    ],
    "organization": _FREE_ORGANIZATION,
    "work_experience": [
        {
            "title": "Head, Sales Solutions Latin America",
            "timestamp_start": 1577836800000,
            "is_current": True,
            "organization": _FREE_ORGANIZATION,
        },
        {
            "title": "Managing Partner",
            "timestamp_start": 1483228800000,
            "is_current": True,
            "organization": {"name": "NOXBE Ventures"},
        },
    ],
    "image": "https://cdn.example.com/person/sample-profile.png",
    "timestamp_work_experience_start": 978307200000,
}
_LEAN_KEYS: Final = (
    "uuid", "first_name", "last_name", "full_name", "linkedin_url", "emails", "phones",
)


class _Weighted:
    """A weighted choice driven by one ``rng.random()`` draw."""

    __slots__ = ("_cumulative", "_last", "_total", "_values")

    def __init__(self, values: Sequence[Any], weights: Sequence[float]) -> None:
        self._values = tuple(values)
        self._cumulative = tuple(accumulate(weights))
        self._total = self._cumulative[-1]
        self._last = len(self._values) - 1

    def __call__(self, rng: Random) -> Any:
        return self._values[bisect(self._cumulative, rng.random() * self._total, 0, self._last)]


# Documented shape distributions.
_EMAIL_COUNT = _Weighted(range(5), (20, 35, 28, 11, 6))
_PHONE_COUNT = _Weighted(range(4), (38, 44, 13, 5))
_EMAIL_STATUS = _Weighted(("Valid", "Unverifiable", "Invalid"), (60, 37, 3))
_PHONE_TYPE = _Weighted(("Work", "Mobile", "Personal"), (40, 35, 25))
_EXPERIENCE_COUNT = _Weighted(range(5), (8, 27, 30, 20, 15))
# Lean shape distributions (salesql-facts.md).
_LEAN_EMAIL_COUNT = _Weighted(
    range(20),
    (25, 32, 17, 8, *(18 * 0.7**k * 0.3 / (1 - 0.7**16) for k in range(16))),
)
_LEAN_PHONE_COUNT = _Weighted(range(6), (49, 46, 3.5, 1.0, 0.3, 0.2))
_LEAN_EMAIL_TYPE = _Weighted(("Work", "Direct"), (86, 14))
_LEAN_EMAIL_STATUS = _Weighted(("Valid", "Unverifiable"), (37, 63))
_LEAN_PHONE_TYPE = _Weighted(("Work", "Personal"), (82, 18))
# Organizations.
_EMPLOYEES = _Weighted(EMPLOYEE_RANGES, EMPLOYEE_WEIGHTS)
_ORGANIZATION_TYPE = _Weighted(ORGANIZATION_TYPES, ORGANIZATION_TYPE_WEIGHTS)

_ASCII_FOLD: Final = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "đ": "d",
     "Đ": "D", "\u0131": "i", "œ": "oe", "Œ": "OE", "þ": "th", "ð": "d"}
)


#: A public profile slug that starts with a first and a last name.
_NAMED_SLUG_RE: Final = re.compile(r"([a-z]{2,})-([a-z]{2,})(?:-[a-z0-9]+)*")


def _digest(seed: int, identity: str) -> bytes:
    return hashlib.blake2b(
        f"{seed}\x1f{identity}".encode(), digest_size=16, person=b"salesql-sandbox"
    ).digest()


def _uuid(digest: bytes) -> str:
    """Format a digest as a version-4 UUID string."""
    text = digest.hex()
    variant = "89ab"[digest[8] & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:32]}"


def _unit(digest: bytes) -> float:
    """Map a digest to [0, 1): the found / not-found draw, independent of ``rng``."""
    return int.from_bytes(digest[8:16], "big") / 2.0**64


def _pick(rng: Random, values: Sequence[Any]) -> Any:
    return values[int(rng.random() * len(values))]


@functools.lru_cache(maxsize=4096)
def _ascii(text: str) -> str:
    """Fold to lowercase ASCII letters and digits ("Łukasz" -> "lukasz")."""
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(ch for ch in folded.lower() if ch.isascii() and ch.isalnum())


def _slug_words(text: str) -> str:
    return "-".join(word for word in (_ascii(part) for part in text.split()) if word)


@functools.lru_cache(maxsize=64)
def _phone_template(pattern: str) -> tuple[str, int]:
    return pattern.replace("{", "{{").replace("}", "}}").replace("#", "{}"), pattern.count("#")


def _digits(rng: Random, pattern: str) -> str:
    """Fill each ``#`` of ``pattern`` with a random digit."""
    template, count = _phone_template(pattern)
    return template.format(*str(rng.randrange(10**count)).zfill(count))


def _name_from_slug(slug: str) -> tuple[str, str] | None:
    """``"raj-haddad-060"`` -> ``("Raj", "Haddad")``: profiles read like their owners."""
    match = _NAMED_SLUG_RE.fullmatch(slug)
    if match is None:
        return None
    return match.group(1).capitalize(), match.group(2).capitalize()


def _url_slug(slug: str) -> str:
    """Percent-encode a slug for a URL (most slugs are plain ASCII already)."""
    if slug.isascii() and slug.replace("-", "").replace("_", "").isalnum():
        return slug
    return quote(slug, safe="-_.~")


def _location(rng: Random) -> tuple[dict[str, str], str]:
    city, state, country, code = _pick(rng, LOCATIONS)
    return {"city": city, "state": state, "country": country, "country_code": code}, code


@functools.lru_cache(maxsize=16384)
def _organization_base(seed: int, name: str, domain: str, slug: str) -> Record:
    """Return the organization at ``domain``; attributes are seeded by the domain alone."""
    digest = _digest(seed, f"org-domain:{domain}")
    rng = Random(int.from_bytes(digest, "big"))
    location, _ = _location(rng)
    return {
        "uuid": _uuid(digest),
        "name": name,
        "website": f"https://www.{domain}" if rng.random() < 0.7 else f"https://{domain}",
        "website_domain": domain,
        "linkedin_url": f"https://linkedin.com/company/{_url_slug(slug)}",
        "logo": f"https://cdn.example.com/company/{slug}.png" if rng.random() < 0.8 else None,
        "founded_year": 2025 - int(rng.random() ** 2 * 80),
        "number_of_employees": _EMPLOYEES(rng),
        "type": _ORGANIZATION_TYPE(rng),
        "industry": _pick(rng, INDUSTRIES),
        "location": location,
    }


def _organization(seed: int, name: str, domain: str, slug: str) -> Record:
    """Return a fresh copy of an organization record (callers may mutate it)."""
    base = _organization_base(seed, name, domain, slug)
    record = dict(base)
    record["location"] = dict(base["location"])
    return record


def _organization_from_domain(domain: str) -> tuple[str, str, str]:
    label = domain.split(".", 1)[0] or domain or "unknown"
    name = " ".join(part.capitalize() for part in label.replace("_", "-").split("-") if part)
    return name or label, domain, label


def _organization_from_name(name: str) -> tuple[str, str, str]:
    slug = _slug_words(name) or "organization"
    return name, f"{slug.replace('-', '')}.com", slug


def _organization_from_slug(slug: str) -> tuple[str, str, str]:
    words = [word for word in slug.replace("_", "-").split("-") if word]
    name = " ".join(word.capitalize() for word in words) or slug
    return name, f"{_ascii(slug) or 'organization'}.com", slug


class DataSource:
    """The sandbox's world: who is found, and what their records hold.

    Args:
        seed: Seeds every record together with its identity.
        shape: ``"documented"`` or ``"lean"`` person records.
        not_found_rate: Share of identities (persons and organizations) not found.
    """

    def __init__(self, *, seed: int = 0, shape: Shape = "documented",
                 not_found_rate: float = 0.15) -> None:
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
        if not 0.0 <= not_found_rate <= 1.0:
            raise ValueError(f"not_found_rate must be within [0, 1], got {not_found_rate!r}")
        self.seed = seed
        self.shape: Shape = shape
        self.not_found_rate = not_found_rate

    # -- persons ------------------------------------------------------------------------

    def person(self, identity: str, query: Mapping[str, object] | None = None) -> Record | None:
        """Return the person record for ``identity``, or None when not found.

        ``query`` supplies the display spelling of a name query; flags are not applied here.
        """
        if identity == FREE_PROFILE_IDENTITY:
            return free_profile(self.shape)
        if not identity.startswith(("li:", "sn:", "name:")):
            return None
        digest = _digest(self.seed, identity)
        if _unit(digest) < self.not_found_rate:
            return None
        return self.make_person(identity, query, digest)

    def make_person(self, identity: str, query: Mapping[str, object] | None,
                    digest: bytes | None = None) -> Record:
        """Build the record of ``identity`` regardless of the not-found draw."""
        digest = digest if digest is not None else _digest(self.seed, identity)
        rng = Random(int.from_bytes(digest, "big"))
        first, last, slug, organization = self._who(identity, query, digest, rng)
        if self.shape == "lean":
            return self._lean(identity, digest, rng, first, last, slug, organization)
        return self._documented(digest, rng, first, last, slug, organization)

    def _who(self, identity: str, query: Mapping[str, object] | None, digest: bytes,
             rng: Random) -> tuple[str, str, str, tuple[str, str, str]]:
        """Return first name, last name, public slug and (name, domain, slug) of the employer."""
        if identity.startswith("name:"):
            first, last, organization = self._name_query(identity, query)
            slug = "-".join(filter(None, (_slug_words(f"{first} {last}"), digest.hex()[:6])))
            return first, last, slug, organization
        first = _pick(rng, FIRST_NAMES)
        last = _pick(rng, LAST_NAMES)
        if identity.startswith("li:"):
            slug = identity[3:]
            first, last = _name_from_slug(slug) or (first, last)
        else:
            slug = f"{_slug_words(first + ' ' + last)}-{digest.hex()[:6]}"
        return first, last, slug, _pick(rng, COMPANIES)

    @staticmethod
    def _name_query(identity: str, query: Mapping[str, object] | None
                    ) -> tuple[str, str, tuple[str, str, str]]:
        """Return the display first and last name, and the employer, of a name query."""
        group = complete_group(query, PERSON) if query is not None else None
        if query is None or group is None or "linkedin_url" in group:
            full, _, org = identity[5:].partition("|")
            first, _, last = display_name(full).partition(" ")
            parsed = _organization_from_domain(org) if "." in org else _organization_from_name(
                display_name(org))
            return first, last, parsed
        if "full_name" in group:
            first, _, last = display_name(full_name_of(query, group)).partition(" ")
        else:
            first = display_name(str(query["first_name"]))
            last = display_name(str(query["last_name"]))
        domain_value = query.get("organization_domain")
        name_value = query.get("organization_name")
        domain = normalize_domain(domain_value) if isinstance(domain_value, str) else ""
        name = display_name(name_value) if isinstance(name_value, str) else ""
        if domain and name:
            return first, last, (name, domain, _slug_words(name) or domain.split(".", 1)[0])
        if domain:
            return first, last, _organization_from_domain(domain)
        return first, last, _organization_from_name(name)

    def _documented(self, digest: bytes, rng: Random, first: str, last: str, slug: str,
                    employer: tuple[str, str, str]) -> Record:
        organization = _organization(self.seed, *employer)
        location, country = _location(rng)
        experience = self._work_experience(rng, organization)
        title = (experience[0]["title"] if experience and experience[0]["is_current"]
                 else _pick(rng, TITLES))
        emails, phones = self._contacts(rng, first, last, organization["website_domain"], country)
        person_uuid = _uuid(digest)
        earliest: int | None = None
        if experience:
            earliest = min(entry["timestamp_start"] for entry in experience)
            if rng.random() < 0.5:
                earliest -= int(rng.random() * 60) * _MONTH_MS
        return {
            "uuid": person_uuid,
            "first_name": first,
            "last_name": last,
            "full_name": f"{first} {last}".strip(),
            "linkedin_url": f"https://linkedin.com/in/{_url_slug(slug)}",
            "title": title,
            "headline": f"{title} at {organization['name']}",
            "emails": emails,
            "phones": phones,
            "organization": organization,
            "work_experience": experience,
            "image": (f"https://cdn.example.com/person/{person_uuid}.png"
                      if rng.random() < 0.7 else None),
            "timestamp_work_experience_start": earliest,
            "industry": organization["industry"],
            "location": location,
        }

    def _work_experience(self, rng: Random, organization: Record) -> list[Record]:
        entries: list[Record] = []
        count: int = _EXPERIENCE_COUNT(rng)
        cursor = _NOW_MS - int(rng.random() * 24) * _MONTH_MS
        for index in range(count):
            current = index == 0 and rng.random() < 0.9
            secondary = index == 1 and entries[0]["is_current"] and rng.random() < 0.1
            start = cursor - (3 + int(rng.random() * 84)) * _MONTH_MS
            start -= start % _DAY_MS
            if index == 0 and current:
                employer = organization
            elif rng.random() < 0.7:
                employer = _organization(self.seed, *_pick(rng, COMPANIES))
            else:
                employer = {"name": _pick(rng, COMPANIES)[0]}
            entry: Record = {"title": _pick(rng, TITLES), "timestamp_start": start}
            if not (current or secondary):
                entry["timestamp_end"] = None if rng.random() < 0.05 else cursor
            entry["is_current"] = current or secondary
            entry["organization"] = employer
            entries.append(entry)
            cursor = start - int(rng.random() * 4) * _MONTH_MS
        return entries

    def _contacts(self, rng: Random, first: str, last: str, work_domain: str,
                  country: str) -> tuple[list[Record], list[Record]]:
        if rng.random() < _NO_CONTACT_RATE:
            return [], []
        email_count: int = _EMAIL_COUNT(rng)
        phone_count: int = _PHONE_COUNT(rng)
        if email_count == 0 and phone_count == 0:
            email_count = 1
        emails = _emails(rng, first, last, work_domain, email_count,
                         lambda: "Direct" if rng.random() < 0.35 else "Work", _EMAIL_STATUS)
        phones: list[Record] = []
        for _ in range(phone_count):
            code = country if rng.random() < 0.85 else _pick(rng, LOCATIONS)[3]
            phones.append({
                "phone": _digits(rng, PHONE_PATTERNS[code]),
                "type": _PHONE_TYPE(rng),
                "country_code": code,
                "is_valid": rng.random() < 0.9,
            })
        return emails, phones

    def _lean(self, identity: str, digest: bytes, rng: Random, first: str, last: str,
              slug: str, employer: tuple[str, str, str]) -> Record:
        record: Record = {"uuid": _uuid(digest)}
        if identity.startswith("name:") or rng.random() >= _LEAN_NO_FIRST_NAME_RATE:
            record["first_name"] = first
        record["last_name"] = last
        record["full_name"] = f"{first} {last}".strip()
        if not identity.startswith("sn:"):
            record["linkedin_url"] = f"https://linkedin.com/in/{_url_slug(slug)}"
        emails = _emails(rng, first, last, employer[1], _LEAN_EMAIL_COUNT(rng),
                         lambda: _LEAN_EMAIL_TYPE(rng), _LEAN_EMAIL_STATUS)
        phones: list[Record] = []
        for _ in range(_LEAN_PHONE_COUNT(rng)):
            code = _pick(rng, LOCATIONS)[3]
            phone: Record = {"phone": _digits(rng, PHONE_PATTERNS[code]),
                             "type": _LEAN_PHONE_TYPE(rng)}
            if rng.random() >= _LEAN_NO_COUNTRY_CODE_RATE:
                phone["country_code"] = code
            phone["is_valid"] = rng.random() < 0.9
            phones.append(phone)
        record["emails"] = emails
        record["phones"] = phones
        record["organization_name"] = (
            None if rng.random() < _LEAN_NO_ORGANIZATION_RATE else employer[0]
        )
        return record

    # -- organizations ------------------------------------------------------------------

    def organization(self, identity: str,
                     query: Mapping[str, object] | None = None) -> Record | None:
        """Return the organization record for ``identity``, or None when not found."""
        kind, _, value = identity.partition(":")
        if kind not in ("org-li", "org-domain", "org-name") or not value:
            return None
        digest = _digest(self.seed, identity)
        if _unit(digest) < self.not_found_rate:
            return None
        if kind == "org-li":
            return _organization(self.seed, *_organization_from_slug(value))
        if kind == "org-domain":
            return _organization(self.seed, *_organization_from_domain(value))
        given = query.get("organization_name") if query is not None else None
        name = display_name(given) if isinstance(given, str) and given.strip() else (
            display_name(value))
        return _organization(self.seed, *_organization_from_name(name))


def _emails(rng: Random, first: str, last: str, work_domain: str, count: int,
            email_type: Any, status: _Weighted) -> list[Record]:
    """Draw ``count`` distinct email addresses."""
    given = _ascii(first) or "contact"
    family = _ascii(last) or "person"
    locals_ = (f"{given}.{family}", f"{given[0]}{family}", given, f"{given}{family}",
               f"{given}_{family}", f"{given[0]}.{family}", f"{family}.{given}")
    seen: set[str] = set()
    emails: list[Record] = []
    for index in range(count):
        kind = email_type()
        if kind == "Work":
            domain = work_domain if index < 2 or rng.random() < 0.5 else _pick(rng, COMPANIES)[1]
        else:
            domain = _pick(rng, PERSONAL_EMAIL_DOMAINS)
        address = f"{_pick(rng, locals_)}@{domain}"
        while address in seen:
            address = f"{_pick(rng, locals_)}{rng.randrange(100)}@{domain}"
        seen.add(address)
        emails.append({"email": address, "type": kind, "status": status(rng)})
    return emails


def free_profile(shape: Shape) -> Record:
    """Return the reference's example record (a fresh copy) in ``shape``."""
    record = copy.deepcopy(_FREE_PROFILE)
    if shape == "documented":
        return record
    lean: Record = {key: record[key] for key in _LEAN_KEYS}
    lean["organization_name"] = record["organization"]["name"]
    return lean


def synthetic_person_records(n: int, *, seed: int = 0,
                             shape: Shape = "documented") -> list[Record]:
    """Return ``n`` found person records, as the bulk endpoint returns them.

    Record ``i`` is the one a sandbox with the same ``seed`` and ``shape`` returns for
    ``https://linkedin.com/in/synthetic-<i>`` when that identity is found.

    Args:
        n: How many records.
        seed: The sandbox seed.
        shape: ``"documented"`` or ``"lean"``.
    """
    source = DataSource(seed=seed, shape=shape)
    with paused_gc():
        return [source.make_person(f"li:synthetic-{index}", None) for index in range(n)]


def synthetic_organization_records(n: int, *, seed: int = 0) -> list[Record]:
    """Return ``n`` organization records, as the bulk endpoint returns them.

    Record ``i`` is the one a sandbox with the same ``seed`` returns for
    ``https://linkedin.com/company/synthetic-organization-<i>`` when that identity is found.
    """
    with paused_gc():
        return [
            _organization(seed, *_organization_from_slug(f"synthetic-organization-{index}"))
            for index in range(n)
        ]
