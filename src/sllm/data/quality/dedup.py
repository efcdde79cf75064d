"""Near-duplicate removal: the first row of each group is kept, later ones are removed with the
row they duplicate and the similarity. MinHash (Jaccard of character shingles, default 0.8) or
embeddings (cosine of sentence embeddings, default 0.95)."""

from __future__ import annotations

from typing import Any

from sllm.data.examples import Example
from sllm.data.quality.result import FilterResult, Removed
from sllm.data.quality.text import prompt_text

THRESHOLDS = {"minhash": 0.8, "embedding": 0.95}


def texts_of(examples: list[Example], field: str) -> list[str]:
    """prompt: instruction + input (paraphrased questions); all: every message."""
    return [prompt_text(e) if field == "prompt" else e.text() for e in examples]


def minhash_dedup(examples: list[Example], texts: list[str], threshold: float) -> FilterResult:
    """Remove later members of MinHash-LSH near-duplicate groups (exact Jaccard confirmed)."""
    from sllm.data.near_dup import jaccard, near_duplicate_groups, shingles

    groups = near_duplicate_groups(texts, threshold)
    matched = {}
    for i, root in enumerate(groups.first):
        if root != i:
            # a row joined to its group only through a later bridging row has no match of its own
            matched[i] = groups.matched.get(i) or (root, jaccard(shingles(texts[i]), shingles(texts[root])))
    result = _split(examples, matched, "jaccard")
    for removed, i in zip(result.removed, sorted(matched), strict=True):
        removed.detail["group_kept"] = examples[groups.first[i]].where
    return result


def embedding_dedup(examples: list[Example], embeddings: Any, threshold: float) -> FilterResult:
    """Remove a row whose cosine with an earlier kept row is >= threshold."""
    import numpy as np

    vectors = np.asarray(embeddings, dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
    kept: list[int] = []
    matched: dict[int, tuple[int, float]] = {}
    for i in range(len(vectors)):
        if kept:
            sims = vectors[kept] @ vectors[i]
            j = int(np.argmax(sims))
            if sims[j] >= threshold:
                matched[i] = (kept[j], float(sims[j]))
                continue
        kept.append(i)
    return _split(examples, matched, "cosine")


def _split(examples: list[Example], matched: dict[int, tuple[int, float]], measure: str) -> FilterResult:
    kept = [e for i, e in enumerate(examples) if i not in matched]
    removed = [
        Removed(examples[i], "near-duplicate", {"duplicate_of": examples[j].where, measure: round(sim, 4)})
        for i, (j, sim) in sorted(matched.items())
    ]
    return FilterResult(kept, removed, {"measure": measure})
