"""Turn task documents into prompts and model requests (one Instance per document)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sllm.errors import SllmError
from sllm.models.base import LoglikelihoodRequest, RollingRequest
from sllm.prompting.fewshot import ExemplarSelector
from sllm.tasks.spec import TaskSpec
from sllm.tasks.templates import evaluate, render

Doc = dict[str, Any]


@dataclass
class Instance:
    """One evaluated document: its prompt, choices, gold answer and (later) model outputs."""

    task: str
    doc_id: int
    doc: Doc
    prompt: str
    choices: list[str]
    gold: int | str
    requests: list[LoglikelihoodRequest] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    reasoning: list[str] | None = None  # two-stage CoT: stage-one outputs
    answer_prompts: list[str] | None = None
    truncated: dict[str, Any] | None = None  # the prompt's cut, when --truncate had to make one


def _context(spec: TaskSpec, doc: Doc) -> dict[str, Any]:
    return {**spec.variables, **doc}


def target_text(spec: TaskSpec, doc: Doc, where: str) -> str:
    """The answer string of a document as it appears after an exemplar."""
    ctx = _context(spec, doc)
    target = evaluate(spec.doc_to_target, ctx, where)
    if spec.doc_to_choice is not None:
        choices = evaluate(spec.doc_to_choice, ctx, where)
        return str(choices[gold_index(target, choices, where)])
    return str(target)


def gold_index(target: Any, choices: list[Any], where: str) -> int:
    """Accept the gold answer as an index or as the text of a choice."""
    if isinstance(target, str) and target.strip().lstrip("-").isdigit():
        target = int(target)
    if isinstance(target, int) and 0 <= target < len(choices):
        return target
    if target in choices:
        return choices.index(target)
    raise SllmError(f"{where}: gold answer {target!r} is neither a choice index nor one of the choices")


def make_selector(spec: TaskSpec, pool: list[Doc], sampler: str | None) -> ExemplarSelector:
    """The task's exemplar selector; retrieval compares documents by their rendered question."""
    where = f"task {spec.task}"
    return ExemplarSelector(
        pool,
        sampler or spec.fewshot.sampler,
        spec.fewshot.seed,
        lambda d: render(spec.doc_to_text, _context(spec, d), where),
    )


def build_prompt(spec: TaskSpec, doc: Doc, exemplars: list[Doc], where: str) -> str:
    """Description, exemplars with their answers, then the question (lm-eval's layout)."""
    description = render(spec.description, spec.variables, where) if spec.description else ""
    shots = [
        render(spec.doc_to_text, _context(spec, ex), where)
        + spec.target_delimiter
        + target_text(spec, ex, where)
        for ex in exemplars
    ]
    block = spec.fewshot.delimiter.join(shots) + spec.fewshot.delimiter if shots else ""
    return description + block + render(spec.doc_to_text, _context(spec, doc), where)


def prompts_for(
    spec: TaskSpec, docs: list[Doc], fewshot_pool: list[Doc], num_fewshot: int, sampler: str | None
) -> Iterator[tuple[int, Doc, str, str]]:
    """(doc id, document, full prompt with exemplars, where-string for errors) per document."""
    selector = make_selector(spec, fewshot_pool or docs, sampler)
    for doc_id, doc in enumerate(docs):
        where = f"task {spec.task}, document {doc_id}"
        exemplars = selector.select(doc, doc_id, num_fewshot)
        yield doc_id, doc, build_prompt(spec, doc, exemplars, where), where


def build_instances(
    spec: TaskSpec, docs: list[Doc], fewshot_pool: list[Doc], num_fewshot: int, sampler: str | None = None
) -> list[Instance]:
    """Build the prompt and log-likelihood requests of every document of a multiple-choice task."""
    instances = []
    for doc_id, doc, prompt, where in prompts_for(spec, docs, fewshot_pool, num_fewshot, sampler):
        ctx = _context(spec, doc)
        choices = [str(c) for c in evaluate(spec.doc_to_choice or "[]", ctx, where)]
        if not choices:
            raise SllmError(f"{where}: no choices")
        gold = gold_index(evaluate(spec.doc_to_target, ctx, where), choices, where)
        requests = [LoglikelihoodRequest(prompt, spec.target_delimiter + c) for c in choices]
        instances.append(Instance(spec.task, doc_id, doc, prompt, choices, gold, requests))
    return instances


def build_rolling_instances(
    spec: TaskSpec, docs: list[Doc], fewshot_pool: list[Doc], num_fewshot: int, sampler: str | None = None
) -> list[Instance]:
    """One rolling log-likelihood request per document (perplexity); no exemplars."""
    instances = []
    for doc_id, doc in enumerate(docs):
        text = render(spec.doc_to_text, _context(spec, doc), f"task {spec.task}, document {doc_id}")
        instances.append(Instance(spec.task, doc_id, doc, text, [], "", [RollingRequest(text)]))  # type: ignore[list-item]
    return instances
