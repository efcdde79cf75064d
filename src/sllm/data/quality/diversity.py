"""LIMA-style diversity selection: embed the prompts, cluster them with k-means, keep the best k
rows of each cluster -- by a quality score when the rows carry one (e.g. the AlpaGasus score),
else the rows closest to the cluster's centre. LIMA chose 1,000 prompts by hand for diversity;
clustering is the usual automatic stand-in (as in DEITA / "LIMA-style" curation)."""

from __future__ import annotations

import math
from typing import Any

from sllm.data.examples import Example
from sllm.data.quality.result import FilterResult, Removed
from sllm.data.quality.text import prompt_text
from sllm.errors import SllmError


def _score(example: Example, field: str) -> float:
    """The row's score; a null score (e.g. AlpaGasus `unparsed`) ranks below every number."""
    value: Any = example.meta
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            raise SllmError(f"{example.where}: missing field '{field}' (the --score-field)")
        value = value[part]
    if value is None:
        return float("-inf")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SllmError(f"{example.where}: field '{field}' is not a number: {value!r}") from None


def diversity_select(
    examples: list[Example],
    embeddings: Any,
    clusters: int | None = None,
    per_cluster: int = 1,
    score_field: str | None = None,
    seed: int = 0,
) -> FilterResult:
    """k-means over the prompt embeddings (default sqrt(n) clusters); the best `per_cluster` of each."""
    import numpy as np
    from sklearn.cluster import KMeans

    n = len(examples)
    k = min(n, clusters or max(1, round(math.sqrt(n))))
    vectors = np.asarray(embeddings, dtype=np.float64)
    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(vectors)
    distance = np.linalg.norm(vectors - model.cluster_centers_[model.labels_], axis=1)
    chosen: set[int] = set()
    best_of: dict[int, list[int]] = {}
    for c in range(k):
        members = [i for i in range(n) if model.labels_[i] == c]
        if score_field:  # higher score first; ties to the row nearer the centre
            members.sort(key=lambda i: (-_score(examples[i], score_field), distance[i]))
        else:
            members.sort(key=lambda i: distance[i])
        best_of[c] = members[:per_cluster]
        chosen.update(best_of[c])
    kept = [e for i, e in enumerate(examples) if i in chosen]
    removed = [
        Removed(
            e,
            "diversity",
            {
                "cluster": int(model.labels_[i]),
                "cluster_size": int((model.labels_ == model.labels_[i]).sum()),
                "kept_instead": [examples[j].where for j in best_of[int(model.labels_[i])]],
                "distance_to_centre": round(float(distance[i]), 4),
            },
        )
        for i, e in enumerate(examples)
        if i not in chosen
    ]
    by = f"score field '{score_field}'" if score_field else "distance to the cluster centre"
    return FilterResult(kept, removed, {"clusters": k, "per_cluster": per_cluster, "ranked_by": by})


def embed_prompts(examples: list[Example], encoder: str | None = None) -> Any:
    """Normalised sentence embeddings of each example's prompt (instruction + input)."""
    from sllm.embeddings import load_encoder

    texts = [prompt_text(e) for e in examples]
    return load_encoder(encoder).encode(texts, normalize_embeddings=True, batch_size=64)
