"""`sllm judge bias`: position, length and self-preference bias measured from judgment files."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.judge import judge_app
from sllm.cli.options import JsonOption
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm judge bias -i judgments.jsonl
  sllm judge bias -i by_gpt4o.jsonl -i by_claude.jsonl --json
  sllm judge bias -i results/alpaca-7b/weighted_alpaca_eval_gpt4_turbo/annotations.json
  sllm judge bias -i model_judgment/gpt-3.5-turbo.jsonl -i model_judgment/Llama-2-70b-chat.jsonl \\
      --judge-name gpt-4
  sllm judge bias -i my_judge.jsonl --judge-family my-judge=qwen

Reads sllm's pairwise judgments, alpaca_eval annotations, Arena-Hard judgments (games), MT-Bench
pairwise judgments and single-answer grades (MT-Bench, arena-bench: two models graded on the same
question form a pair). Per judge: position consistency and how often the answer shown first wins
an inconsistent pair (when both orders were judged); how often the longer answer wins a decisive
verdict, and the length effect with quality held fixed (within each pair of models: win share when
longer minus when shorter). When a judge shares a family with a candidate and another judge does
not, the candidate's score under both on the same pairs and the gap (self-preference) with its
standard error. --judge-name names the judge of rows that do not say; --judge-family sets a
judge's family (NAME=FAMILY, or FAMILY when there is one judge).
"""


@judge_app.command("bias", epilog=EXAMPLES)
def judge_bias(
    inputs: list[Path] = typer.Option(..., "--input", "-i", help="Judgment file (repeat)."),
    judge_name: str = typer.Option("unnamed judge", "--judge-name", help="Judge of rows that name none."),
    judge_family: list[str] | None = typer.Option(
        None, "--judge-family", help="NAME=FAMILY (repeat), or FAMILY for the only judge."
    ),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Baseline of Arena-Hard files that name none."
    ),
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="Go on when over 5% of rows are unusable."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Measure a judge's position, length and self-preference biases from its judgments."""
    from sllm.judging.bias import bias_report

    report_out, report = bias_report(list(inputs), judge_name, judge_family, baseline, allow_partial)
    if as_json:
        print(json.dumps(report_out))
        return
    Console(stderr=True).print(report.summary(), highlight=False)
    _print(report_out)


def _print(report: dict) -> None:
    table = Table(title="judge biases (shares: 0.5 = none; length effect: 0 = none)")
    columns = ("judge", "judged", "unparsed", "position consistency", "first shown wins", "longer wins",
               "length effect (same pair)")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "judge" else "right")
    for judge, b in report["judges"].items():
        values = (b["position_consistency"], b["first_position_share"], b["longer_answer_share"])
        cells = [cell(v, ".2f") for v in values]
        effect = cell(b["length_effect"], "+.2f")
        table.add_row(judge, cell(b["n"]), cell(b["n_unparsed"]), *cells, effect)
    Console().print(table)
    if report["self_preference"]:
        gaps = Table(title="self-preference: same-family judge vs the others, same pairs")
        for column in ("judge", "model", "pairs", "score same family", "score neutral", "gap", "SE"):
            gaps.add_column(column, justify="left" if column in ("judge", "model") else "right")
        for g in report["self_preference"]:
            se = cell(g["standard_error"], ".3f")
            gaps.add_row(g["judge"], g["model"], str(g["n_pairs"]), f"{g['score_same_family']:.3f}",
                         f"{g['score_neutral']:.3f}", f"{g['gap']:+.3f}", se)  # fmt: skip
        Console().print(gaps)
