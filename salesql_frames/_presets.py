"""Export presets: result columns under the names a CRM's import maps on its own.

A preset is, per kind of lookup, an ordered table of ``CRM header <- result column(s)``
taken from the vendor's public import documentation. Applying one keeps the user's own
columns, adds the preset's columns, keeps ``<prefix>status`` so the file can be
filtered, and leaves out the other result columns (the CRM has no field for them).
``generic`` is the library's own layout, unchanged.

This module works on pandas frames: `salesql_frames.write_spreadsheet` writes pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from . import _constants as C
from ._exceptions import InvalidArgumentError
from ._kinds import KINDS, ORGANIZATION, PERSON, KindSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PRESETS", "PRESET_NAMES", "apply_preset"]

#: One column of a preset: the CRM's header and the result columns (without the prefix)
#: whose first non-empty value fills it.
Column = tuple[str, tuple[str, ...]]

_PHONE: Final = ("phone_e164", "phone")

#: Preset -> kind -> columns, in the order they are written.
#: HubSpot: the default contact and company properties of its import
#: (knowledge.hubspot.com, "Set up your import file" and the default property lists).
#: Salesforce: the Data Import Wizard's labels (help.salesforce.com, "Field Mapping for
#: Importing Leads" and, for accounts, "Field Mapping for Other Data Sources").
PRESETS: Final[Mapping[str, Mapping[KindSpec, tuple[Column, ...]]]] = {
    "hubspot": {
        PERSON: (
            ("First Name", ("first_name",)),
            ("Last Name", ("last_name",)),
            ("Email", ("best_email",)),
            ("Phone Number", _PHONE),
            ("Job Title", ("title",)),
            ("Company Name", ("organization_name",)),
            ("Website URL", ("organization_website",)),
            ("City", ("location_city",)),
            ("State/Region", ("location_state",)),
            ("Country/Region", ("location_country",)),
            ("Industry", ("industry",)),
        ),
        ORGANIZATION: (
            ("Name", ("organization_name",)),
            ("Company Domain Name", ("organization_domain",)),
            ("Website URL", ("organization_website",)),
            ("Industry", ("organization_industry",)),
            ("City", ("organization_location_city",)),
            ("State/Region", ("organization_location_state",)),
            ("Country/Region", ("organization_location_country",)),
            ("Number of Employees", ("organization_number_of_employees",)),
            ("Year Founded", ("organization_founded_year",)),
            ("LinkedIn Company Page", ("organization_linkedin_url",)),
        ),
    },
    "salesforce": {
        PERSON: (
            ("First Name", ("first_name",)),
            ("Last Name", ("last_name",)),
            ("Email", ("best_email",)),
            ("Phone", _PHONE),
            ("Title", ("title",)),
            ("Company", ("organization_name",)),
            ("Website", ("organization_website",)),
            ("City", ("location_city",)),
            ("State/Province", ("location_state",)),
            ("Country", ("location_country",)),
            ("Industry", ("industry",)),
            ("No. of Employees", ("organization_number_of_employees",)),
        ),
        ORGANIZATION: (
            ("Account Name", ("organization_name",)),
            ("Website", ("organization_website",)),
            ("Industry", ("organization_industry",)),
            ("Employees", ("organization_number_of_employees",)),
            ("Billing City", ("organization_location_city",)),
            ("Billing State/Province", ("organization_location_state",)),
            ("Billing Country", ("organization_location_country",)),
        ),
    },
}

#: Every preset name `apply_preset` and the CLI's ``--preset`` accept.
PRESET_NAMES: Final = ("generic", *PRESETS)


def apply_preset(frame: pd.DataFrame, preset: str, prefix: str = C.DEFAULT_PREFIX) -> pd.DataFrame:
    """``frame``'s columns as the ``preset``'s CRM import names them.

    The user's own columns come first, as they are (one whose name a preset column
    takes is renamed ``"<name> (input)"``), then the preset's columns in its order,
    then ``<prefix>status``. Other result columns are left out. One row per input row.

    Args:
        frame: An enriched pandas frame (wide output).
        preset: ``"generic"`` (the frame as it is), ``"hubspot"`` or ``"salesforce"``.
        prefix: The result columns' prefix, as given to ``enrich_*``.

    Returns:
        A new frame (``generic``: ``frame`` itself).

    Raises:
        InvalidArgumentError: An unknown preset, or a frame without the result columns
            of any kind (not enriched, long output, or another ``prefix``).

    Examples:
        >>> import pandas as pd
        >>> enriched = pd.DataFrame({"Owner": ["me"], "salesql_status": ["found"],
        ...     "salesql_organization_name": ["Acme"], "salesql_organization_domain": ["acme.io"]})
        >>> list(apply_preset(enriched, "salesforce").columns)
        ['Owner', 'Account Name', 'Website', 'Industry', 'Employees', 'Billing City', \
'Billing State/Province', 'Billing Country', 'salesql_status']
    """
    if preset == "generic":
        return frame
    tables = PRESETS.get(preset)
    if tables is None:
        raise InvalidArgumentError(
            f"preset={preset!r} is not a preset; choose one of {', '.join(PRESET_NAMES)}"
        )
    if f"{prefix}row" in frame.columns:
        raise InvalidArgumentError(
            f"preset={preset!r} writes one row per lead: this frame is long output (it has "
            f"{prefix + 'row'!r}); enrich with how=\"wide\" for a CRM import"
        )
    spec = _kind_of(frame, tables, prefix)
    if spec is None:
        raise InvalidArgumentError(
            f"preset={preset!r}: this frame has no result columns of a person or an "
            f"organization lookup with the prefix {prefix!r}; write the frame that "
            "enrich_persons() or enrich_organizations() returned, or pass its prefix="
        )
    return _laid_out(frame, tables[spec], prefix)


def _kind_of(
    frame: pd.DataFrame, tables: Mapping[KindSpec, tuple[Column, ...]], prefix: str
) -> KindSpec | None:
    """The kind whose preset columns the frame has most of (all of its first column's)."""
    present = set(map(str, frame.columns))
    best, best_count = None, 0
    for spec in KINDS.values():
        columns = tables.get(spec, ())
        found = sum(any(prefix + name in present for name in sources) for _, sources in columns)
        first_sources = columns[0][1] if columns else ()
        if any(prefix + name in present for name in first_sources) and found > best_count:
            best, best_count = spec, found
    return best


def _laid_out(frame: pd.DataFrame, columns: tuple[Column, ...], prefix: str) -> pd.DataFrame:
    import pandas as pd

    headers = {header for header, _ in columns}
    own = [name for name in frame.columns if not str(name).startswith(prefix)]
    taken = headers | set(own)
    out: dict[str, Any] = {}
    for name in own:
        if name in headers:  # the preset's column takes the name; the user's is renamed
            renamed, number = f"{name} (input)", 2
            while renamed in taken:
                renamed, number = f"{name} (input {number})", number + 1
            taken.add(renamed)
            out[renamed] = frame[name]
        else:
            out[name] = frame[name]
    for header, sources in columns:
        values = None
        for name in sources:
            if prefix + name in frame.columns:
                column = frame[prefix + name]
                values = column if values is None else values.fillna(column)
        out[header] = values if values is not None else pd.Series(
            pd.NA, index=frame.index, dtype="string")
    if f"{prefix}status" in frame.columns:
        out[f"{prefix}status"] = frame[f"{prefix}status"]
    laid_out: pd.DataFrame = pd.DataFrame(out, index=frame.index)
    return laid_out
