"""Free-generation tasks: prompts -> generated text -> answer-extraction chains -> metrics."""

from __future__ import annotations

from typing import Any

from sllm import smoke
from sllm.evaluation.cot import stage_record
from sllm.evaluation.instances import Instance, prompts_for
from sllm.generation.config import make_config
from sllm.metrics import get_metric
from sllm.models.base import GenerationRequest
from sllm.prompting.filters import apply_chain, build_chain, map_chain
from sllm.tasks.spec import TaskSpec
from sllm.tasks.templates import evaluate

GENERATION_KEYS = {
    "until": "stop",
    "max_new_tokens": "max_new_tokens",
    "strategy": "strategy",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "seed": "seed",
}


def generation_config(spec: TaskSpec) -> tuple[Any, int]:
    """The task's decoding settings (lm-eval's generation_kwargs) and its number of repeats."""
    settings = dict(spec.generation)
    repeats = smoke.cap(int(settings.pop("repeats", 1)), smoke.REPEATS) or 1  # SLLM_SMOKE: 2 samples
    values = {GENERATION_KEYS[k]: v for k, v in settings.items() if k in GENERATION_KEYS}
    values.setdefault("max_new_tokens", 256)
    if repeats > 1:
        values.setdefault("strategy", "sample")
        values.setdefault("seed", 1234)
    return make_config(**values), repeats


def build_generation_instances(
    spec: TaskSpec,
    docs: list[dict[str, Any]],
    pool: list[dict[str, Any]],
    num_fewshot: int,
    sampler: str | None = None,
) -> list[Instance]:
    """One instance per document with `repeats` generation requests (distinct seeds if sampling)."""
    config, repeats = generation_config(spec)
    instances = []
    for doc_id, doc, prompt, where in prompts_for(spec, docs, pool, num_fewshot, sampler):
        target = evaluate(spec.doc_to_target, {**spec.variables, **doc}, where)
        seeds = [None if config.seed is None else config.seed + r for r in range(repeats)]
        requests = [
            GenerationRequest(prompt=prompt, config=config.model_copy(update={"seed": s})) for s in seeds
        ]
        instances.append(Instance(spec.task, doc_id, doc, prompt, [], target, requests))  # type: ignore[arg-type]
    return instances


def as_chat(instances: list[Instance], system_prompt: str | None) -> None:
    """Send each prompt as the user turn of a chat (instruct models answer instead of stopping)."""
    for inst in instances:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": inst.prompt}
        ]
        inst.requests = [GenerationRequest.chat(messages, r.config) for r in inst.requests]


def references_of(target: Any) -> list[str]:
    """A target may be one reference or a list of them."""
    return [str(t) for t in target] if isinstance(target, list) else [str(target)]


def score_generation(spec: TaskSpec, instances: list[Instance]) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-document rows (raw output, extracted answers, metric values) and the metric keys."""
    chains = [(f.name, build_chain(f.steps, f"task {spec.task}, filter {f.name}")) for f in spec.filters]
    chains = chains or [("none", [])]
    rows, keys = [], []
    for inst in instances:
        raw = [out.text for out in inst.outputs]
        row: dict[str, Any] = {
            "task": inst.task,
            "doc_id": inst.doc_id,
            "prompt": inst.prompt,
            "target": inst.gold,
            "raw_outputs": raw,
            **stage_record(inst),
        }
        for filter_name, chain in chains:
            answer = apply_chain(chain, raw) if chain else raw[0]
            row[f"prediction,{filter_name}" if len(chains) > 1 else "prediction"] = answer
            for name in spec.metric_names():
                metric = get_metric(name)
                if metric.family != "sample":
                    continue
                options = spec.metric_options(name)
                if metric.needs_doc:
                    options = {**options, "doc": inst.doc}
                if metric.inputs == "samples":
                    responses = map_chain(chain, raw) if chain else raw
                    values = metric.fn(responses, references_of(inst.gold), **options)
                else:
                    values = metric.fn(answer, references_of(inst.gold), **options)
                for key, value in values.items():
                    private = key.startswith("_")
                    key = key.lstrip("_")
                    column = key if filter_name == "none" else f"{key},{filter_name}"
                    row[column] = value
                    if not private and column not in keys:
                        keys.append(column)
        row.setdefault("prediction", row.get(f"prediction,{chains[0][0]}"))
        rows.append(row)
    return rows, keys


def corpus_metrics(spec: TaskSpec, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Corpus-level metrics (BLEU, chrF) over the extracted predictions."""
    out: dict[str, float] = {}
    for name in spec.metric_names():
        metric = get_metric(name)
        if metric.family == "corpus":
            predictions = [r["prediction"] for r in rows]
            references = [references_of(r["target"]) for r in rows]
            out.update(metric.fn(predictions, references, **spec.metric_options(name)))
    return out
