"""Canonical forms of the values sent to the API: one scalar function per parameter kind.

Each function takes any cell value and returns the canonical string, or ``None`` when
the value is missing or unusable (``None``, NaN, ``pd.NA``, non-strings, blanks, junk).
They never raise. Rows are deduplicated on these forms before anything is sent, so two
spellings of one lead cost one request.

Canonical forms:

- LinkedIn URL: ``https://linkedin.com/<kind>/<slug>`` with ``kind`` one of ``in``,
  ``company``, ``school``, ``showcase``; the slug lowercased, NFC-normalized and
  percent-encoded once. Member IDs (``/in/ACoAA...``) keep their case.
  Sales Navigator leads become ``https://linkedin.com/sales/lead/<ID>`` (the ID keeps
  its case; the viewer-specific ``,NAME_SEARCH,<token>`` suffix is dropped), Sales
  Navigator accounts ``https://linkedin.com/company/<numeric id>``, and old
  ``/pub/<name>/a/b/c`` URLs keep their path, lowercased.
- Domain: the lowercase host without scheme, ``www.``, port, path, user info or trailing
  dot; internationalized labels in Unicode (``xn--`` labels are decoded).
- Names and organization names: NFC, whitespace collapsed, case kept (that is what is
  sent); `name_key` is the casefolded dedupe key of a name.

This module imports neither pandas nor polars.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, unquote

from ._hostlists import is_free_mail, is_hosting_platform, is_profile_platform

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

__all__ = [
    "LINKEDIN_ORIGIN",
    "MEMBER_ID_PATTERN",
    "ORGANIZATION_PAGES",
    "PERSON_PAGES",
    "PLACEHOLDERS",
    "PLAIN_PROFILE_PATTERN",
    "PLAIN_SLUG_LENGTHS",
    "PLAIN_TEXT_PATTERN",
    "LinkedInURL",
    "canonical_domain",
    "canonical_linkedin_url",
    "canonical_name",
    "canonical_organization_name",
    "domain_problem",
    "linkedin_page",
    "linkedin_problem",
    "linkedin_url_of",
    "name_key",
    "registrable_domain",
    "several_values",
    "strip_format",
]

LINKEDIN_ORIGIN: Final = "https://linkedin.com"

#: Unicode whitespace: what ``str.split()`` splits on.
_SPACES: Final = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
#: Stripped from both ends of URLs and domains: spaces, quotes, brackets.
_URL_WRAPPING: Final = _SPACES + "<>\"'`\u2018\u2019\u201c\u201d"

#: Deleted from names: C0/C1 controls that are not whitespace.
_DELETE_TABLE: Final = str.maketrans(
    dict.fromkeys(
        [c for c in [*range(0x20), *range(0x7F, 0xA0)] if not chr(c).isspace()], None
    )
)

#: Where a cell holding several addresses or domains is split.
_SEVERAL_RE: Final = re.compile(r"[\s,;|]+")

#: LinkedIn pages of a person and of an organization, as `linkedin_page` names them.
PERSON_PAGES: Final = ("in", "pub", "sales/lead")
ORGANIZATION_PAGES: Final = ("company", "school", "showcase")
_PAGE_NAMES: Final = {
    "in": "person's profile", "pub": "person's profile", "sales/lead": "Sales Navigator lead",
    "company": "company page", "school": "school page", "showcase": "showcase page",
}


@functools.cache
def _format_characters() -> dict[int, None]:
    """Every Unicode format character (category Cf), for ``str.translate`` to delete.

    Bidi marks (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), zero-width characters,
    the BOM, the soft hyphen, tags. ASCII has none; all lie below U+20000 or in the tags
    block (checked against the whole range when written).
    """
    planes = (range(0x80, 0x20000), range(0xE0000, 0xE1000))
    return dict.fromkeys(
        (c for plane in planes for c in plane if unicodedata.category(chr(c)) == "Cf"), None
    )


def strip_format(text: str) -> str:
    r"""``text`` without Unicode format characters (category Cf): bidi marks, BOMs, ZWSPs.

    Every parameter goes through this before it is canonicalized: such characters are
    invisible, so two cells that look alike make one query.

    Examples:
        >>> strip_format("\u200fhttps://linkedin.com/in/ada\u200e")
        'https://linkedin.com/in/ada'
        >>> strip_format("\ufeffAda\u200b Lovelace")
        'Ada Lovelace'
    """
    return text if text.isascii() else text.translate(_format_characters())

#: Whole-cell spreadsheet placeholders that are never a name (compared casefolded).
PLACEHOLDERS: Final = frozenset(
    {"n/a", "#n/a", "null", "none", "undefined", "#value!", "#ref!", "#name?", "#null!"}
)

_SCHEME_RE: Final = re.compile(r"([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_AUTHORITY_END_RE: Final = re.compile(r"[/?#\\]")
_PATH_END_RE: Final = re.compile(r"[?#]")
_LINKEDIN_HOST_RE: Final = re.compile(r"(?:(?:www|m|mobile|touch|[a-z]{2})\.)?linkedin\.com")
#: LinkedIn member/profile IDs (``ACoAA...``, ``ACwAA...``): case-sensitive base64url.
MEMBER_ID_PATTERN: Final = r"AC[A-Za-z0-9]AA[A-Za-z0-9_-]{25,}"
_MEMBER_ID_RE: Final = re.compile(MEMBER_ID_PATTERN)
_SALES_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]+")
#: Slugs that ``quote`` would leave unchanged (the fast path).
_PLAIN_SLUG_RE: Final = re.compile(r"[a-z0-9_.~-]+")
_BAD_SLUG_RE: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufffd]")
_DOTS_TABLE: Final = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_ASCII_LABEL_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PORT_RE: Final = re.compile(r"[0-9]*")
#: The longest host name DNS allows.
_MAX_HOST_LENGTH: Final = 253

#: The common case, answered without the general parser: a plain profile URL. The
#: same pattern, in RE2's syntax, canonicalizes whole Arrow columns at once
#: (`salesql_frames._canonical_series`); both give the slug, which is lowercased.
#: RE2 runs a counted repetition slowly, so the column version matches any length and
#: then keeps slugs of `PLAIN_SLUG_LENGTHS` characters.
_PLAIN_PROFILE: Final = (
    r"(?:https?://)?(?:(?:www|[a-z]{{2}})\.)?linkedin\.com/in/(?P<slug>[a-z0-9-]{slug})/?"
    r"(?:[?#].*)?"
)
PLAIN_SLUG_LENGTHS: Final = (3, 100)
PLAIN_PROFILE_PATTERN: Final = _PLAIN_PROFILE.format(slug="+")
#: ASCII only: under IGNORECASE alone ``[a-z]`` would match U+0131, U+017F and the
#: Kelvin sign, and send them unencoded; such slugs take the general path (percent-encoded).
_PLAIN_PROFILE_RE: Final = re.compile(
    _PLAIN_PROFILE.format(slug="{{{},{}}}".format(*PLAIN_SLUG_LENGTHS)),
    re.IGNORECASE | re.ASCII,
)

_ORGANIZATION_KINDS: Final = frozenset({"company", "school", "showcase"})
_SALES_LEAD_KINDS: Final = frozenset({"lead", "people"})


def _unwrap(value: object) -> str | None:
    """Return ``value`` stripped of surrounding spaces, quotes and brackets, or None."""
    if not isinstance(value, str):
        return None
    text = strip_format(value).strip(_URL_WRAPPING)
    return text or None


def _decode_segment(segment: str) -> str | None:
    """Percent-decode one path segment to NFC text; None if not UTF-8 or not a slug."""
    try:
        text = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return None
    text = unicodedata.normalize("NFC", text)
    if not text or text in {".", ".."} or _BAD_SLUG_RE.search(text):
        return None
    return text


def _encode_slug(slug: str) -> str:
    """Lowercase a decoded slug and percent-encode it once (a valid URI path segment)."""
    slug = slug.lower()
    return slug if _PLAIN_SLUG_RE.fullmatch(slug) else quote(slug, safe="")


def _linkedin_path(segments: list[str]) -> str | None:
    """Map raw path segments to the canonical path, or None when not a profile/page."""
    kind = segments[0].lower()
    if kind == "mwlite":  # LinkedIn Lite prefixes the ordinary path.
        segments = segments[1:]
        kind = segments[0].lower() if segments else ""
    if len(segments) < 2:
        return None
    slug = _decode_segment(segments[1])
    if slug is None:
        return None
    if kind == "in":
        if _MEMBER_ID_RE.fullmatch(slug):
            return f"/in/{slug}"
        return f"/in/{_encode_slug(slug)}"
    if kind in _ORGANIZATION_KINDS:
        return f"/{kind}/{_encode_slug(slug)}"
    if kind == "pub":
        if slug.lower() == "dir":  # a directory search page, not a person
            return None
        parts = [slug]
        for raw in segments[2:5]:
            part = _decode_segment(raw)
            if part is None:
                return None
            parts.append(part)
        return "/pub/" + "/".join(_encode_slug(p) for p in parts)
    if kind == "sales" and len(segments) >= 3:
        section = slug.lower()
        ident = _decode_segment(segments[2])
        if ident is None:
            return None
        ident = ident.split(",", 1)[0]
        if section in _SALES_LEAD_KINDS and _SALES_ID_RE.fullmatch(ident):
            return f"/sales/lead/{ident}"
        if section == "company" and ident.isascii() and ident.isdigit():
            return f"/company/{ident}"
    return None


def canonical_linkedin_url(value: object) -> str | None:
    """Return the canonical LinkedIn URL of a person or organization, or None.

    The result is both what is sent as ``linkedin_url`` and the dedupe key.

    Examples:
        >>> canonical_linkedin_url(" www.LinkedIn.com/in/Jane-Doe/details/experience/?trk=x ")
        'https://linkedin.com/in/jane-doe'
        >>> canonical_linkedin_url("https://uk.linkedin.com/company/Acme/about/")
        'https://linkedin.com/company/acme'
        >>> canonical_linkedin_url("https://www.linkedin.com/in/jos%C3%A9") == (
        ...     canonical_linkedin_url("linkedin.com/in/José/"))
        True
        >>> canonical_linkedin_url("https://www.linkedin.com/sales/people/ACwAAB1x,NAME_SEARCH,ab")
        'https://linkedin.com/sales/lead/ACwAAB1x'
        >>> canonical_linkedin_url("jane-doe") is None
        True
    """
    text = _unwrap(value)
    if text is None:
        return None
    plain = _PLAIN_PROFILE_RE.fullmatch(text)
    if plain is not None and not _MEMBER_ID_RE.fullmatch(plain.group(1)):
        return f"{LINKEDIN_ORIGIN}/in/{plain.group(1).lower()}"
    match = _SCHEME_RE.match(text)
    if match:
        if match.group(1).lower() not in {"http", "https"}:
            return None
        text = text[match.end() :]
    elif text.startswith("//"):
        text = text[2:]
    end = _AUTHORITY_END_RE.search(text)
    if end is None or text[end.start()] != "/":
        return None  # no path at all
    host = text[: end.start()].rpartition("@")[2].partition(":")[0].lower().removesuffix(".")
    if not _LINKEDIN_HOST_RE.fullmatch(host):
        return None
    path = text[end.start() :]
    path_end = _PATH_END_RE.search(path)
    if path_end is not None:
        path = path[: path_end.start()]
    segments = [s for s in path.split("/") if s]
    if not segments:
        return None
    canonical_path = _linkedin_path(segments)
    return None if canonical_path is None else LINKEDIN_ORIGIN + canonical_path


def linkedin_page(url: str) -> str:
    """The kind of page a canonical LinkedIn URL is (see `PERSON_PAGES`, `ORGANIZATION_PAGES`).

    Examples:
        >>> linkedin_page("https://linkedin.com/in/ada"), linkedin_page(
        ...     "https://linkedin.com/sales/lead/ACwAAB1x")
        ('in', 'sales/lead')
    """
    first = url[len(LINKEDIN_ORIGIN) + 1 :].partition("/")[0]
    return "sales/lead" if first == "sales" else first


class LinkedInURL:
    """A canonicalizer of LinkedIn URLs that accepts only some kinds of page.

    Calling it is `canonical_linkedin_url`, with None for a page of another kind.

    Examples:
        >>> person_url = linkedin_url_of(PERSON_PAGES)
        >>> person_url("linkedin.com/in/Ada/"), person_url("linkedin.com/company/acme")
        ('https://linkedin.com/in/ada', None)
    """

    __slots__ = ("pages",)

    def __init__(self, pages: Iterable[str]) -> None:
        self.pages = frozenset(pages)

    def __call__(self, value: object) -> str | None:
        url = canonical_linkedin_url(value)
        return url if url is not None and linkedin_page(url) in self.pages else None

    def __repr__(self) -> str:
        return f"linkedin_url_of({sorted(self.pages)})"


def linkedin_url_of(pages: Iterable[str]) -> LinkedInURL:
    """A canonicalizer of LinkedIn URLs that accepts only these kinds of page (`LinkedInURL`)."""
    return LinkedInURL(pages)


def linkedin_problem(wanted: str) -> Callable[[str], str]:
    """Why a cell is no LinkedIn URL of the kind ``wanted`` names, as a plan's reason says it.

    Examples:
        >>> linkedin_problem("a person's profile")("https://linkedin.com/company/acme")
        "is a LinkedIn company page, not a person's profile: nothing is sent for it"
    """

    def problem(value: str) -> str:
        url = canonical_linkedin_url(value)
        if url is None:
            return "is not a LinkedIn URL"
        page = _PAGE_NAMES[linkedin_page(url)]
        return f"is a LinkedIn {page}, not {wanted}: nothing is sent for it"

    return problem


def _canonical_label(label: str) -> str | None:
    """Validate one lowercase NFC host label (decoding ``xn--``); None when invalid."""
    if label.isascii():
        if not _ASCII_LABEL_RE.fullmatch(label):
            return None
        if not label.startswith("xn--"):
            return label
        try:
            decoded = label[4:].encode("ascii").decode("punycode")
        except UnicodeError:
            return None
        label = unicodedata.normalize("NFC", decoded.lower())
        if label.isascii():  # an ASCII label never needs punycode: a bogus encoding
            return None
    if len(label) > 63 or label.startswith("-") or label.endswith("-"):
        return None
    for char in label:
        if char.isascii():
            if not (char.isalnum() or char == "-"):
                return None
        elif unicodedata.category(char)[0] not in "LMN":
            return None
    return label


@functools.cache
def _suffixes() -> PublicSuffixList:
    """The public suffix list bundled with ``publicsuffixlist`` (never downloaded)."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # ICANN and private sections: github.io, blogspot.com ...


def registrable_domain(host: str) -> str | None:
    """The registrable domain of a lowercase host by the public suffix list, or None.

    Private suffixes count as suffixes, so two sites on one hosting platform stay apart.
    None when ``host`` is itself a public suffix, or its top-level name is not one
    (``acme.local``, ``acme.invalid``).

    Examples:
        >>> registrable_domain("blog.acme.co.uk"), registrable_domain("careers.acme.com")
        ('acme.co.uk', 'acme.com')
        >>> registrable_domain("a.github.io")
        'a.github.io'
        >>> registrable_domain("co.uk") is None, registrable_domain("acme.local") is None
        (True, True)
    """
    domain: str | None = _suffixes().privatesuffix(host, accept_unknown=False)
    return domain


def _parse_host(part: str) -> tuple[str, str] | None:
    """The host of one URL, bare domain or email address, and its form, or None.

    The form is ``"email"`` (an address), ``"page"`` (a URL with a path: a page on the
    site) or ``"site"`` (a bare domain, or a URL of the site's root).
    """
    # NFKC, as IDNA maps them: full-width letters and at signs are the ASCII ones.
    text, form = unicodedata.normalize("NFKC", part), "site"
    match = _SCHEME_RE.match(text)
    if match:
        if match.group(1).lower() not in ("http", "https"):
            return None  # javascript://, ftp://, ...: not a website
        text = text[match.end() :]
    elif text[:7].lower() == "mailto:":
        text, form = text[7:], "email"
    elif text.startswith("//"):
        text = text[2:]
    end = _AUTHORITY_END_RE.search(text)
    if end is not None:
        rest = text[end.start() :]
        text = text[: end.start()]
        path, _, fragment = rest.partition("#")
        if (rest[0] in "/\\" and _PATH_END_RE.split(path, maxsplit=1)[0].strip("/\\")) or (
            fragment.lstrip("!").startswith("/")
        ):
            form = "page"  # a path, or a route in the fragment (#/org/acme)
    user, at, text = text.rpartition("@")
    if at and not match and user:
        form = "email"
    host, _, port = text.partition(":")
    if not _PORT_RE.fullmatch(port):
        return None
    host = unicodedata.normalize("NFC", host.translate(_DOTS_TABLE).lower()).removesuffix(".")
    labels = host.split(".")
    if len(labels) < 2 or len(host) > _MAX_HOST_LENGTH:
        return None
    canonical: list[str] = []
    for label in labels:
        checked = _canonical_label(label)
        if checked is None:
            return None
        canonical.append(checked)
    tld = canonical[-1]
    if len(tld) < 2 or any(char.isdigit() for char in tld):
        return None  # not a registrable name (e.g. an IP address)
    return ".".join(canonical), form


def _organization_domain(host: str, form: str) -> tuple[str | None, str | None]:
    """The organization domain of a parsed host, or None with why not.

    The registrable domain, except on a multi-tenant hosting platform, where a
    customer's subdomain is kept whole (``acme.zendesk.com``); a free-mail provider's
    is refused, as is a profile platform's for a page on it or a subdomain of it
    (``acme.substack.com`` is Acme's page there).
    """
    domain = registrable_domain(host)
    if domain is None:
        return None, f"is a public suffix or an unknown top-level name ({host}), not an " \
            "organization's domain"
    sub = host.removesuffix(domain).removesuffix(".").removeprefix("www").removeprefix(".")
    if is_free_mail(domain):
        return None, f"is at {domain}, a free-mail provider, not an organization's domain"
    if is_profile_platform(domain):
        what = "a page on" if form == "page" or sub else "at"
        return None, (f"is {what} {domain}, a profile platform: its domain is never sent "
                      "as an organization's")
    if sub and is_hosting_platform(domain):
        return f"{sub}.{domain}", None  # one customer's site on a hosting platform
    return domain, None


def _hosts(value: object) -> Iterable[tuple[str, str]]:
    """The hosts of a cell's addresses, URLs and domains, in order, with their forms."""
    text = _unwrap(value)
    if text is None:
        return
    text = text.strip(",;|")
    parts = [part for part in _SEVERAL_RE.split(text) if part]
    if len(parts) > 1:  # several values only if each one is: "acme inc.com" is one bad one
        several = [_parse_host(part) for part in parts]
        if all(parsed is not None for parsed in several):
            yield from (parsed for parsed in several if parsed is not None)
            return
    whole = _parse_host(text)
    if whole is not None:
        yield whole


def canonical_domain(value: object) -> str | None:
    """Return the organization domain of a URL, domain or email address, or None.

    The registrable domain by the public suffix list (subdomains and ``www.`` go;
    ``a.github.io`` stays itself). Never a free-mail provider's domain, nor a profile
    platform's (``linkedin.com/company/acme`` is LinkedIn's page about Acme; a bare
    ``linkedin.com`` cannot say whose). A cell with several addresses or domains gives
    its first usable one.

    Examples:
        >>> canonical_domain("https://careers.Example.co.uk:8080/path?q")
        'example.co.uk'
        >>> canonical_domain("mailto:john@Acme.io")
        'acme.io'
        >>> canonical_domain("jane@gmail.com; jane.doe@acme.io")
        'acme.io'
        >>> canonical_domain("xn--mnchen-3ya.de")
        'münchen.de'
        >>> canonical_domain("https://www.linkedin.com/company/acme/") is None
        True
        >>> canonical_domain("jane@linkedin.com") is None
        True
        >>> canonical_domain("localhost") is None
        True
    """
    for host, form in _hosts(value):
        domain, _ = _organization_domain(host, form)
        if domain is not None:
            return domain
    return None


def domain_problem(value: str) -> str:
    """Why `canonical_domain` gives None for a cell, as a plan's reason says it.

    Examples:
        >>> domain_problem("jane@gmail.com")
        "is at gmail.com, a free-mail provider, not an organization's domain"
        >>> domain_problem("Acme")
        'is not a domain, URL or email address'
    """
    for host, form in _hosts(value):
        domain, refusal = _organization_domain(host, form)
        if domain is None:
            return str(refusal)
    return "is not a domain, URL or email address"


def several_values(value: object) -> bool:
    """Whether a cell holds more than one address, URL or domain.

    Examples:
        >>> several_values("jane@acme.io, jane.doe@gmail.com"), several_values("acme.io")
        (True, False)
    """
    hosts = iter(_hosts(value))
    return next(hosts, None) is not None and next(hosts, None) is not None


#: Text `_clean_text` leaves as it is, unless it is a placeholder: printable ASCII
#: words with single spaces between them (ASCII has no format character, nothing NFC
#: changes, and no whitespace but the space in this range). Whole-column
#: canonicalization matches it in Arrow (RE2) and calls the scalar functions on the rest.
PLAIN_TEXT_PATTERN: Final = r"[!-~]+(?: [!-~]+)*"


def _clean_text(value: object) -> str | None:
    """NFC, invisible characters removed, whitespace collapsed; None if blank."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFC", strip_format(value).translate(_DELETE_TABLE))
    text = " ".join(text.split())
    if not text or text.casefold() in PLACEHOLDERS:
        return None
    return text


def canonical_name(value: object) -> str | None:
    r"""Return a person's name as it is sent: NFC, whitespace collapsed, case kept.

    Values without any letter (``"-"``, ``"123"``) and spreadsheet placeholders
    (``"N/A"``, ``"#N/A"``, ``"null"``) are unusable and give None.

    Examples:
        >>> canonical_name("  Zoë\u00a0 van\tder Berg ")
        'Zoë van der Berg'
        >>> canonical_name("N/A") is None
        True
    """
    text = _clean_text(value)
    if text is None or not any(char.isalpha() for char in text):
        return None
    return text


def name_key(value: object) -> str | None:
    """Return the dedupe key of a name: `canonical_name`, casefolded.

    Examples:
        >>> name_key(" JOSÉ  García") == name_key("josé garcía")
        True
    """
    text = canonical_name(value)
    return None if text is None else text.casefold()


def canonical_organization_name(value: object) -> str | None:
    r"""Return an organization name as it is sent: NFC, whitespace collapsed, case kept.

    Legal suffixes are kept (``"Acme Inc."`` stays ``"Acme Inc."``). Values without any
    letter or digit, and spreadsheet placeholders, give None.

    Examples:
        >>> canonical_organization_name(" Acme\u00a0 Inc. ")
        'Acme Inc.'
    """
    text = _clean_text(value)
    if text is None or not any(char.isalnum() for char in text):
        return None
    return text
