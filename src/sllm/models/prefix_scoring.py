"""Score several continuations of one context with a single pass over the context.

Multiple-choice tasks score every choice after the same prompt: HellaSwag's 4 endings, MMLU's
" A".." D", TruthfulQA's 4-13 answers after a 200-token preamble. A plain harness runs the
context once per choice. Here each context runs once (a batch of contexts, left-padded so that
they all end at the same position); its KV cache is then repeated for each continuation, and
the continuations run together on top of it. Single-token continuations (MMLU) need no second
pass at all: the context's last hidden state predicts them directly. The LM head is applied only
at the positions that predict continuation tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

Pair = tuple[list[int], list[int]]
Score = tuple[float, bool, int]


def group_by_context(pairs: Sequence[Pair]) -> tuple[list[list[int]], list[int]]:
    """Split pair indices into shared-context groups (2+ continuations) and the rest."""
    by_context: dict[tuple[int, ...], list[int]] = {}
    for index, (context, _) in enumerate(pairs):
        by_context.setdefault(tuple(context), []).append(index)
    shared = [group for group in by_context.values() if len(group) > 1]
    singles = [group[0] for group in by_context.values() if len(group) == 1]
    return shared, singles


def plan_batches(pairs: Sequence[Pair], groups: list[list[int]], batch_size: int) -> list[list[list[int]]]:
    """Longest contexts first; a batch holds up to batch_size continuations (at least one group)."""
    order = sorted(groups, key=lambda g: -(len(pairs[g[0]][0]) + max(len(pairs[i][1]) for i in g)))
    batches: list[list[list[int]]] = []
    current: list[list[int]] = []
    rows = 0
    for group in order:
        if current and rows + len(group) > batch_size:
            batches.append(current)
            current, rows = [], 0
        current.append(group)
        rows += len(group)
    if current:
        batches.append(current)
    return batches


@torch.inference_mode()
def score_shared(
    model: Any, head: Any, pairs: Sequence[Pair], batch: list[list[int]], pad_id: int, device: str
) -> Iterator[tuple[int, Score]]:
    """Score one batch of shared-context groups; yield (pair index, score)."""
    decoder = model.get_decoder()
    contexts = [pairs[group[0]][0] for group in batch]
    width = max(len(c) for c in contexts)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, context in enumerate(contexts):
        ids[row, width - len(context) :] = torch.tensor(context)
        mask[row, width - len(context) :] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    out = decoder(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=positions.to(device),
        use_cache=True,
    )
    last_hidden = out.last_hidden_state[:, -1]  # predicts each continuation's first token
    members = [(row, index) for row, group in enumerate(batch) for index in group]
    continuations = [pairs[index][1] for _, index in members]
    tail_width = max(len(c) for c in continuations) - 1
    tails = None
    if tail_width > 0:
        tails = _continuation_pass(
            decoder, out.past_key_values, mask, members, continuations, tail_width, pad_id, device
        )
    for r, ((row, index), continuation) in enumerate(zip(members, continuations)):
        hidden = last_hidden[row : row + 1]
        if len(continuation) > 1:
            hidden = torch.cat([hidden, tails[r, : len(continuation) - 1]])
        logprobs = torch.log_softmax(head(hidden).float(), dim=-1)
        target = torch.tensor(continuation, device=logprobs.device)
        picked = logprobs.gather(1, target[:, None]).squeeze(1)
        greedy = bool((logprobs.argmax(dim=-1) == target).all())
        yield index, (float(picked.sum()), greedy, len(continuation))


def _continuation_pass(
    decoder: Any,
    cache: Any,
    context_mask: torch.Tensor,
    members: list[tuple[int, int]],
    continuations: list[list[int]],
    width: int,
    pad_id: int,
    device: str,
) -> torch.Tensor:
    """Run every continuation (minus its last token) on its context's repeated KV cache."""
    rows = torch.tensor([row for row, _ in members], dtype=torch.long)
    cache.reorder_cache(rows.to(device))
    ids = torch.full((len(members), width), pad_id, dtype=torch.long)
    tail_mask = torch.zeros((len(members), width), dtype=torch.long)
    for r, continuation in enumerate(continuations):
        body = continuation[:-1]
        if body:
            ids[r, : len(body)] = torch.tensor(body)
            tail_mask[r, : len(body)] = 1
    context_lengths = context_mask.sum(dim=1)[rows]
    positions = context_lengths[:, None] + torch.arange(width)[None, :]
    mask = torch.cat([context_mask[rows], tail_mask], dim=1)
    out = decoder(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=positions.to(device),
        past_key_values=cache,
        use_cache=True,
    )
    return out.last_hidden_state
