"""`sllm data decontaminate`: find evaluation items leaked into a training file."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.data import data_app
from sllm.cli.options import DataDirOption, JsonOption, NoTrackOption, split_names
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm data decontaminate train.jsonl --against gsm8k,mmlu --data-dir ../shared/data
  sllm data decontaminate train.jsonl --against kobest_boolq,test_items.jsonl --drop clean.jsonl
  sllm data decontaminate train.jsonl --against gsm8k --ngram 8 --json

A training row is contaminated when it shares an n-gram with a test item: 13 words by default
(lower-cased, punctuation dropped), or 20 characters (spaces removed) for Korean items. Test
items shorter than n are matched whole; items under 8 words / characters are skipped. --against
takes task or group names (their test documents) and files (every string field). --drop writes
the rows that are not contaminated.
"""


@data_app.command("decontaminate", epilog=EXAMPLES)
def data_decontaminate(  # noqa: PLR0913 - the matching options
    path: Path = typer.Argument(..., help="Training file (any format sllm reads)."),
    against: str = typer.Option(..., "--against", help="Comma-separated task names and/or test files."),
    data_dir: str | None = DataDirOption,
    ngram: int = typer.Option(13, "--ngram", min=1, help="Word n-gram size."),
    char_ngram: int = typer.Option(20, "--char-ngram", min=1, help="Character n-gram size for Korean."),
    drop: Path | None = typer.Option(None, "--drop", help="Write the uncontaminated rows here."),
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Report training rows that overlap evaluation items; optionally write a clean file."""
    from sllm.data.decontaminate import decontaminate_file

    names = split_names(against)
    report = decontaminate_file(path, names, data_dir, ngram, char_ngram, drop, not no_track)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    hits = report["contaminated"]
    table = Table(title=f"{len(hits)} of {report['n_checked']} rows of {path} overlap {', '.join(names)}")
    for column in ("line", "test task", "test id", "overlap", "shared n-gram"):
        table.add_column(column, overflow="fold")
    for h in hits:
        table.add_row(
            cell(h["line"]), h["test_task"], cell(h["test_id"]), cell(h["overlap"], ".2f"), h["ngram"][:60]
        )
    Console().print(table)
    skipped = report["n_test_items_too_short"]
    if skipped:
        Console(stderr=True).print(
            f"{skipped} test texts were shorter than 8 words / characters and not checked"
        )
