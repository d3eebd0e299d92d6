"""No new table or sentence formats a count of people around the publication ledger.

The intervention report's modules (render, sections, implementation, findings) print counts by asking the
report's audited ledger (:func:`evalkit.report.render.published`: ``shown(key)``, ``entry_text(key)``). This
test lists every place they still format a number themselves (a ``:,`` format of an expression, or the
table-by-table helpers ``safe_count``, ``safe_share``, ``suppress_counts``, ``safe_flow``), by module and
function, and fails when one appears that is not in the list below: a new table has to register its numbers
in :func:`evalkit.report.render.report_ledger` (or be added here with the reason it prints no count of
people the ledger does not already decide).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("evalkit/report/render.py", "evalkit/report/sections.py", "evalkit/implementation.py",
           "evalkit/report/findings.py")
HELPERS = {"safe_count", "safe_share", "suppress_counts", "safe_flow"}

#: (module, function, what) -> why it may format the number itself.
ALLOWED = {
    ("render.py", "section_headline", ":,"): "the sample size a design would need (not a count of people)",
    ("render.py", "_dose_table", "suppress_counts"): "fallback for sessions bands not in the ledger",
    ("render.py", "disclosed_steps", "safe_flow"): "a flow on its own (tests, notebooks without an analysis)",
    ("render.py", "_reliable_change", "suppress_counts"): "reliable-change shares: a column of counts with its "
                                                         "total, and the ledger's base (the sample) hides all",
    ("sections.py", "headline", "safe_count"): "no primary result: the count who started, hidden when small",
    ("sections.py", "profile", "suppress_counts"): "fallback profile with no matched design (not in the ledger)",
    ("sections.py", "participation", "safe_flow"): "fallback flow with no analysis flow (not in the ledger)",
    ("sections.py", "portfolio_overview", ":,"): "annual cost and cost per participant (portfolio)",
    ("implementation.py", "text", "safe_share"): "Share.text: the share of a count the ledger also decides",
    ("implementation.py", "implementation_html", "safe_count"): "number who started, only when the flow shows it",
    ("implementation.py", "implementation_html", ":,"): "planned places (a number of places, not people)",
    ("implementation.py", "implementation_html", "safe_share"): "contact types: shares of sessions, not people",
    ("implementation.py", "_reach_table", "suppress_counts"): "fallback without a ledger; the cohort column",
    ("implementation.py", "_dose_model_html", "safe_count"): "fallback without a ledger",
    ("implementation.py", "_dose_table", "suppress_counts"): "fallback without a ledger",
    ("implementation.py", "_dose_table", ":,"): "fallback without a ledger",
    ("implementation.py", "itt_html", "safe_count"): "referred but never started: hidden when small, or withheld "
                                                    "with the number who started",
}


def _sites(path: Path) -> set[tuple[str, str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[tuple[str, str, str]] = set()

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Call):
                f = child.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if called in HELPERS:
                    out.add((path.name, name, called))
            if isinstance(child, ast.FormattedValue) and child.format_spec is not None:
                spec = "".join(v.value for v in ast.walk(child.format_spec) if isinstance(v, ast.Constant)
                               and isinstance(v.value, str))
                if spec.startswith(","):
                    out.add((path.name, name, ":,"))
            visit(child, name)

    visit(tree, "<module>")
    return out


def test_every_count_formatted_outside_the_ledger_is_listed():
    found = set().union(*(_sites(ROOT / m) for m in MODULES))
    new = sorted(found - set(ALLOWED))
    assert not new, ("these format a number themselves instead of asking the report's ledger "
                     f"(evalkit.report.render.report_ledger): {new}")


def test_the_check_sees_a_raw_count():
    # the test itself: a new table printing f"{n:,}" is caught
    probe = ROOT / "tests" / "_ledger_probe.py"
    probe.write_text("def new_table(n):\n    return f'<td>{n:,}</td>' + safe_count(n)\n", encoding="utf-8")
    try:
        assert _sites(probe) == {("_ledger_probe.py", "new_table", ":,"), ("_ledger_probe.py", "new_table",
                                                                             "safe_count")}
    finally:
        probe.unlink()
