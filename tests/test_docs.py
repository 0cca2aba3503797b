"""The documentation site: it builds strictly, and its pages cannot drift from the code.

- The site builds with ``mkdocs build --strict`` (broken links, anchors, snippet includes
  and mkdocstrings references are errors).
- The output reference lists every column of the output schemas with its Arrow type,
  and nothing else; its dtype table matches what pandas and polars really get.
- The header tables of the mapping page are the ones ``_mapping`` detects.
- The fault table of the sandbox page lists every fault the sandbox knows.
- Every command and option on the command-line page exists in ``--help``.
- Every ``python`` code block of the pages runs, page by page in one namespace, against
  local sandboxes (``SALESQL_API_KEY``/``SALESQL_BASE_URL`` point at one, so "real key"
  examples run too). A ``text`` block right after a python block is its expected output
  unless an HTML comment containing ``output varies`` precedes it; a python block
  preceded by ``<!-- docs-test: skip -->`` is not run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from salesql_frames import _cli, sandbox
from salesql_frames._assemble import in_zone
from salesql_frames._frames import PandasFrame, PolarsFrame
from salesql_frames._kinds import KINDS
from salesql_frames._schema import (
    EXPLODE_TARGETS,
    Widths,
    long_person_schema,
    organization_schema,
    person_schema,
)
from salesql_frames.sandbox._faults import ENDPOINTS, FAULTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = DOCS / "src"
PREFIX = "salesql_"


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


# -- the build ------------------------------------------------------------------------------


def test_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            "docs/mkdocs.yml",
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").exists()
    # the benchmarks page is docs/benchmarks.md, included by pymdownx.snippets
    heading = (DOCS / "benchmarks.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
    assert heading in (tmp_path / "site" / "benchmarks" / "index.html").read_text("utf-8")
    # Long signatures are laid out one parameter per line (mkdocstrings does that only
    # when ruff, from the docs extra, is installed): no clipped one-line signature.
    functions = (tmp_path / "site" / "reference" / "functions" / "index.html").read_text("utf-8")
    signature = re.search(r'<div class="doc-signature[^"]*">(.*?)</div>', functions, re.S)
    assert signature is not None
    assert signature.group(1).count("\n") > 10


def test_code_on_the_home_page_fits_the_content_column() -> None:
    """The theme's content column shows 88 characters of code before it scrolls sideways."""
    for block in _blocks(page("index.md")):
        for offset, line in enumerate(block.code.splitlines(), 1):
            assert len(line) <= 88, f"index.md:{block.line + offset}: {len(line)} characters"


def test_benchmarks_page_is_only_the_snippet() -> None:
    assert page("benchmarks.md").strip() == '--8<-- "docs/benchmarks.md"'


# -- output reference -------------------------------------------------------------------------

_ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \|", re.MULTILINE)
_DTYPE_ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| `([^`]+)` \| `([^`]+)` \|$", re.MULTILINE)


def _pattern(name: str) -> str:
    """``salesql_email_2_type`` -> ``salesql_email_{i}_type`` (numbered wide columns)."""
    return re.sub(r"^(salesql_(?:email|phone|work))_\d+", r"\1_{i}", name)


def _documented_columns() -> dict[str, str]:
    """Column (pattern) -> Arrow type, from every table row of the output page."""
    columns: dict[str, str] = {}
    for name, arrow_type in _ROW.findall(page("output.md")):
        if not name.startswith(PREFIX):
            continue
        assert columns.setdefault(name, arrow_type) == arrow_type, f"{name}: two types"
    return columns


def _schema_columns() -> dict[str, pa.DataType]:
    widths = Widths(emails=2, phones=2, work=2)
    schemas = [person_schema(widths), organization_schema()]
    schemas += [long_person_schema(target) for target in EXPLODE_TARGETS]
    schemas = [in_zone(schema.empty_table(), None).schema for schema in schemas]  # as users get
    columns: dict[str, pa.DataType] = {
        f"{PREFIX}status": pa.string(),
        f"{PREFIX}error": pa.string(),
        f"{PREFIX}fetched_at": pa.timestamp("ms"),  # naive UTC, the default tz=None
        f"{PREFIX}row": pa.int64(),
    }
    for schema in schemas:
        for field in schema:
            previous = columns.setdefault(_pattern(field.name), field.type)
            assert previous == field.type, field.name
    return columns


def test_output_reference_lists_every_column_with_its_type() -> None:
    documented = _documented_columns()
    actual = {name: str(typ) for name, typ in _schema_columns().items()}
    missing = sorted(set(actual) - set(documented))
    stale = sorted(set(documented) - set(actual))
    assert not missing, f"output.md lacks columns: {missing}"
    assert not stale, f"output.md lists columns that do not exist: {stale}"
    wrong = {
        name: (documented[name], typ) for name, typ in actual.items() if documented[name] != typ
    }
    assert not wrong, f"output.md types differ (page, code): {wrong}"


def test_output_reference_dtype_table_is_what_frames_get() -> None:
    table = pa.schema(
        [
            pa.field(f"c{i}", typ)
            for i, typ in enumerate(sorted(set(_schema_columns().values()), key=str))
        ]
    ).empty_table()
    empty_index = pd.DataFrame(index=pd.RangeIndex(0))
    numpy_nullable = PandasFrame(empty_index, "numpy_nullable").with_results(table).dtypes
    arrow = PandasFrame(empty_index, "pyarrow").with_results(table).dtypes
    polars = PolarsFrame(pl.DataFrame()).with_results(table).schema
    expected = {
        str(field.type): (
            str(numpy_nullable[field.name]),
            str(arrow[field.name]),
            str(polars[field.name]),
        )
        for field in table.schema
    }
    documented = {row[0]: row[1:] for row in _DTYPE_ROW.findall(page("output.md"))}
    assert documented == expected


# -- column mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["person", "organization"])
def test_mapping_page_lists_the_detected_headers(kind: str) -> None:
    text = page("mapping.md")
    section = text.split("### Persons" if kind == "person" else "### Organizations")[1]
    section = section.split("\n### ")[0].split("\n## ")[0]
    for param, headers in KINDS[kind].headers.items():
        row = f"| `{param}` | " + ", ".join(f"`{h}`" for h in headers) + " |"
        assert row in section, f"mapping.md ({kind}): expected the row {row}"


# -- sandbox ----------------------------------------------------------------------------------


def test_sandbox_page_lists_every_fault_and_endpoint() -> None:
    text = page("sandbox.md")
    section = text.split("## Faults")[1].split("\n## ")[0]
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.MULTILINE)
    assert sorted(documented) == sorted(FAULTS)
    for endpoint in ENDPOINTS:
        assert f"`{endpoint}`" in section


# -- command line -----------------------------------------------------------------------------


def _help(*command: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        _cli.main([*command, "--help"])
    assert exited.value.code == 0, command
    return out.getvalue()


@dataclass
class _Command:
    words: tuple[str, ...]
    options: list[str]


def _documented_commands() -> list[_Command]:
    commands: list[_Command] = []
    heading = re.compile(r"^#{2,3} `salesql-frames ([a-z-]+(?: [a-z-]+)*)`\s*$")
    for line in page("cli.md").splitlines():
        match = heading.match(line)
        if match:
            commands.append(_Command(tuple(match.group(1).split()), []))
        elif commands and line.startswith("| `-"):
            cell = line.split("|")[1]
            commands[-1].options += re.findall(r"(--?[a-z][a-z-]*)", cell)
    return commands


def test_cli_page_commands_and_options_exist() -> None:
    commands = _documented_commands()
    assert len(commands) >= 5
    for command in commands:
        *parents, name = command.words
        listing = _help(*parents) if parents else _help()
        assert re.search(rf"^\s+{re.escape(name)}\b", listing, re.MULTILINE), (
            f"'{' '.join(command.words)}' is not listed in --help"
        )
        text = _help(*command.words)
        for option in command.options:
            assert re.search(rf"(?<![\w-]){re.escape(option)}\b", text), (
                f"'{' '.join(command.words)} {option}' is not in its --help"
            )


def test_demo_output_shown_in_getting_started(tmp_path: Path) -> None:
    shown = page("getting-started.md").split("```text\n", 1)[1].split("```", 1)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert _cli.main(["demo", "--quiet", "-o", str(tmp_path / "demo.xlsx")]) == 0
    printed = out.getvalue()
    for line in shown.splitlines():
        if line.strip() and not line.startswith(("wrote ", "read ")):
            assert line.rstrip() in printed.splitlines(), f"demo no longer prints: {line!r}"


# -- code blocks ------------------------------------------------------------------------------

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


@dataclass
class _Block:
    language: str
    code: str
    line: int
    marker: str  # the HTML comment right before the block, if any


def _blocks(text: str) -> list[_Block]:
    blocks = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        marker = before[-1] if before and before[-1].startswith("<!--") else ""
        line = text.count("\n", 0, match.start()) + 1
        blocks.append(_Block(match.group(1), match.group(2), line, marker))
    return blocks


def _pages_with_python() -> list[str]:
    return sorted(p.relative_to(PAGES).as_posix() for p in PAGES.rglob("*.md")
                  if "```python" in p.read_text("utf-8"))


@pytest.mark.parametrize("name", _pages_with_python())
def test_page_code_runs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SALESQL_CACHE_DIR", str(tmp_path / "cache"))
    blocks = _blocks(page(name))
    namespace: dict[str, object] = {"__name__": f"docs_{name}"}
    with sandbox.serve(seed=3) as sb:
        monkeypatch.setenv("SALESQL_API_KEY", sb.api_key)
        monkeypatch.setenv("SALESQL_BASE_URL", sb.base_url)
        for i, block in enumerate(blocks):
            if block.language != "python" or "docs-test: skip" in block.marker:
                continue
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(block.code, f"{name}:{block.line}", "exec"), namespace)
            following = blocks[i + 1] if i + 1 < len(blocks) else None
            if (
                following is not None
                and following.language == "text"
                and "output varies" not in following.marker
                and _adjacent(page(name), block, following)
            ):
                assert _lines(out.getvalue()) == _lines(following.code), (
                    f"{name}:{block.line}: printed output differs from the page"
                )


def _adjacent(text: str, block: _Block, following: _Block) -> bool:
    """Only blank lines (or a marker comment) between the two fenced blocks."""
    lines = text.splitlines()
    end = block.line + block.code.count("\n") + 1  # the closing fence's line (1-based)
    between = lines[end : following.line - 1]
    return all(not line.strip() or line.startswith("<!--") for line in between)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


# -- exception tree ---------------------------------------------------------------------------


def test_exception_tree_matches_the_classes() -> None:
    import salesql_frames

    tree = page("reference/exceptions.md").split("```text\n", 1)[1].split("```", 1)[0]
    stack: list[tuple[int, type]] = []
    drawn: set[str] = set()
    for line in tree.splitlines():
        match = re.search(r"([A-Z][A-Za-z]+(?:Error|Warning))", line)
        if not match:
            stack.clear()  # a blank line starts the next tree
            continue
        depth, cls = match.start(), getattr(salesql_frames, match.group(1))
        drawn.add(cls.__name__)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            assert issubclass(cls, stack[-1][1]), f"{cls.__name__} is drawn under {stack[-1][1]}"
            assert stack[-1][1] in cls.__bases__, f"{cls.__name__}: not a direct subclass"
        stack.append((depth, cls))
    exported = {
        name
        for name in salesql_frames.__all__
        if isinstance(getattr(salesql_frames, name), type)
        and issubclass(
            getattr(salesql_frames, name),
            (salesql_frames.SalesQLError, salesql_frames.SalesQLWarning),
        )
    }
    assert drawn == exported


# -- API reference completeness -----------------------------------------------------------------


def test_every_public_name_is_in_the_api_reference() -> None:
    import salesql_frames

    reference = "\n".join(p.read_text("utf-8") for p in (PAGES / "reference").glob("*.md"))
    names = [f"salesql_frames.{n}" for n in salesql_frames.__all__ if n != "__version__"]
    names += [f"salesql_frames.sandbox.{n}" for n in sandbox.__all__]
    missing = [n for n in names if not re.search(rf"{re.escape(n)}\b", reference)]
    assert not missing, f"not in docs/src/reference/: {missing}"
