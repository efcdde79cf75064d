"""Diversity of open-ended generations (reference-free, over the whole set of outputs).

- distinct-n (Li et al., 2016): unique n-grams / all n-grams, pooled over every output.
- seq-rep-n (Welleck et al., 2020): per output, the share of its n-grams that repeat an earlier
  one (1 - unique/total), averaged; x100 is the "repetition %" of degenerate, looping text.
- self-BLEU (Zhu et al., 2018): each output's BLEU against all the others; high = alike.
Tokens come from the tokenizer given (whitespace by default; `ko` for Korean morphemes).
"""

from __future__ import annotations

from typing import Any

import sacrebleu

from sllm.metrics.registry import register_metric
from sllm.metrics.tokenizers import get_tokenizer


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """All n-grams of a token list, in order."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


@register_metric("distinct_n", "corpus", needs_tokenizer=True, needs_references=False)
def distinct_n(
    predictions: list[str],
    references: Any = None,
    tokenizer: str = "whitespace",
    n: list[int] | int = (1, 2),
    **_: Any,
) -> dict[str, float]:
    """distinct-1, distinct-2, ...: unique n-grams over all n-grams of the outputs."""
    tok = get_tokenizer(tokenizer)
    tokenized = [tok.tokenize(p) for p in predictions]
    out = {}
    for size in [n] if isinstance(n, int) else n:
        grams = [g for tokens in tokenized for g in ngrams(tokens, size)]
        out[f"distinct_{size}"] = len(set(grams)) / len(grams) if grams else 0.0
    return out


@register_metric("repetition", "corpus", needs_tokenizer=True, higher_is_better=False, needs_references=False)
def repetition(
    predictions: list[str], references: Any = None, tokenizer: str = "whitespace", n: int = 4, **_: Any
) -> dict[str, float]:
    """seq-rep-n: mean share of repeated n-grams within each output."""
    tok = get_tokenizer(tokenizer)
    rates = []
    for text in predictions:
        grams = ngrams(tok.tokenize(text), n)
        rates.append(1.0 - len(set(grams)) / len(grams) if grams else 0.0)
    return {f"seq_rep_{n}": sum(rates) / len(rates) if rates else 0.0}


@register_metric("self_bleu", "corpus", needs_tokenizer=True, higher_is_better=False, needs_references=False)
def self_bleu(
    predictions: list[str], references: Any = None, tokenizer: str = "default", **_: Any
) -> dict[str, float]:
    """Mean sentence BLEU (sacrebleu, 0-100) of each output against all the other outputs."""
    if len(predictions) < 2:
        return {"self_bleu": float("nan")}
    if tokenizer in ("default", "13a"):
        texts, tokenize = predictions, "13a"
    else:
        tok = get_tokenizer(tokenizer)
        texts, tokenize = [" ".join(tok.tokenize(p)) for p in predictions], "none"
    scores = [
        sacrebleu.sentence_bleu(text, texts[:i] + texts[i + 1 :], tokenize=tokenize).score
        for i, text in enumerate(texts)
    ]
    return {"self_bleu": sum(scores) / len(scores)}
