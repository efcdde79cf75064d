"""Metrics with explicit tokenizers: sample-level and corpus-level families, by name."""

from sllm.metrics.registry import aggregate, corpus_score, get_metric, list_metrics, register_metric
from sllm.metrics.tokenizers import get_tokenizer

__all__ = ["aggregate", "corpus_score", "get_metric", "get_tokenizer", "list_metrics", "register_metric"]
