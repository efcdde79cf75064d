"""`sllm data digest`: content digest, rows and schema of instruction files."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.data import data_app
from sllm.cli.options import JsonOption

EXAMPLES = "[bold]Examples[/bold]\n\n  sllm data digest train.jsonl\n  sllm data digest a.jsonl b.csv --json"


@data_app.command("digest", epilog=EXAMPLES)
def data_digest(
    paths: list[Path] = typer.Argument(..., help="Instruction files."), as_json: bool = JsonOption
) -> None:
    """Content digest, rows and schema of instruction files (format-independent, order-sensitive)."""
    from sllm.data.digest import describe_files

    described = describe_files(paths)
    if as_json:
        print(json.dumps({"files": described}))
        return
    table = Table(title="dataset digests (sha256 of the rows' content, in order)")
    for column in ("file", "format", "rows", "digest"):
        table.add_column(column)
    for d in described:
        table.add_row(d["path"], d["schema"]["format"], str(d["rows"]), d["digest"])
    Console().print(table)
