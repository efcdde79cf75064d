"""`sllm judge bias`: position, length and self-preference bias measured from judgment files."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.judge import judge_app
from sllm.cli.options import JsonOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm judge bias -i judgments.jsonl
  sllm judge bias -i by_gpt4o.jsonl -i by_claude.jsonl --json

Reads pairwise judgment files written by `sllm judge pairwise|compare|mtbench` (one or several
judges; each row names its judge_model). Per judge: position consistency, how often the answer
shown first wins an inconsistent pair, and how often the longer answer wins. When a judge shares
a family with a candidate and another judge does not, the candidate's score under both on the
same pairs and the gap (self-preference) with its standard error.
"""


@judge_app.command("bias", epilog=EXAMPLES)
def judge_bias(
    inputs: list[Path] = typer.Option(..., "--input", "-i", help="Pairwise judgment JSONL (repeat)."),
    as_json: bool = JsonOption,
) -> None:
    """Measure a judge's position, length and self-preference biases from its judgments."""
    from sllm.errors import SllmError
    from sllm.judging.bias import judge_biases, self_preference_gaps
    from sllm.metaeval.records import read_records

    rows = []
    for path in inputs:
        for where, row in read_records(path):
            for field in ("question_id", "model_a", "model_b", "winner", "judge_model"):
                if field not in row:
                    raise SllmError(f"{where}: missing field '{field}' (not a pairwise judgment)")
            rows.append(row)
    judges = sorted({str(r["judge_model"]) for r in rows})
    report = {
        "judges": {j: judge_biases([r for r in rows if r["judge_model"] == j]) for j in judges},
        "self_preference": self_preference_gaps(rows),
    }
    if as_json:
        print(json.dumps(report))
        return
    table = Table(title="judge biases (0.5 = none for the shares)")
    for column in ("judge", "judged", "unparsed", "position consistency", "first shown wins", "longer wins"):
        table.add_column(column, justify="left" if column == "judge" else "right")
    for judge, b in report["judges"].items():
        values = (b["position_consistency"], b["first_position_share"], b["longer_answer_share"])
        cells = ("" if v is None else f"{v:.2f}" for v in values)
        table.add_row(judge, str(b["n"]), str(b["n_unparsed"]), *cells)
    Console().print(table)
    if report["self_preference"]:
        gaps = Table(title="self-preference: same-family judge vs the others, same pairs")
        for column in ("judge", "model", "pairs", "score same family", "score neutral", "gap", "SE"):
            gaps.add_column(column, justify="left" if column in ("judge", "model") else "right")
        for g in report["self_preference"]:
            se = "" if g["standard_error"] is None else f"{g['standard_error']:.3f}"
            gaps.add_row(g["judge"], g["model"], str(g["n_pairs"]), f"{g['score_same_family']:.3f}",
                         f"{g['score_neutral']:.3f}", f"{g['gap']:+.3f}", se)  # fmt: skip
        Console().print(gaps)
