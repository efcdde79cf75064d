"""Judgment files of several tools as one kind of row for `sllm judge bias`.

Each row is one judged pair: question_id, turn, model_a, model_b, winner (model_a | model_b |
tie | None when unparsed), judge_model, and where known the position-swap verdicts (verdict,
verdict_swapped: the letter shown-first "A" / shown-second "B" / tie "C" of each order, and
consistent) and both answers' lengths (len_a, len_b). Read:
- sllm pairwise judgments (`sllm judge pairwise|compare|mtbench`);
- alpaca_eval annotations (output_1 = baseline = model_a, preference 1..2, annotator = judge;
  no order information);
- Arena-Hard judgments (`games`: game 1 shows the baseline as A, game 2 as B; answers are read
  from the judge prompt);
- MT-Bench pairwise judgments (`g1_winner`, `g2_winner`, `judge: [model, prompt]`);
- single-answer grades (MT-Bench, arena-bench: question_id, model, score): every two models
  graded on the same question and turn by the same judge become a pair, the higher score wins.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from sllm.errors import SllmError
from sllm.ratings.alpaca_eval_reference import instruction_key
from sllm.ratings.battles import ARENA_HARD_VERDICTS, UNPAIRED, UNPARSED
from sllm.ratings.records import ReadReport, normalize_id, normalize_turn
from sllm.textio import read_json_records

UNNAMED = "unnamed judge"
_MT_BENCH_ANSWER = {
    side: re.compile(
        rf"\[The Start of Assistant {side}'s Answer\]\n?(.*?)\n?\[The End of Assistant {side}'s Answer\]",
        re.S,
    )
    for side in ("A", "B")
}
_ARENA_HARD_ANSWER = {
    side: re.compile(
        rf"<\|The Start of Assistant {side}'s Answer\|>\n?(.*?)\n?<\|The End of Assistant {side}'s Answer\|>",
        re.S,
    )
    for side in ("A", "B")
}
_SINGLE_ANSWER = re.compile(
    r"\[The Start of Assistant's Answer\]\n?(.*?)\n?\[The End of Assistant's Answer\]", re.S
)


def _judge_name(record: dict, default: str) -> str:
    judge = record.get("judge_model") or record.get("judge") or record.get("annotator")
    if isinstance(judge, list):  # MT-Bench: [model, prompt name]
        judge = "/".join(map(str, judge))
    return str(judge) if judge else default


def _quoted(patterns: dict[str, re.Pattern], prompt: Any) -> tuple[int, int] | None:
    if not isinstance(prompt, str):
        return None
    found = [patterns[s].search(prompt) for s in ("A", "B")]
    return (len(found[0].group(1)), len(found[1].group(1))) if found[0] and found[1] else None


def _sllm(record: dict, where: str, judge: str) -> dict[str, Any]:
    for field in ("question_id", "model_a", "model_b", "winner"):
        if field not in record:
            raise SllmError(f"{where}: missing field '{field}' (not a pairwise judgment)")
    return {**record, "judge_model": _judge_name(record, judge)}


def _alpaca_eval(record: dict, where: str, judge: str) -> dict[str, Any]:
    preference = record["preference"]
    if preference is not None and not isinstance(preference, (int, float)):
        raise SllmError(f"{where}: field 'preference' is not a number: {preference!r}")
    if preference == 0:
        preference = 1.5  # alpaca_eval's old encoding of a draw
    winner = None
    if preference is not None and 1 <= preference <= 2:
        winner = "model_b" if preference > 1.5 else "model_a" if preference < 1.5 else "tie"
    return {
        "question_id": instruction_key(str(record["instruction"])),
        "model_a": str(record["generator_1"]),
        "model_b": str(record["generator_2"]),
        "winner": winner,
        "judge_model": _judge_name(record, judge),
        "len_a": len(record["output_1"] or ""),
        "len_b": len(record["output_2"] or ""),
    }


def _letter(verdict: str) -> str:
    """The side a verdict favours, as shown: A, B, or C for a tie."""
    winner = ARENA_HARD_VERDICTS[verdict][0]
    return {"model_a": "A", "model_b": "B"}.get(winner, "C")


def _arena_hard(record: dict, where: str, judge: str, baseline: str | None) -> dict[str, Any]:
    games = record["games"]
    if not isinstance(games, list) or len(games) != 2 or "model" not in record:
        raise SllmError(f"{where}: an Arena-Hard judgment needs 'model' and the two 'games'")
    verdicts = [g.get("score") if isinstance(g, dict) else None for g in games]
    for v in verdicts:
        if v is not None and v not in ARENA_HARD_VERDICTS:
            raise SllmError(f"{where}: unknown Arena-Hard verdict {v!r}")
    base = record.get("baseline") or baseline or "baseline"
    row: dict[str, Any] = {
        "question_id": record.get("uid", record.get("question_id")),
        "model_a": str(base),
        "model_b": str(record["model"]),
        "judge_model": _judge_name(record, judge),
        "winner": None,
    }
    lengths = _quoted(_ARENA_HARD_ANSWER, games[0].get("user_prompt") if isinstance(games[0], dict) else None)
    if lengths:
        row["len_a"], row["len_b"] = lengths
    if None in verdicts:
        return row
    first, second = (_letter(v) for v in verdicts)  # type: ignore[arg-type]
    # Game 2 shows the model first: its "A" is model_b.
    second_as_model = {"A": "B", "B": "A", "C": "C"}[second]
    consistent = first == second_as_model
    winner = {"A": "model_a", "B": "model_b", "C": "tie"}[first] if consistent else "tie"
    return {**row, "winner": winner, "verdict": first, "verdict_swapped": second, "consistent": consistent}


def _mt_bench_pair(record: dict, where: str, judge: str) -> dict[str, Any]:
    first, second = record.get("g1_winner"), record.get("g2_winner")
    row: dict[str, Any] = {
        "question_id": record.get("question_id"),
        "turn": record.get("turn"),
        "model_a": str(record.get("model_1")),
        "model_b": str(record.get("model_2")),
        "judge_model": _judge_name(record, judge),
        "winner": None,
    }
    lengths = _quoted(_MT_BENCH_ANSWER, record.get("g1_user_prompt"))
    if lengths:
        row["len_a"], row["len_b"] = lengths
    if first in (None, "error") or second in (None, "error"):
        return row
    letter = {"model_1": "A", "model_2": "B", "tie": "C"}
    swapped_letter = {"model_1": "B", "model_2": "A", "tie": "C"}  # game 2 shows model_2 first
    consistent = first == second
    winner = {"model_1": "model_a", "model_2": "model_b", "tie": "tie"}[first] if consistent else "tie"
    return {**row, "winner": winner, "verdict": letter[first], "verdict_swapped": swapped_letter[second],
            "consistent": consistent}  # fmt: skip


def _pairs_from_grades(
    grades: dict[tuple[str, str, int], dict[str, tuple[float, int | None]]], report: ReadReport
) -> list[dict]:
    rows = []
    for (judge, question, turn), scores in grades.items():
        models = sorted(scores)
        if len(models) < 2:
            report.drop(UNPAIRED)
            continue
        report.used += len(models)
        for i, a in enumerate(models):
            for b in models[i + 1 :]:
                (sa, la), (sb, lb) = scores[a], scores[b]
                winner = "model_a" if sa > sb else "model_b" if sb > sa else "tie"
                pair = {"question_id": question, "turn": turn, "model_a": a, "model_b": b, "winner": winner}
                rows.append(pair | {"judge_model": judge, "len_a": la, "len_b": lb})
    return rows


def read_judgments(
    paths: list[Path], judge_name: str = UNNAMED, baseline: str | None = None
) -> tuple[list[dict[str, Any]], ReadReport]:
    """Every file's rows as judged pairs, and what was used and dropped (unparsed verdicts stay
    in the rows, counted per judge; unpaired grades are dropped)."""
    report = ReadReport("rows", files=[str(p) for p in paths])
    rows: list[dict[str, Any]] = []
    grades: dict[tuple[str, str, int], dict[str, tuple[float, int | None]]] = defaultdict(dict)
    for path in paths:
        for where, record in read_json_records(path):
            report.read += 1
            if "games" in record:
                row = _arena_hard(record, where, judge_name, baseline)
            elif "g1_winner" in record:
                row = _mt_bench_pair(record, where, judge_name)
            elif "preference" in record and "generator_2" in record:
                row = _alpaca_eval(record, where, judge_name)
            elif "winner" in record or "model_a" in record:
                row = _sllm(record, where, judge_name)
            elif "score" in record and "model" in record and "question_id" in record:
                score = record["score"]
                if score is None or (isinstance(score, (int, float)) and score < 0):
                    report.drop(UNPARSED)
                    continue
                if not isinstance(score, (int, float)):
                    raise SllmError(f"{where}: field 'score' is not a number: {score!r}")
                answer = _SINGLE_ANSWER.search(record.get("user_prompt") or "")
                key = (_judge_name(record, judge_name), normalize_id(record["question_id"]),
                       normalize_turn(record.get("turn"), where))  # fmt: skip
                grades[key][str(record["model"])] = (float(score), len(answer.group(1)) if answer else None)
                continue
            else:
                raise SllmError(
                    f"{where}: not a judgment this reads (needs model_a/model_b/winner, alpaca_eval's "
                    "preference, Arena-Hard games, MT-Bench g1_winner, or question_id/model/score)"
                )
            if row["winner"] is None:
                report.drop(UNPARSED)
            else:
                report.used += 1
            rows.append(row)
    rows += _pairs_from_grades(grades, report)
    return rows, report
