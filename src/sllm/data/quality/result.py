"""What a filter returns: the kept rows, and each removed row with its reason and evidence."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sllm.data.examples import Example


@dataclass
class Removed:
    """One removed row: the example, the rule that removed it, and the evidence."""

    example: Example
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FilterResult:
    """Kept examples (in input order) and removed ones."""

    kept: list[Example]
    removed: list[Removed]
    info: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """Rows in, kept, removed, and removals by reason."""
        return {
            "rows": len(self.kept) + len(self.removed),
            "kept": len(self.kept),
            "removed": len(self.removed),
            "removed_by_reason": dict(Counter(r.reason for r in self.removed)),
        }


def record_of(example: Example) -> dict[str, Any]:
    """The row as written (Alpaca when single-turn, else messages)."""
    if example.single_turn:
        return example.alpaca()
    return {"messages": example.messages, **example.meta}


def write_removed(result: FilterResult, path: Path) -> None:
    """One JSONL line per removed row: where it was read, why it went, the evidence and the row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for r in result.removed:
            line = {"where": r.example.where, "reason": r.reason, **r.detail, "row": record_of(r.example)}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
