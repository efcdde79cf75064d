"""`sllm score`: a metric over two files of texts (predictions and references)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.errors import SllmError

EXAMPLES = """
[bold]Examples[/bold]

  sllm score rouge --predictions preds.txt --references refs.txt
  sllm score rouge --predictions preds.jsonl --references refs.jsonl --tokenizer ko --json
  sllm score bleu --predictions out.jsonl --field output --references gold.txt
  sllm score squad --predictions answers.txt --references gold.jsonl --field answers

Files hold one text per line, or JSONL with a `text` field (`--field` picks another; a
references field may hold a list of references). Tokenizers: default (rouge-score's, English),
whitespace, char, ko (Korean morphemes), model:PATH.
"""


@app.command("score", epilog=EXAMPLES)
def score_command(
    metric: str = typer.Argument(..., help="rouge | bleu | chrf | exact_match | squad | korquad"),
    predictions: Path = typer.Option(..., "--predictions", "-p", help="File of predictions."),
    references: Path = typer.Option(..., "--references", "-r", help="File of references."),
    tokenizer: str = typer.Option("default", "--tokenizer", help="Tokenizer for lexical metrics."),
    field: str = typer.Option("text", "--field", help="JSONL field holding the text."),
    as_json: bool = JsonOption,
) -> None:
    """Score predictions against references with one metric; print corpus-level values."""
    from sllm.metrics import corpus_score, get_metric, get_tokenizer

    spec = get_metric(metric)
    if spec.needs_tokenizer:
        get_tokenizer(tokenizer)  # fail fast on an unknown tokenizer
    preds = [_as_text(v, predictions) for v in read_texts(predictions, field)]
    refs = [v if isinstance(v, list) else [v] for v in read_texts(references, field)]
    if len(preds) != len(refs):
        raise SllmError(f"{predictions} has {len(preds)} texts but {references} has {len(refs)}")
    scores = corpus_score(metric, preds, refs, tokenizer=tokenizer)
    payload = {"metric": metric, "tokenizer": tokenizer, "n": len(preds), "scores": scores}
    if as_json:
        print(json.dumps(payload, ensure_ascii=False))
        return
    table = Table(title=f"{metric} over {len(preds)} pairs (tokenizer: {tokenizer})")
    table.add_column("score")
    table.add_column("value", justify="right")
    for name, value in scores.items():
        table.add_row(name, "nan" if math.isnan(value) else f"{value:.4f}")
    Console().print(table)


def read_texts(path: Path, field: str) -> list[str | list[str]]:
    """One text per line, or the `field` of each JSONL record (errors name file and line)."""
    from sllm.tasks.loaders import load_jsonl

    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    if path.suffix != ".jsonl":
        return path.read_text(encoding="utf-8").splitlines()
    records = load_jsonl(path)
    for number, record in enumerate(records, start=1):
        if field not in record:
            raise SllmError(f"{path}: record {number}: missing field '{field}'")
    return [record[field] for record in records]


def _as_text(value: str | list[str], path: Path) -> str:
    if isinstance(value, list):
        raise SllmError(f"{path}: a prediction must be one text, not a list")
    return value
