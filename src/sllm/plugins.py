"""Named registries (backends, metrics, loaders, filters, tokenizers, judge parsers): one generic type.

Every registry behaves the same way: a name registered twice is an error (a plugin silently
replacing a built-in metric would change published numbers), an entry may be a lazy
"module:attribute" reference (`Lazy`) imported on first use (so `sllm --help` stays fast), an unknown name
gets the close matches, and third-party packages add entries through the entry-point group
`sllm.<registry name>` (e.g. `[project.entry-points."sllm.metrics"] my_metric = "pkg.mod:fn"`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from sllm.errors import SllmError, unknown_name

T = TypeVar("T")


class Lazy:
    """A "package.module:attribute" reference, imported when its registry entry is first used."""

    def __init__(self, target: str) -> None:
        if ":" not in target:
            raise ValueError(f"a lazy entry is 'module:attribute', got {target!r}")
        self.target = target

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"


class Registry(Generic[T]):
    """Names mapped to objects, or to `Lazy` references resolving to them."""

    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        self.group = group  # entry-point group, e.g. "sllm.metrics"
        self._entries: dict[str, T | Lazy] = {}
        self._plugins_loaded = group is None

    def add(self, name: str, entry: T | Lazy, *, replace: bool = False, origin: str = "") -> None:
        """Register `entry` under `name`; a second registration of a name is an error.

        `origin` ("module:attribute" of what defines the entry) lets a plugin module that
        registers itself on import replace its own, not yet imported, entry point.
        """
        known = self._entries.get(name)
        same = known is entry or (
            isinstance(known, Lazy) and known.target in (getattr(entry, "target", None), origin)
        )
        if known is not None and not replace and not same:
            raise SllmError(f"{self.kind} '{name}' is already registered; pick another name")
        self._entries[name] = entry

    def register(self, name: str, *, replace: bool = False) -> Callable[[T], T]:
        """Decorator form of `add`."""

        def wrap(entry: T) -> T:
            self.add(name, entry, replace=replace)
            return entry

        return wrap

    def get(self, name: str) -> T:
        """The entry named `name` (imported if lazy); unknown names list the close matches."""
        self._load_plugins()
        if name not in self._entries:
            raise unknown_name(self.kind, name, self._entries)
        entry = self._entries[name]
        if isinstance(entry, Lazy):
            entry = self._entries[name] = _import(entry.target, f"{self.kind} '{name}'")
        return entry  # type: ignore[return-value]

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for point in entry_points(group=self.group):
            self.add(point.name, Lazy(point.value))


def _import(target: str, what: str) -> object:
    """Import "package.module:attribute"; a broken plugin is named in one line."""
    module_name, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise SllmError(f"{what} points at {target}, which cannot be imported: {exc}") from None
