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


def test_a_metric_plugin_from_an_entry_point_registers_itself(tmp_path: Path, monkeypatch) -> None:
    """A package's metric module, named by an entry point, is imported on first use and scores."""
    (tmp_path / "shout_metric.py").write_text(
        "from sllm.metrics.registry import register_metric\n"
        "@register_metric('shouted', 'sample')\n"
        "def shouted(prediction, references, **_):\n"
        "    return {'shouted': float(prediction.isupper())}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from sllm.metrics import registry

    reg = Registry("metric", group="sllm.metrics_test")
    point = EntryPoint(name="shouted", value="shout_metric:shouted", group="sllm.metrics_test")
    monkeypatch.setattr(
        "importlib.metadata.entry_points", lambda group: [point] if group == reg.group else []
    )
    monkeypatch.setattr(registry, "METRICS", reg)
    metric = registry.get_metric("shouted")
    assert metric.family == "sample" and metric.fn("YES", ["x"]) == {"shouted": 1.0}


def test_every_builtin_registry_is_the_one_type() -> None:
    from sllm.evaluation.scoring import MC_METRICS
    from sllm.judging.parsers import PARSERS
    from sllm.metrics.registry import METRICS
    from sllm.metrics.tokenizers import TOKENIZERS
    from sllm.models.spec import BACKENDS
    from sllm.prompting.filters import STEPS
    from sllm.tasks.data import PROCESSORS
    from sllm.tasks.loaders import LOADERS

    for registry in (PARSERS, METRICS, TOKENIZERS, BACKENDS, STEPS, MC_METRICS, PROCESSORS, LOADERS):
        assert isinstance(registry, Registry)
    assert {"rating", "pairwise_abc", "arena_hard", "first_line_score"} <= set(PARSERS.names())


def test_a_user_parser_serves_a_judge_config_and_a_typo_is_refused_on_reading() -> None:
    from pydantic import ValidationError

    from sllm.judging.parsers import PARSERS, JudgeParser
    from sllm.judging.spec import JudgeSpec

    PARSERS.add(
        "yes_no_test", JudgeParser(lambda reply, _c, _s: reply.strip().lower() == "yes", "Say yes or no.")
    )
    spec = JudgeSpec(name="yn", mode="single", parser="yes_no_test", prompt_template="{question}")
    assert PARSERS.get(spec.parser).read(" Yes ", (), None) is True
    with pytest.raises(ValidationError, match="unknown judge parser 'ratin'; did you mean rating"):
        JudgeSpec(name="x", mode="single", parser="ratin", prompt_template="{question}")
