"""Pairwise battles from the judgment files people have, as one typed list with an account of
every row used or dropped.

Read (JSON list or JSONL, optionally gzipped; formats may be mixed across files):
- Chatbot Arena clean_battle logs and sllm pairwise judgments: `model_a`, `model_b`, `winner` in
  {model_a, model_b, tie, tie (bothbad)}; sllm writes `winner: null` for an unparsed verdict.
- MT-Bench pairwise judgments (FastChat): `model_1`, `model_2`, `g1_winner`, `g2_winner`; the
  same winner in both orders wins, different winners tie, `error` is unparsed.
- Arena-Hard judgments: `model`, `games` (game 1 shows the baseline as A, game 2 as B), verdicts
  A>>B ... B>>A; a strong verdict counts 3 battles, as arena-hard-auto's show_result.
- Single-answer grades (MT-Bench / arena-bench): `question_id`, `model`, `score` (+ `turn`): on
  every question and turn graded for two models the higher score wins, equal scores tie.
Question ids and turns are normalised (1, 1.0 and "1" are one id; a missing turn is turn 1).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sllm.errors import SllmError
from sllm.ratings.records import ReadReport, normalize_id, normalize_turn
from sllm.ratings.style import style_from_metadata, style_of
from sllm.textio import read_json_records

Winner = Literal["model_a", "model_b", "tie", "tie (bothbad)"]
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
Style = tuple[float, float, float, float]

ARENA_HARD_VERDICTS = {  # game-1 verdict (baseline shown as A) -> (winner, battles counted)
    "A>>B": ("model_a", 3), "A>B": ("model_a", 1), "A=B": ("tie", 1), "B=A": ("tie", 1),
    "B>A": ("model_b", 1), "B>>A": ("model_b", 3), "A<B": ("model_b", 1), "A<<B": ("model_b", 3),
    "B<A": ("model_a", 1), "B<<A": ("model_a", 3),
}  # fmt: skip
_ARENA_HARD_ANSWER = {
    side: re.compile(
        rf"<\|The Start of Assistant {side}'s Answer\|>\n?(.*?)\n?<\|The End of Assistant {side}'s Answer\|>",
        re.DOTALL,
    )
    for side in ("A", "B")
}
_FLIP = {"model_a": "model_b", "model_b": "model_a", "tie": "tie"}

UNPARSED = "unparsed verdicts or grades"
UNPAIRED = "grades with no other model's grade on the same question and turn"
DUPLICATE = "repeated grades of one model on the same question and turn (last kept)"
SELF = "battles of a model against itself"
NO_BASELINE = "Arena-Hard judgments without a baseline name (pass --baseline)"


@dataclass(frozen=True)
class Battle:
    """One comparison: which of two models won (or a tie), with each answer's style if known."""

    model_a: str
    model_b: str
    winner: Winner
    style_a: Style | None = None
    style_b: Style | None = None

    @property
    def score_a(self) -> float:
        """1 for a win of model_a, 0 for a loss, 0.5 for a tie."""
        return {"model_a": 1.0, "model_b": 0.0}.get(self.winner, 0.5)


@dataclass
class _Grade:
    score: float
    style: Style | None


def load_battles(path: str | Path, drop_ties: bool = False, allow_partial: bool = False) -> list[Battle]:
    """Read battles (any format above) from one file; errors name the file, line and field."""
    return load_battle_files([path], drop_ties, allow_partial)[0]


def load_battle_files(
    paths: list[str | Path],
    drop_ties: bool = False,
    allow_partial: bool = False,
    baseline: str | None = None,
) -> tuple[list[Battle], ReadReport]:
    """Battles from several files and what was used and dropped; fails when more than 5% of the
    rows were dropped unless `allow_partial`. `baseline` names the model Arena-Hard judgments
    compare against when the file does not say."""
    report = ReadReport("rows", files=[str(p) for p in paths])
    battles: list[Battle] = []
    grades: dict[tuple[str, int], dict[str, _Grade]] = {}
    graded_rows: dict[tuple[str, int], Counter[str]] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise SllmError(f"battle file not found: {path}")
        for where, record in read_json_records(path):
            report.read += 1
            if "games" in record:
                battles += _arena_hard(record, where, baseline, report)
            elif "g1_winner" in record:
                battles += _mt_bench_pair(record, where, report)
            elif "winner" in record or "score" not in record:
                battles += _battle(record, where, report)
            else:
                _grade(record, where, grades, graded_rows, report)
    battles += _battles_from_grades(grades, graded_rows, report)
    if drop_ties:
        battles = [b for b in battles if not b.winner.startswith("tie")]
    if not battles:
        unparsed = sum(n for reason, n in report.dropped.items() if reason.startswith(UNPARSED))
        because = f" ({unparsed} grades or verdicts were unparsed)" if unparsed else ""
        raise SllmError(f"{', '.join(map(str, paths))}: no battles{because}; {report.summary()}")
    report.check(allow_partial)
    return battles, report


def _battle(record: dict, where: str, report: ReadReport) -> list[Battle]:
    for field in ("model_a", "model_b", "winner"):
        if field not in record:
            raise SllmError(f"{where}: missing field '{field}'")
    if record["winner"] is None:  # an sllm judgment whose reply never parsed
        report.drop(UNPARSED)
        return []
    if record["winner"] not in WINNERS:
        raise SllmError(
            f"{where}: field 'winner' must be one of {', '.join(WINNERS)}, got {record['winner']!r}"
        )
    if record["model_a"] == record["model_b"]:
        report.drop(SELF)
        return []
    style_a = style_b = None
    if isinstance(record.get("conv_metadata"), dict):
        style_a = style_from_metadata(record["conv_metadata"], "a")
        style_b = style_from_metadata(record["conv_metadata"], "b")
    elif isinstance(record.get("output_1"), str) and isinstance(record.get("output_2"), str):
        style_a, style_b = style_of(record["output_1"]), style_of(record["output_2"])  # sllm: 1 = model_a
    report.used += 1
    return [Battle(str(record["model_a"]), str(record["model_b"]), record["winner"], style_a, style_b)]


def _mt_bench_pair(record: dict, where: str, report: ReadReport) -> list[Battle]:
    for field in ("model_1", "model_2", "g2_winner"):
        if field not in record:
            raise SllmError(f"{where}: missing field '{field}'")
    first, second = record["g1_winner"], record["g2_winner"]
    if "error" in (first, second) or first is None or second is None:
        report.drop(UNPARSED)
        return []
    for value in (first, second):
        if value not in ("model_1", "model_2", "tie"):
            raise SllmError(
                f"{where}: g1_winner / g2_winner must be model_1, model_2, tie or error, got {value!r}"
            )
    winner = {"model_1": "model_a", "model_2": "model_b", "tie": "tie"}[first] if first == second else "tie"
    report.used += 1
    return [Battle(str(record["model_1"]), str(record["model_2"]), winner)]  # type: ignore[arg-type]


def _answers_in_prompt(prompt: Any) -> tuple[str, str] | None:
    """Assistant A's and B's answers quoted in an Arena-Hard judge prompt."""
    if not isinstance(prompt, str):
        return None
    found = [_ARENA_HARD_ANSWER[side].search(prompt) for side in ("A", "B")]
    return (found[0].group(1), found[1].group(1)) if found[0] and found[1] else None


def _arena_hard(record: dict, where: str, baseline: str | None, report: ReadReport) -> list[Battle]:
    if "model" not in record:
        raise SllmError(f"{where}: missing field 'model'")
    games = record["games"]
    if not isinstance(games, list) or len(games) != 2:
        raise SllmError(f"{where}: field 'games' must hold the two games (both answer orders)")
    base = record.get("baseline") or baseline
    if not base:
        report.drop(NO_BASELINE)
        return []
    model = str(record["model"])
    out: list[Battle] = []
    for number, game in enumerate(games, start=1):
        verdict = game.get("score") if isinstance(game, dict) else None
        if verdict is None:
            report.drop(f"{UNPARSED} (one Arena-Hard game each)")
            continue
        if verdict not in ARENA_HARD_VERDICTS:
            raise SllmError(f"{where}: game {number}: unknown verdict {verdict!r}")
        winner, count = ARENA_HARD_VERDICTS[verdict]
        answers = _answers_in_prompt(game.get("user_prompt"))
        style_base = style_model = None
        if answers:
            shown_first, shown_second = map(style_of, answers)
            style_base, style_model = (
                (shown_first, shown_second) if number == 1 else (shown_second, shown_first)
            )
        if number == 2:  # the model is shown as A in game 2: map the verdict back to (baseline, model)
            winner = _FLIP[winner]
        out += [Battle(base, model, winner, style_base, style_model)] * count  # type: ignore[arg-type]
    if out:
        report.used += 1
    return out


def _grade(
    record: dict,
    where: str,
    grades: dict[tuple[str, int], dict[str, _Grade]],
    graded_rows: dict[tuple[str, int], Counter[str]],
    report: ReadReport,
) -> None:
    for field in ("question_id", "model"):
        if field not in record:
            raise SllmError(f"{where}: missing field '{field}'")
    key = (normalize_id(record["question_id"]), normalize_turn(record.get("turn"), where))
    model = str(record["model"])
    score = record["score"]
    if score is not None and not isinstance(score, (int, float)):
        raise SllmError(f"{where}: field 'score' is not a number: {score!r}")
    if score is None or score < 0:  # MT-Bench writes -1 when the judge's reply did not parse
        report.drop(UNPARSED)
        return
    graded_rows.setdefault(key, Counter())[model] += 1
    answer = _answer_in_grade_prompt(record.get("user_prompt"))
    grades.setdefault(key, {})[model] = _Grade(float(score), style_of(answer) if answer is not None else None)


def _answer_in_grade_prompt(prompt: Any) -> str | None:
    """The graded answer quoted in an MT-Bench / arena-bench single-grade judge prompt."""
    if not isinstance(prompt, str):
        return None
    found = re.search(
        r"\[The Start of Assistant's Answer\]\n?(.*?)\n?\[The End of Assistant's Answer\]", prompt, re.DOTALL
    )
    return found.group(1) if found else None


def _battles_from_grades(
    grades: dict[tuple[str, int], dict[str, _Grade]],
    graded_rows: dict[tuple[str, int], Counter[str]],
    report: ReadReport,
) -> list[Battle]:
    """One battle per question and turn for every pair of models graded on it."""
    battles = []
    for key, scores in grades.items():
        repeats = sum(n - 1 for n in graded_rows[key].values())
        if repeats:
            report.drop(DUPLICATE, repeats)
        models = sorted(scores)
        if len(models) < 2:
            report.drop(UNPAIRED)
            continue
        report.used += len(models)
        report.used_by.update(models)
        for i, a in enumerate(models):
            for b in models[i + 1 :]:
                sa, sb = scores[a].score, scores[b].score
                winner = "model_a" if sa > sb else "model_b" if sb > sa else "tie"
                battles.append(Battle(a, b, winner, scores[a].style, scores[b].style))  # type: ignore[arg-type]
    return battles
