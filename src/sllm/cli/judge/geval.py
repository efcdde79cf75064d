"""`sllm judge geval`: G-Eval, criterion-specific evaluation steps and a weighted or sampled score."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.judge import InputOption, OutputOption, judge_app, judge_options
from sllm.cli.options import (
    JsonOption,
    JudgeOption,
    NoCacheOption,
    NoTrackOption,
    PriceTableOption,
    split_names,
)
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm judge geval --judge default -i summaries.jsonl -o geval.jsonl --criteria summeval_coherence
  sllm judge geval -j hf:./judge -i s.jsonl -o g.jsonl --criteria summeval_fluency --mode sampling --n 20
  sllm judge geval -i s.jsonl -o g.jsonl --criteria-file my_criteria.yaml --criteria helpfulness

Input JSONL: a `source` (the document) and an `output` (what is rated) per line; --source-field /
--output-field pick other names. The judge writes evaluation steps once per criterion (--steps
auto, cached and recorded) or uses the released G-Eval prompt (--steps given). --mode
probability weighs each score by its token probability; sampling averages n sampled scores;
auto uses probability where the backend scores continuations.
"""


@judge_app.command("geval", epilog=EXAMPLES)
def judge_geval(  # noqa: PLR0913 - the G-Eval options
    judge: str = JudgeOption,
    input_path: Path = InputOption,
    output: Path = OutputOption,
    criteria: str = typer.Option("summeval_coherence", "--criteria", help="Comma-separated criterion names."),
    criteria_file: list[str] | None = typer.Option(
        None, "--criteria-file", help="YAML file of extra criteria."
    ),
    mode: str = typer.Option("auto", "--mode", help="probability | sampling | auto."),
    steps: str = typer.Option(
        "auto", "--steps", help="auto (the judge writes them) | given (released prompt)."
    ),
    n: int = typer.Option(20, "--n", min=1, help="Samples per item in sampling mode."),
    temperature: float = typer.Option(2.0, "--temperature", help="Sampling temperature (G-Eval: 2)."),
    source_field: str = typer.Option("source", "--source-field"),
    output_field: str = typer.Option("output", "--output-field"),
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    as_json: bool = JsonOption,
) -> None:
    """G-Eval: criterion-specific evaluation steps, then a probability-weighted or sampled score."""
    from sllm.judging.geval import geval_file

    options = judge_options(
        judge, no_cache=no_cache, no_track=no_track, price_table=price_table, as_json=as_json
    )
    payload = geval_file(input_path, output, split_names(criteria), options, criteria_file, mode, steps, n,
                         temperature, (source_field, output_field))  # fmt: skip
    if as_json:
        print(json.dumps(payload))
        return
    table = Table(title=f"G-Eval with {payload['judge_model']}")
    for column in ("criterion", "mode", "mean score", "items", "unscored"):
        table.add_column(column)
    for s in payload["criteria"]:
        mean = cell(payload["mean_score"][s["criterion"]], ".3g")
        table.add_row(s["criterion"], s["mode"], mean, str(s["n"]), str(s["n_unscored"]))
    Console().print(table)
    from sllm.usage import cost_line

    Console(stderr=True).print(f"records: {output}; {cost_line(payload)}")
