"""What ``import salesql_frames`` costs, and what the minimum-versions job installs.

Measured in fresh interpreters (as narwhals does): importing the package registers the
accessors and nothing else; the client (httpx), the run, the sandbox, the CLI, the
spreadsheet engines and the pytest plugin's fixtures are imported when first used. The
constraints file of the minimum-versions job pins exactly the floors that pyproject.toml
declares.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Modules ``import salesql_frames`` must leave unimported (prefixes of module names).
NOT_AT_IMPORT = (
    "salesql_frames.sandbox",
    "salesql_frames._cli",
    "salesql_frames._io",
    "salesql_frames._demo",
    "salesql_frames.pytest_plugin",
    "salesql_frames._client",
    "salesql_frames._send",
    "phonenumbers",
    "httpx",
    "httpcore",
    "openpyxl",
    "xlsxwriter",
    "python_calamine",
    "fastexcel",
    "argparse",
    "http.server",
    "socketserver",
)


def imported_after(code: str) -> set[str]:
    """The modules loaded in a fresh interpreter after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    return set(json.loads(out.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules
                  if any(m == name or m.startswith(f"{name}.") for name in NOT_AT_IMPORT))


def test_import_loads_only_what_registers_the_accessors() -> None:
    modules = imported_after("import salesql_frames")
    assert heavy(modules) == []
    assert {"pandas", "polars"} <= modules  # the accessors are registered


def test_the_version_is_read_without_importlib_metadata() -> None:
    # httpx's optional CLI may load it through pygments where rich/click are installed;
    # the package itself never does (pre-importing the dependencies isolates that).
    before = imported_after("import pandas, polars, pyarrow, httpx, tqdm")
    after = imported_after("import pandas, polars, pyarrow, httpx, tqdm, salesql_frames")
    added = {m for m in after - before if not m.startswith("salesql_frames")}
    assert not {m for m in added if m.startswith(("importlib.metadata", "importlib_metadata"))}
    source = "\n".join(path.read_text(encoding="utf-8")
                       for path in (ROOT / "salesql_frames").rglob("*.py"))
    assert "importlib.metadata" not in source
    assert "importlib_metadata" not in source


def test_lazy_names_import_on_first_use() -> None:
    modules = imported_after(
        "import salesql_frames as sf\n"
        "assert 'salesql_frames.sandbox' not in __import__('sys').modules\n"
        "assert sf.sandbox.serve and sf.read_spreadsheet and sf.write_spreadsheet\n"
        "assert sf.Client and sf.Estimate\n"
        "from salesql_frames import sandbox, read_spreadsheet\n"
        "assert sandbox is sf.sandbox and 'sandbox' in dir(sf)"
    )
    assert {"salesql_frames.sandbox", "salesql_frames._io"} <= modules


def test_every_lazy_name_resolves_and_is_public() -> None:
    import salesql_frames

    for name in salesql_frames._LAZY:
        assert name in salesql_frames.__all__
        assert getattr(salesql_frames, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        salesql_frames.nope  # noqa: B018


def test_loading_the_pytest_plugin_imports_no_sandbox() -> None:
    modules = imported_after("import salesql_frames.pytest_plugin")
    assert "salesql_frames.sandbox" not in modules
    assert "httpx" not in modules


# -- the minimum-versions job ----------------------------------------------------------------


def floors() -> dict[str, str]:
    """``name -> floor`` of every runtime dependency in pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.DOTALL | re.MULTILINE)
    assert block, "pyproject.toml has no [project] dependencies list"
    found: dict[str, str] = {}
    for requirement in re.findall(r'"([^"]+)"', block[1]):
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+).*", requirement)
        assert match, f"{requirement!r}: every runtime dependency needs a >= floor"
        found[match[1].lower()] = match[2]
    return found


def pins() -> dict[str, str]:
    """``name -> version`` of every ``==`` line of .ci/constraints-minimum.txt."""
    lines = (ROOT / ".ci" / "constraints-minimum.txt").read_text(encoding="utf-8").splitlines()
    return {name.strip().lower(): version.strip()
            for line in lines if "==" in line and not line.lstrip().startswith("#")
            for name, version in [line.split("#")[0].split("==")]}


def release(version: str) -> tuple[int, ...]:
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_the_minimum_constraints_pin_every_declared_floor() -> None:
    pinned = pins()
    for name, floor in floors().items():
        assert name in pinned, f"{name} has no line in .ci/constraints-minimum.txt"
        assert release(pinned[name]) == release(floor), (name, pinned[name], floor)
