"""Pairwise battles from Chatbot Arena logs or sllm judgment files, as one typed list.

Chatbot Arena's clean_battle JSON (a list, or JSONL) has `model_a`, `model_b` and `winner` in
{model_a, model_b, tie, tie (bothbad)}. sllm's pairwise judgment JSONL has the same three fields
(its `winner` after position swap). Single-answer grades (MT-Bench / arena-bench judgment files:
`question_id`, `model`, `score`) become battles too: on every question graded for two models,
the higher score wins and equal scores tie; a grade that is missing (the judge's reply did not
parse) leaves that question out for that model and is counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sllm.errors import SllmError

Winner = Literal["model_a", "model_b", "tie", "tie (bothbad)"]
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")


@dataclass(frozen=True)
class Battle:
    """One comparison: which of two models won (or a tie)."""

    model_a: str
    model_b: str
    winner: Winner

    @property
    def score_a(self) -> float:
        """1 for a win of model_a, 0 for a loss, 0.5 for a tie."""
        return {"model_a": 1.0, "model_b": 0.0}.get(self.winner, 0.5)


def _records(path: Path) -> list[tuple[int, dict]]:
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            return list(enumerate(json.loads(text), start=1))
        except json.JSONDecodeError as exc:
            raise SllmError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise SllmError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
    return rows


def load_battles(path: str | Path, drop_ties: bool = False) -> list[Battle]:
    """Read battles, or single-answer grades turned into battles (JSON list or JSONL); errors name
    the file, the line or item and the field."""
    return load_battle_files([path], drop_ties)[0]


def load_battle_files(paths: list[str | Path], drop_ties: bool = False) -> tuple[list[Battle], int]:
    """Battles from several files, and how many grades or verdicts were missing (unparsed replies)."""
    battles: list[Battle] = []
    grades: dict[str, dict[str, float]] = {}
    missing = 0
    for path in map(Path, paths):
        if not path.is_file():
            raise SllmError(f"battle file not found: {path}")
        for number, record in _records(path):
            where = f"{path}:{number}"
            if not isinstance(record, dict):
                raise SllmError(f"{where}: a battle must be a JSON object")
            if "winner" in record and record["winner"] is None:
                missing += 1  # an sllm judgment whose reply never parsed: counted, not a battle
            elif "winner" in record or "score" not in record:
                battles.append(_battle(record, where))
            elif _grade(record, where, grades) is None:
                missing += 1
    battles += battles_from_grades(grades)
    if drop_ties:
        battles = [b for b in battles if not b.winner.startswith("tie")]
    if not battles:
        unparsed = f" ({missing} grades or verdicts were unparsed)" if missing else ""
        raise SllmError(f"{', '.join(map(str, paths))}: no battles{unparsed}")
    return battles, missing


def _battle(record: dict, where: str) -> Battle:
    for field in ("model_a", "model_b", "winner"):
        if field not in record:
            raise SllmError(f"{where}: missing field '{field}'")
    if record["winner"] not in WINNERS:
        raise SllmError(
            f"{where}: field 'winner' must be one of {', '.join(WINNERS)}, got {record['winner']!r}"
        )
    if record["model_a"] == record["model_b"]:
        raise SllmError(f"{where}: a model cannot battle itself ({record['model_a']})")
    return Battle(str(record["model_a"]), str(record["model_b"]), record["winner"])


def _grade(record: dict, where: str, grades: dict[str, dict[str, float]]) -> float | None:
    for field in ("question_id", "model"):
        if field not in record:
            raise SllmError(f"{where}: missing field '{field}'")
    score = record["score"]
    if score is None or (isinstance(score, (int, float)) and score < 0):  # MT-Bench writes -1 when unparsed
        return None
    key = f"{record['question_id']}#{record.get('turn', 1)}"
    grades.setdefault(key, {})[str(record["model"])] = float(score)
    return float(score)


def battles_from_grades(grades: dict[str, dict[str, float]]) -> list[Battle]:
    """One battle per question (and turn) for every pair of models graded on it."""
    battles = []
    for scores in grades.values():
        models = sorted(scores)
        for i, a in enumerate(models):
            for b in models[i + 1 :]:
                winner = "model_a" if scores[a] > scores[b] else "model_b" if scores[b] > scores[a] else "tie"
                battles.append(Battle(a, b, winner))  # type: ignore[arg-type]
    return battles
