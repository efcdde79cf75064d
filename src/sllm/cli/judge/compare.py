"""`sllm judge compare`: pairwise judging of per-model answer files, against a baseline or all pairs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.judge import judge_app, judge_options
from sllm.cli.options import (
    JsonOption,
    JudgeConfigOption,
    JudgeFamilyOption,
    JudgeIncludeOption,
    JudgeOption,
    NoCacheOption,
    NoSwapOption,
    NoTrackOption,
    PriceTableOption,
    RetriesOption,
)
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm judge compare -a out/base.jsonl -a out/sft.jsonl -a out/dpo.jsonl --baseline base -o j.jsonl
  sllm judge compare -a gpt-4-0314.jsonl -a mine.jsonl --questions question.jsonl --baseline gpt-4-0314 \\
      --config arena_hard_v0_1 --judge openai:gpt-4o@https://api.openai.com/v1 -o j.jsonl
  sllm judge compare -a a.jsonl -a b.jsonl -a c.jsonl --all-pairs -o j.jsonl && sllm rate j.jsonl

Answer files: FastChat / MT-Bench (question_id, model_id, choices[0].turns), Arena-Hard
(uid, model, messages), alpaca_eval outputs (instruction, output, generator) or sllm's
(question_id, model, answer). NAME=FILE renames a model. Questions come from --questions or
from the answer files. Every pair is judged in both orders; calls are cached, so adding one
model to a leaderboard costs only its new pairs. The judgments feed `sllm rate` (Bradley-Terry)
and, against a baseline, `sllm winrate` (plain and length-controlled).
"""


def _named(value: str) -> tuple[str | None, Path]:
    name, sep, path = value.partition("=")
    return (name, Path(path)) if sep and not Path(value).exists() else (None, Path(value))


@judge_app.command("compare", epilog=EXAMPLES)
def judge_compare(  # noqa: PLR0913 - the command's options
    answers: list[str] = typer.Option(..., "--answers", "-a", help="Answer file, FILE or NAME=FILE."),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL of pairwise judgments to write."),
    baseline: str | None = typer.Option(None, "--baseline", help="Compare every model with this one."),
    all_pairs: bool = typer.Option(False, "--all-pairs", help="Compare every pair of models."),
    questions: Path | None = typer.Option(None, "--questions", help="Question file (else from answers)."),
    reference: Path | None = typer.Option(None, "--reference", help="Reference answer file."),
    judge: str = JudgeOption,
    config: str = JudgeConfigOption,
    no_swap: bool = NoSwapOption,
    retries: int = RetriesOption,
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", help="Cap on each judgment."),
    include_path: list[str] | None = JudgeIncludeOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    judge_family: str | None = JudgeFamilyOption,
    as_json: bool = JsonOption,
) -> None:
    """Judge models' answers pairwise: each against a baseline, or all pairs; then a leaderboard."""
    from sllm.errors import UsageError
    from sllm.judging.compare import compare_answers

    if (baseline is None) == (not all_pairs):
        raise UsageError("pass exactly one of --baseline NAME or --all-pairs")
    options = judge_options(
        judge, config, include_path, no_swap, retries, max_new_tokens, no_cache, no_track, price_table,
        judge_family, as_json,
    )  # fmt: skip
    summary = compare_answers([_named(a) for a in answers], output, baseline, options, questions, reference)
    if as_json:
        print(json.dumps(summary))
        return
    _print(summary)


def _named(value: str) -> tuple[str | None, Path]:
    """`NAME=FILE` (a renamed model) or `FILE`."""
    name, sep, path = value.partition("=")
    return (name, Path(path)) if sep and not Path(value).exists() else (None, Path(value))


def _print(summary: dict) -> None:
    from sllm.usage import cost_line

    board = summary["models"]
    title = f"judge {summary['judge_model']}: " + (
        f"against {summary['baseline']}" if summary["baseline"] else "all pairs"
    )
    table = Table(title=title)
    table.add_column("model", no_wrap=True)
    if summary["baseline"]:
        columns = ("win_rate", "standard_error", "n_wins", "n_wins_base", "n_draws", "n_unparsed")
    else:
        columns = ("rating", "wins", "losses", "ties", "win_rate_adjusted")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    ranked = sorted(board.items(), key=lambda kv: -(kv[1].get(columns[0]) or 0))
    for model, values in ranked:
        shown = [values.get(c) for c in columns]
        cells = (cell(v, ".2f") for v in shown)
        table.add_row(model, *cells)
    Console().print(table)
    consistency = summary["position_consistency"]
    notes = [
        f"judgments: {summary['output']}",
        f"unparsed: {summary['n_unparsed']}",
        "" if consistency is None else f"position consistency: {consistency:.2f}",
        cost_line(summary),
    ]
    if summary["missing_answers"]:
        notes.append(f"questions without an answer: {summary['missing_answers']}")
    Console(stderr=True).print("; ".join(n for n in notes if n))
