"""Email quality flags: free-mail provider and role account, per distinct address.

One job: `email_flags` maps an Arrow array of addresses to two bool arrays, computing
each distinct address once (dictionary encoding) and mapping back with an Arrow take.

* **Free mail** (`is_free_address`): the address's domain, or any parent of it, is in
  the free-mail list of `salesql_frames._hostlists` (the list the inputs use), compared
  casefolded: ``jane@Mail.Yahoo.co.uk`` is at ``yahoo.co.uk``. Walking up the parents
  needs no public-suffix list: the list holds registrable domains only.
* **Role account** (`is_role_address`): the local part, casefolded and without a
  ``+tag``, is in ``data/role_local_parts.txt``, or is once its separators
  (``.``, ``_``, ``-``) are removed (``no-reply``), or every part between separators is
  (``sales.team``). ``jane.sales`` is a person.

Both are null for a null address and False for text that is not an address.

Examples:
    >>> is_free_address("jane@Mail.Yahoo.co.uk"), is_free_address("jane@acme.co.uk")
    (True, False)
    >>> is_role_address("Sales+EU@acme.com"), is_role_address("jane.sales@acme.com")
    (True, False)
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib.resources import files
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._hostlists import free_mail_domains, is_free_mail

__all__ = ["email_flags", "is_free_address", "is_role_address", "role_local_parts"]

_SEPARATORS: Final = re.compile(r"[._-]+")


@cache
def role_local_parts() -> frozenset[str]:
    """The role-account local parts of ``data/role_local_parts.txt``, lowercase."""
    text = files("salesql_frames.data").joinpath("role_local_parts.txt").read_text("utf-8")
    lines = (line.split("#", 1)[0].strip().casefold() for line in text.splitlines())
    return frozenset(line for line in lines if line)


def _split(address: str) -> tuple[str, str] | None:
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    return local.casefold(), domain.casefold().rstrip(".")


def is_free_address(address: str) -> bool:
    """Whether an address is at a free-mail provider (its domain or a parent)."""
    parts = _split(address)
    if parts is None:
        return False
    labels = parts[1].split(".")
    return any(is_free_mail(".".join(labels[i:])) for i in range(len(labels) - 1))


def is_role_address(address: str) -> bool:
    """Whether an address is a role account (``info@``, ``sales.team@``, ...)."""
    parts = _split(address)
    if parts is None:
        return False
    local = parts[0].split("+", 1)[0]
    roles = role_local_parts()
    if local in roles:
        return True
    tokens = [token for token in _SEPARATORS.split(local) if token]
    return bool(tokens) and ("".join(tokens) in roles or all(t in roles for t in tokens))


def email_flags(addresses: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Return ``(is_free, is_role)`` per address: bool arrays, null where it is null.

    Each distinct address is judged once: plain ASCII addresses in Arrow (`_plain_flags`),
    the others by `is_free_address` and `is_role_address`.

    Examples:
        >>> import pyarrow as pa
        >>> free, role = email_flags(pa.array(["info@gmail.com", None, "ann@acme.io"]))
        >>> free.to_pylist(), role.to_pylist()
        ([True, None, False], [True, None, False])
    """
    n = len(addresses)
    if addresses.null_count == n:
        return pa.nulls(n, pa.bool_()), pa.nulls(n, pa.bool_())
    encoded = pc.dictionary_encode(addresses.cast(pa.string()))
    unique = encoded.dictionary
    plain = pc.match_substring_regex(unique, _PLAIN_ADDRESS)
    free = role = pa.array(np.zeros(len(unique), dtype=bool))
    if pc.any(plain).as_py():
        plain_free, plain_role = _plain_flags(unique.filter(plain))
        free = pc.replace_with_mask(free, plain, plain_free)
        role = pc.replace_with_mask(role, plain, plain_role)
    others = pc.invert(plain)
    rest = unique.filter(others).to_pylist()
    if rest:
        free = pc.replace_with_mask(
            free, others, pa.array([is_free_address(a) for a in rest], pa.bool_()))
        role = pc.replace_with_mask(
            role, others, pa.array([is_role_address(a) for a in rest], pa.bool_()))
    return free.take(encoded.indices), role.take(encoded.indices)


#: An address whose flags `_plain_flags` computes as the scalar functions do: ASCII, no
#: whitespace, one ``@`` with something on both sides (so ``strip`` changes nothing,
#: ``rpartition`` splits at that ``@``, and ``casefold`` is ``lower``).
_PLAIN_ADDRESS: Final = r"^[!-?A-~]+@[!-?A-~]+$"


@lru_cache(maxsize=8)
def _value_set(values: frozenset[str]) -> pa.Array:
    """A domain or local-part list as an Arrow value set (the lists in use may change)."""
    return pa.array(sorted(values), pa.string())


def _plain_flags(addresses: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(is_free, is_role)`` of `_PLAIN_ADDRESS` addresses, as the scalar functions say."""
    parts = pc.split_pattern(pc.utf8_lower(addresses), "@", max_splits=1)
    local = pc.list_element(parts, 0)
    domain = pc.utf8_rtrim(pc.list_element(parts, 1), ".")
    # free: the domain or a parent of two labels or more is in the list
    domains = _value_set(free_mail_domains())
    free = pc.and_(pc.is_in(domain, value_set=domains), pc.match_substring(domain, "."))
    parent = domain
    while True:
        parent = pc.replace_substring_regex(parent, r"^[^.]*\.", "", max_replacements=1)
        several = pc.match_substring(parent, ".")
        if not pc.any(several).as_py():
            break
        free = pc.or_(free, pc.and_(several, pc.is_in(parent, value_set=domains)))
    # role: the local part (less a +tag), its separators removed, or every part of it
    roles = _value_set(role_local_parts())
    local = pc.list_element(pc.split_pattern(local, "+", max_splits=1), 0)
    joined = pc.replace_substring_regex(local, _SEPARATORS.pattern, "")
    role = pc.or_(pc.is_in(local, value_set=roles),
                  pc.and_(pc.not_equal(joined, ""), pc.is_in(joined, value_set=roles)))
    tokens = pc.split_pattern_regex(local, _SEPARATORS.pattern)
    flat = pc.list_flatten(tokens)
    parents = np.asarray(pc.list_parent_indices(tokens), dtype=np.int64)
    present = np.asarray(pc.not_equal(flat, ""), dtype=bool)
    unknown = present & ~np.asarray(pc.is_in(flat, value_set=roles), dtype=bool)
    size = len(addresses)
    every = (np.bincount(parents[present], minlength=size) > 0) & (
        np.bincount(parents[unknown], minlength=size) == 0)
    return free, pc.or_(role, pa.array(every))
