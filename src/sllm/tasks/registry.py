"""The task registry: built-in YAML plus user folders (--include-path), matrices and groups.

A YAML file holds one task, or one task per row of a `matrix` (MMLU's 57 subjects are one file:
`task: mmlu_{{subject}}` with `matrix: {subject: [...]}`), so shared settings are written once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sllm.errors import SllmError, unknown_name
from sllm.tasks.spec import TaskSpec, build_spec, read_yaml
from sllm.tasks.templates import render

BUILTIN = Path(__file__).parent / "builtin"
_EXPANDED_FIELDS = ("task", "description", "doc_to_choice", "doc_to_target")


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
                for member in self.groups[name]:
                    seen.setdefault(member, self.tasks[member])
            else:
                raise unknown_name("task", name, [*self.tasks, *self.groups])
        return list(seen.values())

    def names(self) -> list[str]:
        """Return every task name, sorted."""
        return sorted(self.tasks)


def expand_file(path: Path) -> list[TaskSpec]:
    """Read one YAML file into one or more task specs (one per matrix row)."""
    data = read_yaml(path)
    matrix = data.pop("matrix", None)
    if matrix is None:
        return [build_spec(data, path)]
    return [build_spec(_substitute(data, row, path), path) for row in _matrix_rows(matrix, path)]


def _matrix_rows(matrix: Any, path: Path) -> list[dict[str, Any]]:
    if isinstance(matrix, list):
        return matrix
    if isinstance(matrix, dict):
        keys = list(matrix)
        return [dict(zip(keys, values)) for values in itertools.product(*matrix.values())]
    raise SllmError(f"{path}: field 'matrix' must be a mapping of lists or a list of mappings")


def _substitute(data: dict[str, Any], row: dict[str, Any], path: Path) -> dict[str, Any]:
    """Fill a matrix row into the name, groups and data-file names; keep it for templates."""
    where = str(path)
    out = dict(data)
    for field in _EXPANDED_FIELDS:
        if isinstance(out.get(field), str):
            out[field] = render(out[field], row, where)
    for field in ("group", "metrics"):
        if field in out:
            out[field] = [render(g, row, where) for g in _as_list(out[field])]
    out["dataset"] = {
        k: render(v, row, where) if isinstance(v, str) else v for k, v in dict(out["dataset"]).items()
    }
    out["variables"] = {**dict(out.get("variables") or {}), **row}
    return out


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
