"""The ``salesql-frames demo`` job: the shipped sample lead list, enriched end to end.

The sample (``data/sample_leads.xlsx``, 200 leads; the same rows as
``data/sample_leads.csv``) is messy on purpose: duplicates in cosmetic variants
(case, spaces, URL forms), rows without a complete parameter group, mixed groups
(LinkedIn URL, name + website, name + company), two blank rows and two empty
trailing columns. It goes through the same reading, planning and writing code as
``salesql-frames enrich-persons``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from ._client import Client
from ._enrich import RunOptions, plan_frame, run_enrichment
from ._io import Table, read_table, write_table
from ._kinds import PERSON

SAMPLE = "sample_leads.xlsx"


def sample_table() -> Table:
    """Read the shipped sample workbook (works from an installed wheel too)."""
    resource = resources.files("salesql_frames.data").joinpath(SAMPLE)
    with resources.as_file(resource) as path:
        return read_table(path)


def sample_leads() -> pd.DataFrame:
    """The shipped sample lead list: 200 rows with duplicates, blanks and invalid rows.

    Examples:
        >>> len(sample_leads())
        200
    """
    return sample_table().frame


def run_demo(output: Path, client: Client, *, progress: bool = True) -> str:
    """Enrich the sample leads with ``client``, write ``output``, return the report.

    Args:
        output: Where to write (format from the extension, XLSX in the demo).
        client: A client for the sandbox (or any API root).
        progress: Show a progress bar on stderr.

    Returns:
        The plan, the run summary and the path written, ready to print.
    """
    table = sample_table()
    plan = plan_frame(table.frame, PERSON, {})
    result = run_enrichment(
        table.frame, plan, options=RunOptions(client=client, cache=False, progress=progress)
    )
    written = write_table(result.frame, output)
    return "\n\n".join(
        [table.describe(), repr(plan), str(result.summary), f"wrote {written.resolve()}"]
    )
