"""Few-shot exemplar selection: first n (lm-eval's default for MMLU) or seeded random."""

from __future__ import annotations

import random
from typing import Any

from sllm.errors import UsageError

Doc = dict[str, Any]


def select_exemplars(pool: list[Doc], doc: Doc, k: int, sampler: str, seed: int, doc_index: int) -> list[Doc]:
    """Pick k exemplars for one document, never the document itself."""
    if k <= 0:
        return []
    candidates = [d for d in pool if d is not doc and d != doc]
    if len(candidates) < k:
        raise UsageError(f"{k}-shot asked for, but the few-shot pool has only {len(candidates)} documents")
    if sampler == "first_n":
        return candidates[:k]
    if sampler == "random":
        # Seeded per document so that adding documents never changes earlier prompts.
        return random.Random(seed * 1_000_003 + doc_index).sample(candidates, k)
    raise UsageError(f"few-shot sampler '{sampler}' is not available here (use first_n or random)")
