"""The notebooks run top to bottom in a real kernel, and are committed executed.

Each notebook is executed on a copy in a temporary folder, with no API key and a
temporary ``SALESQL_CACHE_DIR`` (the kernel inherits the environment). Beyond "no cell
raised", the outputs of tagged cells are checked for what a broken library would get
wrong: statuses, the estimate, ``salesql_row``, the result store's free re-run.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ["quickstart.ipynb", "polars.ipynb", "list-building.ipynb"]
ROOT = str(Path(__file__).resolve().parents[1])

#: Text no output may contain, anywhere.
FORBIDDEN = ("Traceback", "sandbox-key", "Error:", "Warning:")


def _text(output: Any) -> str:
    """The text of one output: a stream, a result's text/plain, or an error."""
    if output["output_type"] == "stream":
        return str(output["text"])
    if output["output_type"] == "error":
        return "\n".join([output["ename"], output["evalue"], *output["traceback"]])
    data = output.get("data", {})
    return str(data.get("text/plain", "")) + str(data.get("text/html", ""))


def _all_text(nb: Any) -> str:
    return "\n".join(
        _text(output) for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
    )


def _tagged(nb: Any, tag: str) -> str:
    """The output text of the one code cell tagged ``tag``."""
    cells = [cell for cell in nb.cells if tag in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    parts: list[str] = []
    previous = None
    for output in cells[0].outputs:  # a print may arrive as several stream messages
        stream = output.get("name") if output["output_type"] == "stream" else None
        if stream is not None and stream == previous:
            parts[-1] += _text(output)
        else:
            parts.append(_text(output))
        previous = stream
    return "\n".join(parts)


def _check_clean(nb: Any, name: str, *, also: tuple[str, ...] = ()) -> None:
    """No errors, tracebacks, warnings, keys or absolute paths in any output."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            assert output["output_type"] != "error", f"{name}: a cell raised"
            assert not (output["output_type"] == "stream" and output["name"] == "stderr"), (
                f"{name}: stderr output (a warning?): {output['text']!r}"
            )
    text = _all_text(nb)
    for needle in (*FORBIDDEN, ROOT, tempfile.gettempdir() + "/", sys.prefix, *also):
        assert needle not in text, f"{name}: an output contains {needle!r}"


@pytest.fixture
def run_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Execute a copy of a notebook in a fresh kernel; return it and the cache folder."""
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    monkeypatch.delenv("SALESQL_API_KEY", raising=False)
    monkeypatch.delenv("SALESQL_BASE_URL", raising=False)
    monkeypatch.setenv("SALESQL_CACHE_DIR", str(cache_dir))

    def run(name: str) -> Any:
        workdir = tmp_path / "notebooks"
        workdir.mkdir()
        copy = workdir / name
        shutil.copyfile(NOTEBOOKS_DIR / name, copy)
        nb = nbformat.read(copy, as_version=4)
        for cell in nb.cells:  # judge fresh outputs only
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        client = nbclient.NotebookClient(
            nb, kernel_name="python3", timeout=120,
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute()  # raises CellExecutionError if a cell fails
        assert sorted(p.name for p in workdir.iterdir()) == [name], "left files behind"
        assert not any(cache_dir.iterdir()), "wrote into the user's result store"
        return nb

    return run


def check_quickstart(nb: Any) -> None:
    plan = _tagged(nb, "plan")
    assert "12 rows -> 10 unique queries" in plan  # the cosmetic duplicate counts once
    assert "1 invalid" in plan
    counts = _tagged(nb, "status-counts")
    for status in ("found", "not_found", "invalid_input"):
        assert re.search(rf"^{status}\s+\d+$", counts, re.MULTILINE), counts
    assert "@" in _tagged(nb, "valid-work-email")
    assert "wrote leads-enriched.csv: 12 rows" in _tagged(nb, "export")
    summary = _tagged(nb, "run-summary")  # salesql_frames.last_run(), as a table
    assert "<strong>SalesQL run</strong>" in summary
    assert "<RunSummary: rows 12, found " in summary
    assert "queries sent 10" in summary
    widgets = [
        output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]
    assert len(widgets) == 1, "the quickstart shows exactly one progress bar"


def check_polars(nb: Any) -> None:
    assert re.search(r"│ found\s+┆ \d+", _tagged(nb, "status-counts"))
    emails = _tagged(nb, "long-emails")
    assert "salesql_row" in emails
    assert "shape: (17, 6)" in emails
    assert "list[str]" in _tagged(nb, "tie-back")
    assert re.search(r"│ Work\s+┆ Valid\s+┆ \d+", _tagged(nb, "group-by"))
    assert "salesql_phone_type" in _tagged(nb, "long-phones")
    searches = _tagged(nb, "searches")  # three calls, one search per unique query
    assert "unique queries: 10" in searches
    assert "searches the sandbox ran: 10" in searches


def check_list_building(nb: Any) -> None:
    assert "16 rows read, 14 after dropping blank rows" in _tagged(nb, "read")
    assert "14 rows, 11 unique people" in _tagged(nb, "unique-people")
    assert "11 unique queries" in _tagged(nb, "unique-people")
    estimate = _tagged(nb, "estimate")
    assert re.search(r"worst-case credits\s+11$", estimate, re.MULTILINE), estimate
    assert "searches sent: 11" in _tagged(nb, "enrich")
    assert "skipped" not in _tagged(nb, "enrich")  # the budget sufficed
    chart = next(cell for cell in nb.cells if "chart" in cell.metadata.get("tags", []))
    assert any("image/png" in output.get("data", {}) for output in chart.outputs)
    assert "'Leads': (14," in _tagged(nb, "export")
    cache = _tagged(nb, "cache-demo")
    assert "new searches on the second run: 0" in cache
    assert "same result: True" in cache
    assert re.search(r"already cached\s+11$", cache, re.MULTILINE), cache


CHECKS = {
    "quickstart.ipynb": check_quickstart,
    "polars.ipynb": check_polars,
    "list-building.ipynb": check_list_building,
}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(run_notebook, name: str) -> None:
    """Every cell runs in a real kernel, outputs are clean, and say the right things."""
    nb = run_notebook(name)
    _check_clean(nb, name)
    CHECKS[name](nb)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebooks_are_executed(name: str) -> None:
    """The committed files carry their outputs, from one clean top-to-bottom run."""
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert None not in counts, f"{name} is committed with unexecuted cells; execute it"
    assert counts == list(range(1, len(code) + 1)), f"{name} was not run top to bottom"
    _check_clean(nb, name)


def test_progress_without_ipywidgets_is_one_clean_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plain install in Jupyter: no TqdmWarning box, no line per refresh, one line."""
    monkeypatch.setenv("SALESQL_CACHE_DIR", str(tmp_path / "cache"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('import sys\nsys.modules["ipywidgets"] = None  # not installed'),
        nbformat.v4.new_code_cell(
            "import pandas as pd\nimport salesql_frames\nfrom salesql_frames import sandbox\n"
            "leads = pd.DataFrame({'linkedin_url': [f'linkedin.com/in/nb-{i}' for i in "
            "range(250)]})\n"
            "with sandbox.serve() as sb, sb.client() as client:\n"
            "    out = leads.salesql.enrich_persons(client=client, cache=False)\n"
            "    sent = sb.counters.searches"),
        nbformat.v4.new_code_cell("print(sent, len(out))"),
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    _check_clean(nb, "plain", also=("TqdmWarning", "IProgress"))
    outputs = nb.cells[1].outputs
    assert len(outputs) == 1, outputs  # one line, updated in place
    line = outputs[0]["data"]["text/plain"]
    assert line.startswith("SalesQL persons: 250/250 queries for 250 rows · found ")
    assert "not found" in line
    assert "250 250" in _text(nb.cells[2].outputs[0])
    assert not any("application/vnd.jupyter.widget-view+json" in output.get("data", {})
                   for cell in nb.cells for output in cell.outputs)
