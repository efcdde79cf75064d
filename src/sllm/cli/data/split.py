"""`sllm data split`: seeded, disjoint train / validation / test splits, near-duplicates together."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.data import data_app
from sllm.cli.options import JsonOption, NoTrackOption

EXAMPLES = """
[bold]Examples[/bold]

  sllm data split data.jsonl --out-dir splits/
  sllm data split data.jsonl --out-dir splits/ --fractions 0.9,0.1 --seed 7 --stratify category
  sllm data split data.jsonl --out-dir splits/ --near-dup-threshold 0    # exact duplicates only

Near-duplicates (Jaccard of character 5-gram shingles >= threshold, MinHash LSH) stay in one
split, so a paraphrase cannot sit on both sides. Files are written as DIR/train.jsonl,
DIR/validation.jsonl, DIR/test.jsonl in the input's layout.
"""


@data_app.command("split", epilog=EXAMPLES)
def data_split(  # noqa: PLR0913 - the split options
    path: Path = typer.Argument(..., help="Instruction file."),
    out_dir: Path = typer.Option(..., "--out-dir", "-o", help="Folder for the split files."),
    fractions: str = typer.Option(
        "0.8,0.1,0.1", "--fractions", help="train,validation,test (or train,test)."
    ),
    seed: int = typer.Option(0, "--seed"),
    stratify: str | None = typer.Option(None, "--stratify", help="Keep this field's proportions per split."),
    threshold: float = typer.Option(0.8, "--near-dup-threshold", help="Jaccard for grouping; 0: exact only."),
    no_track: bool = NoTrackOption,
    as_json: bool = JsonOption,
) -> None:
    """Seeded, disjoint train / validation / test splits; near-duplicates kept together."""
    from sllm.data.split import split_file

    result = split_file(path, out_dir, fractions, seed, stratify, threshold, not no_track)
    if as_json:
        print(json.dumps(result))
        return
    grouped = result["grouped_rows"]
    table = Table(title=f"{path} -> {out_dir} (seed {seed}; {grouped} rows grouped as near-duplicates)")
    for column in ("split", "rows", "file", "digest"):
        table.add_column(column)
    for name, info in result["splits"].items():
        table.add_row(name, str(info["rows"]), info["path"], info["digest"][:16])
    Console().print(table)
