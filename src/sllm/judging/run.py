"""Judging through the model interface: prompts, batched and cached calls, bounded retries, swaps.

Every call goes through `LM.generate` (so through the call cache: a rerun makes no new calls,
and adding a model to a leaderboard costs only its new pairs). A reply without a parseable
verdict is asked again, up to `retries` times, with a stricter instruction appended to the
conversation; after that the item is recorded as unparsed and counted -- never dropped.
Pairwise judging asks twice with the answers swapped (MT-Bench): the same winner both times
wins, different winners are a tie (inconsistent), and the position-consistency rate is reported.
Answers reach the judge fenced by nonce tags with their control tokens broken (judging.fence),
and a verdict is read only from the judge's final words, never from a copy of an answer
(judging.parse).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sllm import smoke
from sllm.generation.config import make_config
from sllm.judging.fence import WELL_KNOWN_MARKERS, Neutraliser, fence, fence_note
from sllm.judging.items import Item
from sllm.judging.parse import Candidates
from sllm.judging.parsers import PARSERS
from sllm.judging.spec import JudgeSpec
from sllm.models.base import LM, GenerationRequest


def _fields(spec: JudgeSpec, item: Item, order: Sequence[int]) -> dict[str, str]:
    """FastChat's template fields for one item; `order` puts models into positions A and B."""
    fields: dict[str, str] = {}
    refs = item.references or []
    if spec.turns == 1:
        t = item.turn - 1
        fields["question"] = item.turns[t]
        if spec.mode == "single":
            fields["answer"] = item.answers[0][t]
        else:
            fields["answer_a"], fields["answer_b"] = (item.answers[i][t] for i in order)
        if refs:
            fields["ref_answer_1"] = refs[t] if len(refs) > t else refs[0]
        return fields
    for t in (1, 2):
        fields[f"question_{t}"] = item.turns[t - 1]
        if spec.mode == "single":
            fields[f"answer_{t}"] = item.answers[0][t - 1]
        else:
            fields[f"answer_a_{t}"], fields[f"answer_b_{t}"] = (item.answers[i][t - 1] for i in order)
        if refs:
            fields[f"ref_answer_{t}"] = refs[t - 1] if len(refs) >= t else ""
    return fields


def messages(
    spec: JudgeSpec, item: Item, order: Sequence[int] = (0, 1), guard: Neutraliser | None = None
) -> list[dict[str, str]]:
    """The judge's conversation for one item (see `render`)."""
    return render(spec, _fields(spec, item, order), guard, f"question {item.question_id}")


def render(
    spec: JudgeSpec, fields: dict[str, str], guard: Neutraliser | None = None, where: str = ""
) -> list[dict[str, str]]:
    """The judge's conversation: system prompt (plus the fence note), then the filled template with
    control tokens broken in every field and each answer fenced by a nonce tag."""
    from sllm.errors import SllmError

    guard = guard or Neutraliser(WELL_KNOWN_MARKERS)
    fields = {k: guard(v) for k, v in fields.items()}
    fenced, tag = (
        fence(fields, [spec.name, spec.system_prompt, spec.prompt_template])
        if spec.fence_answers
        else (fields, "")
    )
    try:
        user = spec.prompt_template.format(**fenced)
    except KeyError as exc:
        raise SllmError(
            f"judge {spec.name}: template field {exc} is missing for {where or 'this item'}"
            + (" (this judge needs a reference answer)" if "ref" in str(exc) else "")
        ) from None
    note = fence_note(spec.language, tag) if tag else ""
    system = "\n\n".join(p for p in (spec.system_prompt, note) if p)
    return [*([{"role": "system", "content": system}] if system else []), {"role": "user", "content": user}]


@dataclass
class Verdict:
    """The outcome of asking the judge once (with retries): parsed value, replies, attempts."""

    value: Any
    replies: list[str]

    @property
    def parsed(self) -> bool:
        """Whether a verdict was read."""
        return self.value is not None


class Judge:
    """A judge config bound to a model."""

    def __init__(self, lm: LM, spec: JudgeSpec, retries: int = 2, **decoding: Any) -> None:
        self.lm, self.spec, self.retries = lm, spec, retries
        self.retries = 0 if smoke.enabled() else retries  # SLLM_SMOKE: no re-asks
        settings = {**spec.decoding, **{k: v for k, v in decoding.items() if v is not None}}
        if settings.get("temperature", 0) == 0:
            settings.pop("temperature", None)
            settings["strategy"] = "greedy"
        self.config = make_config(**settings)
        self.reader = PARSERS.get(spec.parser)
        self.retry_text = spec.retry_instruction or self.reader.retry
        #: breaks the judge's control tokens inside candidates' text (its tokenizer's, or well-known)
        self.guard = Neutraliser.for_model(lm)

    def _parser(self, candidates: Candidates) -> Callable[[str], Any]:
        return lambda reply: self.reader.read(reply, candidates, self.spec.scale)

    def ask(
        self,
        conversations: list[list[dict[str, str]]],
        candidates: Sequence[Candidates],
        progress: bool = False,
    ) -> list[Verdict]:
        """Ask every conversation; re-ask the unparsed ones with the stricter instruction.

        `candidates` are, per conversation, the texts the verdict must not be copied from: per
        position ({"A": [...], "B": [...]}) so that a copy against its source still counts, or a
        plain list. Control tokens are broken in every message here too, for callers that build
        their own conversations."""
        parsers = [self._parser(c) for c in candidates]
        current = [self.guard.messages(c) for c in conversations]
        verdicts: list[Verdict | None] = [None] * len(conversations)
        replies: list[list[str]] = [[] for _ in conversations]
        pending = list(range(len(conversations)))
        for attempt in range(self.retries + 1):
            requests = [GenerationRequest.chat(current[i], self.config) for i in pending]
            outputs = self.lm.generate(requests, progress=progress and attempt == 0)
            still = []
            for i, out in zip(pending, outputs, strict=True):
                replies[i].append(out.text)
                value = parsers[i](out.text)
                if value is not None:
                    verdicts[i] = Verdict(value, replies[i])
                else:
                    still.append(i)
                    current[i] = [
                        *current[i],
                        {"role": "assistant", "content": out.text},
                        {"role": "user", "content": self.retry_text},
                    ]
            pending = still
            if not pending:
                break
        return [v if v is not None else Verdict(None, replies[i]) for i, v in enumerate(verdicts)]

    def single(self, items: list[Item], progress: bool = False) -> list[dict[str, Any]]:
        """Grade each item's answer; one record per item."""
        items = list(smoke.head(items))  # SLLM_SMOKE: a few items
        conversations = [messages(self.spec, item, guard=self.guard) for item in items]
        verdicts = self.ask(conversations, [list(item.answers[0]) for item in items], progress)
        return [
            {
                **self._common(item, conversations[k]),
                "model": item.models[0],
                "score": v.value,
                "status": "ok" if v.parsed else "unparsed",
                "explanation": v.replies[-1],
                "attempts": len(v.replies),
            }
            for k, (item, v) in enumerate(zip(items, verdicts, strict=True))
        ]

    def pairwise(self, items: list[Item], swap: bool = True, progress: bool = False) -> list[dict[str, Any]]:
        """Compare each item's two answers (in both orders when swapping); one record per item."""
        items = list(smoke.head(items))  # SLLM_SMOKE: a few items
        orders = [(0, 1), (1, 0)] if swap else [(0, 1)]
        conversations = [messages(self.spec, item, order, self.guard) for item in items for order in orders]
        candidates = [
            {"A": item.answers[order[0]], "B": item.answers[order[1]]} for item in items for order in orders
        ]
        verdicts = iter(self.ask(conversations, candidates, progress))
        rows = []
        for k, item in enumerate(items):
            first = next(verdicts)
            second = next(verdicts) if swap else None
            rows.append(
                {**self._common(item, conversations[k * len(orders)]), **_combine(item, first, second)}
            )
        return rows

    def _common(self, item: Item, conversation: list[dict[str, str]]) -> dict[str, Any]:
        prompt = "\n".join(m["content"] for m in conversation)
        return {
            "question_id": item.question_id,
            "turn": item.turn,
            "judge": self.spec.name,
            "judge_model": self.lm.spec,
            "prompt_digest": hashlib.sha256(prompt.encode()).hexdigest()[:16],
            **({"category": item.category} if item.category else {}),
            **item.extra,
        }


def _winner(verdict: str | None, flipped: bool) -> str | None:
    """A/B/C (or arena-hard's five levels) in the asked order -> model_a / model_b / tie."""
    if verdict is None:
        return None
    if verdict in ("C", "A=B"):
        return "tie"
    a_wins = verdict.startswith("A")
    return ("model_b" if a_wins else "model_a") if flipped else ("model_a" if a_wins else "model_b")


def _combine(item: Item, first: Verdict, second: Verdict | None) -> dict[str, Any]:
    w1 = _winner(first.value, False)
    w2 = _winner(second.value, True) if second is not None else w1
    if w1 is None or w2 is None:
        winner, status, consistent = None, "unparsed", None
    elif w1 == w2:
        winner, status, consistent = w1, "ok", True
    else:
        winner, status, consistent = "tie", "ok", False  # MT-Bench: inconsistent verdicts are a tie
    row = {
        "model_a": item.models[0],
        "model_b": item.models[1],
        "winner": winner,
        "status": status,
        "verdict": first.value,
        "explanation": first.replies[-1],
        "attempts": len(first.replies),
    }
    # alpaca_eval's annotation fields, with model_a as the baseline: `sllm winrate` (plain and
    # length-controlled) reads these files directly.
    t = item.turn - 1
    row |= {
        "instruction": item.turns[t],
        "output_1": item.answers[0][t],
        "output_2": item.answers[1][t],
        "generator_1": item.models[0],
        "generator_2": item.models[1],
        "preference": {"model_a": 1.0, "model_b": 2.0, "tie": 1.5}.get(winner or ""),
    }
    if second is not None:
        row |= {
            "verdict_swapped": second.value,
            "explanation_swapped": second.replies[-1],
            "attempts_swapped": len(second.replies),
            "consistent": consistent,
        }
    return row


def summarize_pairwise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Wins, ties, unparsed and the position-consistency rate of a pairwise run."""
    parsed = [r for r in rows if r["status"] == "ok"]
    swapped = [r for r in parsed if r.get("consistent") is not None]
    return {
        "n": len(rows),
        "n_unparsed": len(rows) - len(parsed),
        "wins_a": sum(r["winner"] == "model_a" for r in parsed),
        "wins_b": sum(r["winner"] == "model_b" for r in parsed),
        "ties": sum(r["winner"] == "tie" for r in parsed),
        "position_consistency": (sum(r["consistent"] for r in swapped) / len(swapped)) if swapped else None,
    }


def summarize_single(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean score per model and the number of unparsed grades."""
    by_model: dict[str, list[float]] = {}
    for r in rows:
        if r["score"] is not None:
            by_model.setdefault(r["model"], []).append(r["score"])
    return {
        "n": len(rows),
        "n_unparsed": sum(r["score"] is None for r in rows),
        "mean_score": {m: sum(v) / len(v) for m, v in by_model.items()},
    }


def pairwise_rates(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Wins, losses, ties and FastChat's adjusted win rate (wins + ties/2) / battles per model;
    every model of the rows is listed, with None as its rate when none of its verdicts parsed."""
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        a, b = r["model_a"], r["model_b"]
        if r["winner"] is None:
            tally[a]["unparsed"] += 1
            tally[b]["unparsed"] += 1
            continue
        if r["winner"] == "tie":
            tally[a]["ties"] += 1
            tally[b]["ties"] += 1
        else:
            win, lose = (a, b) if r["winner"] == "model_a" else (b, a)
            tally[win]["wins"] += 1
            tally[lose]["losses"] += 1
    out = {}
    for model, t in tally.items():
        n = t["wins"] + t["losses"] + t["ties"]
        out[model] = {
            "wins": t["wins"],
            "losses": t["losses"],
            "ties": t["ties"],
            "win_rate_adjusted": (t["wins"] + t["ties"] / 2) / n if n else None,
            "unparsed": t["unparsed"],
        }
    return out
