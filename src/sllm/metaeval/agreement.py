"""Agreement of pairwise verdicts, as MT-Bench's compute_agreement: votes are matched on
(question, model pair, turn) with the pair put in a fixed order (a verdict flips with it); every
(judge vote, reference vote) pair counts once, so several human votes on one pair all count;
"tie" and "tie (bothbad)" agree with each other. Without ties drops a pair when either vote is a
tie. Cohen's kappa (scikit-learn) is over the same vote pairs, with ties as a third category.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sllm.errors import SllmError
from sllm.metaeval.records import read_records
from sllm.ratings.records import normalize_id, normalize_turn

Key = tuple[str, str, str, int]


@dataclass(frozen=True)
class Agreement:
    """Agreement with and without ties, Cohen's kappa, and the vote pairs behind them."""

    agreement: float
    agreement_without_ties: float
    cohen_kappa: float
    n: int
    n_without_ties: int

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable summary (DESIGN.md)."""
        return asdict(self)


def _flip(vote: str) -> str:
    return {"model_a": "model_b", "model_b": "model_a"}.get(vote, vote)


def _category(vote: str) -> str:
    return "tie" if "tie" in vote else vote


def judge_name(judge: Any) -> str:
    """MT-Bench writes the judge as ["gpt-4", "pair-v2"] or "expert_12"; one string either way."""
    return "-".join(map(str, judge)) if isinstance(judge, list) else str(judge or "")


def load_votes(path: str | Path, judge: str | None = None) -> dict[Key, list[str]]:
    """Votes keyed by (question, first model, second model, turn), optionally of one judge."""
    votes: dict[Key, list[str]] = defaultdict(list)
    for where, record in read_records(path):
        for field in ("question_id", "model_a", "model_b", "winner"):
            if field not in record:
                raise SllmError(f"{where}: missing field '{field}'")
        if judge is not None and not judge_name(record.get("judge")).startswith(judge):
            continue
        if record["winner"] is None:  # an unparsed verdict is not a vote
            continue
        a, b, winner = str(record["model_a"]), str(record["model_b"]), str(record["winner"])
        if _category(winner) not in ("model_a", "model_b", "tie"):
            raise SllmError(f"{where}: field 'winner' must be model_a, model_b or a tie, got {winner!r}")
        # 81, 81.0 and "81" are one question; a missing turn is turn 1 (sllm.ratings.records).
        turn, question = normalize_turn(record.get("turn"), where), normalize_id(record["question_id"])
        key = (question, a, b, turn) if a < b else (question, b, a, turn)
        votes[key].append(winner if a < b else _flip(winner))
    return votes


def compute_agreement(
    judge: dict[Key, list[str]], reference: dict[Key, list[str]], ignore_ties: bool = False
) -> Agreement:
    """Agreement between a judge's votes and reference votes on the pairs both voted on."""
    from sklearn.metrics import cohen_kappa_score

    pairs = [
        (_category(j), _category(r))
        for key in judge.keys() & reference.keys()
        for j in judge[key]
        for r in reference[key]
    ]
    if ignore_ties:
        pairs = [(j, r) for j, r in pairs if j != "tie" and r != "tie"]
    if not pairs:
        raise SllmError("the two files share no (question, model pair, turn) to compare")
    strict = [(j, r) for j, r in pairs if j != "tie" and r != "tie"]
    agree = sum(j == r for j, r in pairs) / len(pairs)
    agree_strict = sum(j == r for j, r in strict) / len(strict) if strict else float("nan")
    labels = ["model_a", "model_b", "tie"]
    kappa = float(cohen_kappa_score([j for j, _ in pairs], [r for _, r in pairs], labels=labels))
    return Agreement(agree, agree_strict, kappa, len(pairs), len(strict))


def agreement_of_files(  # noqa: PLR0913 - the vote filters
    judgments: Path,
    reference: Path,
    ignore_ties: bool = False,
    judge: str | None = None,
    reference_judge: str | None = None,
    turn: int | None = None,
) -> Agreement:
    """`sllm agreement`: the votes of `judgments` against those of `reference`, each optionally
    of one judge (name prefix) and of one turn."""
    mine, theirs = load_votes(judgments, judge), load_votes(reference, reference_judge)
    if turn is not None:
        mine = {k: v for k, v in mine.items() if k[3] == turn}
        theirs = {k: v for k, v in theirs.items() if k[3] == turn}
    return compute_agreement(mine, theirs, ignore_ties)
