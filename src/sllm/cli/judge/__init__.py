"""`sllm judge`: the group, and what its sub-commands share (one module per sub-command).

`single` and `pairwise` are one command in two modes: their options are declared once here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
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
    keyword,
)
from sllm.tables import cell

if TYPE_CHECKING:
    import inspect

    from sllm.judging.jobs import JudgeOptions

judge_app = typer.Typer(help="Judge answers with a model: single grading or pairwise.", no_args_is_help=True)
app.add_typer(judge_app, name="judge")

EXAMPLES = """
[bold]Examples[/bold]

  sllm judge single --judge openai:gpt-4o@https://api.openai.com/v1 -i answers.jsonl -o grades.jsonl
  sllm judge pairwise --judge default --input pairs.jsonl --output verdicts.jsonl --max-new-tokens 256
  sllm judge pairwise --judge hf:./judge -i pairs.jsonl -o v.jsonl --config mt_bench_pair_v2 --no-swap
  sllm judge list

Input JSONL: question_id, question (or turns), and for single grading model + answer (or
answers), for pairwise model_a, model_b, answer_a, answer_b (or answers_a / answers_b);
optional reference(s), category, turn. --config auto picks MT-Bench's prompt per item: the
reference-guided one for math / reasoning / coding with a reference, multi-turn for turn 2,
the Korean prompts for Korean questions.
Every call is cached: running the same command again makes no new model calls.
"""

InputOption = typer.Option(..., "--input", "-i", help="JSONL of items to judge.")
OutputOption = typer.Option(..., "--output", "-o", help="JSONL of judgments to write.")
MaxTokensOption = typer.Option(None, "--max-new-tokens", help="Cap on the judge's reply length.")


def judge_options(  # noqa: PLR0913 - the judging flags
    judge: str,
    config: str = "auto",
    include_path: list[str] | None = None,
    no_swap: bool = False,
    retries: int = 2,
    max_new_tokens: int | None = None,
    no_cache: bool = False,
    no_track: bool = False,
    price_table: Path | None = None,
    judge_family: str | None = None,
    as_json: bool = False,
) -> JudgeOptions:
    """The judging flags as the library's JudgeOptions (progress bars unless --json)."""
    from sllm.judging.jobs import JudgeOptions

    return JudgeOptions(
        judge=judge, config=config, include=tuple(include_path or ()), swap=not no_swap, retries=retries,
        max_new_tokens=max_new_tokens, use_cache=not no_cache, track=not no_track, price_table=price_table,
        judge_family=judge_family, progress=not as_json,
    )  # fmt: skip


def judging_parameters(swap: bool) -> list[inspect.Parameter]:
    """The options of `judge single` (swap=False) and `judge pairwise` (with --no-swap)."""
    return [
        keyword("judge", str, JudgeOption),
        keyword("input_path", Path, InputOption),
        keyword("output", Path, OutputOption),
        keyword("config", str, JudgeConfigOption),
        *([keyword("no_swap", bool, NoSwapOption)] if swap else []),
        keyword("retries", int, RetriesOption),
        keyword("max_new_tokens", int | None, MaxTokensOption),
        keyword("include_path", list[str] | None, JudgeIncludeOption),
        keyword("no_cache", bool, NoCacheOption),
        keyword("no_track", bool, NoTrackOption),
        keyword("price_table", Path | None, PriceTableOption),
        keyword("judge_family", str | None, JudgeFamilyOption),
        keyword("as_json", bool, JsonOption),
    ]


def judge_and_print(mode: str, input_path: Path, output: Path, **flags: Any) -> None:
    """Run `judge single | pairwise` and print its summary (a table, or JSON with --json)."""
    from sllm.judging.jobs import judge_file

    summary = judge_file(mode, input_path, output, judge_options(**flags))
    if flags["as_json"]:
        print(json.dumps(summary))
        return
    table = Table(title=f"{mode} judging with {summary['judge_model']} ({', '.join(summary['configs'])})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key in ("output", "judge_model", "configs", "self_preference_risk", "run_id", "price"):
            continue
        table.add_row(key, cell(value, ".3g"))
    Console().print(table)
    Console(stderr=True).print(f"judgments: {summary['output']}")
