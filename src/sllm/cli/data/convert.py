"""`sllm data convert`: between Alpaca, ShareGPT, chat messages, CSV and Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from sllm.cli.data import data_app
from sllm.cli.options import JsonOption, NoTrackOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm data convert alpaca_data.json train.jsonl --to messages
  sllm data convert sharegpt.json chats.parquet
  sllm data convert raw.csv clean.jsonl --to alpaca --skip-invalid

The input layout is detected from its fields (Alpaca instruction/input/output, ShareGPT
conversations from/value, chat messages role/content); CSV and Parquet hold either Alpaca
columns or a JSON `messages` column. Output: .jsonl (JSON lines), .json (a list), .csv, .parquet.
Nothing is written if a row is invalid, unless --skip-invalid.
"""


@data_app.command("convert", epilog=EXAMPLES)
def data_convert(
    source: Path = typer.Argument(..., help="Input file."),
    target: Path = typer.Argument(..., help="Output file."),
    from_fmt: str = typer.Option("auto", "--from", help="Input layout (auto detects)."),
    to_fmt: str = typer.Option("auto", "--to", help="alpaca | sharegpt | messages | csv | parquet | auto."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Drop invalid rows instead of stopping."),
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Convert between Alpaca, ShareGPT, chat messages, CSV and Parquet."""
    from sllm.data.convert import convert_file

    result = convert_file(source, target, from_fmt, to_fmt, skip_invalid, not no_track)
    if as_json:
        print(json.dumps(result))
        return
    Console(stderr=True).print(
        f"{result['rows']} rows {result['from']} -> {result['to']}: {target} (digest {result['digest'][:16]}"
        + (f", {result['skipped']} invalid rows skipped)" if result["skipped"] else ")")
    )
