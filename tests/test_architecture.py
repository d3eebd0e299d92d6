"""The package's layers: no import cycles among evalkit's modules, and the analysis renders nothing.

Imports are read from the source with :mod:`ast` (every ``import`` statement, at module level or inside a
function, so a cycle cannot hide in a function body). A ``from package import name`` counts as an import of
the submodule ``package.name`` when there is one, else of the package. Importing a submodule is not counted
as importing its parent package's ``__init__`` (Python runs it, but it is not a dependency the code chose).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "evalkit"


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, package)
    return out


def _absolute(module: str, package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Module -> the evalkit modules it imports."""
    mods = _modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, (path, package) in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(mod, package, node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for t in targets:
                if t.split(".")[0] == "evalkit" and (k := known(t)) is not None and k != mod:
                    graph[mod].add(k)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_sees_imports_in_function_bodies(graph):
    # the reader must find imports inside functions, or a cycle could hide there
    assert "evalkit.run" in graph["evalkit.cli"]  # cli imports run inside its commands


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles(graph):
    found = cycles(graph)
    assert not found, "import cycles among evalkit modules:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_analysis_imports_nothing_from_report(graph):
    bad = sorted((m, t) for m, ts in graph.items() if m.startswith("evalkit.analysis") for t in ts
                 if t.startswith("evalkit.report"))
    assert not bad, f"evalkit.analysis must render nothing, but imports the report layer: {bad}"


@pytest.mark.parametrize("leaf, allowed", [("evalkit.labels", set()), ("evalkit.errors", set()),
                                           ("evalkit.results", {"evalkit.errors"}),
                                           ("evalkit.designs._checks", {"evalkit.errors"}),
                                           ("evalkit.report.common", set())])
def test_shared_leaves_import_no_layer(graph, leaf, allowed):
    assert graph[leaf] <= allowed, f"{leaf} is shared by the layers, so it must not import them: {graph[leaf]}"


def test_lower_layers_do_not_import_higher_ones(graph):
    # the flow: data -> measures -> designs -> analysis -> report -> run/cli
    order = ["evalkit.data", "evalkit.measures", "evalkit.designs", "evalkit.analysis", "evalkit.report",
             "evalkit.run"]
    rank = {layer: k for k, layer in enumerate(order)}

    def layer(mod: str) -> str | None:
        return next((x for x in order if mod == x or mod.startswith(x + ".")), None)

    bad = sorted((m, t) for m, ts in graph.items() for t in ts
                 if layer(m) and layer(t) and rank[layer(t)] > rank[layer(m)])
    assert not bad, f"a lower layer imports a higher one: {bad}"


def test_notebooks_call_the_registered_sections_in_order():
    import re

    from evalkit.report import sections as S
    from evalkit.report.notebooks import intervention_report, portfolio_summary

    for build, registry, arg in ((intervention_report, S.REPORT_SECTIONS, "ctx"),
                                 (portfolio_summary, S.PORTFOLIO_SECTIONS, "pctx")):
        calls = [m.group(1) for c in build().cells if (m := re.fullmatch(rf"S\.(\w+)\({arg}\)", c.source))]
        assert calls == list(registry), build.__name__
