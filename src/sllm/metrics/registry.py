"""Metric registry: sample-level and corpus-level families, looked up by name."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sllm.errors import SllmError
from sllm.plugins import Registry

MetricFn = Callable[..., dict[str, float]]


@dataclass(frozen=True)
class Metric:
    """A named metric: `sample` fns score one prediction, `corpus` fns score a whole set."""

    name: str
    family: Literal["sample", "corpus"]
    fn: MetricFn
    needs_tokenizer: bool = False
    higher_is_better: bool = True
    description: str = ""
    inputs: Literal["answer", "samples"] = "answer"
    needs_doc: bool = False
    needs_references: bool = True


#: metrics by name; a plugin's entry point (group "sllm.metrics") names a function decorated with
#: `register_metric` or a `Metric`
METRICS: Registry[Metric] = Registry("metric", group="sllm.metrics")


def register_metric(
    name: str,
    family: Literal["sample", "corpus"],
    *,
    needs_tokenizer: bool = False,
    higher_is_better: bool = True,
    description: str = "",
    inputs: Literal["answer", "samples"] = "answer",
    needs_doc: bool = False,
    needs_references: bool = True,
) -> Callable[[MetricFn], MetricFn]:
    """Register fn(prediction, references, **opts) (sample) or fn(predictions, references, **opts).

    `inputs="samples"` metrics (pass@k) get every sampled response of a document, not the one
    extracted answer; `needs_doc` metrics (and all samples metrics) get the document as `doc=`;
    `needs_references=False` metrics (diversity) score predictions alone. Keys a metric returns with a leading
    underscore are kept in the per-sample record but not averaged.
    """

    def wrap(fn: MetricFn) -> MetricFn:
        metric = Metric(
            name,
            family,
            fn,
            needs_tokenizer,
            higher_is_better,
            description or (fn.__doc__ or ""),
            inputs,
            needs_doc or inputs == "samples",
            needs_references,
        )
        METRICS.add(name, metric, origin=f"{fn.__module__}:{fn.__name__}")
        fn.sllm_metric = metric  # type: ignore[attr-defined]  # what an entry point naming fn resolves to
        return fn

    return wrap


def get_metric(name: str) -> Metric:
    """Look a metric up by name (close matches on a miss)."""
    _load_builtin()
    entry = METRICS.get(name)
    metric = entry if isinstance(entry, Metric) else getattr(entry, "sllm_metric", None)
    if metric is None:
        raise SllmError(f"metric '{name}' is neither a Metric nor a function decorated with register_metric")
    return metric


def list_metrics() -> list[Metric]:
    """Every registered metric, sorted by name."""
    _load_builtin()
    return [get_metric(n) for n in METRICS.names()]


def corpus_score(
    name: str, predictions: list[str], references: list[list[str]], **opts: Any
) -> dict[str, float]:
    """Score a corpus: corpus metrics directly, sample metrics as the mean over samples."""
    metric = get_metric(name)
    if metric.needs_tokenizer:
        from sllm.metrics.tokenizers import choose_tokenizer

        texts = [*predictions[:1000], *(r for refs in references[:1000] for r in refs)]
        chosen = choose_tokenizer(name, texts, opts.pop("tokenizer", None))
        if chosen is not None:
            opts["tokenizer"] = chosen
    if metric.family == "corpus":
        return metric.fn(predictions, references, **opts)
    rows = [metric.fn(p, r, **opts) for p, r in zip(predictions, references, strict=True)]
    return {k: v for k, v in aggregate(rows).items() if not k.endswith("_stderr")}


def aggregate(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean and standard error (ddof=1, as lm-eval's mean_stderr) of every key."""
    out: dict[str, float] = {}
    for key in rows[0] if rows else []:
        values = [r[key] for r in rows]
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else float("nan")
        out[key], out[f"{key}_stderr"] = (
            mean,
            math.sqrt(var / len(values)) if len(values) > 1 else float("nan"),
        )
    return out


def _load_builtin() -> None:
    # Importing the modules registers their metrics; done on first lookup, not at import time.
    from sllm.metrics import code, correlation, diversity, lexical, semantic, sql, truthfulqa  # noqa: F401
