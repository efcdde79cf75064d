"""Standard errors of corpus-level metrics by a seeded bootstrap over documents (lm-eval's way).

A corpus metric (BLEU, chrF, macro F1, perplexity) is not a mean of per-document values, so
lm-evaluation-harness estimates its standard error by resampling documents with replacement and
taking the sample standard deviation of the recomputed metric (`bootstrap_stderr`). lm-eval uses
100 rounds for bleu / chrf / ter and up to 100,000 for the rest; sllm uses 100 and 1,000 (the
standard error is stable to ~2% by then) with a fixed seed, so the same records give the same
`_stderr` every time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

Row = TypeVar("Row")

#: lm-eval's evaluator caps these at 100 rounds: each round re-runs sacrebleu over the corpus
SLOW_CORPUS_METRICS = frozenset({"bleu", "chrf", "ter"})
ROUNDS = 1000
SLOW_ROUNDS = 100


def rounds_for(names: Sequence[str]) -> int:
    """Bootstrap rounds for a set of metrics: 100 when any is a sacrebleu metric, else 1,000."""
    return SLOW_ROUNDS if SLOW_CORPUS_METRICS & set(names) else ROUNDS


def bootstrap_stderr(
    statistic: Callable[[list[Row]], dict[str, float]],
    rows: Sequence[Row],
    rounds: int = ROUNDS,
    seed: int = 0,
) -> dict[str, float]:
    """`<name>_stderr` for every float the statistic returns, from `rounds` seeded resamples of rows."""
    if len(rows) < 2:
        return {f"{name}_stderr": float("nan") for name in statistic(list(rows))}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(rounds):
        sample = [rows[i] for i in rng.integers(0, len(rows), len(rows))]
        for name, value in statistic(sample).items():
            if isinstance(value, (int, float)):
                draws.setdefault(name, []).append(float(value))
    return {f"{name}_stderr": float(np.std(values, ddof=1)) for name, values in draws.items()}
