"""The decoding study (Holtzman et al., 2020, "The Curious Case of Neural Text Degeneration"):
the same prompts under greedy, beam, pure sampling, top-k, nucleus and several temperatures.

For each strategy, over all prompts:
- perplexity of the generated text under the model itself (per token, from the model's own
  log-likelihood of the continuation given its prompt): maximisation methods give
  unnaturally low perplexity, pure sampling unnaturally high;
- repetition %: seq-rep-4 x 100 (Welleck et al.), the share of an output's 4-grams that repeat
  an earlier one, averaged -- degenerate, looping text scores high;
- self-BLEU (sacrebleu, 0-100): outputs that resemble each other;
- distinct-1 / distinct-2: unique n-grams over all n-grams;
- mean length in generated tokens, and the share of outputs stopped by the token limit.
Sampling strategies share one seed for the whole study (set once, then batched), so a rerun on the
same machine gives the same texts.
"""

from __future__ import annotations

import math
from typing import Any

from sllm.generation.config import make_config
from sllm.metrics.diversity import distinct_n, repetition, self_bleu
from sllm.models.base import LM, GenerationRequest, LoglikelihoodRequest

#: name -> decoding settings; the names are what `--strategies` takes
STRATEGIES: dict[str, dict[str, Any]] = {
    "greedy": {"strategy": "greedy"},
    "beam_4": {"strategy": "beam", "num_beams": 4},
    "pure_sampling": {"strategy": "sample", "temperature": 1.0, "top_k": 0, "top_p": 1.0},
    "temperature_0.7": {"strategy": "sample", "temperature": 0.7},
    "temperature_0.9": {"strategy": "sample", "temperature": 0.9},
    "top_k_40": {"strategy": "sample", "temperature": 1.0, "top_k": 40},
    "nucleus_0.95": {"strategy": "sample", "temperature": 1.0, "top_p": 0.95},
}


def run_study(lm: LM, prompts: list[str], strategies: list[str], max_new_tokens: int = 64, seed: int = 0,
              tokenizer: str = "whitespace", progress: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """One row of measures per strategy (see the module docstring)."""
    _seed_everything(seed)
    bleu_tokenizer = "default" if tokenizer == "whitespace" else tokenizer  # sacrebleu's 13a for English
    rows = []
    for name in strategies:
        config = make_config(max_new_tokens=max_new_tokens, **STRATEGIES[name])
        results = lm.generate(
            [GenerationRequest(prompt=p, config=config) for p in prompts], progress=progress
        )
        texts = [r.text for r in results]
        rows.append({
            "strategy": name, "settings": STRATEGIES[name], "n": len(texts),
            "perplexity": own_perplexity(lm, prompts, texts, progress),
            "repetition_pct": 100 * repetition(texts, tokenizer=tokenizer)["seq_rep_4"],
            "self_bleu": self_bleu(texts, tokenizer=bleu_tokenizer)["self_bleu"],
            **distinct_n(texts, tokenizer=tokenizer, n=[1, 2]),
            "mean_tokens": sum(r.n_tokens for r in results) / len(results),
            "hit_limit": sum(r.finish_reason == "length" for r in results) / len(results),
            "samples": texts,
        })  # fmt: skip
    return rows


def own_perplexity(lm: LM, prompts: list[str], texts: list[str], progress: bool = False) -> float:
    """exp(-mean log-prob per token) of the texts as continuations of their prompts (NaN if none)."""
    requests = [LoglikelihoodRequest(p, t) for p, t in zip(prompts, texts) if t.strip()]
    if not requests:
        return float("nan")
    scored = lm.loglikelihood(requests, progress=progress)
    tokens = sum(s.n_tokens for s in scored)
    return math.exp(-sum(s.logprob for s in scored) / tokens) if tokens else float("nan")


def prompt_head(text: str, words: int) -> str:
    """The first `words` whitespace-separated words of a text: an open-ended prompt to continue."""
    return " ".join(text.split()[:words])


def _seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # a backend without torch samples with its own generator
        pass
