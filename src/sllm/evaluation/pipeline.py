"""`evaluate`: build requests for every task, run them through one (cached) model, score, aggregate.

Stages, in one direction: spec -> documents -> instances (prompt + requests) -> model outputs ->
per-document metrics -> per-task and per-group aggregates -> records (JSON, JSONL, MLflow).
All tasks' requests go to the model together, so batching and length-sorting see everything.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sllm import smoke
from sllm.errors import UsageError
from sllm.evaluation.checks import check_task
from sllm.evaluation.cot import STYLES, answer_requests, apply_prompt_style, attach_answers
from sllm.evaluation.generative import as_chat, build_generation_instances, corpus_metrics, score_generation
from sllm.evaluation.instances import Instance, build_instances, build_rolling_instances
from sllm.evaluation.mc_generate import score_letters, to_generation
from sllm.evaluation.records import new_run_folder, task_config
from sllm.evaluation.scoring import MC_CORPUS_METRICS, macro_f1, mean_stderr, norm_pick, score_instance
from sllm.evaluation.stderr import bootstrap_stderr, rounds_for
from sllm.evaluation.window import fit_to_window
from sllm.metrics.perplexity import perplexities
from sllm.models.base import LM, LoglikelihoodRequest
from sllm.redact import redact_spec
from sllm.tasks.data import load_task_data
from sllm.tasks.registry import TaskRegistry, get_registry
from sllm.tasks.spec import TaskSpec

LIMIT_EXPECTED = "--limit: expected a number of documents (1, 2, ...) or a fraction of each task (0.1 = 10%)"


BUILDERS = {
    "multiple_choice": build_instances,
    "generate_until": build_generation_instances,
    "loglikelihood_rolling": build_rolling_instances,
}


class EvalConfig(BaseModel):
    """Everything `sllm eval` needs; the CLI and YAML fill the same object."""

    model_config = ConfigDict(extra="forbid")

    model: str = "default"
    tasks: list[str] = Field(..., min_length=1)
    num_fewshot: int | None = Field(None, ge=0, description="override every task's k")
    fewshot_sampler: Literal["first_n", "fixed", "random", "retrieved"] | None = Field(
        None, description="override every task's exemplar choice: first_n (= fixed) | random | retrieved"
    )
    limit: int | float | None = Field(
        None, description="first N documents of each task, or a fraction (0 < F < 1) of each, rounded up"
    )
    data_dir: str | None = None
    include_paths: list[str] = Field(default_factory=list)
    batch_size: int | Literal["auto"] | None = Field(None, description="N, or auto (largest that fits)")
    chat: bool = Field(False, description="send generation prompts through the chat template")
    mc_mode: Literal["loglikelihood", "generate"] = Field(
        "loglikelihood", description="multiple choice by log-likelihood, or by generating the letter"
    )
    system_prompt: str | None = Field(None, description="system message when chat is on")
    prompt_style: Literal[STYLES] | None = Field(  # type: ignore[valid-type]
        None, description="plain | cot | zeroshot-cot (two-stage)"
    )
    gen_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="override generation settings of generation tasks"
    )
    truncate: Literal["left", "right"] | None = Field(
        None, description="cut prompts longer than the context window from this side; None = error"
    )
    use_cache: bool = True
    output: str = "sllm-results"
    track: bool = True

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: float | None) -> int | float | None:
        return check_limit(value)


class TaskResult(BaseModel):
    """Aggregates of one task: metric means with standard errors, sizes, provenance."""

    metrics: dict[str, float]
    n: int
    version: str
    num_fewshot: int
    data_source: str


@dataclass
class EvalPlan:
    """What `prepare` builds without a model: the tasks and every document's requests."""

    registry: TaskRegistry
    specs: list[TaskSpec]
    per_task: dict[str, list[Instance]]
    meta: dict[str, dict[str, Any]]


def evaluate(
    config: EvalConfig, lm: LM | None = None, progress: bool = False, plan: EvalPlan | None = None
) -> dict[str, Any]:
    """Run an evaluation and return its results record (also written by `write_results`);
    `plan` is `prepare(config)` when the caller already checked the run before its model."""
    started = time.time()
    plan = plan or prepare(config)
    registry, specs, per_task, meta = plan.registry, plan.specs, plan.per_task, plan.meta
    if lm is None:
        from sllm.models.spec import open_model

        lm = open_model(config.model, use_cache=config.use_cache, batch_size=config.batch_size)
    truncated = fit_to_window(lm, per_task, config.truncate)  # before any model work
    _run_requests(
        lm, per_task, specs, progress, {t for t, m in meta.items() if m["generated_mc"]}, config.chat
    )
    results, samples = _score(per_task, meta)
    for task, count in truncated.items() if config.truncate else ():
        results[task]["truncated"] = count
    groups = _group_results(registry.groups, config.tasks, meta, samples)
    return {
        "model": redact_spec(config.model),
        "model_fingerprint": lm.fingerprint(),
        "config": config.model_dump() | {"model": redact_spec(config.model)},
        "results": {**results, **groups},
        "groups": {g: [t for t in registry.groups[g] if t in per_task] for g in groups},
        "versions": {t: m["spec"].version for t, m in meta.items()},
        "configs": {
            t: task_config(m["spec"], m["num_fewshot"], config.fewshot_sampler) for t, m in meta.items()
        },
        "data_sources": {t: m["source"] for t, m in meta.items()},
        "data_digests": {t: m["digest"] for t, m in meta.items()},
        # lm-eval's "n-samples": the task's documents, and how many --limit left
        "n_samples": {t: {"original": m["original"], "effective": len(per_task[t])} for t, m in meta.items()},
        "samples_records": samples,
        "cache": _cache_counts(lm),
        "batch_size_used": getattr(getattr(getattr(lm, "inner", lm), "sizer", None), "last", None),
        "duration_s": round(time.time() - started, 2),
    }


def prepare(config: EvalConfig) -> EvalPlan:
    """Everything that needs no model: tasks, their metrics and filters, data, prompts and requests.

    Run before the model loads, so a typo in a task, a metric or a data path fails in seconds.
    """
    registry = get_registry(config.include_paths)
    specs = [_configured(s, config, registry) for s in registry.resolve(config.tasks)]
    for spec in specs:
        check_task(spec)
    per_task: dict[str, list[Instance]] = {}
    meta: dict[str, dict[str, Any]] = {}
    for spec in specs:
        data = load_task_data(spec, config.data_dir)
        count = smoke.cap(docs_limit(config.limit, len(data.docs)), smoke.DOCS)  # SLLM_SMOKE: a few
        docs = data.docs[:count] if count else data.docs
        k = spec.fewshot.num_fewshot if config.num_fewshot is None else config.num_fewshot
        build = BUILDERS[spec.output_type]
        pool = spec.fewshot.samples or data.fewshot_docs
        per_task[spec.task] = build(spec, docs, pool, k, config.fewshot_sampler)
        generated_mc = spec.output_type == "multiple_choice" and config.mc_mode == "generate"
        if generated_mc:
            to_generation(per_task[spec.task])
        if config.chat and (generated_mc or spec.output_type == "generate_until"):
            as_chat(per_task[spec.task], config.system_prompt)
        meta[spec.task] = {
            "spec": spec,
            "num_fewshot": k,
            "source": data.source,
            "digest": docs_digest(docs),
            "generated_mc": generated_mc,
            "original": len(data.docs),
        }
    return EvalPlan(registry, specs, per_task, meta)


def docs_limit(limit: float | None, n_docs: int) -> int | None:
    """How many documents `--limit` keeps: N, or a fraction F < 1 of them rounded up (lm-eval's rule)."""
    if limit is None:
        return None
    return int(math.ceil(n_docs * limit)) if limit < 1.0 else int(limit)


def check_limit(value: float | None) -> int | float | None:
    """A whole number of documents (>= 1), or a fraction strictly between 0 and 1; else a UsageError."""
    if value is None:
        return None
    if not 0 < value < 1 and not (value >= 1 and float(value).is_integer()):
        raise UsageError(f"{LIMIT_EXPECTED}, got {value:g}")
    return int(value) if value >= 1 else float(value)


def _configured(spec: TaskSpec, config: EvalConfig, registry: Any) -> TaskSpec:
    """The task as this run asks for it: prompt style applied, generation settings overridden."""
    spec = apply_prompt_style(spec, config.prompt_style, registry)
    if config.gen_kwargs and spec.output_type == "generate_until":
        spec = spec.model_copy(update={"generation": {**spec.generation, **config.gen_kwargs}})
    return spec


def _cache_counts(lm: LM) -> dict[str, int]:
    """How many requests the cache answered (`waited`: of those, computed meanwhile by another
    run sharing the cache) and how many the model computed in this run."""
    inner = getattr(lm, "inner", lm)
    return {
        "hits": int(getattr(lm, "hits", 0)),
        "waited": int(getattr(lm, "waited", 0)),
        "computed": int(sum(inner.calls.values())),
    }


def _run_requests(
    lm: LM,
    per_task: dict[str, list[Instance]],
    specs: list[TaskSpec],
    progress: bool,
    generated_mc: set[str],
    chat: bool = False,
) -> None:
    """Send every log-likelihood request of every task in one call, then hand results back."""
    needs_uncond = {s.task for s in specs if "acc_mutual_info" in s.metric_names()}
    rolling = {s.task for s in specs if s.output_type == "loglikelihood_rolling"}
    texts = [r for t in rolling for inst in per_task[t] for r in inst.requests]
    if texts:
        scored = iter(lm.loglikelihood_rolling(texts, progress=progress))
        for task in rolling:
            for inst in per_task[task]:
                inst.outputs = [next(scored)]
    generative = {s.task for s in specs if s.output_type == "generate_until"} | generated_mc
    generations = [r for t in generative for inst in per_task[t] for r in inst.requests]
    if generations:
        produced = iter(lm.generate(generations, progress=progress))
        for task in generative:
            for inst in per_task[task]:
                inst.outputs = [next(produced) for _ in inst.requests]
    staged = [s for s in specs if s.answer_stage is not None and s.task in generative]
    if staged:
        second = [r for s in staged for r in answer_requests(s, per_task[s.task], chat)]
        answers = lm.generate(second, progress=progress)
        offset = 0
        for spec in staged:
            count = sum(len(inst.requests) for inst in per_task[spec.task])
            attach_answers(per_task[spec.task], answers[offset : offset + count])
            offset += count
    flat: list[LoglikelihoodRequest] = []
    for task, instances in ((t, i) for t, i in per_task.items() if t not in generative | rolling):
        for inst in instances:
            flat.extend(inst.requests)
            if task in needs_uncond:
                flat.extend(LoglikelihoodRequest("", r.continuation) for r in inst.requests)
    # A generation-only backend never sees a log-likelihood call it would have to refuse.
    outputs = iter(lm.loglikelihood(flat, progress=progress) if flat else [])
    for task, instances in ((t, i) for t, i in per_task.items() if t not in generative | rolling):
        for inst in instances:
            inst.outputs = [next(outputs) for _ in inst.requests]
            if task in needs_uncond:
                inst.doc["_unconditional"] = [next(outputs).logprob for _ in inst.requests]


def _score(
    per_task: dict[str, list[Instance]], meta: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    results: dict[str, dict[str, Any]] = {}
    samples: dict[str, list[dict[str, Any]]] = {}
    for task, instances in per_task.items():
        spec: TaskSpec = meta[task]["spec"]
        if meta[task]["generated_mc"]:
            rows, keys, extra = score_letters(instances), ["acc"], {}
        elif spec.output_type == "loglikelihood_rolling":
            rows, keys = [_rolling_row(inst) for inst in instances], []
            extra = _with_stderr(_perplexity_of, rows)
        elif spec.output_type == "generate_until":
            rows, keys = score_generation(spec, instances)
            extra = _with_stderr(partial(corpus_metrics, spec), rows)
        else:
            rows = [_mc_row(spec, inst) for inst in instances]
            keys = [m for m in spec.metric_names() if m not in MC_CORPUS_METRICS]
            extra = _with_stderr(_macro_f1_of, rows) if "f1_macro" in spec.metric_names() else {}
        samples[task] = rows
        for inst, row in zip(instances, rows, strict=True):
            if inst.truncated is not None:
                row["truncated"] = inst.truncated
        metrics: dict[str, float] = {}
        for name in keys:
            metrics[name], metrics[f"{name}_stderr"] = mean_stderr([r[name] for r in rows])
        metrics.update(extra)
        results[task] = {
            **metrics,
            "n": len(rows),
            "version": spec.version,
            "num_fewshot": meta[task]["num_fewshot"],
            "data_source": meta[task]["source"],
        }
    return results, samples


def _with_stderr(
    statistic: Callable[[list[dict[str, Any]]], dict[str, float]], rows: list[dict[str, Any]]
) -> dict[str, float]:
    """Corpus metrics over the rows and their bootstrap standard errors (every metric has one)."""
    values = statistic(rows)
    return {**values, **bootstrap_stderr(statistic, rows, rounds_for(list(values)))}


def _perplexity_of(rows: list[dict[str, Any]]) -> dict[str, float]:
    return perplexities(
        [r["logprob"] for r in rows], [r["n_tokens"] for r in rows], [r["prompt"] for r in rows]
    )


def _macro_f1_of(rows: list[dict[str, Any]]) -> dict[str, float]:
    best = [int(np.argmax(r["loglikelihoods"])) for r in rows]
    return {"f1_macro": macro_f1([r["gold"] for r in rows], best)}


def _rolling_row(inst: Instance) -> dict[str, Any]:
    """One document's record for perplexity: the text, its log-probability and token count."""
    out = inst.outputs[0]
    return {
        "task": inst.task,
        "doc_id": inst.doc_id,
        "prompt": inst.prompt,
        "target": "",
        "prediction": "",
        "logprob": out.logprob,
        "n_tokens": out.n_tokens,
    }


def _mc_row(spec: TaskSpec, inst: Instance) -> dict[str, Any]:
    """One multiple-choice document's record: prompt, choices, log-likelihoods, metric values."""
    uncond = inst.doc.pop("_unconditional", None)
    scores = score_instance(inst, spec.metric_names(), uncond)
    best = max(range(len(inst.choices)), key=lambda i: inst.outputs[i].logprob)
    return {
        "task": inst.task,
        "doc_id": inst.doc_id,
        "prompt": inst.prompt,
        "target": inst.choices[inst.gold],
        "prediction": inst.choices[best],
        "prediction_norm": inst.choices[norm_pick(inst)],  # acc_norm's pick
        "choices": inst.choices,
        "gold": inst.gold,
        "loglikelihoods": [o.logprob for o in inst.outputs],
        "is_greedy": [o.is_greedy for o in inst.outputs],
        **scores,
    }


def _group_results(
    groups: dict[str, list[str]],
    asked: list[str],
    meta: dict[str, dict[str, Any]],
    samples: dict[str, list[dict[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """Per-document aggregation over a group's member tasks (lm-eval's weight_by_size)."""
    out: dict[str, dict[str, Any]] = {}
    for group in (g for g in asked if g in groups):
        members = [t for t in groups[group] if t in samples]
        # A metric is reported for the group only when every member task computes it.
        shared = set.intersection(
            *({k for k, v in samples[t][0].items() if isinstance(v, float)} for t in members if samples[t])
        )
        metrics: dict[str, Any] = {"n": sum(len(samples[t]) for t in members), "tasks": len(members)}
        for name in sorted(shared):
            metrics[name], metrics[f"{name}_stderr"] = mean_stderr(
                [row[name] for t in members for row in samples[t]]
            )
        out[group] = metrics
    return out


def docs_digest(docs: list[dict[str, Any]]) -> str:
    """Content digest of the evaluated documents (order matters: doc ids follow it)."""
    payload = json.dumps(docs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def output_dir(config: EvalConfig) -> Path:
    """A new folder for this run's records: OUTPUT/<model slug>/<UTC timestamp>-<random suffix>."""
    slug = "".join(c if c.isalnum() or c in "-._" else "_" for c in redact_spec(config.model))[:80]
    return new_run_folder(Path(config.output) / slug)
