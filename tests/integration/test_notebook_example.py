"""Run the example notebook's code cells in order and check them against its saved outputs.

The notebook is executed as Jupyter would, without a kernel: each cell's code runs in one
shared namespace, its printed text is captured, and a final expression is displayed (HTML
when the value has ``_repr_html_``). Printed text must equal the notebook's saved output
exactly; displayed values must be of the saved kinds.

After changing the notebook, save fresh outputs with::

    python tests/integration/test_notebook_example.py --update
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "explore-district.ipynb"


def _source(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _display(value: Any) -> dict[str, Any]:
    data = {"text/plain": repr(value)}
    html = getattr(value, "_repr_html_", None)
    if callable(html):
        data["text/html"] = html()
    return data


def run_cell(code: str, namespace: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Run one cell; return its outputs in nbformat 4 shape."""
    tree = ast.parse(code, filename=name)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = ast.Module(body=tree.body[:-1] if last else tree.body, type_ignores=[])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(body, name, "exec"), namespace)
        value = None
        if last is not None:
            value = eval(compile(ast.Expression(last.value), name, "eval"), namespace)
    outputs: list[dict[str, Any]] = []
    if printed.getvalue():
        outputs.append({"name": "stdout", "output_type": "stream", "text": printed.getvalue()})
    if value is not None:
        outputs.append({"data": _display(value), "metadata": {}, "output_type": "execute_result"})
    return outputs


def run_notebook(notebook: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Every code cell's outputs, in order."""
    namespace: dict[str, Any] = {"__name__": "explore_district"}
    results = []
    try:
        for number, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "code":
                results.append(run_cell(_source(cell), namespace, f"cell {number}"))
    finally:
        server = namespace.get("server")
        if server is not None:
            with contextlib.suppress(OSError):
                server.stop()
    return results


def _text(output: dict[str, Any]) -> str:
    text = output["text"]
    return text if isinstance(text, str) else "".join(text)


def _code_cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_the_notebook_runs_and_gives_its_saved_outputs() -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("tqdm")
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = _code_cells(notebook)
    ran = run_notebook(notebook)
    assert len(ran) == len(cells)
    for number, (cell, outputs) in enumerate(zip(cells, ran, strict=True)):
        saved = cell["outputs"]
        where = f"code cell {number}: {_source(cell).splitlines()[0]!r}"
        assert [o["output_type"] for o in outputs] == [o["output_type"] for o in saved], where
        for got, expected in zip(outputs, saved, strict=True):
            if got["output_type"] == "stream":
                assert _text(got) == _text(expected), where
            else:
                assert sorted(got["data"]) == sorted(expected["data"]), where


def test_the_notebook_shows_what_it_promises() -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("tqdm")
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    ran = [output for outputs in run_notebook(notebook) for output in outputs]
    printed = "".join(_text(o) for o in ran if o["output_type"] == "stream")
    shown = "".join(o["data"].get("text/html", "") for o in ran if "data" in o)
    assert "Lazy: nothing has been read yet" in shown
    assert "first 5 rows" in shown
    assert "refused: incomplete listing of /teachers" in printed
    assert "complete: False" in printed
    assert "<td>no</td>" in shown
    assert "REDACTED" in shown  # the filter's values are not shown
    assert "datetime64" not in printed and "UTC" in printed


def test_saved_outputs_hold_no_secret_or_personal_field() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    ids = [cell["id"] for cell in notebook["cells"]]
    assert len(set(ids)) == len(ids)  # nbformat 4.5 cell ids, unique
    saved = json.dumps([cell.get("outputs", []) for cell in notebook["cells"]])
    assert "127.0.0.1" not in saved  # ports change; nothing run-specific is saved
    for personal in ("given_name", "family_name", "username", "email", "password"):
        assert f"<th>{personal}</th>" not in saved


def _update() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = _code_cells(notebook)
    for count, (cell, outputs) in enumerate(zip(cells, run_notebook(notebook), strict=True), 1):
        cell["outputs"] = outputs
        cell["execution_count"] = count
        for output in outputs:
            if output["output_type"] == "execute_result":
                output["execution_count"] = count
    text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    NOTEBOOK.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        raise SystemExit(__doc__)
    _update()
