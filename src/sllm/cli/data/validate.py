"""`sllm data validate`: check an instruction file, summarise it, optionally write its valid rows."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.data import data_app
from sllm.cli.options import JsonOption, NoTrackOption
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm data validate train.jsonl
  sllm data validate sharegpt.json --model hf:./my-base --max-length 2048 --json
  sllm data validate raw.csv --output clean.jsonl            # written only if there are no errors
  sllm data validate raw.csv --output clean.jsonl --force    # write the valid rows anyway

Checks: the format's fields, empty or whitespace-only contents, role order, exact duplicates
(warning), token lengths through the model's chat template (and that every row renders),
the language mix (share of Hangul). Problems name the file, the line (JSONL / CSV), item (JSON
list) or row (Parquet), and the field. Exit code 1 when there are errors. The file is read as
a stream: memory does not grow with its size (except --output to .csv / .parquet, written whole),
and files of 8 MB or more show a progress bar by bytes on stderr.
"""


@data_app.command("validate", epilog=EXAMPLES)
def data_validate(  # noqa: PLR0913 - the validation options
    path: Path = typer.Argument(..., help="Instruction file (JSON, JSONL, CSV, Parquet)."),
    fmt: str = typer.Option(
        "auto", "--format", "-f", help="alpaca | sharegpt | messages | csv | parquet | auto."
    ),
    model: str = typer.Option("default", "--model", "-m", help="Tokenizer / chat template of this model."),
    no_template: bool = typer.Option(False, "--no-template", help="Skip token lengths and template check."),
    max_length: int | None = typer.Option(None, "--max-length", help="Warn about rows longer than this."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the valid rows here."),
    force: bool = typer.Option(False, "--force", help="Write --output even when some rows have errors."),
    show: int = typer.Option(20, "--show", help="How many problems to list."),
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Check an instruction file and summarise it; optionally write its valid rows."""
    from sllm.data.validate import validate_to_report

    report, problems = validate_to_report(
        path, fmt, model, not no_template, max_length, output, force, not no_track
    )
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report, problems[:show])
    if report["errors"]:
        raise typer.Exit(1)


def _print_report(report: dict, problems: list) -> None:
    table = Table(title=f"{report['path']} ({report['format']})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("rows", "valid", "errors", "warnings", "multi_turn"):
        table.add_row(key.replace("_", " "), cell(report[key]))
    for part, values in report["tokens"].items():
        if isinstance(values, dict) and values:
            shown = ", ".join(f"{k} {v:.0f}" for k, v in values.items())
            table.add_row(f"{part} tokens", shown)
    table.add_row("language", cell(", ".join(f"{k} {v}" for k, v in report["language"].items())))
    table.add_row("digest", report["digest"][:16])
    Console().print(table)
    err = Console(stderr=True)
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        err.print(f"[{colour}]{p.severity}[/{colour}] {p}", highlight=False, soft_wrap=True)
    if report["written"]:
        err.print(f"written: {report['written']}")
    elif report["errors"]:
        err.print("nothing written: fix the errors, or pass --force to write the valid rows")
