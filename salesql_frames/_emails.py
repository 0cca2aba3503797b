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
from functools import cache
from importlib.resources import files
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from ._hostlists import is_free_mail

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
    unique = encoded.dictionary.to_pylist()
    free = pa.array([is_free_address(a) for a in unique], pa.bool_())
    role = pa.array([is_role_address(a) for a in unique], pa.bool_())
    return free.take(encoded.indices), role.take(encoded.indices)
