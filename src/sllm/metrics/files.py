"""One metric over files of texts (`sllm score`): predictions and references, one text per line or
a field of each JSONL record; the tokenizer used is chosen (and named) before scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sllm.errors import SllmError


def score_files(
    metric: str,
    predictions: Path,
    references: Path | None = None,
    field: str = "text",
    tokenizer: str | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Corpus-level values of `metric`: {metric, tokenizer, n, scores}; `options` go to the metric."""
    from sllm.errors import UsageError
    from sllm.metrics import corpus_score, get_metric, get_tokenizer
    from sllm.metrics.tokenizers import choose_tokenizer

    spec = get_metric(metric)
    options = dict(options or {})
    if tokenizer is not None:
        if not spec.needs_tokenizer:
            raise UsageError(f"metric '{metric}' takes no tokenizer")
        get_tokenizer(tokenizer)  # fail fast on an unknown tokenizer
        options["tokenizer"] = tokenizer
    preds = [_one_text(v, predictions) for v in read_texts(predictions, field)]
    if references is None:
        if spec.needs_references:
            raise UsageError(f"metric '{metric}' needs --references")
        refs: list[list[str]] = [[] for _ in preds]
    else:
        refs = [v if isinstance(v, list) else [v] for v in read_texts(references, field)]
    if len(preds) != len(refs):
        raise SllmError(f"{predictions} has {len(preds)} texts but {references} has {len(refs)}")
    if spec.needs_tokenizer and "tokenizer" not in options:
        # Chosen here (corpus_score would too) so the result can name the tokenizer used.
        texts = [*preds[:1000], *(r for group in refs[:1000] for r in group)]
        chosen = choose_tokenizer(metric, texts, None)
        if chosen is not None:
            options["tokenizer"] = chosen
    scores = corpus_score(metric, preds, refs, **options)
    return {
        "metric": metric,
        "tokenizer": options.get("tokenizer", "default"),
        "n": len(preds),
        "scores": scores,
    }


def read_texts(path: Path, field: str) -> list[str | list[str]]:
    """One text per line, or the `field` of each JSONL record (errors name file and line)."""
    from sllm.tasks.loaders import load_jsonl
    from sllm.textio import read_text

    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    if path.suffix != ".jsonl":
        return read_text(path).splitlines()
    records = load_jsonl(path)
    for number, record in enumerate(records, start=1):
        if field not in record:
            raise SllmError(f"{path}: record {number}: missing field '{field}'")
    return [record[field] for record in records]


def _one_text(value: str | list[str], path: Path) -> str:
    if isinstance(value, list):
        raise SllmError(f"{path}: a prediction must be one text, not a list")
    return value
