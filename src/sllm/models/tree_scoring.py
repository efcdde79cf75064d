"""Score many (context, continuation) pairs with each shared token computed once: token tries.

A plain harness runs context + continuation once per pair. Multiple-choice requests share a lot:
every choice of a question shares its context (HellaSwag's 4 endings, TruthfulQA's 4-13
answers), and every question of a few-shot subject shares the k examples in front of it (MMLU
5-shot: ~500 of ~600 tokens). Here the pairs of one row are inserted into a token trie -- one
node per distinct (prefix, token) -- and the trie is flattened into one sequence. A tree
attention mask lets each token see only its ancestors, and its position id is its depth, so every
token's hidden state is what it would be in its own sequence (the numbers a plain harness
computes, to float rounding), while the linear layers, which dominate the cost, see each shared
token once. The LM head runs only at the positions that predict continuation tokens.

Packing is a cost decision: a pair joins the current row when the linear-layer work its shared
tokens save exceeds the attention work a wider row adds (attention grows with the square of the
row's width). So HellaSwag gets one row per question, MMLU 5-shot many questions behind one copy
of the few-shot block, and pairs that share nothing are left to the plain path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from sllm.errors import SllmError

Pair = tuple[list[int], list[int]]
Score = tuple[float, bool, int]
Body = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# Attention with an explicit mask runs at ~150 GFLOP/s here against ~220 for the linear layers
# (SmolLM2-135M, torch profiler, MMLU 0-shot rows of 140-340 tokens), so its FLOPs count 1.5x.
ATTENTION_WEIGHT = 1.5
# A forward pass costs about as much as this many tokens beyond its rows (dispatch, small GEMMs).
BATCH_OVERHEAD = 64
# Widest row: its mask and attention scores grow with the square of the width (4,096 tokens: a
# 16 MB mask, ~600 MB of scores for 9 heads), so a thousand labels after one context still fit.
MAX_ROW = 4096


@dataclass(frozen=True)
class Costs:
    """FLOPs per token of the linear layers, and per (query, key) pair of attention."""

    linear: float
    attention: float

    @classmethod
    def of(cls, model: Any) -> Costs:
        """Costs of a transformers causal LM from its config and parameter count."""
        config = model.config
        body = sum(p.numel() for n, p in model.named_parameters() if "embed" not in n and "lm_head" not in n)
        heads = int(getattr(config, "num_attention_heads", 1))
        head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
        layers = int(config.num_hidden_layers)
        return cls(linear=2.0 * body, attention=ATTENTION_WEIGHT * 4.0 * heads * head_dim * layers)


@dataclass
class Row:
    """One flattened token trie: tokens, their parents and positions, and what they predict."""

    tokens: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)  # index of each token's parent (-1 = root)
    positions: list[int] = field(default_factory=list)
    children: dict[tuple[int, int], int] = field(default_factory=dict)
    predictions: list[tuple[int, list[int]]] = field(default_factory=list)  # pair -> row offsets

    def matched(self, sequence: Sequence[int]) -> int:
        """How many leading tokens of `sequence` the trie already holds."""
        node = -1
        for depth, token in enumerate(sequence):
            node = self.children.get((node, token), -2)
            if node == -2:
                return depth
        return len(sequence)

    def insert(self, sequence: Sequence[int]) -> list[int]:
        """Add `sequence` (sharing what the trie holds); return the row offset of each token."""
        node, offsets = -1, []
        for depth, token in enumerate(sequence):
            child = self.children.get((node, token))
            if child is None:
                child = len(self.tokens)
                self.children[(node, token)] = child
                self.tokens.append(token)
                self.parents.append(node)
                self.positions.append(depth)
            offsets.append(child)
            node = child
        return offsets

    def mask(self, width: int) -> torch.Tensor:
        """Boolean [width, width] mask: each token sees itself and its ancestors."""
        out = torch.zeros((width, width), dtype=torch.bool)
        for index, parent in enumerate(self.parents):  # a parent always precedes its children
            if parent >= 0:
                out[index] = out[parent]
            out[index, index] = True
        out[len(self.tokens) :, 0] = True  # padding attends to something, so no NaN anywhere
        return out


def build_rows(pairs: Sequence[Pair], costs: Costs, max_row: int = MAX_ROW) -> tuple[list[Row], list[int]]:
    """Pack the pairs that share tokens into trie rows; also return the indices of the pairs that
    share nothing with a neighbour (they are scored as plain sequences)."""
    for _, continuation in pairs:
        if not continuation:
            raise SllmError("cannot score an empty continuation")
    sequences = [context + continuation[:-1] for context, continuation in pairs]
    order = sorted(range(len(pairs)), key=lambda i: sequences[i])  # sharers become neighbours
    rows: list[tuple[Row, list[int]]] = []
    for index in order:
        sequence = sequences[index]
        if rows:
            row, members = rows[-1]
            shared = row.matched(sequence)
            width, added = len(row.tokens), len(sequence) - shared
            # joining widens this row; the alternative is a row of its own, recomputing `shared`
            saved = costs.linear * shared
            extra = costs.attention * ((width + added) ** 2 - width**2 - len(sequence) ** 2)
            if shared and saved >= extra and width + added <= max_row:
                members.append(index)
                _place(row, index, pairs[index], sequence)
                continue
        row = Row()
        _place(row, index, pairs[index], sequence)
        rows.append((row, [index]))
    alone = [members[0] for row, members in rows if len(members) == 1]
    return [row for row, members in rows if len(members) > 1], alone


def _place(row: Row, index: int, pair: Pair, sequence: list[int]) -> None:
    offsets = row.insert(sequence)
    context, continuation = pair
    # the last context token predicts the first continuation token, and so on
    row.predictions.append((index, offsets[len(context) - 1 : len(context) - 1 + len(continuation)]))


def plan_batches(
    rows: list[Row], size: Callable[[int], int], overhead: int = BATCH_OVERHEAD
) -> list[list[Row]]:
    """Rows sorted by width, cut into batches of at most `size(width)` rows so that padded tokens
    plus a fixed cost per forward pass are fewest (an exact dynamic programme over the cuts)."""
    rows = sorted(rows, key=lambda r: -len(r.tokens))
    widths = [len(r.tokens) for r in rows]
    best = [0.0] * (len(rows) + 1)  # best[i]: cost of batching rows[i:]
    cut = [len(rows)] * (len(rows) + 1)
    for i in range(len(rows) - 1, -1, -1):
        limit = min(len(rows), i + max(1, size(widths[i])))
        best[i], cut[i] = min((widths[i] * (j - i) + overhead + best[j], j) for j in range(i + 1, limit + 1))
    batches, i = [], 0
    while i < len(rows):
        batches.append(rows[i : cut[i]])
        i = cut[i]
    return batches


def batch_tensors(rows: list[Row], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded token ids, a [rows, 1, width, width] tree mask and position ids."""
    width = max(len(r.tokens) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.empty((len(rows), 1, width, width), dtype=torch.bool)
    for r, row in enumerate(rows):
        n = len(row.tokens)
        ids[r, :n] = torch.tensor(row.tokens)
        positions[r, :n] = torch.tensor(row.positions)
        mask[r, 0] = row.mask(width)
    return ids, mask, positions


@torch.inference_mode()
def score_rows(
    body: Body,
    head: Callable[[torch.Tensor], torch.Tensor],
    pairs: Sequence[Pair],
    rows: list[Row],
    pad_id: int,
) -> Iterator[tuple[int, Score]]:
    """Run one batch of rows; yield (pair index, (sum log-prob, is greedy, n tokens))."""
    ids, mask, positions = batch_tensors(rows, pad_id)
    hidden = body(ids, mask, positions)
    picks, order = [], []
    for r, row in enumerate(rows):
        for index, offsets in row.predictions:
            picks.append(hidden[r, offsets])
            order.append(index)
    logprobs = torch.log_softmax(head(torch.cat(picks)).float(), dim=-1)
    targets = torch.tensor([t for index in order for t in pairs[index][1]], device=logprobs.device)
    picked = logprobs.gather(1, targets[:, None]).squeeze(1)
    greedy = logprobs.argmax(dim=-1) == targets
    start = 0
    for index in order:
        n = len(pairs[index][1])
        yield index, (float(picked[start : start + n].sum()), bool(greedy[start : start + n].all()), n)
        start += n
