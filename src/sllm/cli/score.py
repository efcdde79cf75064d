"""`sllm score`: a metric over two files of texts (predictions and references)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption, parse_key_values
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm score rouge --predictions preds.txt --references refs.txt
  sllm score rouge --predictions preds.jsonl --references refs.jsonl --tokenizer ko --json
  sllm score bleu --predictions out.jsonl --field output --references gold.txt
  sllm score squad --predictions answers.txt --references gold.jsonl --field answers
  sllm score semantic_similarity -p preds.txt -r refs.txt
  sllm score bertscore -p preds.txt -r refs.txt --option model=./my-multilingual-encoder
  sllm score distinct_n -p generations.txt --tokenizer ko
  sllm score sql_execution -p predicted.sql.txt -r gold.sql.txt --option database=./shop.sqlite

Files hold one text per line, or JSONL with a `text` field (`--field` picks another; a
references field may hold a list of references); UTF-8, UTF-8 with BOM and CP949 are detected
(`sllm --encoding NAME score ...` forces one). Tokenizers: default (rouge-score's, English),
whitespace, char, ko (Korean morphemes), model:PATH; Korean texts get `ko` unless --tokenizer
says otherwise (with a warning either way). Reference-free metrics (distinct_n,
repetition, self_bleu) need no --references. `sllm tasks metrics` lists every metric.
"""


@app.command("score", epilog=EXAMPLES)
def score_command(
    metric: str = typer.Argument(..., help="rouge | bleu | chrf | exact_match | squad | korquad | ..."),
    predictions: Path = typer.Option(..., "--predictions", "-p", help="File of predictions."),
    references: Path | None = typer.Option(None, "--references", "-r", help="File of references."),
    tokenizer: str | None = typer.Option(None, "--tokenizer", help="Tokenizer for lexical metrics."),
    field: str = typer.Option("text", "--field", help="JSONL field holding the text."),
    option: list[str] | None = typer.Option(None, "--option", "-O", help="Metric option KEY=VALUE."),
    as_json: bool = JsonOption,
) -> None:
    """Score predictions against references with one metric; print corpus-level values."""
    from sllm.metrics.files import score_files

    options = parse_key_values(option or [], "--option")
    payload = score_files(metric, predictions, references, field, tokenizer, options)
    if as_json:
        print(json.dumps(payload, ensure_ascii=False))
        return
    table = Table(title=f"{metric} over {payload['n']} pairs (tokenizer: {payload['tokenizer']})")
    table.add_column("score")
    table.add_column("value", justify="right")
    for name, value in payload["scores"].items():
        table.add_row(name, cell(value, ".4f"))
    Console().print(table)
