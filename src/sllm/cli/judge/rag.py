"""`sllm judge rag`: faithfulness, answer relevancy, context precision and recall with a judge."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.judge import judge_app, judge_options
from sllm.cli.options import (
    EncoderOption,
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

  sllm judge rag --judge default -i rag.jsonl -o rag_scores.jsonl
  sllm judge rag -j openai:gpt-4o-mini@http://127.0.0.1:8000/v1 -i rag.jsonl -o s.jsonl --metrics faithfulness

Korean items (mostly Hangul) are asked in Korean. Answer relevancy embeds with the bundled
English MiniLM unless --encoder names a local (multilingual) sentence-transformers folder.
Input JSONL: question, answer, contexts (the retrieved chunks, in rank order), and reference
(needed by context_recall; context_precision uses it when present). Items the judge cannot
decide are reported as undetermined per metric, never averaged in as zero or NaN.
"""


@judge_app.command("rag", epilog=EXAMPLES)
def judge_rag(  # noqa: PLR0913 - the command's options
    judge: str = JudgeOption,
    input_path: Path = typer.Option(..., "--input", "-i", help="JSONL of RAG items."),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL of per-item scores."),
    metrics: str = typer.Option(
        ",".join(("faithfulness", "answer_relevancy", "context_precision", "context_recall")), "--metrics"
    ),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Cap on claim and question lists."),
    encoder: str | None = EncoderOption,
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    as_json: bool = JsonOption,
) -> None:
    """Score RAG answers and retrievals with a judge model."""
    from sllm.judging.rag import rag_file

    options = judge_options(
        judge, no_cache=no_cache, no_track=no_track, price_table=price_table, as_json=as_json
    )
    result = rag_file(input_path, output, split_names(metrics), options, max_new_tokens, encoder)
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"RAG metrics, judge {result['judge_model']}")
    for column in ("metric", "mean", "scored", "undetermined"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, s in result["metrics"].items():
        table.add_row(name, cell(s["mean"], ".3f"), cell(s["n"]), cell(s["undetermined"]))
    Console().print(table)
    from sllm.usage import cost_line

    Console(stderr=True).print(cost_line(result))
