"""Win rates against a baseline, as alpaca_eval reports them.

Preferences are alpaca_eval's: 1 = the baseline (output_1) is preferred, 2 = the model (output_2)
is, values in between from weighted judges, 1.5 (or 0, the old encoding) a draw; anything else
(null: an unparsed verdict) is dropped and counted. The win rate is the mean of preference - 1,
x100, with the standard error of that mean (ddof 1); the discrete win rate rounds each
preference first (draws count half).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sllm.errors import SllmError
from sllm.ratings.records import ReadReport
from sllm.textio import read_json_records


@dataclass
class Annotation:
    """One judged pair: the instruction, baseline and model outputs, and the preference."""

    instruction: str
    output_1: str
    output_2: str
    generator_1: str
    generator_2: str
    preference: float | None


PLACEHOLDER_NAMES = {
    "",
    "example",
    "model",
    "unknown",
    "none",
    "null",
}  # alpaca_eval's example outputs say "example"


def _preference(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SllmError(f"{where}: field 'preference' is not a number: {value!r}") from None
    if math.isnan(number):
        return None
    return 1.5 if number == 0 else number


def folder_model_name(path: Path, annotator: str | None) -> str | None:
    """The model an annotation file belongs to by alpaca_eval's layout:
    results/<model>/<annotator>/annotations.json, or <model>/annotations.json."""
    folder = path.resolve().parent
    if (annotator and folder.name == annotator) or folder.name.startswith(("weighted_", "alpaca_eval")):
        folder = folder.parent
    return None if folder.name in ("", "results", ".") else folder.name


def load_annotations(path: str | Path, report: ReadReport | None = None) -> list[Annotation]:
    """alpaca_eval annotations.json (or .json.gz, or sllm's JSONL in the same fields); errors name
    file and item. A placeholder generator_2 ("example") takes the model's folder name. Rows
    whose preference is unparsed or out of range are kept (counted by head_to_head) and reported."""
    path = Path(path)
    report = report if report is not None else ReadReport("annotations", files=[str(path)])
    records = read_json_records(path)
    rows = []
    for where, record in records:
        for field in ("instruction", "output_1", "output_2", "generator_1", "generator_2", "preference"):
            if field not in record:
                raise SllmError(f"{where}: missing field '{field}'")
        rows.append(
            Annotation(
                str(record["instruction"]),
                str(record["output_1"] or ""),
                str(record["output_2"] or ""),
                str(record["generator_1"]),
                str(record["generator_2"] if record["generator_2"] is not None else ""),
                _preference(record["preference"], where),
            )
        )
    if not rows:
        raise SllmError(f"{path}: no annotations")
    if any(r.generator_2.strip().lower() in PLACEHOLDER_NAMES for r in rows):
        name = folder_model_name(path, records[0][1].get("annotator"))
        if name is None:
            raise SllmError(
                f"{path}: generator_2 is a placeholder ({rows[0].generator_2!r}); the folder names no model"
            )
        rows = [
            replace(r, generator_2=name) if r.generator_2.strip().lower() in PLACEHOLDER_NAMES else r
            for r in rows
        ]
    report.read += len(rows)
    unparsed = sum(r.preference is None for r in rows)
    outside = sum(r.preference is not None and not 1.0 <= r.preference <= 2.0 for r in rows)
    if unparsed:
        report.drop("unparsed preferences", unparsed)
    if outside:
        report.drop("preferences outside [1, 2]", outside)
    report.used += len(rows) - unparsed - outside
    report.used_by.update(
        r.generator_2 for r in rows if r.preference is not None and 1.0 <= r.preference <= 2.0
    )
    return rows


def head_to_head(preferences: Sequence[float | None]) -> dict[str, float]:
    """win_rate, standard_error, n_wins, n_wins_base, n_draws, n_total, discrete_win_rate, n_unparsed."""
    mapped = [1.5 if p == 0 else p for p in preferences]  # 0: alpaca_eval's old encoding of a draw
    valid = np.array([p for p in mapped if p is not None and 1.0 <= p <= 2.0], dtype=float)
    unparsed = len(preferences) - len(valid)
    if len(valid) == 0:
        raise SllmError("no valid preferences to compute a win rate from")
    shifted = valid - 1.0
    discrete = np.round(valid) - 1.0
    discrete[valid == 1.5] = 0.5
    return {
        "win_rate": float(shifted.mean() * 100),
        "standard_error": float(shifted.std(ddof=1) / math.sqrt(len(shifted)) * 100)
        if len(shifted) > 1
        else math.nan,
        "n_wins": int((shifted > 0.5).sum()),
        "n_wins_base": int((shifted < 0.5).sum()),
        "n_draws": int((valid == 1.5).sum()),
        "n_total": int(len(valid)),
        "discrete_win_rate": float(discrete.mean() * 100),
        "n_unparsed": int(unparsed),
    }
