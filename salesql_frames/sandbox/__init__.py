"""A local SalesQL API on 127.0.0.1, with deterministic synthetic data.

For tests, benchmarks and demos without an API key or credits::

    from salesql_frames import sandbox

    with sandbox.serve(seed=1) as sb:
        ...  # point a client at sb.base_url with sb.api_key
        sb.counters.searches  # what the server executed
        sb.faults.add("http_503", endpoint="persons_bulk")  # the next bulk fails once

The server speaks HTTP/1.1 with keep-alive, checks ``Authorization: Bearer <key>``,
enforces an optional sliding-window rate limit and daily cap, charges credits like the
real API, and can inject faults (see `FaultPlan`). Standard library only.

A phone counts as a *direct phone* (for ``match_if_direct_phone``) when its type is not
``"Work"``; an email is direct when its type is ``"Direct"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from .._clock import FakeClock
from ._counters import Counters
from ._data import synthetic_organization_records, synthetic_person_records
from ._faults import FaultPlan
from ._server import Sandbox, run, serve

__all__ = [
    "OPENAPI_PATH",
    "Counters",
    "FakeClock",
    "FaultPlan",
    "Sandbox",
    "run",
    "serve",
    "synthetic_organization_records",
    "synthetic_person_records",
]

#: The OpenAPI document describing the sandbox (and the API), next to this module.
OPENAPI_PATH: Final = Path(__file__).with_name("openapi.json")
