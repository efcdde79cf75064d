"""Check an evaluation's requests against the model's context window before any model work.

Token counts are cheap next to a forward pass, so every prompt is measured first (in chunks,
through the fast tokenizer's batch API): an over-long one stops the run at once, naming its task
and document, rather than after hours of scoring -- unless truncation was asked for. Then only
the over-long requests are marked for truncation (the cache keys of all others stay as they
were), and their documents record the cut for samples.jsonl. Backends check again (library
callers go straight to them); servers without a local tokenizer report their own limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from sllm.evaluation.instances import Instance
from sllm.models.base import LM, GenerationRequest, LoglikelihoodRequest
from sllm.models.context import Side, check_request, pair_excess, prompt_room

CHUNK = 256  # texts tokenised per batch call: fast, and the token lists of one chunk only in memory


def fit_to_window(lm: LM, per_task: dict[str, list[Instance]], truncate: Side | None) -> dict[str, int]:
    """Raise on an over-long request unless `truncate`; else mark it for truncation and record the
    cut on its instance. Returns the number of truncated documents per task."""
    window = getattr(lm, "max_length", None)
    encode = getattr(lm, "encode", None)
    if not window or encode is None:
        return {}
    encode_batch: Callable[[Sequence[str]], list[list[int]]] = getattr(lm, "encode_batch", None) or (
        lambda texts: [encode(t) for t in texts]
    )
    items = [
        (task, inst, i)
        for task, instances in per_task.items()
        for inst in instances
        for i, request in enumerate(inst.requests)
        if isinstance(request, LoglikelihoodRequest | GenerationRequest)
    ]
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        texts = [_text(lm, inst.requests[i]) for _, inst, i in chunk]
        encoded = encode_batch([text or "" for text in texts])
        for (task, inst, i), text, ids in zip(chunk, texts, encoded, strict=True):
            if text is not None:
                _fit(lm, inst, i, len(ids), truncate, f"task {task}, document {inst.doc_id}")
    return {task: sum(inst.truncated is not None for inst in insts) for task, insts in per_task.items()}


def _text(lm: LM, request: Any) -> str | None:
    """The text whose token count decides the fit (None: the backend checks it itself)."""
    if isinstance(request, LoglikelihoodRequest):
        return request.context + request.continuation
    if request.prompt is not None:
        return request.prompt
    render = getattr(lm, "render_chat", None)
    return render(request.message_dicts()) if render is not None else None


def _fit(lm: Any, inst: Instance, index: int, n_tokens: int, truncate: Side | None, where: str) -> None:
    """Check one request (n_tokens long); mark it and record the cut when it must be truncated."""
    request, window = inst.requests[index], lm.max_length
    if isinstance(request, LoglikelihoodRequest):
        # An empty context stands as one prefix token; the joint encoding is the whole sequence.
        total = n_tokens + (0 if request.context else 1)
        if pair_excess(total, 0, window) <= 0:
            return
        marked = dataclasses.replace(request, truncate=truncate is not None)
    else:
        room = prompt_room(request.config.max_new_tokens, window, where, getattr(lm, "window_source", ""))
        if n_tokens <= room:
            return
        marked = dataclasses.replace(request, config=request.config.model_copy(update={"truncate": truncate}))
    cut = check_request(lm, marked, where)  # raises when no truncation was asked for
    inst.requests[index] = marked
    if cut is not None and (inst.truncated is None or cut.to_tokens < inst.truncated["to_tokens"]):
        inst.truncated = cut.record()
