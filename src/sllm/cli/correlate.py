"""`sllm correlate`: can this judge be trusted? Its scores against human scores, at one level."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from sllm.cli.app import app
from sllm.cli.options import JsonOption
from sllm.tables import cell

EXAMPLES = """
[bold]Examples[/bold]

  sllm correlate judge_scores.jsonl --reference human.jsonl --field score --reference-field score
  sllm correlate topical_chat_result.json --field predict_scores.coherence \\
      --reference-field scores.coherence --level group --group-by source
  sllm correlate scores.jsonl --field score --reference-field human --level system --group-by system_id --json

With no --reference, both fields come from the same file; otherwise rows pair up in file order.
Dotted fields read into nested objects (also dicts stored as strings, as UniEval writes them).
"""


@app.command("correlate", epilog=EXAMPLES)
def correlate_command(  # noqa: PLR0913 - the pairing options
    scores: Path = typer.Argument(..., help="Judge scores (JSON list or JSONL)."),
    reference: Path | None = typer.Option(
        None, "--reference", "-r", help="Human scores (default: same file)."
    ),
    field: str = typer.Option("score", "--field", help="Judge score field (dotted path)."),
    reference_field: str = typer.Option("score", "--reference-field", help="Human score field."),
    level: str = typer.Option("sample", "--level", help="sample | group (per-group mean) | system."),
    group_by: str | None = typer.Option(None, "--group-by", help="Group (or system) field for those levels."),
    as_json: bool = JsonOption,
) -> None:
    """Pearson, Spearman and Kendall between judge and human scores at one level."""
    from sllm.metaeval.human_correlation import correlate_files

    result = correlate_files(scores, reference, field, reference_field, level, group_by)
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"{field} vs {reference_field}: {level} level, n = {result['n']}")
    for column in ("pearson", "spearman", "kendall"):
        table.add_column(column, justify="right")
    table.add_row(*(cell(result[c], ".4f") for c in ("pearson", "spearman", "kendall")))
    Console().print(table)
    skipped, unscored = result.get("skipped_groups", 0), result["unscored"]
    if skipped or unscored:
        note = f"skipped: {skipped} groups with constant scores, {unscored} unscored rows"
        Console(stderr=True).print(note)
