"""`sllm data decontaminate`: find evaluation items leaked into a training file."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.data_cmd import NoTrackOption, data_app
from sllm.cli.options import JsonOption
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
def data_decontaminate(
    path: Path = typer.Argument(..., help="Training file (any format sllm reads)."),
    against: str = typer.Option(..., "--against", help="Comma-separated task names and/or test files."),
    data_dir: str | None = typer.Option(None, "--data-dir", help="Folder laid out like ../shared/data."),
    ngram: int = typer.Option(13, "--ngram", min=1, help="Word n-gram size."),
    char_ngram: int = typer.Option(20, "--char-ngram", min=1, help="Character n-gram size for Korean."),
    drop: Path | None = typer.Option(None, "--drop", help="Write the uncontaminated rows here."),
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Report training rows that overlap evaluation items; optionally write a clean file."""
    from sllm.data.decontaminate import find_contamination, line_of, load_test_items
    from sllm.data.digest import DataFile, track_data
    from sllm.data.formats import load_examples, write_examples

    examples, layout = load_examples(path)
    names = [a.strip() for a in against.split(",") if a.strip()]
    items = load_test_items(names, data_dir)
    hits, skipped = find_contamination(examples, items, ngram, char_ngram)
    report = {
        "n_checked": len(examples),
        "n_test_items": len(items),
        "n_test_items_too_short": skipped,
        "contaminated": [
            {
                "line": line_of(h.where, h.row),
                "row": h.row,
                "test_task": h.task,
                "test_id": h.item_id,
                "overlap": round(h.overlap, 4),
                "ngram": h.ngram,
            }
            for h in hits
        ],  # fmt: skip
    }
    files = [DataFile(path.stem, path, examples, layout)]
    if drop is not None:
        bad = {h.row for h in hits}
        clean = [e for row, e in enumerate(examples, start=1) if row not in bad]
        written = write_examples(clean, drop, layout if drop.suffix in (".jsonl", ".json") else "auto")
        files.append(DataFile.output(drop, clean, written))
        report["written"] = str(drop)
    params = {"against": against, "ngram": ngram, "char_ngram": char_ngram}
    metrics = {"n_checked": len(examples), "n_contaminated": len(hits)}
    report["run_id"] = track_data("decontaminate", files, params, metrics, not no_track)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    table = Table(title=f"{len(hits)} of {len(examples)} rows of {path} overlap {', '.join(names)}")
    for column in ("line", "test task", "test id", "overlap", "shared n-gram"):
        table.add_column(column, overflow="fold")
    for h in report["contaminated"]:
        table.add_row(
            cell(h["line"]), h["test_task"], cell(h["test_id"]), cell(h["overlap"], ".2f"), h["ngram"][:60]
        )
    Console().print(table)
    if skipped:
        Console(stderr=True).print(
            f"{skipped} test texts were shorter than 8 words / characters and not checked"
        )
