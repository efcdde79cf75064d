"""`sllm data filter safety`: remove (or mask) rows with personal data, optionally harmful ones."""

from __future__ import annotations

from pathlib import Path

import typer

from sllm.cli.data.filter import InputArg, OutputOption, RemovedOption, filter_app, print_report
from sllm.cli.judge import judge_options
from sllm.cli.options import JsonOption, JudgeTokensOption, NoCacheOption, NoTrackOption, RetriesOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm data filter safety train.jsonl -o safe.jsonl
  sllm data filter safety train.jsonl -o safe.jsonl --mask          # keep rows, replace PII
  sllm data filter safety train.jsonl -o safe.jsonl --judge default --harm-threshold 4

Personal data: Korean resident registration numbers (YYMMDD-GNNNNNN), Korean mobile, landline
and +82 numbers, e-mail addresses, card numbers passing the Luhn check, US SSNs. Rows with any
are removed (the report stars most of each value), or with --mask kept with placeholders such as
[RRN], [PHONE]. --judge adds a harm rating (1-5); rows at or above --harm-threshold are removed.
"""


@filter_app.command("safety", epilog=EXAMPLES)
def filter_safety(  # noqa: PLR0913 - the filter's options
    path: Path = InputArg,
    output: Path = OutputOption,
    mask: bool = typer.Option(False, "--mask", help="Replace personal data instead of removing rows."),
    judge: str | None = typer.Option(None, "--judge", "-j", help="Also rate harm with this model."),
    harm_threshold: float = typer.Option(3.0, "--harm-threshold", help="Remove rows rated at least this."),
    retries: int = RetriesOption,
    max_new_tokens: int | None = JudgeTokensOption,
    removed: Path | None = RemovedOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Remove (or mask) rows with personal data; optionally rows a judge rates harmful."""
    from sllm.data.quality.jobs import safety_file

    options = None
    if judge is not None:
        options = judge_options(
            judge, retries=retries, max_new_tokens=max_new_tokens, no_cache=no_cache, as_json=as_json
        )
    report = safety_file(path, output, mask, options, harm_threshold, removed, not no_track)
    print_report(report, path, as_json)
