"""The package's layers hold (issue #14): the import graph is read by grimp, import-linter's engine.

Rules, each checked on every import (deferred, function-level imports included) and on the lazy
`sllm.x:obj` entries that registries import by name:

1. nothing under `sllm/` except `sllm.cli` (and `sllm.__main__`) imports `sllm.cli`: commands are
   parse -> one library call -> print, so the library never needs them;
2. `sllm.models` imports neither `sllm.train` nor `sllm.tracking`, except the `registry:` backend
   (`models/registered.py`, `models/folders.py`), which may use the registry client
   `sllm.tracking.registry`;
3. no import cycles between the top-level units (`sllm.models`, `sllm.train`, `sllm.errors`, ...).

`test_a_forbidden_import_is_caught` adds each kind of forbidden import to the real graph and shows
that the check fails, so these rules cannot pass vacuously.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp
import networkx as nx
import pytest

import sllm

PACKAGE = Path(sllm.__file__).parent
LAZY_ENTRY = re.compile(r"^(sllm(?:\.\w+)+):\w+$")
REGISTRY_BRIDGE = {"sllm.models.registered", "sllm.models.folders"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def build_graph() -> grimp.ImportGraph:
    """sllm's import graph, with each lazy `sllm.x:obj` string counted as an import of sllm.x."""
    graph = grimp.build_graph("sllm", cache_dir=None)
    for path in PACKAGE.rglob("*.py"):
        importer = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found = LAZY_ENTRY.match(node.value)
                if found and found.group(1) in graph.modules:
                    graph.add_import(importer=importer, imported=found.group(1))
    return graph


def _unit(module: str) -> str:
    return ".".join(module.split(".")[:2])


def violations(graph: grimp.ImportGraph) -> list[str]:
    """Every broken rule, one line each."""
    out = []
    for module in sorted(graph.modules):
        imported = graph.find_modules_directly_imported_by(module)
        if _unit(module) not in ("sllm.cli", "sllm.__main__"):
            out += [f"{module} imports the CLI ({m})" for m in sorted(imported) if _unit(m) == "sllm.cli"]
        if _unit(module) == "sllm.models":
            for target in sorted(imported):
                if _unit(target) == "sllm.train" or (
                    _unit(target) == "sllm.tracking"
                    and not (module in REGISTRY_BRIDGE and target == "sllm.tracking.registry")
                ):
                    out.append(f"{module} imports {target} (models must not depend on train or tracking)")
    units = nx.DiGraph()
    for module in graph.modules:
        for target in graph.find_modules_directly_imported_by(module):
            if _unit(module) != _unit(target) and _unit(module) != "sllm":
                units.add_edge(_unit(module), _unit(target))
    out += [f"import cycle: {' -> '.join([*cycle, cycle[0]])}" for cycle in nx.simple_cycles(units)]
    return out


def test_the_layers_hold():
    assert violations(build_graph()) == []


@pytest.mark.parametrize(
    ("importer", "imported", "message"),
    [
        ("sllm.evaluation.pipeline", "sllm.cli.judge", "imports the CLI"),
        ("sllm.models.hf", "sllm.train.common", "models must not depend on train"),
        ("sllm.models.cache", "sllm.tracking.runs", "models must not depend on train or tracking"),
        ("sllm.models.registered", "sllm.tracking.runs", "models must not depend on train or tracking"),
        ("sllm.tracking.store", "sllm.train.recording", "import cycle"),
    ],
)
def test_a_forbidden_import_is_caught(importer, imported, message):
    graph = build_graph()
    graph.add_import(importer=importer, imported=imported)
    assert any(message in line for line in violations(graph))
