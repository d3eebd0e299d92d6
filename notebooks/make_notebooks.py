"""Write the two report notebooks. Each cell calls one library function; no statistics here.

Run: ``python notebooks/make_notebooks.py`` (from the repository root).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _nb(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells, metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}})
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids keep the files diff-friendly
    return nb


def intervention_report() -> nbformat.NotebookNode:
    params = new_code_cell(
        "# Parameters (papermill / evalkit run replace these)\n"
        'protocol_path = "protocols/INT01.yaml"   # the pre-specified protocol\n'
        'data_src = "synthetic_data"              # DuckDB store or folder of data files\n'
        'output_dir = "."                         # where findings.json is written\n'
        "seed = None                              # None: the protocol's seed",
        metadata={"tags": ["parameters"]})
    calls = ["title", "headline", "participation", "profile", "design", "balance", "results", "subgroups",
             "sensitivity", "limitations", "appendix", "save_findings"]
    return _nb([
        new_markdown_cell("# Intervention evaluation report\n\nEvery cell calls `evalkit.report.sections`; "
                          "the notebook holds no statistics. Render it with `evalkit report`."),
        params,
        new_code_cell("from evalkit.report import sections as S"),
        new_code_cell("ctx = S.load_context(protocol_path, data_src, output_dir=output_dir, seed=seed)"),
        *[new_code_cell(f"S.{name}(ctx)") for name in calls],
    ])


def portfolio_summary() -> nbformat.NotebookNode:
    params = new_code_cell(
        "# Parameters (papermill / evalkit run replace these)\n"
        'protocol_dir = "protocols"     # folder of protocols\n'
        'data_src = "synthetic_data"    # DuckDB store or folder of data files\n'
        'reports_dir = "demo_output"    # where the intervention reports (and their findings.json) are\n'
        'output_dir = "."',
        metadata={"tags": ["parameters"]})
    calls = ["portfolio_title", "portfolio_overview", "portfolio_forest", "portfolio_value", "portfolio_reach",
             "portfolio_commissioning", "portfolio_appendix"]
    return _nb([
        new_markdown_cell("# Portfolio summary\n\nEvery cell calls `evalkit.report.sections`; "
                          "the notebook holds no statistics."),
        params,
        new_code_cell("from evalkit.report import sections as S"),
        new_code_cell("pctx = S.load_portfolio(protocol_dir, data_src, reports_dir, output_dir=output_dir)"),
        *[new_code_cell(f"S.{name}(pctx)") for name in calls],
    ])


def main() -> None:
    nbformat.write(intervention_report(), HERE / "intervention_report.ipynb")
    nbformat.write(portfolio_summary(), HERE / "portfolio_summary.ipynb")
    print(f"wrote notebooks to {HERE}")


if __name__ == "__main__":
    main()
