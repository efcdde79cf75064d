"""Correlation of predicted and gold scores (STS-style tasks): Pearson and Spearman via scipy.

A prediction that is not a number counts as `invalid_value` (the task chooses it; KorSTS uses the
middle of its 0-5 scale, so an unreadable answer carries no signal either way) and the share of
such predictions is reported beside the correlations.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from sllm.metrics.registry import register_metric


def _number(text: str) -> float | None:
    try:
        value = float(str(text).strip().rstrip("."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@register_metric("correlation", "corpus")
def correlation(
    predictions: list[str], references: list[list[str]], invalid_value: float = 0.0, **_: Any
) -> dict[str, float]:
    """Pearson and Spearman between predicted and gold numbers, and the share of invalid predictions."""
    parsed = [_number(p) for p in predictions]
    predicted = [invalid_value if v is None else v for v in parsed]
    gold = [float(r[0]) for r in references]
    invalid = sum(v is None for v in parsed) / len(parsed) if parsed else 0.0
    if len(set(predicted)) < 2 or len(set(gold)) < 2:
        # Correlation is undefined for a constant series; say so rather than report 0.
        return {"pearson": float("nan"), "spearman": float("nan"), "invalid_fraction": invalid}
    return {
        "pearson": float(stats.pearsonr(predicted, gold).statistic),
        "spearman": float(stats.spearmanr(predicted, gold).statistic),
        "invalid_fraction": invalid,
    }
