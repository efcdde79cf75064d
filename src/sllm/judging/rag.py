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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sllm.generation.config import make_config
from sllm.judging.fence import Neutraliser
from sllm.models.base import LM, GenerationRequest

if TYPE_CHECKING:
    from sllm.judging.jobs import JudgeOptions

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


# The judge's questions in English and in Korean; a Korean item (question and answer mostly
# Hangul) is asked in Korean so a Korean-capable judge reads one language throughout.
PROMPTS = {
    "en": {
        "context": "Context",
        "claims": "Break the answer into short standalone factual claims, one per numbered line.\n\n"
        "Question: {question}\nAnswer: {answer}\n\nClaims:\n1.",
        "supported": "{contexts}\n\nStatement: {claim}\n\n"
        "Can the statement be inferred from the contexts above? Answer yes or no.\nAnswer:",
        "questions": "Write {n} different questions that this answer would answer, one per numbered line.\n\n"
        "Answer: {answer}\n\nQuestions:\n1.",
        "noncommittal": "Is the following answer noncommittal -- evasive, vague or saying it does not know? "
        "Answer yes or no.\n\nAnswer: {answer}\nNoncommittal:",
        "useful": "Question: {question}\nAnswer: {answer}\n\n[Context]\n{chunk}\n\n"
        "Was this context useful in arriving at the answer? Answer yes or no.\nAnswer:",
        "attributed": "{contexts}\n\nSentence: {sentence}\n\n"
        "Can this sentence be attributed to the contexts above? Answer yes or no.\nAnswer:",
    },
    "ko": {
        "context": "문맥",
        "claims": "답변을 짧고 독립적인 사실 주장들로 나누어, 한 줄에 하나씩 번호를 붙여 쓰세요.\n\n"
        "질문: {question}\n답변: {answer}\n\n주장:\n1.",
        "supported": "{contexts}\n\n진술: {claim}\n\n"
        "위 문맥에서 이 진술을 추론할 수 있습니까? 예 또는 아니요로 답하세요.\n답:",
        "questions": "이 답변이 답하고 있을 서로 다른 질문 {n}개를 한 줄에 하나씩 번호를 붙여 쓰세요.\n\n"
        "답변: {answer}\n\n질문:\n1.",
        "noncommittal": "다음 답변이 얼버무리거나 모호하거나 모른다고 하는 답변입니까? "
        "예 또는 아니요로 답하세요.\n\n답변: {answer}\n얼버무림:",
        "useful": "질문: {question}\n답변: {answer}\n\n[문맥]\n{chunk}\n\n"
        "이 문맥이 답에 이르는 데 유용했습니까? 예 또는 아니요로 답하세요.\n답:",
        "attributed": "{contexts}\n\n문장: {sentence}\n\n"
        "이 문장의 내용이 위 문맥에서 나온 것입니까? 예 또는 아니요로 답하세요.\n답:",
    },
}


def language(item: RagItem) -> str:
    """'ko' when the question and answer are mostly Hangul, else 'en'."""
    from sllm.language import hangul_ratio

    return "ko" if hangul_ratio([item.question, item.answer]) > 0.5 else "en"


def _prompt(item: RagItem, key: str, **fields: Any) -> str:
    texts = PROMPTS[language(item)]
    block = "\n\n".join(f"[{texts['context']} {i + 1}]\n{c}" for i, c in enumerate(item.contexts))
    values = {"contexts": block, "question": item.question, "answer": item.answer} | fields
    return texts[key].format(**values)


class RagJudge:
    """Asks a judge model the four metrics' questions; every call cached through the LM."""

    def __init__(
        self, lm: LM, max_new_tokens: int = 256, embed: Callable[[list[str]], np.ndarray] | None = None
    ) -> None:
        self.lm = lm
        self.config = make_config(max_new_tokens=max_new_tokens)
        self.short = make_config(max_new_tokens=8)
        self.embed = embed
        # Questions, answers and contexts are pasted into raw prompts: their control tokens stay text.
        self.guard = Neutraliser.for_model(lm)

    def _ask(self, prompts: list[str], short: bool = False) -> list[str]:
        config = self.short if short else self.config
        requests = [GenerationRequest(prompt=self.guard(p), config=config) for p in prompts]
        return [r.text for r in self.lm.generate(requests)]

    def faithfulness(self, items: list[RagItem]) -> list[dict[str, Any]]:
        """Claims of each answer, each checked against the contexts."""
        # The prompt starts the list at "1." so the reply continues it: put the marker back.
        claims = [numbered_lines("1. " + r) for r in self._ask([_prompt(it, "claims") for it in items])]
        flat = [(k, c) for k, cs in enumerate(claims) for c in cs]
        asked = [_prompt(items[k], "supported", claim=claim) for k, claim in flat]
        verdicts = [yes_no(r) for r in self._ask(asked, short=True)]
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
        replies = self._ask([_prompt(it, "questions", n=n) for it in items])
        generated = [numbered_lines("1. " + r)[:n] for r in replies]
        asked = [_prompt(it, "noncommittal") for it in items]
        noncommittal = [yes_no(r) for r in self._ask(asked, short=True)]
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
        asked = [
            _prompt(items[k], "useful", chunk=chunk, answer=items[k].reference or items[k].answer)
            for k, chunk in flat
        ]
        verdicts = [yes_no(r) for r in self._ask(asked, short=True)]
        out = []
        for k in range(len(items)):
            useful = [v for (j, _), v in zip(flat, verdicts, strict=True) if j == k]
            out.append({"context_precision": average_precision(useful), "context_useful": useful})
        return out

    def context_recall(self, items: list[RagItem]) -> list[dict[str, Any]]:
        """Share of reference sentences attributable to the contexts (needs a reference)."""
        flat = [(k, s) for k, it in enumerate(items) for s in sentences(it.reference or "")]
        asked = [_prompt(items[k], "attributed", sentence=sentence) for k, sentence in flat]
        verdicts = [yes_no(r) for r in self._ask(asked, short=True)]
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


def read_rag_items(path: Path, metrics: list[str]) -> list[RagItem]:
    """RAG items from JSON / JSONL: question, answer, contexts (a list), and reference when
    context_recall is asked for; errors name the file and line."""
    from sllm.errors import SllmError
    from sllm.metaeval.records import read_records

    items = []
    for where, row in read_records(path):
        for field in ("question", "answer", "contexts"):
            if field not in row:
                raise SllmError(f"{where}: missing field '{field}'")
        if not isinstance(row["contexts"], list):
            raise SllmError(f"{where}: field 'contexts' must be a list of strings")
        if "context_recall" in metrics and not row.get("reference"):
            raise SllmError(f"{where}: context_recall needs field 'reference'")
        contexts = [str(c) for c in row["contexts"]]
        items.append(RagItem(str(row["question"]), str(row["answer"]), contexts, row.get("reference")))
    return items


def rag_file(
    input_path: Path,
    output: Path,
    metrics: list[str],
    options: JudgeOptions,
    max_new_tokens: int = 256,
    encoder: str | None = None,
) -> dict[str, Any]:
    """`sllm judge rag`: score every item on each metric, write the per-item scores; the summary
    (mean, scored and undetermined per metric) with the judge's usage."""
    from sllm import preflight, smoke
    from sllm.errors import UsageError, unknown_name, warn
    from sllm.judging.jobs import check_judge, open_judge
    from sllm.judging.tracking import track_judging
    from sllm.textio import write_jsonl
    from sllm.usage import usage_report

    for name in metrics:
        if name not in METRICS:
            raise unknown_name("RAG metric", name, METRICS)
    items = list(smoke.head(read_rag_items(input_path, metrics)))  # SLLM_SMOKE: a few items
    if not metrics:
        raise UsageError("--metrics: name at least one metric")
    relevancy = "answer_relevancy" in metrics
    if relevancy:
        preflight.encoder(encoder)
    check_judge(options, output)
    lm = open_judge(options)
    embed = None
    if relevancy:
        from sllm.embeddings import load_encoder

        if encoder is None and any(language(it) == "ko" for it in items):
            warn(
                "answer relevancy of Korean items with the English-only MiniLM encoder is unreliable; "
                "pass --encoder with a multilingual model folder"
            )
        model = load_encoder(encoder)
        embed = lambda texts: np.asarray(model.encode(texts))  # noqa: E731
    rag = RagJudge(lm, max_new_tokens, embed)
    records: list[dict[str, Any]] = [{} for _ in items]
    for name in metrics:
        for record, found in zip(records, getattr(rag, name)(items), strict=True):
            record.update(found)
    write_jsonl(output, records)
    summary = {}
    for name in metrics:
        values = [r[name] for r in records if r[name] is not None]
        summary[name] = {"mean": sum(values) / len(values) if values else None, "n": len(values),
                         "undetermined": len(records) - len(values)}  # fmt: skip
    usage = usage_report(lm, options.price_table)
    tracked = {"judge_model": lm.spec, **summary, **usage}
    run_id = track_judging("rag", tracked, [input_path], [output], options.track)
    return {"metrics": summary, "output": str(output), "judge_model": lm.spec, "run_id": run_id} | usage
