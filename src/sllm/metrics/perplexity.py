"""Perplexity family from rolling log-likelihoods, weighted as lm-evaluation-harness defines it."""

from __future__ import annotations

import math
import re


def perplexities(logprobs: list[float], n_tokens: list[int], texts: list[str]) -> dict[str, float]:
    """Token, word and byte perplexity and bits per byte over a corpus (sums, then ratios)."""
    total = sum(logprobs)
    words = sum(len(re.split(r"\s+", text)) for text in texts)
    n_bytes = sum(len(text.encode("utf-8")) for text in texts)
    return {
        "token_perplexity": math.exp(-total / sum(n_tokens)),
        "word_perplexity": math.exp(-total / words),
        "byte_perplexity": math.exp(-total / n_bytes),
        "bits_per_byte": -total / n_bytes / math.log(2),
    }
