"""The one registry type: duplicates refused, lazy entries, close matches, entry-point plugins."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from sllm.errors import SllmError, UsageError
from sllm.plugins import Lazy, Registry


def test_duplicate_names_are_refused_unless_replaced() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    reg.add("a", 1)  # the very same object again (a module imported twice) is harmless
    with pytest.raises(SllmError, match="widget 'a' is already registered"):
        reg.add("a", 2)
    reg.add("a", 2, replace=True)
    assert reg.get("a") == 2


def test_unknown_names_list_close_matches() -> None:
    reg: Registry[int] = Registry("metric")
    for name in ("rouge", "bleu", "chrf"):
        reg.add(name, 0)
    with pytest.raises(UsageError, match="unknown metric 'rogue'; did you mean rouge"):
        reg.get("rogue")
    assert reg.names() == ["bleu", "chrf", "rouge"] and "bleu" in reg and len(reg) == 3


def test_lazy_entries_import_on_first_use_and_broken_ones_are_named(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "plug_mod.py").write_text("LOADED = True\ndef fn():\n    return 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[object] = Registry("loader")
    reg.add("mine", Lazy("plug_mod:fn"))
    assert "plug_mod" not in sys.modules
    assert reg.get("mine")() == 42
    reg.add("broken", Lazy("plug_mod:missing"))
    with pytest.raises(SllmError, match="loader 'broken' points at plug_mod:missing"):
        reg.get("broken")
    with pytest.raises(ValueError):
        Lazy("no_colon")


def test_entry_point_plugins_are_added(monkeypatch) -> None:
    point = EntryPoint(name="shout", value="builtins:str.upper", group="sllm.test_things")

    def fake_entry_points(group: str):
        return [point] if group == "sllm.test_things" else []

    monkeypatch.setattr("importlib.metadata.entry_points", fake_entry_points)
    reg: Registry[object] = Registry("thing", group="sllm.test_things")
    reg.add("builtin", len)
    assert reg.names() == ["builtin", "shout"]
    with pytest.raises(SllmError, match="thing 'builtin' is already registered"):
        reg.add("builtin", max)
