"""The task registry: built-in YAML plus user folders (--include-path), matrices and groups.

A YAML file holds one task, or one task per row of a `matrix` (MMLU's 57 subjects are one file:
`task: mmlu_${subject}` with `matrix: [{subject: ...}, ...]`), so shared settings are written once.
`${name}` is replaced as text before validation; the row is also visible to Jinja templates.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sllm import smoke
from sllm.errors import SllmError, unknown_name
from sllm.tasks.spec import TaskSpec, build_spec, read_yaml

BUILTIN = Path(__file__).parent / "builtin"
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class TaskRegistry:
    """All known tasks and groups, from the built-in folder and any include paths."""

    def __init__(self, include_paths: Iterable[str | Path] = ()) -> None:
        self.tasks: dict[str, TaskSpec] = {}
        self.groups: dict[str, list[str]] = {}
        for folder in [BUILTIN, *map(Path, include_paths)]:
            if not folder.is_dir():
                raise SllmError(f"task folder not found: {folder}")
            for path in sorted(folder.rglob("*.yaml")):
                for spec in expand_file(path):
                    self.add(spec)

    def add(self, spec: TaskSpec) -> None:
        """Register a task (a later definition of the same name replaces the earlier one)."""
        self.tasks[spec.task] = spec
        for group in spec.group:
            members = self.groups.setdefault(group, [])
            if spec.task not in members:
                members.append(spec.task)

    def resolve(self, names: Iterable[str]) -> list[TaskSpec]:
        """Turn task and group names into task specs, groups expanded, order kept, no repeats."""
        seen: dict[str, TaskSpec] = {}
        for name in names:
            if name in self.tasks:
                seen.setdefault(name, self.tasks[name])
            elif name in self.groups:
                for member in smoke.head(self.groups[name], smoke.GROUP_TASKS):  # SLLM_SMOKE
                    seen.setdefault(member, self.tasks[member])
            else:
                raise unknown_name("task", name, [*self.tasks, *self.groups])
        return list(seen.values())

    def names(self) -> list[str]:
        """Return every task name, sorted."""
        return sorted(self.tasks)


def expand_file(path: Path) -> list[TaskSpec]:
    """Read one YAML file into task specs (one per document, or per matrix row)."""
    specs = []
    for data in read_yaml(path):
        data = _with_include(data, path)
        matrix = data.pop("matrix", None)
        if matrix is None:
            specs.append(build_spec(data, path))
        else:
            specs.extend(build_spec(_substitute(data, row, path), path) for row in _matrix_rows(matrix, path))
    return specs


def _with_include(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """`include: OTHER.yaml` (relative to this file) supplies defaults that this mapping overrides."""
    name = data.pop("include", None)
    if name is None:
        return data
    base_path = path.parent / str(name)
    if not base_path.is_file():
        raise SllmError(f"{path}: field 'include': file not found: {base_path}")
    base = _with_include(read_yaml(base_path)[0], base_path)
    base.pop("matrix", None)
    return {**base, **data}


def _matrix_rows(matrix: Any, path: Path) -> list[dict[str, Any]]:
    if isinstance(matrix, list):
        return matrix
    if isinstance(matrix, dict):
        keys = list(matrix)
        return [dict(zip(keys, values)) for values in itertools.product(*matrix.values())]
    raise SllmError(f"{path}: field 'matrix' must be a mapping of lists or a list of mappings")


def _substitute(data: Any, row: dict[str, Any], path: Path) -> Any:
    """Replace ${name} placeholders of a matrix row in every string; keep the row for templates."""
    if isinstance(data, dict):
        out = {k: _substitute(v, row, path) for k, v in data.items()}
        if "dataset" in out:  # the top level: expose the row to Jinja templates as variables
            out["variables"] = {**dict(out.get("variables") or {}), **row}
        return out
    if isinstance(data, list):
        return [_substitute(v, row, path) for v in data]
    if isinstance(data, str):
        return _PLACEHOLDER.sub(lambda m: str(row[m.group(1)]) if m.group(1) in row else m.group(0), data)
    return data


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


_DEFAULT: dict[tuple[str, ...], TaskRegistry] = {}


def get_registry(include_paths: Iterable[str | Path] = ()) -> TaskRegistry:
    """Return the (memoised) registry for these include paths."""
    key = tuple(str(p) for p in include_paths)
    if key not in _DEFAULT:
        _DEFAULT[key] = TaskRegistry(key)
    return _DEFAULT[key]


def task_catalog(
    include_paths: Iterable[str | Path] = (), data_dir: str | Path | None = None
) -> dict[str, Any]:
    """`sllm tasks list`: every task name, the groups, and per task its output type, metrics,
    groups and where its data come from offline (`tasks.data.data_availability`)."""
    from sllm.tasks.data import data_availability

    registry = get_registry(include_paths)
    names = registry.names()
    details = {
        n: {
            "output_type": registry.tasks[n].output_type,
            "metrics": registry.tasks[n].metric_names(),
            "groups": registry.tasks[n].group,
            "data": data_availability(registry.tasks[n], data_dir),
        }
        for n in names
    }
    return {"tasks": names, "groups": registry.groups, "details": details}
