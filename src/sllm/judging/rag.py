"""RAG answer and retrieval quality with a judge model (the definitions ragas popularised).

- faithfulness: the answer is broken into standalone claims; each claim is checked against the
  retrieved contexts; score = supported claims / claims the judge decided on.
- answer relevancy: the judge writes questions the answer would answer and says whether the
  answer is noncommittal; score = mean cosine (sentence embeddings) between those questions and
  the real one, and 0 for a noncommittal answer.
- context precision: each retrieved chunk, in rank order, is judged useful or not for the
  reference (or the answer when there is none); score = average precision over useful chunks.
- context recall: each sentence of the reference is judged attributable to the contexts or not;
  score = attributed / sentences.
A verdict the judge does not give (no yes/no, no claims) makes that item *undetermined* for
that metric: counted and reported, never a silent NaN, and left out of the mean.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sllm.generation.config import make_config
from sllm.models.base import LM, GenerationRequest

METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")
YES_NO = re.compile(r"\b(yes|no|예|네|아니요|아니오)\b", re.IGNORECASE)
NUMBERED = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+(.*\S)\s*$")


@dataclass
class RagItem:
    """A question, the generated answer, the retrieved contexts (ranked) and an optional reference."""

    question: str
    answer: str
    contexts: list[str]
    reference: str | None = None


def yes_no(reply: str) -> bool | None:
    """The first yes/no in the judge's reply (Korean 예/네/아니요 too); None when there is none."""
    match = YES_NO.search(reply)
    if match is None:
        return None
    return match.group(1).lower() in ("yes", "예", "네")


def numbered_lines(reply: str) -> list[str]:
    """Items of a numbered or bulleted list, in order."""
    return [m.group(1) for line in reply.splitlines() if (m := NUMBERED.match(line))]


def sentences(text: str) -> list[str]:
    """Sentences split on ., !, ? (and Korean 다.) followed by space or end."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    return [p.strip() for p in parts if len(p.strip()) > 1]


def _context_block(contexts: Sequence[str]) -> str:
    return "\n\n".join(f"[Context {i + 1}]\n{c}" for i, c in enumerate(contexts))


class RagJudge:
    """Asks a judge model the four metrics' questions; every call cached through the LM."""

    def __init__(
        self, lm: LM, max_new_tokens: int = 256, embed: Callable[[list[str]], np.ndarray] | None = None
    ) -> None:
        self.lm = lm
        self.config = make_config(max_new_tokens=max_new_tokens)
        self.short = make_config(max_new_tokens=8)
        self.embed = embed

    def _ask(self, prompts: list[str], short: bool = False) -> list[str]:
        config = self.short if short else self.config
        return [
            r.text for r in self.lm.generate([GenerationRequest(prompt=p, config=config) for p in prompts])
        ]

    def faithfulness(self, items: list[RagItem]) -> list[dict[str, Any]]:
        """Claims of each answer, each checked against the contexts."""
        # The prompt starts the list at "1." so the reply continues it: put the marker back.
        claims = [numbered_lines("1. " + r) for r in self._ask([
            "Break the answer into short standalone factual claims, one per numbered line.\n\n"
            f"Question: {it.question}\nAnswer: {it.answer}\n\nClaims:\n1."
            for it in items
        ])]  # fmt: skip
        flat = [(k, c) for k, cs in enumerate(claims) for c in cs]
        verdicts = [yes_no(r) for r in self._ask([
            f"{_context_block(items[k].contexts)}\n\nStatement: {claim}\n\n"
            "Can the statement be inferred from the contexts above? Answer yes or no.\nAnswer:"
            for k, claim in flat
        ], short=True)]  # fmt: skip
        out = []
        for k in range(len(items)):
            mine = [v for (j, _), v in zip(flat, verdicts, strict=True) if j == k]
            decided = [v for v in mine if v is not None]
            out.append({
                "faithfulness": sum(decided) / len(decided) if decided else None,
                "claims": [c for j, c in flat if j == k],
                "claim_supported": mine,
            })  # fmt: skip
        return out

    def answer_relevancy(self, items: list[RagItem], n: int = 3) -> list[dict[str, Any]]:
        """Questions generated back from the answer vs the real question; noncommittal answers score 0."""
        from sllm.embeddings import load_encoder

        embed = self.embed or (lambda texts: np.asarray(load_encoder().encode(texts)))
        generated = [numbered_lines("1. " + r)[:n] for r in self._ask([
            f"Write {n} different questions that this answer would answer, one per numbered line.\n\n"
            f"Answer: {it.answer}\n\nQuestions:\n1."
            for it in items
        ])]  # fmt: skip
        noncommittal = [yes_no(r) for r in self._ask([
            "Is the following answer noncommittal -- evasive, vague or saying it does not know? "
            f"Answer yes or no.\n\nAnswer: {it.answer}\nNoncommittal:"
            for it in items
        ], short=True)]  # fmt: skip
        out = []
        for it, questions, vague in zip(items, generated, noncommittal, strict=True):
            if not questions or vague is None:
                out.append(
                    {"answer_relevancy": None, "generated_questions": questions, "noncommittal": vague}
                )
                continue
            vectors = embed([it.question, *questions])
            vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            cosine = float(np.mean(vectors[1:] @ vectors[0]))
            score = 0.0 if vague else cosine
            out.append({"answer_relevancy": score, "generated_questions": questions, "noncommittal": vague})
        return out

    def context_precision(self, items: list[RagItem]) -> list[dict[str, Any]]:
        """Average precision of the useful chunks, in retrieval order."""
        flat = [(k, c) for k, it in enumerate(items) for c in it.contexts]
        verdicts = [yes_no(r) for r in self._ask([
            f"Question: {items[k].question}\nAnswer: {items[k].reference or items[k].answer}\n\n"
            f"[Context]\n{chunk}\n\nWas this context useful in arriving at the answer? "
            "Answer yes or no.\nAnswer:"
            for k, chunk in flat
        ], short=True)]  # fmt: skip
        out = []
        for k in range(len(items)):
            useful = [v for (j, _), v in zip(flat, verdicts, strict=True) if j == k]
            out.append({"context_precision": average_precision(useful), "context_useful": useful})
        return out

    def context_recall(self, items: list[RagItem]) -> list[dict[str, Any]]:
        """Share of reference sentences attributable to the contexts (needs a reference)."""
        flat = [(k, s) for k, it in enumerate(items) for s in sentences(it.reference or "")]
        verdicts = [yes_no(r) for r in self._ask([
            f"{_context_block(items[k].contexts)}\n\nSentence: {sentence}\n\n"
            "Can this sentence be attributed to the contexts above? Answer yes or no.\nAnswer:"
            for k, sentence in flat
        ], short=True)]  # fmt: skip
        out = []
        for k in range(len(items)):
            mine = [v for (j, _), v in zip(flat, verdicts, strict=True) if j == k]
            undecided = not mine or any(v is None for v in mine)
            out.append({
                "context_recall": None if undecided else sum(mine) / len(mine),
                "reference_attributed": mine,
            })  # fmt: skip
        return out


def average_precision(useful: Sequence[bool | None]) -> float | None:
    """Sum over useful ranks of precision@k, divided by the useful count; 0 when none is useful."""
    if not useful or any(v is None for v in useful):
        return None
    hits, total = 0, 0.0
    for rank, is_useful in enumerate(useful, start=1):
        if is_useful:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0
