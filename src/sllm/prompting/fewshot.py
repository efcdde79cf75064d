"""Few-shot exemplar selection: first n (lm-eval's default for MMLU), seeded random, or retrieved."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sllm.errors import UsageError

Doc = dict[str, Any]
SAMPLERS = ("first_n", "fixed", "random", "retrieved")  # fixed = first_n


class ExemplarSelector:
    """Chooses the exemplars of each document from one pool; built once per task."""

    def __init__(self, pool: list[Doc], sampler: str, seed: int, render: Callable[[Doc], str]) -> None:
        if sampler not in SAMPLERS:
            raise UsageError(f"unknown few-shot sampler '{sampler}'; use one of {', '.join(SAMPLERS)}")
        self.pool, self.sampler, self.seed, self.render = pool, sampler, seed, render
        self._retriever: Any = None

    def select(self, doc: Doc, doc_index: int, k: int) -> list[Doc]:
        """Pick k exemplars for one document, never the document itself."""
        if k <= 0:
            return []
        own = {i for i, d in enumerate(self.pool) if d is doc or d == doc}
        if len(self.pool) - len(own) < k:
            raise UsageError(
                f"{k}-shot asked for, but the few-shot pool has only {len(self.pool) - len(own)} documents"
            )
        candidates = [i for i in range(len(self.pool)) if i not in own]
        if self.sampler in ("first_n", "fixed"):
            chosen = candidates[:k]
        elif self.sampler == "random":
            # Seeded per document so that adding documents never changes earlier prompts.
            chosen = random.Random(self.seed * 1_000_003 + doc_index).sample(candidates, k)
        else:
            if self._retriever is None:
                from sllm.prompting.retrieval import Retriever

                self._retriever = Retriever([self.render(d) for d in self.pool])
            chosen = self._retriever.nearest(self.render(doc), k, own)[::-1]  # most similar last
        return [self.pool[i] for i in chosen]
