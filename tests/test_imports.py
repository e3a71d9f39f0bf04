"""Python imports flow one way: _validation <- _persist <- _engine <- keras <- estimators,
with no cycle, counting imports inside functions too (they are read from the source)."""

import ast
from pathlib import Path

import neurocore

ROOT = Path(neurocore.__file__).parent


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph():
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                targets = subs if len(subs) == len(node.names) else [base] + subs
            for t in targets:
                # an ancestor package is imported before its modules anyway
                # (``from . import __version__``): not an edge
                if t in modules and t != name and not name.startswith(t + "."):
                    deps.add(t)
        graph[name] = deps
    return graph


def _cycle(graph):
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_cycle():
    graph = _graph()
    assert "neurocore._engine" in graph and "neurocore.keras.models" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_layers_import_only_downwards():
    graph = _graph()

    def reaches(start):
        seen, todo = set(), [start]
        while todo:
            for d in graph[todo.pop()]:
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    estimators = {"neurocore._mlp", "neurocore._mlp_base", "neurocore._neural_net"}
    assert not reaches("neurocore._validation") & {"neurocore._persist", "neurocore._engine"}
    assert not {m for m in reaches("neurocore._persist")
                if m.startswith("neurocore.keras") or m in estimators | {"neurocore._engine"}}
    assert not {m for m in reaches("neurocore._engine") if m.startswith("neurocore.keras") or m in estimators}
    assert not {m for m in reaches("neurocore.keras") if m in estimators}
