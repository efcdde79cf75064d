"""`sllm score`: a metric over two files of texts (predictions and references)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption, parse_key_values
from sllm.errors import SllmError
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
    from sllm.errors import UsageError
    from sllm.metrics import corpus_score, get_metric, get_tokenizer
    from sllm.metrics.tokenizers import choose_tokenizer

    spec = get_metric(metric)
    options = parse_key_values(option or [], "--option")
    if tokenizer is not None:
        if not spec.needs_tokenizer:
            raise UsageError(f"metric '{metric}' takes no tokenizer")
        get_tokenizer(tokenizer)  # fail fast on an unknown tokenizer
        options["tokenizer"] = tokenizer
    preds = [_as_text(v, predictions) for v in read_texts(predictions, field)]
    if references is None:
        if spec.needs_references:
            raise UsageError(f"metric '{metric}' needs --references")
        refs: list[list[str]] = [[] for _ in preds]
    else:
        refs = [v if isinstance(v, list) else [v] for v in read_texts(references, field)]
    if len(preds) != len(refs):
        raise SllmError(f"{predictions} has {len(preds)} texts but {references} has {len(refs)}")
    if spec.needs_tokenizer and "tokenizer" not in options:
        # Chosen here (corpus_score would too) so the table can name the tokenizer used.
        texts = [*preds[:1000], *(r for group in refs[:1000] for r in group)]
        chosen = choose_tokenizer(metric, texts, None)
        if chosen is not None:
            options["tokenizer"] = chosen
    scores = corpus_score(metric, preds, refs, **options)
    tokenizer = options.get("tokenizer", "default")
    payload = {"metric": metric, "tokenizer": tokenizer, "n": len(preds), "scores": scores}
    if as_json:
        print(json.dumps(payload, ensure_ascii=False))
        return
    table = Table(title=f"{metric} over {len(preds)} pairs (tokenizer: {tokenizer})")
    table.add_column("score")
    table.add_column("value", justify="right")
    for name, value in scores.items():
        table.add_row(name, cell(value, ".4f"))
    Console().print(table)


def read_texts(path: Path, field: str) -> list[str | list[str]]:
    """One text per line, or the `field` of each JSONL record (errors name file and line)."""
    from sllm.tasks.loaders import load_jsonl
    from sllm.textio import read_text

    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    if path.suffix != ".jsonl":
        return read_text(path).splitlines()
    records = load_jsonl(path)
    for number, record in enumerate(records, start=1):
        if field not in record:
            raise SllmError(f"{path}: record {number}: missing field '{field}'")
    return [record[field] for record in records]


def _as_text(value: str | list[str], path: Path) -> str:
    if isinstance(value, list):
        raise SllmError(f"{path}: a prediction must be one text, not a list")
    return value
