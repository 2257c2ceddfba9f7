"""The package's shape: no import cycles (imports inside functions count), no module over 600 lines, and
stages that import only downward.

Imports are read with ``ast`` from every module under ``neurd_lite/`` (module level, inside functions and
classes alike); only ``if TYPE_CHECKING:`` blocks are left out, since they never run. Importing a submodule
is an edge to that submodule, not to its parent package's ``__init__``.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "neurd_lite"
MAX_LINES = 600

# base: errors, units, the parameter checks (``checks.py``) and the first-use name loader (``lazy.py``);
# geometry: shared math on arrays (imports only base); the model layer every stage may read: the Neuron, the
# skeleton model, names and the model/ objects (imports base, geometry and itself). The parameter tree (neurd_lite.params) gathers every stage's own
# dataclass, so it sits at the top with the runner: a stage receives its branch of the tree, never imports the tree.
BASE = ("neurd_lite.errors", "neurd_lite.units", "neurd_lite.checks", "neurd_lite.lazy")
GEOMETRY = ("neurd_lite.geometry",)
MODEL = BASE + ("neurd_lite.neuron", "neurd_lite.skeleton.model", "neurd_lite.names", "neurd_lite.model")
# stage packages: a stage imports the model layer, geometry and itself; a later stage gets an earlier stage's
# results through the Neuron, never by importing it, except for these named calls
STAGES = ("neurd_lite.mesh", "neurd_lite.skeleton", "neurd_lite.compartments", "neurd_lite.spines",
          "neurd_lite.synapses")
STAGE_CALLS = {("neurd_lite.spines.detect", "neurd_lite.skeleton.centre")}  # spine detection centres the skeleton
TOP = ("neurd_lite.pipeline", "neurd_lite.stages", "neurd_lite.batch", "neurd_lite.batch_inputs", "neurd_lite.batch_item",
       "neurd_lite.batch_pool", "neurd_lite.cli", "neurd_lite.params")
IO = ("neurd_lite.io",)
# Neuron.save / to_swc / to_meshwork / to_navis and nl.load call these writers and readers, which do not import
# the Neuron back
MODEL_PERSISTENCE = ("neurd_lite.io.neuron_h5", "neurd_lite.io.skeletons", "neurd_lite.io.interop")
# modules that drive whole runs and so may call the runner
TOP_CALLERS = TOP + ("neurd_lite.celltype.cli_support",)


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, int]]:
    """Every Import / ImportFrom node outside ``if TYPE_CHECKING:`` blocks."""
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append((node, node.lineno))
        stack.extend(ast.iter_child_nodes(node))
    return found


@lru_cache(maxsize=1)
def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported neurd_lite module: first line}, imports inside functions included."""
    mods = _modules()
    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_pkg) in mods.items():
        package = name if is_pkg else name.rsplit(".", 1)[0]
        targets: dict[str, int] = {}
        for node, line in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                wanted = [a.name for a in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                wanted = [f"{src}.{a.name}" if f"{src}.{a.name}" in mods else src for a in node.names]
            for t in wanted:
                if not _under(t, ("neurd_lite",)):
                    continue
                while t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t != name:
                    targets.setdefault(t, line)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, {})))))
                elif nxt in on_stack:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
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
    return out


def layer_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    """Imports that go up a layer, as ``module:line -> target (rule)``."""
    bad = []
    for mod, targets in sorted(graph.items()):
        stage = next((i for i, s in enumerate(STAGES) if _under(mod, (s,))), None)
        for t, line in sorted(targets.items()):
            where = f"{mod}:{line} -> {t}"
            if _under(t, TOP) and not _under(mod, TOP_CALLERS):
                bad.append(f"{where} (only {', '.join(TOP_CALLERS)} may import the runner)")
            if _under(mod, MODEL) and not _under(t, MODEL + GEOMETRY) and not (
                    mod == "neurd_lite.neuron" and t in MODEL_PERSISTENCE):
                bad.append(f"{where} (the model layer imports geometry and itself, and the Neuron its file formats)")
            if _under(mod, IO) and not _under(t, MODEL + GEOMETRY + IO) or (_under(mod, IO) and t == "neurd_lite.neuron"):
                bad.append(f"{where} (readers and writers import the model layer and geometry but not the Neuron)")
            if _under(mod, GEOMETRY) and not _under(t, BASE + GEOMETRY):
                bad.append(f"{where} (geometry imports only errors, units and itself)")
            if stage is not None and not _under(mod, MODEL):
                allowed = MODEL + GEOMETRY + (STAGES[stage],)
                if not _under(t, allowed) and (mod, t) not in STAGE_CALLS:
                    bad.append(f"{where} (a stage imports the model layer, geometry and itself)")
            if _under(mod, ("neurd_lite.feature",)) and _under(t, ("neurd_lite.celltype", "neurd_lite.viz",
                                                                    "neurd_lite.io")):
                bad.append(f"{where} (features read the Neuron, not files, pictures or classifiers)")
    return bad


def test_import_graph_sees_imports_inside_functions():
    g = import_graph()
    # feature.docs imports the feature package inside main()
    assert "neurd_lite.feature" in g["neurd_lite.feature.docs"]
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]


def test_layer_rules_catch_the_old_upward_imports():
    """The imports of HEAD e1c5880 that this layout removed are reported."""
    old = {"neurd_lite.spines.headneck": {"neurd_lite.feature.morphometry": 15},
           "neurd_lite.compartments.refine": {"neurd_lite.feature.context": 38},
           "neurd_lite.spines.plot": {"neurd_lite.viz": 5},
           "neurd_lite.io.neuron_h5": {"neurd_lite.neuron": 28},
           "neurd_lite.skeleton.cut_ends": {"neurd_lite.mesh.heal": 20},
           "neurd_lite.feature.context": {"neurd_lite.pipeline": 1},
           "neurd_lite.spines.detect": {"neurd_lite.params": 1}}
    bad = layer_violations(old)
    assert {b.split(":")[0] for b in bad} == set(old), bad


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles (imports inside functions count):\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_module_over_600_lines():
    long = {str(p.relative_to(ROOT.parent)): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_stages_import_only_downward():
    bad = layer_violations(import_graph())
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


@pytest.mark.parametrize("module", ["neurd_lite.geometry", "neurd_lite.geometry.stats"])
def test_geometry_is_light(module):
    """geometry is below every stage: importing it loads no stage."""
    g = import_graph()
    assert all(_under(t, BASE + GEOMETRY) for t in g[module])
