"""AlpaGasus selection (Chen et al., 2024): a judge scores every triple 0-5 per dimension; rows
scoring at or above the threshold (4.5) on every dimension are kept. Calls go through the judge
machinery (cache, bounded retries with a stricter instruction); a row whose score cannot be read
is removed as `unparsed` and counted, never kept or dropped silently."""

from __future__ import annotations

from typing import Any

from sllm.data.examples import Example
from sllm.data.quality.result import FilterResult, Removed

DEFAULT_THRESHOLD = 4.5
DIMENSIONS = {"accuracy": "alpagasus", "helpfulness": "alpagasus_helpfulness"}


def judge_names(dimensions: list[str], korean: bool) -> dict[str, str]:
    """Judge config per dimension (the Korean prompt for Korean data)."""
    from sllm.errors import unknown_name

    names = {}
    for dim in dimensions:
        if dim not in DIMENSIONS:
            raise unknown_name("AlpaGasus dimension", dim, DIMENSIONS)
        names[dim] = DIMENSIONS[dim] + ("_ko" if korean else "")
    return names


def alpagasus_filter(
    examples: list[Example], scored: list[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD
) -> FilterResult:
    """Keep rows whose every dimension scores >= threshold; the rest removed with their scores."""
    kept, removed = [], []
    for example, row in zip(examples, scored, strict=True):
        scores = {dim: r["score"] for dim, r in row.items()}
        detail = {"scores": scores, "explanations": {dim: r["explanation"] for dim, r in row.items()}}
        if any(s is None for s in scores.values()):
            removed.append(Removed(example, "unparsed", detail))
        elif min(scores.values()) < threshold:
            removed.append(Removed(example, f"score < {threshold:g}", detail))
        else:
            kept.append(example)
    return FilterResult(kept, removed, {"threshold": threshold})
