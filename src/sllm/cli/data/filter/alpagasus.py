"""`sllm data filter alpagasus`: keep the rows a judge scores high (AlpaGasus)."""

from __future__ import annotations

from pathlib import Path

import typer

from sllm.cli.data.filter import InputArg, OutputOption, RemovedOption, filter_app, print_report
from sllm.cli.judge import judge_options
from sllm.cli.options import (
    JsonOption,
    JudgeOption,
    JudgeTokensOption,
    NoCacheOption,
    NoTrackOption,
    PriceTableOption,
    RetriesOption,
    split_names,
)

EXAMPLES = """
[bold]Examples[/bold]

  sllm data filter alpagasus train.jsonl -o kept.jsonl
  sllm data filter alpagasus train.jsonl -o kept.jsonl --judge openai:gpt-4o-mini@https://api.openai.com/v1
  sllm data filter alpagasus train.jsonl -o kept.jsonl --dimensions accuracy,helpfulness --threshold 4

The judge scores each instruction / input / response from 0 to 5 with AlpaGasus's prompt (a
Korean prompt for Korean data) and writes the score on its first line; rows scoring >= the
threshold on every dimension are kept. Unreadable replies are retried, then removed as
"unparsed". --scores writes every row with its `alpagasus_score` (the lowest dimension), for
`sllm data filter diversity --score-field alpagasus_score`.
"""


@filter_app.command("alpagasus", epilog=EXAMPLES)
def filter_alpagasus(  # noqa: PLR0913 - the filter's options
    path: Path = InputArg,
    output: Path = OutputOption,
    judge: str = JudgeOption,
    threshold: float = typer.Option(4.5, "--threshold", help="Keep rows scoring at least this (0-5)."),
    dimensions: str = typer.Option("accuracy", "--dimensions", help="accuracy and/or helpfulness."),
    retries: int = RetriesOption,
    max_new_tokens: int | None = JudgeTokensOption,
    scores: Path | None = typer.Option(None, "--scores", help="Write every row with its score here."),
    removed: Path | None = RemovedOption,
    price_table: Path | None = PriceTableOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Keep the rows a judge scores >= 4.5 of 5 (AlpaGasus)."""
    from sllm.data.quality.jobs import alpagasus_file

    options = judge_options(
        judge, retries=retries, max_new_tokens=max_new_tokens, no_cache=no_cache, price_table=price_table,
        as_json=as_json,
    )  # fmt: skip
    dims = tuple(split_names(dimensions))
    report = alpagasus_file(path, output, options, threshold, dims, scores, removed, not no_track)
    print_report(report, path, as_json)
