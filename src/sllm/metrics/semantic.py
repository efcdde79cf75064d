"""Meaning-level similarity: sentence-embedding cosine and BERTScore-style greedy token matching.

Both use the sentence encoder of `sllm.embeddings` (all-MiniLM-L6-v2 by default: English only,
see there; pass `model=FOLDER` for a multilingual encoder). BERTScore here follows Zhang et al.
(2020) without idf weighting or baseline rescaling: contextual token vectors from the encoder's
last layer, each candidate token matched to its most similar reference token (precision) and
vice versa (recall), F1 their harmonic mean. Values are therefore not comparable with the
`bert-score` package's defaults (roberta-large, layer 17), only with each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sllm.embeddings import load_encoder
from sllm.metrics.registry import register_metric


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


@register_metric("semantic_similarity", "sample")
def semantic_similarity(
    prediction: str, references: list[str], model: str | None = None, **_: Any
) -> dict[str, float]:
    """Cosine of sentence embeddings, the best over the references."""
    encoder = load_encoder(model)
    vectors = _unit(np.asarray(encoder.encode([prediction, *references], convert_to_numpy=True)))
    return {"semantic_similarity": float(np.max(vectors[1:] @ vectors[0]))}


def _token_vectors(encoder: Any, texts: list[str]) -> list[np.ndarray]:
    """Contextual vectors of each text's tokens, [CLS] and [SEP] dropped."""
    outputs = encoder.encode(texts, output_value="token_embeddings", convert_to_numpy=False)
    vectors = []
    for text, tokens in zip(texts, outputs, strict=True):
        ids = encoder.tokenizer(text, truncation=True, max_length=encoder.max_seq_length)["input_ids"]
        array = tokens.detach().cpu().numpy()[: len(ids)]
        vectors.append(_unit(array[1:-1] if len(array) > 2 else array))
    return vectors


@register_metric("bertscore", "sample")
def bertscore(prediction: str, references: list[str], model: str | None = None, **_: Any) -> dict[str, float]:
    """Greedy token matching of contextual embeddings; the reference with the best F1 counts."""
    encoder = load_encoder(model)
    candidate, *refs = _token_vectors(encoder, [prediction, *references])
    best = {"bertscore_precision": 0.0, "bertscore_recall": 0.0, "bertscore_f1": -1.0}
    for ref in refs:
        if len(candidate) == 0 or len(ref) == 0:
            p = r = f = 0.0
        else:
            sim = candidate @ ref.T
            p, r = float(sim.max(axis=1).mean()), float(sim.max(axis=0).mean())
            f = 2 * p * r / (p + r) if p + r > 0 else 0.0
        if f > best["bertscore_f1"]:
            best = {"bertscore_precision": p, "bertscore_recall": r, "bertscore_f1": f}
    return best
