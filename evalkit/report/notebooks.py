"""The two report notebooks, built in code: each cell calls one library function; no statistics here.

``notebooks/`` in the repository holds the same notebooks as files (written by
``notebooks/make_notebooks.py`` from these functions), for evaluators who want
to open or adapt them; ``evalkit report`` and ``run-all`` use those files when
the checkout is there, and build the notebooks from here otherwise (a regular,
non-editable install has no ``notebooks/`` folder).
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

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
    calls = ["title", "headline", "participation", "implementation", "profile", "design", "balance", "results",
             "subgroups", "sensitivity", "limitations", "appendix", "save_findings"]
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
    calls = ["portfolio_title", "portfolio_decisions", "portfolio_overview", "portfolio_forest", "portfolio_value",
             "portfolio_theory",
             "portfolio_reach", "portfolio_commissioning", "portfolio_method", "portfolio_glossary",
             "portfolio_appendix"]
    return _nb([
        new_markdown_cell("# Portfolio summary\n\nEvery cell calls `evalkit.report.sections`; "
                          "the notebook holds no statistics."),
        params,
        new_code_cell("from evalkit.report import sections as S"),
        new_code_cell("pctx = S.load_portfolio(protocol_dir, data_src, reports_dir, output_dir=output_dir)"),
        *[new_code_cell(f"S.{name}(pctx)") for name in calls],
        new_code_cell("S.portfolio_exports(pctx, protocol_dir)"),
    ])


#: File name -> builder, for the notebooks the renderer runs.
BUILDERS = {"intervention_report.ipynb": intervention_report, "portfolio_summary.ipynb": portfolio_summary}

__all__ = ["BUILDERS", "intervention_report", "portfolio_summary"]
