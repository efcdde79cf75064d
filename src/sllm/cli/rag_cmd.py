"""`sllm judge rag`: faithfulness, answer relevancy, context precision and recall with a judge."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm import smoke
from sllm.cli.judge import NoTrackOption, PriceTableOption, cost_line, judge_app
from sllm.cli.options import JsonOption, NoCacheOption
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
def judge_rag(
    judge: str = typer.Option("default", "--judge", "-j", help="Model spec of the judge."),
    input_path: Path = typer.Option(..., "--input", "-i", help="JSONL of RAG items."),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL of per-item scores."),
    metrics: str = typer.Option(
        ",".join(("faithfulness", "answer_relevancy", "context_precision", "context_recall")), "--metrics"
    ),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Cap on claim and question lists."),
    encoder: str | None = typer.Option(
        None, "--encoder", help="Local sentence-transformers folder for answer relevancy (default MiniLM)."
    ),
    no_cache: bool = NoCacheOption,
    no_track: bool = NoTrackOption,
    price_table: Path | None = PriceTableOption,
    as_json: bool = JsonOption,
) -> None:
    """Score RAG answers and retrievals with a judge model."""
    import numpy as np

    from sllm.cli import preflight
    from sllm.errors import SllmError, UsageError, unknown_name
    from sllm.judging.rag import METRICS, RagItem, RagJudge, language
    from sllm.metaeval.records import read_records
    from sllm.models.spec import open_model

    chosen = [m.strip() for m in metrics.split(",") if m.strip()]
    for name in chosen:
        if name not in METRICS:
            raise unknown_name("RAG metric", name, METRICS)
    items = []
    for where, row in read_records(input_path):
        for field in ("question", "answer", "contexts"):
            if field not in row:
                raise SllmError(f"{where}: missing field '{field}'")
        if not isinstance(row["contexts"], list):
            raise SllmError(f"{where}: field 'contexts' must be a list of strings")
        if "context_recall" in chosen and not row.get("reference"):
            raise SllmError(f"{where}: context_recall needs field 'reference'")
        items.append(
            RagItem(
                str(row["question"]),
                str(row["answer"]),
                [str(c) for c in row["contexts"]],
                row.get("reference"),
            )
        )
    items = list(smoke.head(items))  # SLLM_SMOKE: a few items
    if not chosen:
        raise UsageError("--metrics: name at least one metric")
    preflight.model_spec(judge, "--judge")
    if "answer_relevancy" in chosen:
        preflight.encoder(encoder)
    preflight.writable_file(output, "--output")
    preflight.price_table(price_table)
    lm = open_model(judge, use_cache=not no_cache)
    embed = None
    if "answer_relevancy" in chosen:
        from sllm.embeddings import load_encoder

        if encoder is None and any(language(it) == "ko" for it in items):
            Console(stderr=True).print(
                "[yellow]warning:[/yellow] answer relevancy of Korean items with the English-only MiniLM "
                "encoder is unreliable; pass --encoder with a multilingual model folder"
            )
        model = load_encoder(encoder)
        embed = lambda texts: np.asarray(model.encode(texts))  # noqa: E731
    rag = RagJudge(lm, max_new_tokens, embed)
    records: list[dict] = [{} for _ in items]
    for name in chosen:
        for record, found in zip(records, getattr(rag, name)(items), strict=True):
            record.update(found)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    summary = {}
    for name in chosen:
        values = [r[name] for r in records if r[name] is not None]
        summary[name] = {
            "mean": sum(values) / len(values) if values else None,
            "n": len(values),
            "undetermined": len(records) - len(values),
        }
    from sllm.judging.tracking import track_judging
    from sllm.usage import usage_report

    usage = usage_report(lm, price_table)
    tracked = {"judge_model": lm.spec, **summary, **usage}
    run_id = track_judging("rag", tracked, [input_path], [output], not no_track)
    if as_json:
        result = {"metrics": summary, "output": str(output), "judge_model": lm.spec, "run_id": run_id}
        print(json.dumps(result | usage))
        return
    table = Table(title=f"RAG metrics, judge {lm.spec}")
    for column in ("metric", "mean", "scored", "undetermined"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, s in summary.items():
        table.add_row(name, cell(s["mean"], ".3f"), cell(s["n"]), cell(s["undetermined"]))
    Console().print(table)
    Console(stderr=True).print(cost_line(usage))
