"""Self-preference: judges rate their own outputs (and their family's) higher (Zheng et al.,
2023; Panickssery et al., 2024). We warn when the judge and a candidate are the same model or
the same family, guessed from the names; with judgments from a neutral and a same-family judge
on the same pairs we measure the gap. Position and length bias are measured per judge."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

FAMILIES = (
    "gpt-4", "gpt-3.5", "o1", "o3", "claude", "gemini", "gemma", "llama", "mixtral", "mistral", "qwen",
    "deepseek", "phi", "smollm", "vicuna", "alpaca", "falcon", "yi", "solar", "exaone", "command-r",
)  # fmt: skip


def family(name: str) -> str | None:
    """The model family a spec or model name points to, if recognisable."""
    text = name.lower()
    if text.strip() == "default":
        return "smollm"  # sllm's default model is SmolLM2
    for candidate in FAMILIES:
        if re.search(rf"(^|[^a-z0-9]){re.escape(candidate)}", text):
            return candidate
    return None


def self_preference_risk(judge: str, candidates: list[str]) -> list[str]:
    """Candidates that are the judge itself or of the judge's family."""
    own = family(judge)
    return [c for c in candidates if c == judge or (own is not None and family(c) == own)]


def _key(row: dict[str, Any]) -> tuple[str, int, str, str]:
    return (str(row["question_id"]), int(row.get("turn", 1)), str(row["model_a"]), str(row["model_b"]))


def _points(row: dict[str, Any], model: str) -> float:
    """1 if `model` won the judged pair, 0 if it lost, 1/2 for a tie."""
    if row["winner"] == "tie":
        return 0.5
    return 1.0 if row[row["winner"]] == model else 0.0


def judge_biases(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Position and length bias of one judge's pairwise verdicts.

    position_consistency: share of swapped pairs with the same winner in both orders;
    first_position_share: among inconsistent pairs, how often the answer shown first won both
    times (0.5 = no preference for a position); longer_answer_share: among decisive verdicts,
    how often the longer answer won (0.5 = no length preference).
    """
    parsed = [r for r in rows if r.get("winner") is not None]
    swapped = [r for r in parsed if r.get("consistent") is not None]
    flipped = [r for r in swapped if not r["consistent"]]
    letters = [(str(r["verdict"])[:1], str(r["verdict_swapped"])[:1]) for r in flipped]
    positional = [v for v in letters if v in (("A", "A"), ("B", "B"))]
    decisive = [r for r in parsed if r["winner"] != "tie" and "output_1" in r]
    by_length = [r for r in decisive if len(r["output_1"]) != len(r["output_2"])]
    longer = [r for r in by_length if (len(r["output_1"]) > len(r["output_2"])) == (r["winner"] == "model_a")]
    return {
        "n": len(rows),
        "n_unparsed": len(rows) - len(parsed),
        "position_consistency": (len(swapped) - len(flipped)) / len(swapped) if swapped else None,
        "first_position_share": (
            sum(v == ("A", "A") for v in positional) / len(positional) if positional else None
        ),
        "longer_answer_share": len(longer) / len(by_length) if by_length else None,
    }


def self_preference_gaps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For every judge whose family matches a candidate's: the candidate's score (wins + ties/2)
    under that judge minus under the judges of other families, on the pairs all of them judged,
    with the standard error of the paired difference."""
    by_judge: dict[str, dict[tuple[str, int, str, str], dict[str, Any]]] = {}
    for row in rows:
        if row.get("winner") is not None:
            by_judge.setdefault(str(row["judge_model"]), {})[_key(row)] = row
    gaps = []
    models = sorted({m for judged in by_judge.values() for k in judged for m in k[2:]})
    for judge, judged in by_judge.items():
        own = family(judge)
        neutral = [j for j in by_judge if family(j) != own or own is None]
        neutral = [j for j in neutral if j != judge]
        for model in models:
            if own is None or family(model) != own or not neutral:
                continue
            common = [k for k in judged if model in k[2:] and all(k in by_judge[j] for j in neutral)]
            if not common:
                continue
            diffs = np.array([
                _points(judged[k], model) - np.mean([_points(by_judge[j][k], model) for j in neutral])
                for k in common
            ])  # fmt: skip
            gaps.append({
                "judge": judge,
                "model": model,
                "neutral_judges": neutral,
                "n_pairs": len(common),
                "score_same_family": float(np.mean([_points(judged[k], model) for k in common])),
                "score_neutral": float(np.mean([_points(judged[k], model) for k in common]) - diffs.mean()),
                "gap": float(diffs.mean()),
                "standard_error": float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else None,
            })  # fmt: skip
    return gaps
